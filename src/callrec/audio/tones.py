"""Synthetic test material: sine tones and tone/silence sequences as 16-bit WAV files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from callrec.audio.errors import AudioError
from callrec.audio.wavfile import PathLike

Segment = tuple[float | None, float]  # (frequency in Hz or None for silence, seconds)


def sine(freq: float, seconds: float, rate: int = 8000, amplitude: float = 0.3) -> np.ndarray:
    """``amplitude`` is the peak value relative to full scale (1.0)."""
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def write_tone(
    path: PathLike, freq: float, seconds: float, rate: int = 8000, amplitude: float = 0.3
) -> Path:
    return write_samples(path, sine(freq, seconds, rate, amplitude), rate)


def write_tones_sequence(
    path: PathLike, segments: Iterable[Segment], rate: int = 8000, amplitude: float = 0.3
) -> Path:
    parts = [_segment(freq, seconds, rate, amplitude) for freq, seconds in segments]
    return write_samples(path, np.concatenate(parts) if parts else np.zeros(0), rate)


def _segment(freq: float | None, seconds: float, rate: int, amplitude: float) -> np.ndarray:
    if freq is None:
        return np.zeros(round(seconds * rate))
    return sine(freq, seconds, rate, amplitude)


def write_samples(path: PathLike, samples: np.ndarray, rate: int = 8000) -> Path:
    """Write float samples in [-1, 1] (mono 1-D or (frames, channels)) as 16-bit PCM WAV."""
    try:
        sf.write(str(path), samples, rate, subtype="PCM_16", format="WAV")
    except (OSError, sf.SoundFileError) as exc:
        raise AudioError(f"cannot write {path}: {exc}") from exc
    return Path(path)
