"""The streaming executor: kept audio is copied bit for bit, cuts vanish, redactions are replaced,
whatever the block size, and the source is only ever read."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callrec.audio import tone_levels, tones_present, write_tones_sequence
from callrec.release.errors import ReleaseError
from callrec.release.plan import Span, plan_release
from callrec.release.render import BEEP_HZ, BEEP_PEAK, RedactMode, beep, render_wav

RATE = 8000
PALETTE = (400.0, 550.0, 1800.0, 2000.0, 2400.0, 2800.0)


def read(path: Path) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    assert rate == RATE
    return data


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    # talk 2 s | hold music 1.5 s | talk 2 s at 550 Hz
    return write_tones_sequence(tmp_path / "src.wav", [(400, 2.0), (1800, 1.5), (550, 2.0)])


@pytest.mark.parametrize("block", [7, 1000, 65536])
def test_kept_audio_is_sample_identical_and_the_hold_is_gone(source: Path, tmp_path: Path,
                                                             block: int) -> None:
    plan = plan_release(5500, [(2000, 3500)], [])
    out = tmp_path / "out.wav"
    rendered = render_wav(source, plan, out, RedactMode.SILENCE, block_frames=block)

    src, got = read(source), read(out)
    assert rendered.frames == len(got) == len(src) - 12_000
    assert rendered.duration_ms == plan.output_duration_ms == 4000
    assert np.array_equal(got[:16_000], src[:16_000])
    assert np.array_equal(got[16_000:], src[28_000:])
    assert tones_present(out, PALETTE) == {400.0, 550.0}


def test_silence_redaction_is_digital_silence_in_original_time(source: Path,
                                                               tmp_path: Path) -> None:
    # Redact 00:04.5-00:05 of the ORIGINAL (inside the 550 Hz talk after the hold).
    plan = plan_release(5500, [(2000, 3500)], [Span(4500, 5000)])
    out = tmp_path / "out.wav"
    render_wav(source, plan, out, RedactMode.SILENCE, block_frames=999)
    src, got = read(source), read(out)
    # Output: 0-2 s talk, 2-3 s = original 3.5-4.5, 3-3.5 s redacted, 3.5-4 s = original 5-5.5.
    assert np.array_equal(got[16_000:24_000], src[28_000:36_000])
    assert not got[24_000:28_000].any()
    assert np.array_equal(got[28_000:], src[40_000:])


def test_beep_redaction_is_a_1khz_tone_at_minus_12_dbfs(source: Path, tmp_path: Path) -> None:
    plan = plan_release(5500, [(2000, 3500)], [Span(4500, 5000)])
    out = tmp_path / "out.wav"
    render_wav(source, plan, out, RedactMode.BEEP, block_frames=1234)
    got = read(out)[:, 0]
    redacted = got[24_000:28_000]
    assert int(np.abs(redacted).max()) == BEEP_PEAK
    levels = tone_levels(redacted / 32768.0, RATE, [BEEP_HZ, 550.0, 400.0])
    assert levels[BEEP_HZ] > 0.95 and levels[550.0] < 0.01 and levels[400.0] < 0.01
    assert BEEP_HZ in tones_present(out, [BEEP_HZ, *PALETTE])
    assert 1800.0 not in tones_present(out, PALETTE)


def test_beep_is_phase_continuous_across_blocks() -> None:
    whole = beep(0, 4000, 4000, RATE)
    pieces = np.concatenate([beep(o, min(333, 4000 - o), 4000, RATE) for o in range(0, 4000, 333)])
    assert np.array_equal(whole, pieces)
    assert whole[0] == 0 and whole[-1] == 0  # ramped in and out: no click


def test_stereo_source_keeps_its_channels(tmp_path: Path) -> None:
    left = np.sin(2 * np.pi * 400 * np.arange(16_000) / RATE) * 0.3
    right = np.sin(2 * np.pi * 550 * np.arange(16_000) / RATE) * 0.3
    source = tmp_path / "stereo.wav"
    sf.write(str(source), np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    out = tmp_path / "out.wav"
    render_wav(source, plan_release(2000, [(500, 1000)], [Span(1500, 1600)]), out,
               RedactMode.BEEP)
    got, src = read(out), read(source)
    assert got.shape == (12_000, 2)
    assert np.array_equal(got[:4000], src[:4000])
    assert np.array_equal(got[4000:8000], src[8000:12_000])
    assert np.array_equal(got[8000:8800, 0], got[8000:8800, 1])  # beep on both channels
    assert tones_present(out, [400.0, 550.0], channel=0) == {400.0}


def test_the_source_is_byte_identical_afterwards(source: Path, tmp_path: Path) -> None:
    before = digest(source)
    source.chmod(0o444)  # read-only: rendering must not even try to open it for writing
    render_wav(source, plan_release(5500, [(2000, 3500)], [Span(0, 100)]),
               tmp_path / "out.wav", RedactMode.BEEP)
    assert digest(source) == before


def test_plan_for_another_duration_is_refused_and_leaves_nothing(source: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    with pytest.raises(ReleaseError, match="lasts 5500 ms but the edit plan was made for 6000"):
        render_wav(source, plan_release(6000, [], []), out, RedactMode.SILENCE)
    assert list(tmp_path.iterdir()) == [source]


def test_rendering_streams_instead_of_loading_the_call(tmp_path: Path) -> None:
    """Ten minutes of 8 kHz audio (9.6 MB of samples): peak Python-side memory stays a small
    fraction of it, because only one block is ever read at a time."""
    source = tmp_path / "long.wav"
    minute = (np.sin(2 * np.pi * 400 * np.arange(60 * RATE) / RATE) * 0.3)
    with sf.SoundFile(str(source), "w", RATE, 1, subtype="PCM_16") as f:
        for _ in range(10):
            f.write(minute)
    plan = plan_release(600_000, [(60_000, 120_000)], [Span(300_000, 360_000)])
    tracemalloc.start()
    try:
        render_wav(source, plan, tmp_path / "out.wav", RedactMode.BEEP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"peak {peak} bytes"
    assert sf.info(str(tmp_path / "out.wav")).frames == 540 * RATE
