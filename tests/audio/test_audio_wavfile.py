"""callrec.audio.wavfile: telling a closed MixMonitor WAV from an open one, repairing, facts."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callrec.audio import (
    AudioError,
    file_facts,
    repair_wav_header,
    sine,
    wait_closed,
    wav_is_closed,
    write_samples,
)


def pcm16(seconds: float, freq: float = 400.0, rate: int = 8000) -> bytes:
    return (sine(freq, seconds, rate) * 32767).astype("<i2").tobytes()


def asterisk_header(rate: int = 8000, channels: int = 1) -> bytes:
    """The 44-byte header format_wav's write_header() emits on open: both sizes are 0."""
    align = 2 * channels
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", 0))
    )


def open_mixmonitor_file(path: Path, payload: bytes, channels: int = 1) -> Path:
    """A WAV as MixMonitor leaves it while still recording, or after Asterisk crashed."""
    path.write_bytes(asterisk_header(channels=channels) + payload)
    return path


def asterisk_close(path: Path) -> None:
    """What format_wav's update_header() does in wav_close()."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(4)
        f.write(struct.pack("<I", size - 8))
        f.seek(40)
        f.write(struct.pack("<I", size - 44))


def chunk(ident: bytes, body: bytes) -> bytes:
    return ident + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


FMT_MONO_8K = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)


class TestClosedDetection:
    def test_a_file_written_and_closed_by_libsndfile_is_closed(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "done.wav", sine(400, 1.0))
        assert wav_is_closed(path)

    def test_a_file_mixmonitor_is_still_writing_is_not_closed(self, tmp_path: Path) -> None:
        path = open_mixmonitor_file(tmp_path / "live.wav", pcm16(1.0))
        assert not wav_is_closed(path)

    def test_it_stays_not_closed_while_growing_and_becomes_closed_on_close(
        self, tmp_path: Path
    ) -> None:
        path = open_mixmonitor_file(tmp_path / "live.wav", b"")
        assert not wav_is_closed(path)
        with open(path, "ab") as f:
            f.write(pcm16(0.5))
        assert not wav_is_closed(path)
        asterisk_close(path)
        assert wav_is_closed(path)

    def test_an_empty_recording_closed_by_asterisk_is_closed(self, tmp_path: Path) -> None:
        path = open_mixmonitor_file(tmp_path / "empty.wav", b"")
        asterisk_close(path)
        assert wav_is_closed(path)

    def test_missing_short_and_non_wav_files_are_not_closed(self, tmp_path: Path) -> None:
        (tmp_path / "short.wav").write_bytes(b"RIFF\0\0")
        (tmp_path / "text.wav").write_text("not a wav at all, just some text")
        assert not wav_is_closed(tmp_path / "absent.wav")
        assert not wav_is_closed(tmp_path / "short.wav")
        assert not wav_is_closed(tmp_path / "text.wav")

    def test_list_and_odd_sized_chunks_are_walked(self, tmp_path: Path) -> None:
        data = pcm16(0.1)
        path = tmp_path / "chunky.wav"
        path.write_bytes(
            riff(
                chunk(b"fmt ", FMT_MONO_8K),
                chunk(b"junk", b"abc"),
                chunk(b"data", data),
                chunk(b"LIST", b"INFOISFT\x05\0\0\0sox!\0"),
            )
        )
        assert wav_is_closed(path)
        assert sf.info(str(path)).frames == len(data) // 2

    def test_a_data_size_disagreeing_with_the_bytes_present_is_not_closed(
        self, tmp_path: Path
    ) -> None:
        good = riff(chunk(b"fmt ", FMT_MONO_8K), chunk(b"data", pcm16(0.1)))
        path = tmp_path / "lying.wav"
        path.write_bytes(good[:40] + struct.pack("<I", 1000) + good[44:])
        assert not wav_is_closed(path)

    def test_wave_format_extensible_files_are_understood(self, tmp_path: Path) -> None:
        path = tmp_path / "ext.wav"
        sf.write(str(path), np.zeros((800, 2)), 8000, format="WAVEX", subtype="PCM_16")
        raw = path.read_bytes()
        assert struct.unpack("<H", raw[20:22])[0] == 0xFFFE  # really EXTENSIBLE
        assert wav_is_closed(path)


class TestRepair:
    def test_repair_rebuilds_the_sizes_of_a_crashed_recording(self, tmp_path: Path) -> None:
        samples = pcm16(1.5)
        path = open_mixmonitor_file(tmp_path / "crashed.wav", samples)

        assert repair_wav_header(path) is True

        assert wav_is_closed(path)
        assert sf.info(str(path)).frames == len(samples) // 2
        assert path.read_bytes()[44:] == samples  # sample data untouched

    def test_repair_of_a_sound_file_changes_nothing(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "done.wav", sine(400, 0.3))
        before = path.read_bytes()
        assert repair_wav_header(path) is False
        assert path.read_bytes() == before

    def test_repair_is_idempotent(self, tmp_path: Path) -> None:
        path = open_mixmonitor_file(tmp_path / "crashed.wav", pcm16(0.2))
        assert repair_wav_header(path) is True
        assert repair_wav_header(path) is False

    @pytest.mark.parametrize(("channels", "extra"), [(1, 1), (2, 1), (2, 3)])
    def test_a_trailing_partial_sample_frame_is_cut_off(
        self, tmp_path: Path, channels: int, extra: int
    ) -> None:
        whole = pcm16(0.25) * channels  # any bytes; a whole number of frames for both layouts
        path = open_mixmonitor_file(tmp_path / "torn.wav", whole + b"\x7f" * extra, channels)

        assert repair_wav_header(path) is True

        info = sf.info(str(path))
        assert (info.channels, info.frames) == (channels, len(whole) // (2 * channels))
        assert path.stat().st_size == 44 + len(whole)

    def test_a_header_only_file_repairs_to_an_empty_recording(self, tmp_path: Path) -> None:
        path = open_mixmonitor_file(tmp_path / "nothing.wav", b"")
        assert repair_wav_header(path) is True
        assert wav_is_closed(path)
        assert sf.info(str(path)).frames == 0

    def test_only_the_riff_size_is_fixed_when_the_chunks_are_sound(self, tmp_path: Path) -> None:
        data = pcm16(0.1)
        good = riff(chunk(b"fmt ", FMT_MONO_8K), chunk(b"data", data), chunk(b"LIST", b"x" * 7))
        path = tmp_path / "stale-riff.wav"
        path.write_bytes(good[:4] + struct.pack("<I", 0) + good[8:])

        assert repair_wav_header(path) is True

        assert path.read_bytes() == good

    def test_an_extensible_file_with_zeroed_sizes_is_repaired(self, tmp_path: Path) -> None:
        path = tmp_path / "ext.wav"
        sf.write(
            str(path),
            sine(400, 0.5)[:, None].repeat(2, axis=1),
            8000,
            format="WAVEX",
            subtype="PCM_16",
        )
        raw = bytearray(path.read_bytes())
        data_size_at = raw.index(b"data") + 4
        raw[4:8] = raw[data_size_at : data_size_at + 4] = b"\0\0\0\0"
        path.write_bytes(bytes(raw))
        assert not wav_is_closed(path)

        assert repair_wav_header(path) is True

        assert wav_is_closed(path)
        assert sf.info(str(path)).frames == 4000

    def test_repairing_something_that_is_not_a_wav_is_an_audio_error(self, tmp_path: Path) -> None:
        path = tmp_path / "text.wav"
        path.write_text("hello, not a RIFF file")
        with pytest.raises(AudioError):
            repair_wav_header(path)
        with pytest.raises(AudioError):
            repair_wav_header(tmp_path / "absent.wav")


class TestWaitClosed:
    async def test_a_closed_file_is_reported_at_once(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "done.wav", sine(400, 0.1))
        assert await wait_closed(path, timeout=5.0)

    async def test_it_times_out_boundedly_for_a_file_that_never_appears(
        self, tmp_path: Path
    ) -> None:
        started = time.monotonic()
        assert not await wait_closed(tmp_path / "never.wav", timeout=0.3, poll=0.05)
        assert 0.3 <= time.monotonic() - started < 1.5

    async def test_it_times_out_for_a_file_that_stays_open(self, tmp_path: Path) -> None:
        path = open_mixmonitor_file(tmp_path / "live.wav", pcm16(0.1))
        started = time.monotonic()
        assert not await wait_closed(path, timeout=0.2, poll=0.05)
        assert time.monotonic() - started < 1.5

    async def test_it_sees_the_file_appear_grow_and_close(self, tmp_path: Path) -> None:
        path = tmp_path / "later.wav"

        async def mixmonitor() -> None:
            await asyncio.sleep(0.1)
            open_mixmonitor_file(path, pcm16(0.2))
            await asyncio.sleep(0.1)
            asterisk_close(path)

        writer = asyncio.create_task(mixmonitor())
        assert await wait_closed(path, timeout=5.0, poll=0.02)
        assert writer.done()
        await writer


class TestFileFacts:
    def test_facts_describe_the_file(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "facts.wav", np.zeros((12345, 2)), rate=8000)

        facts = file_facts(path)

        assert (facts.path, facts.frames) == (path, 12345)
        assert (facts.samplerate, facts.channels) == (8000, 2)
        assert facts.duration_ms == 1543  # 1543.125 ms
        assert facts.bytes == path.stat().st_size == 44 + 12345 * 4
        assert facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()

    def test_duration_rounds_half_a_millisecond_up(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "tiny.wav", np.zeros(4), rate=8000)  # 0.5 ms
        assert file_facts(path).duration_ms == 1

    def test_the_hash_streams_across_block_boundaries(self, tmp_path: Path) -> None:
        path = write_samples(tmp_path / "big.wav", sine(400, 70.0))  # ~1.1 MB: two hash blocks
        assert path.stat().st_size > 1 << 20
        assert file_facts(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()

    def test_a_recording_that_is_still_open_is_refused_not_read_as_empty(
        self, tmp_path: Path
    ) -> None:
        # libsndfile would happily report 0 frames for it.
        path = open_mixmonitor_file(tmp_path / "live.wav", pcm16(1.0))
        with pytest.raises(AudioError, match="not finalised"):
            file_facts(path)
        repair_wav_header(path)
        assert file_facts(path).frames == 8000

    def test_unreadable_files_are_an_audio_error(self, tmp_path: Path) -> None:
        (tmp_path / "junk.wav").write_bytes(b"\x01" * 100)
        with pytest.raises(AudioError):
            file_facts(tmp_path / "junk.wav")
        with pytest.raises(AudioError):
            file_facts(tmp_path / "absent.wav")
