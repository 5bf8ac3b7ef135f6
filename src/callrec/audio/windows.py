"""Stream an audio file as fixed-length analysis windows, a block of windows at a time.

Recordings can be an hour long; the analysis only ever needs a few hundred windows in memory.
The tail that does not fill a whole window is zero-padded into one last window (so a tone in the
final few milliseconds is still analysed) and ``valid`` says how many real samples each holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from numpy.lib.stride_tricks import sliding_window_view

from callrec.audio.errors import AudioError
from callrec.audio.wavfile import PathLike, ensure_finalised

WINDOWS_PER_BLOCK = 600


@dataclass(frozen=True)
class WindowBlock:
    rate: int
    start: np.ndarray  # (n,) first sample index of each window within the file
    samples: np.ndarray  # (n, window) float64, full scale 1.0
    valid: np.ndarray  # (n,) real (non-padding) samples in each window


def iter_windows(
    path: PathLike, window: float, hop: float, channel: int | None = None
) -> Iterator[WindowBlock]:
    """Windows of ``window`` seconds every ``hop`` seconds; ``channel=None`` averages channels."""
    ensure_finalised(path)
    try:
        with sf.SoundFile(str(path)) as f:
            yield from _frames(f, window, hop, channel)
    except (OSError, sf.SoundFileError) as exc:
        raise AudioError(f"cannot analyse {path}: {exc}") from exc


def _frames(
    f: sf.SoundFile, window: float, hop: float, channel: int | None
) -> Iterator[WindowBlock]:
    if channel is not None and not 0 <= channel < f.channels:
        raise AudioError(f"channel {channel} out of range for {f.channels}-channel file")
    rate = f.samplerate
    win, step = max(1, round(window * rate)), max(1, round(hop * rate))
    carry, offset = np.zeros(0), 0  # offset = file sample index of carry[0]
    while True:
        fresh = f.read(step * WINDOWS_PER_BLOCK, dtype="float64", always_2d=True)
        buf = np.concatenate([carry, _pick(fresh, channel)])
        eof = len(fresh) == 0
        n = _tail_count(len(buf), win, step) if eof else _full_count(len(buf), win, step)
        if n:
            yield _block(buf, offset, n, win, step, rate)
        carry, offset = buf[n * step :], offset + n * step
        if eof:
            return


def _pick(frames: np.ndarray, channel: int | None) -> np.ndarray:
    return frames.mean(axis=1) if channel is None else frames[:, channel]


def _full_count(length: int, win: int, step: int) -> int:
    return 0 if length < win else (length - win) // step + 1


def _tail_count(length: int, win: int, step: int) -> int:
    """Windows needed so that every remaining sample lies in at least one window."""
    return 0 if length == 0 else max(0, math.ceil((length - win) / step)) + 1


def _block(buf: np.ndarray, offset: int, n: int, win: int, step: int, rate: int) -> WindowBlock:
    needed = (n - 1) * step + win
    padded = np.pad(buf, (0, max(0, needed - len(buf))))
    starts = np.arange(n) * step
    valid = np.clip(len(buf) - starts, 0, win)
    samples = sliding_window_view(padded, win)[::step][:n]
    return WindowBlock(rate, starts + offset, samples, valid)
