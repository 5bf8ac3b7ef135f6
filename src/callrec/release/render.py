"""Streaming executor of an :class:`EditPlan`: the source WAV becomes the client copy, a block at a
time (an hour-long call is never held in memory), with kept audio copied sample for sample.

The source is opened read-only and only ever read: it is evidence. The copy is written next to its
final name and renamed into place, so an interrupted release never leaves a half-written file that
looks finished.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import soundfile as sf

from callrec.audio.wavfile import duration_ms
from callrec.release.errors import ReleaseError
from callrec.release.plan import EditPlan, Piece, PieceKind

BLOCK_FRAMES = 65536
# 1 kHz is clear of every tone the tests and the PBX use (caller 400, agents 550/2000, transfer
# target 2400, music on hold 1800, prompts 2800) and of DTMF (697-941 / 1209-1633 Hz: its nearest
# neighbour 941 Hz is 59 Hz away, outside the +/-25 Hz detection band); it is the customary
# "bleep" and sits mid-band in G.711's 300-3400 Hz.
BEEP_HZ = 1000.0
BEEP_DBFS = -12.0
BEEP_PEAK = round(32767 * 10 ** (BEEP_DBFS / 20))  # 8231 of int16 full scale
# Raised-cosine ramps at both ends of a beep: a sine switched on/off abruptly clicks, and its
# spectral splatter would bleed into neighbouring bands.
RAMP_MS = 5


class RedactMode(StrEnum):
    BEEP = "beep"
    SILENCE = "silence"


@dataclass(frozen=True)
class Rendered:
    frames: int
    samplerate: int
    channels: int

    @property
    def duration_ms(self) -> int:
        return duration_ms(self.frames, self.samplerate)


def render_wav(
    source: Path, plan: EditPlan, out: Path, mode: RedactMode, block_frames: int = BLOCK_FRAMES
) -> Rendered:
    """Write the client copy of ``source`` to ``out`` (16-bit PCM WAV, same rate and channels)."""
    if block_frames <= 0:
        raise ValueError("block_frames must be positive")
    partial = out.with_name(out.name + ".part")
    try:
        with sf.SoundFile(str(source), "r") as src:
            _check_duration(src, plan, source)
            with sf.SoundFile(str(partial), "w", samplerate=src.samplerate,
                              channels=src.channels, format="WAV", subtype="PCM_16") as dst:
                written = sum(_apply(src, dst, p, plan, mode, block_frames) for p in plan.pieces)
            rendered = Rendered(written, src.samplerate, src.channels)
        _fsync(partial)
        os.replace(partial, out)
    except (OSError, sf.SoundFileError) as exc:
        partial.unlink(missing_ok=True)
        raise ReleaseError(f"cannot write the client copy {out} from {source}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return rendered


def frame_at(ms: int, plan: EditPlan, frames: int, rate: int) -> int:
    """The plan's millisecond boundary as a sample index. The end of the recording maps to the
    last frame exactly, so the pieces tile the file even when its length is not a whole ms."""
    if ms >= plan.duration_ms:
        return frames
    return min(frames, (ms * rate + 500) // 1000)


def beep(offset: int, count: int, total: int, rate: int) -> np.ndarray:
    """Samples [offset, offset+count) of a ``total``-sample beep, as int16 (phase-continuous
    across blocks because the phase is computed from the absolute index)."""
    idx = np.arange(offset, offset + count, dtype=np.float64)
    ramp = max(1, round(RAMP_MS * rate / 1000))
    edge = np.clip(np.minimum(idx, total - 1 - idx) / ramp, 0.0, 1.0)
    envelope = 0.5 - 0.5 * np.cos(math.pi * edge)
    wave = np.sin(2 * math.pi * BEEP_HZ * idx / rate) * envelope * BEEP_PEAK
    return np.round(wave).astype(np.int16)


def _check_duration(src: sf.SoundFile, plan: EditPlan, source: Path) -> None:
    actual = duration_ms(src.frames, src.samplerate)
    if actual != plan.duration_ms:
        raise ReleaseError(
            f"{source} lasts {actual} ms but the edit plan was made for {plan.duration_ms} ms"
        )


def _apply(src: sf.SoundFile, dst: sf.SoundFile, piece: Piece, plan: EditPlan,
           mode: RedactMode, block: int) -> int:
    start = frame_at(piece.start_ms, plan, src.frames, src.samplerate)
    end = frame_at(piece.end_ms, plan, src.frames, src.samplerate)
    if piece.kind is PieceKind.CUT or end <= start:
        return 0
    if piece.kind is PieceKind.KEEP:
        _copy(src, dst, start, end, block)
    else:
        _redact(dst, end - start, src.channels, src.samplerate, mode, block)
    return end - start


def _copy(src: sf.SoundFile, dst: sf.SoundFile, start: int, end: int, block: int) -> None:
    # int16 straight from libsndfile: no float round trip, so kept audio is bit-identical.
    src.seek(start)
    remaining = end - start
    while remaining > 0:
        data = src.read(min(block, remaining), dtype="int16", always_2d=True)
        if len(data) == 0:
            raise ReleaseError(f"source ended {remaining} frames early (truncated file?)")
        dst.write(data)
        remaining -= len(data)


def _redact(dst: sf.SoundFile, total: int, channels: int, rate: int, mode: RedactMode,
            block: int) -> None:
    for offset in range(0, total, block):
        count = min(block, total - offset)
        mono = (beep(offset, count, total, rate) if mode is RedactMode.BEEP
                else np.zeros(count, dtype=np.int16))
        dst.write(np.repeat(mono[:, None], channels, axis=1))


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
