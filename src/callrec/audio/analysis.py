"""What is IN a recording: test tones, DTMF, silence. Used by the end-to-end tests and `verify`.

The presence rule (shared by :func:`tones_present`, :func:`tone_spans` and :func:`dtmf_present`):
the file is cut into Hann-windowed 100 ms windows; windows quieter than -50 dBFS RMS are silence
and ignored. A frequency is present in a window when

1. at least ``threshold`` of the window's energy lies within +/-25 Hz of it, and
2. that band is a spectral *peak*: its mean power per FFT bin is >= 20x (13 dB) the mean power
   of its flanks 30-80 Hz away on both sides.

Rule 2 is what makes a low threshold safe. Tones in calls start and stop abruptly (an agent
joins, a hold starts), and a tone cut off inside a window splatters a 1/f^2 skirt across the
neighbouring bands -- measured up to 1.7 % of the window energy in the 550 Hz band from a 400 Hz
onset. Such a skirt is as dense in the flanks as in the band, so it fails rule 2; so does broadband
noise. What survives is a genuine sinusoid, whose Hann main lobe sits inside the band.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from callrec.audio.wavfile import PathLike
from callrec.audio.windows import WindowBlock, iter_windows

WINDOW_S = 0.1
SILENCE_DBFS = -50.0
BANDWIDTH_HZ = 25.0
PEAK_PROMINENCE = 20.0  # band vs flank power density, rule 2 above
FLANK = (1.2, 3.2)  # flank distance from the frequency, in multiples of the band half-width
DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)


@dataclass(frozen=True)
class _Verdicts:
    """Per-window outcome for one block of windows."""

    rate: int
    start: np.ndarray  # (n,) first sample of each window
    valid: np.ndarray  # (n,) real samples in each window
    active: np.ndarray  # (n,) bool: louder than the silence floor
    present: np.ndarray  # (n, m) bool: frequency m present in window n (rules 1 and 2)


def tone_levels(
    samples: np.ndarray, rate: int, freqs: Iterable[float], bandwidth: float = BANDWIDTH_HZ
) -> dict[float, float]:
    """Fraction of the signal's energy within +/-``bandwidth`` Hz of each frequency (Hann rFFT).

    Multi-channel input (frames, channels) is averaged to mono first. Silence gives 0.0 everywhere.
    For arrays shorter than 100 ms the band widens to keep the whole Hann main lobe (2.5 bins).
    """
    x = np.asarray(samples, dtype=np.float64)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    wanted = list(freqs)
    fractions, _ = _band_stats(mono[None, :], rate, wanted, bandwidth)
    return {f: float(v) for f, v in zip(wanted, fractions[0], strict=True)}


def tones_present(
    path: PathLike,
    candidates: Iterable[float],
    *,
    threshold: float = 0.001,
    channel: int | None = None,
) -> set[float]:
    """Candidates present in at least one window (module docstring rules), anywhere in the file.

    Windows overlap by half (hop 50 ms): a burst of >= 150 ms fills one window completely, and
    bursts down to 60 ms are still found wherever they fall (with no overlap, only ~3/4 are).
    ``threshold`` defaults to 0.1 % (-30 dB) of a window's energy: low enough to find a tone mixed
    20 dB below five others (~0.2 %), far above u-law quantisation harmonics (~0.002 %).
    ``channel=None`` analyses the channels' average.
    """
    wanted = list(dict.fromkeys(candidates))
    found = np.zeros(len(wanted), dtype=bool)
    for v in _verdicts(path, wanted, threshold, WINDOW_S / 2, channel):
        found |= v.present.any(axis=0)
        if found.all():
            break
    return {f for f, hit in zip(wanted, found, strict=True) if hit}


def tone_spans(
    path: PathLike,
    freq: float,
    *,
    window: float = WINDOW_S,
    threshold: float = 0.3,
    channel: int | None = None,
) -> list[tuple[float, float]]:
    """Where ``freq`` is present, in seconds, as merged runs of consecutive non-overlapping windows.

    The default threshold (30 % of a window's energy) asks for the tone to be a main component.
    """
    runs: list[tuple[int, int]] = []
    rate = 1
    for v in _verdicts(path, [freq], threshold, window, channel, window=window):
        rate, hits = v.rate, v.present[:, 0]
        for start, valid in zip(v.start[hits], v.valid[hits], strict=True):
            _extend(runs, int(start), int(start + valid))
    return [(start / rate, end / rate) for start, end in runs]


def _extend(runs: list[tuple[int, int]], start: int, end: int) -> None:
    if runs and start <= runs[-1][1]:
        runs[-1] = (runs[-1][0], max(end, runs[-1][1]))
    else:
        runs.append((start, end))


def active_duration(path: PathLike, *, channel: int | None = None) -> float:
    """Seconds of audio louder than -50 dBFS RMS, at 100 ms resolution."""
    frames, rate = 0, 1
    for v in _verdicts(path, [], 1.0, WINDOW_S, channel):
        frames, rate = frames + int(v.valid[v.active].sum()), v.rate
    return frames / rate


def is_silent(path: PathLike, *, channel: int | None = None) -> bool:
    """True when no 100 ms window reaches -50 dBFS RMS (an empty file is silent)."""
    return not any(v.active.any() for v in _verdicts(path, [], 1.0, WINDOW_S, channel))


def dtmf_present(path: PathLike, *, threshold: float = 0.05, channel: int | None = None) -> bool:
    """True when some window holds a low-group AND a high-group DTMF frequency at once.

    Hop is 25 ms so that digits as short as 40 ms (the ITU-T Q.24 minimum) are found wherever
    they fall, not just when aligned with a window; Asterisk generates 100 ms by default. Each
    component must carry ``threshold`` (5 %) of the window's energy; in a clean digit each
    carries about half. Note: a clipped 400 Hz caller tone has harmonics at 800/1200 Hz, close to
    770/1209 Hz; unclipped audio (u-law included) keeps those far below 5 %.
    """
    low = len(DTMF_LOW)
    for v in _verdicts(path, [*DTMF_LOW, *DTMF_HIGH], threshold, WINDOW_S / 4, channel):
        if (v.present[:, :low].any(axis=1) & v.present[:, low:].any(axis=1)).any():
            return True
    return False


def _verdicts(
    path: PathLike,
    freqs: Sequence[float],
    threshold: float,
    hop: float,
    channel: int | None,
    window: float = WINDOW_S,
) -> Iterator[_Verdicts]:
    floor = 10 ** (SILENCE_DBFS / 20)
    for block in iter_windows(path, window, hop, channel):
        active = _rms(block) >= floor
        fractions, prominence = _band_stats(block.samples, block.rate, freqs, BANDWIDTH_HZ)
        tonal = (fractions >= threshold) & (prominence >= PEAK_PROMINENCE)
        present = active[:, None] & tonal
        yield _Verdicts(block.rate, block.start, block.valid, active, present)


def _rms(block: WindowBlock) -> np.ndarray:
    """RMS over the real samples of each window, DC removed (an offset is not sound)."""
    x = block.samples
    valid = np.maximum(block.valid, 1)
    mean = x.sum(axis=1) / valid
    power = (x * x).sum(axis=1) / valid - mean * mean
    return np.asarray(np.sqrt(np.maximum(power, 0.0)), dtype=np.float64)


def _band_stats(
    windows: np.ndarray, rate: int, freqs: Sequence[float], bandwidth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per window (rows) and frequency (columns): band energy fraction and peak prominence."""
    n, length = windows.shape
    if not freqs or length < 2:
        return np.zeros((n, len(freqs))), np.zeros((n, len(freqs)))
    x = windows - windows.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(x * np.hanning(length), axis=1)) ** 2
    band, flank = _masks(np.asarray(freqs, dtype=np.float64), rate, length, bandwidth)
    band_energy = power @ band.T
    total = power.sum(axis=1, keepdims=True)
    fractions = np.divide(band_energy, total, out=np.zeros_like(band_energy), where=total > 0)
    band_density = band_energy / np.maximum(band.sum(axis=1), 1)
    flank_density = (power @ flank.T) / np.maximum(flank.sum(axis=1), 1)
    prominence = np.divide(
        band_density, flank_density, out=np.full_like(band_density, np.inf), where=flank_density > 0
    )
    return fractions, prominence


def _masks(
    freqs: np.ndarray, rate: int, length: int, bandwidth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Band and flank masks (as 0/1 floats for matrix products), shape (freqs, bins).

    The band is widened for short windows so it always holds the Hann main lobe (+/-2 bins).
    Flanks leave out every candidate's band: adjacent DTMF frequencies are only 73-89 Hz apart,
    and one present tone must not make its neighbour's flank look loud (or its own band quiet).
    """
    bins = np.fft.rfftfreq(length, 1.0 / rate)
    half = max(bandwidth, 2.5 * rate / length)
    distance = np.abs(bins[None, :] - freqs[:, None])
    band = distance <= half
    flank = (distance >= FLANK[0] * half) & (distance <= FLANK[1] * half) & ~band.any(axis=0)
    return band.astype(np.float64), flank.astype(np.float64)
