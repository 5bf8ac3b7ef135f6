"""A recording's waveform for the picture: the min/max envelope per pixel column, computed while
streaming the file a block at a time (an hour-long call is never held in memory).

A min/max envelope (rather than every n-th sample) keeps short loud events visible at any zoom:
each column shows the full swing of the samples it covers. Channels are folded the same way (the
min and max over all channels), so a stereo file's caller and agent both show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from callrec.audio import AudioError
from callrec.audio.wavfile import ensure_finalised

BLOCK_FRAMES = 65536


@dataclass(frozen=True)
class Envelope:
    mins: np.ndarray  # (columns,) float, full scale 1.0
    maxs: np.ndarray
    duration_s: float

    @property
    def columns(self) -> int:
        return len(self.mins)


def envelope(path: Path, columns: int, block_frames: int = BLOCK_FRAMES) -> Envelope:
    """`columns` min/max pairs spanning the whole file (fewer if the file has fewer frames)."""
    if columns <= 0 or block_frames <= 0:
        raise ValueError("columns and block_frames must be positive")
    try:
        ensure_finalised(path)
        with sf.SoundFile(str(path)) as f:
            return _stream(f, columns, block_frames)
    except (OSError, sf.SoundFileError) as exc:
        raise AudioError(f"cannot read {path} for its waveform: {exc}") from exc


def _stream(f: sf.SoundFile, columns: int, block_frames: int) -> Envelope:
    frames = f.frames
    columns = max(1, min(columns, frames))
    mins, maxs = np.full(columns, np.inf), np.full(columns, -np.inf)
    start = 0
    while True:
        block = f.read(block_frames, dtype="float32", always_2d=True)
        if len(block) == 0:
            break
        _fold(block, start, frames, mins, maxs)
        start += len(block)
    if frames == 0:
        mins[:], maxs[:] = 0.0, 0.0
    return Envelope(mins, maxs, frames / f.samplerate if f.samplerate else 0.0)


def _fold(block: np.ndarray, start: int, frames: int, mins: np.ndarray, maxs: np.ndarray) -> None:
    """Fold one block into the columns it covers. Column of frame i = i * columns // frames, so
    within a block the columns are non-decreasing and each run reduces in one ufunc call."""
    lo, hi = block.min(axis=1), block.max(axis=1)
    column = (np.arange(start, start + len(block), dtype=np.int64) * len(mins)) // frames
    firsts = np.flatnonzero(np.diff(column, prepend=-1))
    cols = column[firsts]
    mins[cols] = np.minimum(mins[cols], np.minimum.reduceat(lo, firsts))
    maxs[cols] = np.maximum(maxs[cols], np.maximum.reduceat(hi, firsts))
