"""Merge MixMonitor's two mono legs into one stereo evidence file (caller left, agent right).

MixMonitor's ``r()``/``t()`` options write what the monitored channel *reads* and *writes*. With
MixMonitor on the AGENT channel, ``r`` is what the agent says and ``t`` what the agent hears (the
caller). This function only knows "caller" and "agent"; mapping r/t onto them is the caller's job.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from callrec.audio.errors import AudioError, LegMismatch
from callrec.audio.wavfile import FileFacts, PathLike, ensure_finalised, file_facts

CALLER, AGENT = 0, 1  # stereo channel index: left, right


def merge_legs(
    caller: PathLike, agent: PathLike, out: PathLike, block_frames: int = 65536
) -> FileFacts:
    """Write ``out`` as 16-bit stereo WAV; the shorter leg is padded with silence.

    Streams ``block_frames`` at a time so an hour-long call is never held in memory. The output is
    written next to ``out`` and renamed into place, so a crash never leaves a half-merged file
    under the final name. Legs must be closed (or repaired) WAVs with the same sample rate.
    """
    if block_frames <= 0:
        raise ValueError("block_frames must be positive")
    ensure_finalised(caller)
    ensure_finalised(agent)
    target = Path(out)
    partial = target.with_name(target.name + ".part")
    try:
        with sf.SoundFile(str(caller)) as left, sf.SoundFile(str(agent)) as right:
            _check_legs(left, right)
            _write_stereo(left, right, partial, block_frames)
        _fsync(partial)
        os.replace(partial, target)
    except (OSError, sf.SoundFileError) as exc:
        partial.unlink(missing_ok=True)
        raise AudioError(f"cannot merge {caller} + {agent} into {target}: {exc}") from exc
    return file_facts(target)


def _check_legs(left: sf.SoundFile, right: sf.SoundFile) -> None:
    if left.channels != 1 or right.channels != 1:
        raise LegMismatch(f"legs must be mono, got {left.channels} and {right.channels} channels")
    if left.samplerate != right.samplerate:
        raise LegMismatch(f"sample rates differ: {left.samplerate} vs {right.samplerate} Hz")


def _write_stereo(left: sf.SoundFile, right: sf.SoundFile, dest: Path, block_frames: int) -> None:
    block = np.zeros((block_frames, 2), dtype=np.int16)
    with sf.SoundFile(
        str(dest), "w", samplerate=left.samplerate, channels=2, format="WAV", subtype="PCM_16"
    ) as dst:
        while True:
            # int16 straight from libsndfile: no float round trip for 16-bit legs.
            a = left.read(block_frames, dtype="int16")
            b = right.read(block_frames, dtype="int16")
            n = max(len(a), len(b))
            if n == 0:
                return
            block[:n] = 0  # the leg that already ended contributes silence
            block[: len(a), CALLER] = a
            block[: len(b), AGENT] = b
            dst.write(block[:n])


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
