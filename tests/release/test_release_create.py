"""`create_release` end to end on the real store: a recorded call with a hold becomes a client copy
with the hold cut out, the requested span redacted, the rest sample-identical, and a release row."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callrec.audio import tones_present
from callrec.governance.crypto import encrypt_in_place, generate_key, is_encrypted
from callrec.release import (
    Format,
    PlanError,
    RedactMode,
    ReleaseRecords,
    ReleaseRefused,
    ReleaseRequest,
    Span,
    create_release,
)
from callrec.release.render import BEEP_HZ, beep
from callrec.store import Store
from tests.release.evidence import RecordedCall, recorded_call
from tests.release.fakes import FakeGovernance, Gate

PALETTE = (400.0, 550.0, 1800.0, 2000.0, 2400.0, 2800.0)
# talk 2 s (400 Hz) | on hold 1.5 s (music, 1800 Hz) | talk 2 s (550 Hz); hold stored at 2000-3500
SEGMENTS = [(400, 2.0), (1800, 1.5), (550, 2.0)]
HOLD = (2000, 3500)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def samples(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="int16", always_2d=True)[0]


def request(call: RecordedCall, out: Path, **changes: object) -> ReleaseRequest:
    base = ReleaseRequest(recording_id=call.recording_id, request_ref="FOI-2025-0042", output=out,
                          reviewer="rita", reviewed=True, actor="olga",
                          redactions=(Span(4500, 5000),), redact_mode=RedactMode.SILENCE)
    return replace(base, **changes)


@pytest.fixture
async def call(store: Store, tmp_path: Path) -> RecordedCall:
    return await recorded_call(store, tmp_path / "spool", SEGMENTS, holds_ms=[HOLD])


async def test_release_cuts_the_hold_redacts_the_span_and_keeps_the_rest(
    store: Store, call: RecordedCall, tmp_path: Path
) -> None:
    before = sha(call.mix)
    gov, out = FakeGovernance(), tmp_path / "client.wav"

    release = await create_release(store, ReleaseRecords.of(store), gov, request(call, out))

    src, got = samples(call.mix), samples(out)
    assert len(got) == len(src) - 12_000  # 1.5 s of hold at 8 kHz
    assert tones_present(out, PALETTE) == {400.0, 550.0}
    assert np.array_equal(got[:16_000], src[:16_000])
    assert np.array_equal(got[16_000:24_000], src[28_000:36_000])
    assert not got[24_000:28_000].any()  # original 00:04.5-00:05, now at 3.0-3.5 s
    assert np.array_equal(got[28_000:], src[40_000:])
    assert sha(call.mix) == before  # the original is untouched

    [stored] = await ReleaseRecords.of(store).list(call.recording_id)
    assert stored == release
    assert stored.output_sha256 == sha(out) and stored.source_sha256 == before
    assert stored.output_duration_ms == 4000 and stored.format == "wav"
    assert [p["kind"] for p in stored.edit_list] == ["keep", "cut", "keep", "redact", "keep"]
    assert (stored.request_ref, stored.reviewer, stored.created_by) == ("FOI-2025-0042", "rita",
                                                                        "olga")
    assert [(e.action, e.target, e.outcome) for e in gov.audit.entries] == [
        ("recordings.export", str(call.recording_id), "granted")]
    assert gov.audit.entries[0].detail["release_id"] == str(release.id)


async def test_beep_mode_puts_the_1khz_beep_where_the_span_was(
    store: Store, call: RecordedCall, tmp_path: Path
) -> None:
    out = tmp_path / "client.wav"
    await create_release(store, ReleaseRecords.of(store), FakeGovernance(),
                         request(call, out, redact_mode=RedactMode.BEEP))
    got, src = samples(out)[:, 0], samples(call.mix)[:, 0]
    assert tones_present(out, [BEEP_HZ, *PALETTE]) == {BEEP_HZ, 400.0, 550.0}
    assert np.array_equal(got[24_000:28_000], beep(0, 4000, 4000, 8000))
    assert np.array_equal(got[:24_000], np.concatenate([src[:16_000], src[28_000:36_000]]))
    assert np.array_equal(got[28_000:], src[40_000:])


async def test_stereo_file_is_the_source_when_present(store: Store, tmp_path: Path) -> None:
    call = await recorded_call(store, tmp_path / "spool", SEGMENTS, holds_ms=[HOLD], stereo=True)
    assert call.stereo is not None
    out = tmp_path / "client.wav"
    release = await create_release(store, ReleaseRecords.of(store), FakeGovernance(),
                                   request(call, out, redactions=()))
    assert release.source_path == str(call.stereo)
    got, src = samples(out), samples(call.stereo)
    assert got.shape == (len(src) - 12_000, 2)
    assert np.array_equal(got[16_000:], src[28_000:])
    assert tones_present(out, PALETTE, channel=0) == {400.0, 550.0}
    assert tones_present(out, PALETTE, channel=1) == {2000.0}


async def test_mp3_export_decodes_to_the_expected_duration(
    store: Store, call: RecordedCall, tmp_path: Path
) -> None:
    out = tmp_path / "client.mp3"
    release = await create_release(store, ReleaseRecords.of(store), FakeGovernance(),
                                   request(call, out, format=Format.MP3))
    decoded = tmp_path / "decoded.wav"
    decode = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(out), str(decoded)]
    await asyncio.to_thread(subprocess.run, decode, check=True, timeout=60)
    info = sf.info(str(decoded))
    assert abs(info.frames / info.samplerate * 1000 - 4000) <= 50
    assert release.format == "mp3" and release.output_sha256 == sha(out)
    assert 1800.0 not in tones_present(decoded, PALETTE)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # temp WAV gone


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"reviewed": False}, ReleaseRefused, "reviewed in its entirety"),
        ({"reviewer": " "}, ReleaseRefused, "reviewer"),
        ({"request_ref": ""}, ReleaseRefused, "request reference"),
        ({"redactions": (Span(5000, 5600),)}, PlanError, "beyond the end"),
    ],
)
async def test_refusals_leave_no_copy_and_no_row_but_are_audited(
    store: Store, call: RecordedCall, tmp_path: Path, changes: dict[str, object],
    error: type[Exception], message: str,
) -> None:
    gov, out = FakeGovernance(), tmp_path / "client.wav"
    with pytest.raises(error, match=message):
        await create_release(store, ReleaseRecords.of(store), gov,
                             request(call, out, **changes))
    assert not out.exists()
    assert await ReleaseRecords.of(store).list(call.recording_id) == ()
    assert gov.audit.outcomes == ["refused"]
    assert message.split()[0] in gov.audit.entries[0].detail["reason"]


async def test_altered_evidence_is_not_released(store: Store, call: RecordedCall,
                                                tmp_path: Path) -> None:
    data = bytearray(call.mix.read_bytes())
    data[-1] ^= 0x01
    call.mix.write_bytes(bytes(data))
    gov = FakeGovernance()
    with pytest.raises(ReleaseRefused, match="no longer matches its recorded SHA-256"):
        await create_release(store, ReleaseRecords.of(store), gov,
                             request(call, tmp_path / "client.wav"))
    assert gov.audit.outcomes == ["refused"]


async def test_an_existing_output_file_is_never_overwritten(store: Store, call: RecordedCall,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "client.wav"
    out.write_bytes(b"someone else's file")
    with pytest.raises(ReleaseRefused, match="already exists"):
        await create_release(store, ReleaseRecords.of(store), FakeGovernance(),
                             request(call, out))
    assert out.read_bytes() == b"someone else's file"


async def test_an_open_recording_is_not_releasable(store: Store, tmp_path: Path) -> None:
    call = await recorded_call(store, tmp_path / "spool", SEGMENTS, status="finalising")
    with pytest.raises(ReleaseRefused, match="is finalising"):
        await create_release(store, ReleaseRecords.of(store), FakeGovernance(),
                             request(call, tmp_path / "client.wav"))


async def test_ffmpeg_failure_is_one_clear_error(store: Store, call: RecordedCall,
                                                 tmp_path: Path) -> None:
    gov = FakeGovernance()
    with pytest.raises(Exception, match="ffmpeg not found") as raised:
        await create_release(store, ReleaseRecords.of(store), gov,
                             request(call, tmp_path / "c.mp3", format=Format.MP3),
                             ffmpeg=str(tmp_path / "no-ffmpeg"))
    assert type(raised.value).__name__ == "ReleaseError"
    assert gov.audit.outcomes == ["failed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spool"]  # no copy, no temp WAV


async def test_an_actor_without_a_grant_is_refused_before_any_work(
    store: Store, call: RecordedCall, tmp_path: Path
) -> None:
    gov = FakeGovernance(authoriser=Gate({"olga": "no live grant on this recording"}))
    with pytest.raises(ReleaseRefused, match="no live grant"):
        await create_release(store, ReleaseRecords.of(store), gov,
                             request(call, tmp_path / "client.wav"))
    assert gov.audit.outcomes == ["refused"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spool"]


async def test_a_recording_encrypted_at_rest_is_released_from_verified_plaintext(
    store: Store, call: RecordedCall, tmp_path: Path
) -> None:
    plain_out, sealed_out = tmp_path / "plain.wav", tmp_path / "sealed.wav"
    await create_release(store, ReleaseRecords.of(store), FakeGovernance(), request(call, plain_out))
    key = generate_key()
    assert encrypt_in_place(call.mix, key)

    await create_release(store, ReleaseRecords.of(store), FakeGovernance(),
                         request(call, sealed_out, key=key, request_ref="FOI-2"))

    assert sha(sealed_out) == sha(plain_out)  # the same client copy, decrypted on the way
    assert is_encrypted(call.mix)  # the evidence stays encrypted at rest
    assert not list(tmp_path.glob("**/callrec-release-*"))  # no plaintext left behind


async def test_an_encrypted_recording_without_the_key_is_refused_clearly(
    store: Store, call: RecordedCall, tmp_path: Path
) -> None:
    encrypt_in_place(call.mix, generate_key())
    out = tmp_path / "client.wav"
    with pytest.raises(ReleaseRefused, match="key"):
        await create_release(store, ReleaseRecords.of(store), FakeGovernance(), request(call, out))
    assert not out.exists()
