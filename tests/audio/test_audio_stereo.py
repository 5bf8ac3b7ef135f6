"""callrec.audio.stereo.merge_legs: caller on the left, agent on the right, streamed."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callrec.audio import (
    AudioError,
    LegMismatch,
    file_facts,
    merge_legs,
    sine,
    tone_levels,
    tones_present,
    write_samples,
    write_tone,
)

CALLER_HZ, AGENT_HZ = 400.0, 550.0


@pytest.fixture
def legs(tmp_path: Path) -> tuple[Path, Path]:
    """A 1.0 s caller leg and a longer 1.5 s agent leg, as MixMonitor's t()/r() files would be."""
    caller = write_tone(tmp_path / "call-t.wav", CALLER_HZ, 1.0)
    agent = write_tone(tmp_path / "call-r.wav", AGENT_HZ, 1.5)
    return caller, agent


def test_caller_goes_left_and_agent_goes_right(tmp_path: Path, legs: tuple[Path, Path]) -> None:
    out = tmp_path / "call.wav"
    merge_legs(*legs, out)

    stereo, rate = sf.read(str(out), dtype="float64")
    left = tone_levels(stereo[:, 0], rate, [CALLER_HZ, AGENT_HZ])
    right = tone_levels(stereo[:, 1], rate, [CALLER_HZ, AGENT_HZ])
    assert left[CALLER_HZ] > 0.99 and left[AGENT_HZ] < 0.001
    assert right[AGENT_HZ] > 0.99 and right[CALLER_HZ] < 0.001
    assert tones_present(out, [CALLER_HZ, AGENT_HZ], channel=0) == {CALLER_HZ}
    assert tones_present(out, [CALLER_HZ, AGENT_HZ], channel=1) == {AGENT_HZ}


def test_the_shorter_leg_is_padded_with_silence(tmp_path: Path, legs: tuple[Path, Path]) -> None:
    out = tmp_path / "call.wav"
    facts = merge_legs(*legs, out)

    stereo, _ = sf.read(str(out), dtype="int16")
    assert (facts.frames, facts.channels, facts.samplerate) == (12000, 2, 8000)
    assert facts.duration_ms == 1500
    assert not stereo[8000:, 0].any()
    assert stereo[8000:, 1].any()


def test_samples_are_copied_exactly_whatever_the_block_size(
    tmp_path: Path, legs: tuple[Path, Path]
) -> None:
    merge_legs(*legs, tmp_path / "one.wav")
    merge_legs(*legs, tmp_path / "many.wav", block_frames=777)

    caller, _ = sf.read(str(legs[0]), dtype="int16")
    agent, _ = sf.read(str(legs[1]), dtype="int16")
    many, _ = sf.read(str(tmp_path / "many.wav"), dtype="int16")
    assert np.array_equal(many[: len(caller), 0], caller)
    assert np.array_equal(many[: len(agent), 1], agent)
    assert (tmp_path / "one.wav").read_bytes() == (tmp_path / "many.wav").read_bytes()


def test_the_facts_returned_are_those_of_the_written_file(
    tmp_path: Path, legs: tuple[Path, Path]
) -> None:
    out = tmp_path / "call.wav"
    assert merge_legs(*legs, out) == file_facts(out)
    assert sf.info(str(out)).subtype == "PCM_16"


def test_legs_with_different_sample_rates_are_refused(tmp_path: Path) -> None:
    caller = write_tone(tmp_path / "t.wav", CALLER_HZ, 0.5, rate=8000)
    agent = write_tone(tmp_path / "r.wav", AGENT_HZ, 0.5, rate=16000)
    out = tmp_path / "call.wav"

    with pytest.raises(LegMismatch) as raised:
        merge_legs(caller, agent, out)

    assert isinstance(raised.value, ValueError)
    assert not out.exists()
    assert not (tmp_path / "call.wav.part").exists()


def test_stereo_legs_are_refused(tmp_path: Path) -> None:
    caller = write_samples(tmp_path / "t.wav", np.zeros((800, 2)))
    agent = write_tone(tmp_path / "r.wav", AGENT_HZ, 0.1)
    with pytest.raises(LegMismatch):
        merge_legs(caller, agent, tmp_path / "call.wav")


def test_a_missing_or_still_open_leg_is_an_audio_error(
    tmp_path: Path, legs: tuple[Path, Path]
) -> None:
    with pytest.raises(AudioError):
        merge_legs(tmp_path / "absent.wav", legs[1], tmp_path / "call.wav")

    still_open = tmp_path / "open.wav"
    raw = bytearray(legs[0].read_bytes())
    raw[4:8] = raw[40:44] = struct.pack("<I", 0)  # as MixMonitor leaves it until it closes
    still_open.write_bytes(bytes(raw))
    with pytest.raises(AudioError, match="not finalised"):
        merge_legs(still_open, legs[1], tmp_path / "call.wav")
    assert not (tmp_path / "call.wav").exists()


def test_a_long_call_is_merged_in_blocks_not_in_memory(tmp_path: Path) -> None:
    seconds = 300.0  # the merged file alone would be 9.6 MB of int16 in memory
    caller = write_samples(tmp_path / "t.wav", sine(CALLER_HZ, seconds))
    agent = write_samples(tmp_path / "r.wav", sine(AGENT_HZ, seconds - 0.25))

    tracemalloc.start()
    try:
        facts = merge_legs(caller, agent, tmp_path / "call.wav", block_frames=4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert facts.frames == 8000 * seconds
    assert peak < 3 * 2**20  # blocks + the 1 MiB hashing buffer
