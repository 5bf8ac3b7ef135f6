"""Finding a known prompt inside a recording: normalised cross-correlation, by FFT.

Used to prove that a recording begins with the outbound disclosure, and that an answering machine
received the voicemail script meant for it: a tone detector cannot tell one sentence from another,
a correlation against the very prompt that was played can. Frequencies that belong to other parties
(a test's simulated voices are pure tones) can be notched out of both signals first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike

import numpy as np
import soundfile as sf

NOTCH_HZ = 25.0  # half-width of the band removed around each excluded frequency


@dataclass(frozen=True)
class Match:
    offset_s: float  # where the prompt starts in the recording
    score: float  # normalised correlation there: 1.0 identical, ~0 unrelated
    prompt_s: float  # the prompt's length


def locate(recording: str | PathLike[str], prompt: str | PathLike[str], *,
           exclude_hz: Iterable[float] = ()) -> Match:
    """Best placement of `prompt` in `recording` (same sample rate; mono or averaged to mono).

    The recording is padded with a prompt's length of silence, so a prompt cut off by the end of
    the file (a hang-up, a tape that stops) is still found: the score then says how much of it is
    there."""
    x, rate = _mono(recording)
    r, prompt_rate = _mono(prompt)
    if rate != prompt_rate:
        raise ValueError(f"sample rates differ: {rate} Hz recording, {prompt_rate} Hz prompt")
    if len(r) == 0:
        raise ValueError("empty prompt")
    x = np.concatenate([x, np.zeros(len(r))])
    n = 1 << int(np.ceil(np.log2(len(x) + len(r))))
    keep = _passband(n, rate, list(exclude_hz))
    big_x, big_r = np.fft.rfft(x, n) * keep, np.fft.rfft(r, n) * keep
    corr = np.fft.irfft(big_x * np.conj(big_r), n)[: len(x) - len(r) + 1]
    xf, rf = np.fft.irfft(big_x, n)[: len(x)], np.fft.irfft(big_r, n)[: len(r)]
    energy = np.concatenate([[0.0], np.cumsum(xf * xf)])
    window = np.sqrt(np.maximum(energy[len(r):] - energy[: len(x) - len(r) + 1], 0.0))
    scores = corr / (np.linalg.norm(rf) * window + 1e-9)
    best = int(np.argmax(scores))
    return Match(best / rate, float(scores[best]), len(r) / rate)


def _mono(path: str | PathLike[str]) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="float64", always_2d=True)
    return data.mean(axis=1), int(rate)


def _passband(n: int, rate: int, exclude: list[float]) -> np.ndarray:
    freqs = np.fft.rfftfreq(n, 1 / rate)
    keep = np.ones(len(freqs))
    for f in exclude:
        keep[np.abs(freqs - f) <= NOTCH_HZ] = 0.0
    return keep
