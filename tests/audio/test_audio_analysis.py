"""callrec.audio.analysis: which test tones are IN a recording, where, and how much is silence."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.audio import (
    AudioError,
    active_duration,
    dtmf_present,
    is_silent,
    sine,
    tone_levels,
    tone_spans,
    tones_present,
    write_samples,
    write_tone,
    write_tones_sequence,
)

CALLER, AGENT, AGENT2, TRANSFER, MOH, PROMPT = 400.0, 550.0, 2000.0, 2400.0, 1800.0, 2800.0
PALETTE = (CALLER, AGENT, AGENT2, TRANSFER, MOH, PROMPT)
RATE = 8000


def mix(*parts: tuple[float, float], seconds: float = 1.0) -> np.ndarray:
    """Sum of (frequency, peak amplitude) sines."""
    return np.asarray(np.sum([sine(f, seconds, RATE, a) for f, a in parts], axis=0))


def sox_ulaw_round_trip(src: Path, tmp: Path) -> Path:
    """Encode to 8 kHz G.711 u-law and decode back, as a SIP call leg would."""
    if shutil.which("sox") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("sox is required in CI")
        pytest.skip("sox not installed")
    ulaw, back = tmp / "ulaw.wav", tmp / "decoded.wav"
    subprocess.run(["sox", str(src), "-r", "8000", "-e", "u-law", str(ulaw)], check=True)
    subprocess.run(["sox", str(ulaw), "-e", "signed-integer", "-b", "16", str(back)], check=True)
    assert sf.info(str(ulaw)).subtype == "ULAW"
    return back


class TestToneLevels:
    def test_a_pure_tone_holds_nearly_all_the_energy_in_its_band(self) -> None:
        levels = tone_levels(sine(CALLER, 0.5), RATE, [CALLER, AGENT])
        assert levels[CALLER] > 0.99
        assert levels[AGENT] < 1e-4

    def test_levels_follow_the_power_ratio_of_a_mix(self) -> None:
        levels = tone_levels(mix((CALLER, 0.4), (AGENT2, 0.2)), RATE, [CALLER, AGENT2])
        assert levels[CALLER] == pytest.approx(0.8, abs=0.01)
        assert levels[AGENT2] == pytest.approx(0.2, abs=0.01)

    def test_silence_has_no_tone(self) -> None:
        assert tone_levels(np.zeros(800), RATE, [CALLER]) == {CALLER: 0.0}


class TestTonesPresent:
    def test_finds_the_tones_in_a_mix_and_not_the_others(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "mix.wav", mix((CALLER, 0.3), (AGENT, 0.3)))
        assert tones_present(path, PALETTE) == {CALLER, AGENT}

    @pytest.mark.parametrize("offset", [2.0, 2.01, 2.025, 2.049, 2.075])
    @pytest.mark.parametrize("overlaid", [True, False])
    def test_a_150_ms_burst_is_found_wherever_it_falls(
        self, tmp_path: Path, offset: float, overlaid: bool
    ) -> None:
        signal = sine(CALLER, 5.0)
        first, burst = round(offset * RATE), sine(TRANSFER, 0.15)
        span = slice(first, first + len(burst))
        signal[span] = (signal[span] if overlaid else 0) + burst
        path = write_samples(tmp_path / "burst.wav", signal)

        assert tones_present(path, PALETTE) == {CALLER, TRANSFER}

    @pytest.mark.parametrize("offset", np.arange(0.0, 0.1, 0.01).round(3).tolist())
    def test_a_60_ms_burst_is_found_off_the_window_grid(
        self, tmp_path: Path, offset: float
    ) -> None:
        signal = sine(CALLER, 1.0)
        first, burst = round((0.4 + offset) * RATE), sine(PROMPT, 0.06)
        signal[first : first + len(burst)] = burst
        path = write_samples(tmp_path / "blip.wav", signal)

        assert tones_present(path, PALETTE) == {CALLER, PROMPT}

    def test_abrupt_switches_between_tones_invent_no_tones(self, tmp_path: Path) -> None:
        # Hard cuts off the 100 ms grid splatter energy into neighbouring bands (400 -> 550 Hz).
        path = write_tones_sequence(
            tmp_path / "cuts.wav",
            [(CALLER, 0.537), (None, 0.213), (CALLER, 0.31), (AGENT2, 0.462), (CALLER, 0.05)],
        )
        assert tones_present(path, PALETTE) == {CALLER, AGENT2}

    def test_broadband_noise_is_not_a_tone(self, tmp_path: Path) -> None:
        noise = np.random.default_rng(7).normal(0.0, 0.01, RATE * 10)  # -40 dBFS
        path = write_samples(tmp_path / "noise.wav", noise)
        assert not is_silent(path)
        assert tones_present(path, PALETTE) == set()

    def test_silence_below_minus_50_dbfs_is_ignored(self, tmp_path: Path) -> None:
        path = write_tone(tmp_path / "whisper.wav", MOH, 1.0, amplitude=0.002)  # about -57 dBFS
        assert tones_present(path, PALETTE) == set()

    def test_one_channel_can_be_examined_alone(self, tmp_path: Path) -> None:
        stereo = np.stack([sine(CALLER, 1.0), sine(AGENT, 1.0)], axis=1)
        path = write_samples(tmp_path / "stereo.wav", stereo)
        assert tones_present(path, PALETTE, channel=0) == {CALLER}
        assert tones_present(path, PALETTE, channel=1) == {AGENT}
        assert tones_present(path, PALETTE) == {CALLER, AGENT}
        with pytest.raises(AudioError):
            tones_present(path, PALETTE, channel=2)

    def test_tones_survive_a_g711_u_law_round_trip(self, tmp_path: Path) -> None:
        # u-law's quantisation error of a 400 Hz tone sits on its harmonics, 2000/2400/2800 Hz
        # among them; they must stay below the threshold.
        signal = mix((CALLER, 0.3), (AGENT, 0.3), (TRANSFER, 0.03), seconds=2.0)  # 2400 at -20 dB
        decoded = sox_ulaw_round_trip(write_samples(tmp_path / "src.wav", signal), tmp_path)
        assert tones_present(decoded, PALETTE) == {CALLER, AGENT, TRANSFER}

    def test_a_lone_caller_tone_through_u_law_shows_no_harmonics(self, tmp_path: Path) -> None:
        src = write_tone(tmp_path / "src.wav", CALLER, 2.0, amplitude=0.8)
        decoded = sox_ulaw_round_trip(src, tmp_path)
        assert tones_present(decoded, PALETTE) == {CALLER}
        assert not dtmf_present(decoded)

    @settings(max_examples=30, deadline=None)
    @given(
        levels=st.dictionaries(
            st.sampled_from(PALETTE), st.floats(min_value=-20.0, max_value=0.0), min_size=1
        ),
        peak=st.floats(min_value=0.05, max_value=0.9),
    )
    def test_exactly_the_mixed_palette_tones_are_found(
        self, tmp_path_factory: pytest.TempPathFactory, levels: dict[float, float], peak: float
    ) -> None:
        loudest = max(levels.values())  # levels are relative to the loudest tone
        signal = mix(*((f, 10 ** ((db - loudest) / 20)) for f, db in levels.items()), seconds=0.5)
        signal *= peak / np.max(np.abs(signal))
        path = write_samples(tmp_path_factory.mktemp("prop") / "mix.wav", signal)

        assert tones_present(path, PALETTE) == set(levels)


class TestToneSpans:
    def test_a_tone_is_located_to_within_one_window(self, tmp_path: Path) -> None:
        path = write_tones_sequence(
            tmp_path / "spans.wav", [(None, 1.23), (PROMPT, 1.48), (CALLER, 0.77), (PROMPT, 0.5)]
        )
        (first_start, first_end), (second_start, second_end) = tone_spans(path, PROMPT)
        assert abs(first_start - 1.23) <= 0.1 and abs(first_end - 2.71) <= 0.1
        assert abs(second_start - 3.48) <= 0.1 and second_end == pytest.approx(3.98)

    def test_an_absent_tone_has_no_spans(self, tmp_path: Path) -> None:
        path = write_tone(tmp_path / "caller.wav", CALLER, 1.0)
        assert tone_spans(path, MOH) == []
        assert tone_spans(path, CALLER) == [(0.0, 1.0)]

    def test_a_window_length_can_be_chosen(self, tmp_path: Path) -> None:
        path = write_tones_sequence(tmp_path / "w.wav", [(None, 0.5), (MOH, 1.0), (None, 0.5)])
        [(start, end)] = tone_spans(path, MOH, window=0.05)
        assert abs(start - 0.5) <= 0.05 and abs(end - 1.5) <= 0.05


class TestSilence:
    def test_active_duration_counts_only_audible_audio(self, tmp_path: Path) -> None:
        path = write_tones_sequence(
            tmp_path / "talk.wav", [(CALLER, 1.0), (None, 2.0), (AGENT, 0.5), (None, 0.3)]
        )
        assert active_duration(path) == pytest.approx(1.5, abs=0.1)
        assert not is_silent(path)

    def test_digital_silence_and_a_whisper_are_silent(self, tmp_path: Path) -> None:
        assert is_silent(write_samples(tmp_path / "zero.wav", np.zeros(RATE * 2)))
        assert is_silent(write_tone(tmp_path / "whisper.wav", CALLER, 1.0, amplitude=0.002))
        assert active_duration(tmp_path / "zero.wav") == 0.0

    def test_an_empty_recording_is_silent(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "empty.wav", np.zeros(0))
        assert is_silent(path)
        assert tones_present(path, PALETTE) == set()


class TestDtmf:
    @staticmethod
    def digit(low: float, high: float, seconds: float = 0.1) -> np.ndarray:
        return np.asarray(sine(low, seconds, RATE, 0.2) + sine(high, seconds, RATE, 0.2))

    def test_a_100_ms_digit_over_the_caller_tone_is_found(self, tmp_path: Path) -> None:
        signal = sine(CALLER, 2.0)
        start = round(0.737 * RATE)
        signal[start : start + 800] += self.digit(770.0, 1336.0)  # '5'
        assert dtmf_present(write_samples(tmp_path / "dtmf.wav", signal))

    @pytest.mark.parametrize("offset", np.arange(0.0, 0.1, 0.01).round(3).tolist())
    def test_a_40_ms_digit_is_found_off_the_window_grid(
        self, tmp_path: Path, offset: float
    ) -> None:
        signal = sine(CALLER, 1.0)
        start = round((0.4 + offset) * RATE)
        signal[start : start + 320] += self.digit(941.0, 1633.0, seconds=0.04)  # 'D'
        assert dtmf_present(write_samples(tmp_path / "dtmf.wav", signal))

    def test_test_tones_are_not_dtmf(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "tones.wav", mix(*((f, 0.1) for f in PALETTE)))
        assert not dtmf_present(path)

    @pytest.mark.parametrize(
        ("first", "second"), [(770.0, 852.0), (697.0, 941.0), (1209.0, 1633.0)]
    )
    def test_two_tones_of_one_group_are_not_dtmf(
        self, tmp_path: Path, first: float, second: float
    ) -> None:
        path = write_samples(tmp_path / "half.wav", mix((first, 0.3), (second, 0.3)))
        assert not dtmf_present(path)
        assert tones_present(path, [first, second]) == {first, second}
