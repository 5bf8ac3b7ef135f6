"""callrec.audio.tones: synthetic test material."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callrec.audio import tone_levels, write_tone, write_tones_sequence


def test_write_tone_writes_a_16_bit_sine_of_the_requested_length(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "t.wav", 550.0, 0.75, rate=16000, amplitude=0.5)

    samples, rate = sf.read(str(path))
    assert (rate, len(samples), sf.info(str(path)).subtype) == (16000, 12000, "PCM_16")
    assert np.max(np.abs(samples)) == pytest.approx(0.5, abs=1e-3)
    assert tone_levels(samples, rate, [550.0])[550.0] > 0.99


def test_a_sequence_places_tones_and_silences_in_order(tmp_path: Path) -> None:
    path = write_tones_sequence(tmp_path / "s.wav", [(400.0, 0.5), (None, 0.25), (2800.0, 0.5)])

    samples, rate = sf.read(str(path))
    assert len(samples) == round(1.25 * rate)
    assert tone_levels(samples[:4000], rate, [400.0])[400.0] > 0.99
    assert not samples[4000:6000].any()
    assert tone_levels(samples[6000:], rate, [2800.0])[2800.0] > 0.99
