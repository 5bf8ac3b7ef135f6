"""Locating a prompt in a recording: where it starts, and how sure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callrec.audio import sine, write_samples
from callrec.audio.correlate import locate

RATE = 8000


def speechlike(seconds: float, seed: int) -> np.ndarray:
    """Noise shaped into syllable-length bursts: broadband like speech, unlike a tone."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.2, int(seconds * RATE))
    envelope = (np.sin(np.arange(len(noise)) / RATE * 2 * np.pi * 4) > 0).astype(float)
    return noise * envelope


@pytest.fixture
def prompt(tmp_path: Path) -> Path:
    return write_samples(tmp_path / "prompt.wav", speechlike(2.0, seed=1))


def test_finds_the_prompt_where_it_was_played_under_a_loud_tone(tmp_path: Path,
                                                                prompt: Path) -> None:
    played = np.concatenate([np.zeros(int(0.7 * RATE)), speechlike(2.0, seed=1),
                             np.zeros(RATE)])
    mixed = 0.5 * played + sine(1300, len(played) / RATE, amplitude=0.5)
    match = locate(write_samples(tmp_path / "rec.wav", mixed), prompt, exclude_hz=[1300])
    assert match.offset_s == pytest.approx(0.7, abs=0.002)
    assert match.score > 0.9


def test_another_sentence_scores_low(tmp_path: Path, prompt: Path) -> None:
    other = write_samples(tmp_path / "other.wav", speechlike(4.0, seed=2))
    assert locate(other, prompt).score < 0.2


def test_a_recording_cut_off_midway_scores_by_how_much_of_the_prompt_is_there(
        tmp_path: Path, prompt: Path) -> None:
    half = write_samples(tmp_path / "half.wav", speechlike(2.0, seed=1)[: RATE])
    match = locate(half, prompt)
    assert match.offset_s == 0.0
    assert 0.5 < match.score < 0.85
