"""Need-to-know access end to end on the real database: request, approval by someone else, a grant
that expires, a fetch that verifies the file before writing it -- and an audit row for every
attempt, refused ones included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from callrec.governance import AccessRefused, CryptoError, Governance, IntegrityError, Role
from callrec.governance import audit as audit_log
from callrec.governance.crypto import generate_key, is_encrypted
from callrec.governance.files import encrypt_recording, fetch
from callrec.governance.listing import RecordingFilter
from callrec.governance.ports import ChainedAuditSink, GrantAuthoriser
from callrec.store.pool import Database
from tests.governance.conftest import FakeClock, SeedRecording, audit_rows, sha256

pytestmark = [pytest.mark.pg]

Users = dict[str, Governance]
MakeGovernance = Callable[[str], Governance]


async def granted_to_vera(users: Users, recording_id: UUID) -> None:
    request = await users["vera"].request_access(recording_id, "complaint 2025/17")
    await users["amos"].approve(request.id)


async def test_fetch_under_a_grant_writes_a_byte_identical_stereo_copy(
        users: Users, seed: SeedRecording, tmp_path: Path, raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    await granted_to_vera(users, rec.id)
    out = tmp_path / "out.wav"
    done = await fetch(users["vera"], rec.id, out, key=None)
    assert done.kind == "stereo"
    assert rec.stereo is not None and out.read_bytes() == rec.stereo.read_bytes()
    assert (await audit_rows(raw))[-1] == ("vera", "recordings.fetch", str(rec.id), "granted")


async def test_without_a_stereo_fingerprint_the_mix_is_fetched(
        users: Users, seed: SeedRecording, tmp_path: Path) -> None:
    rec = await seed(stereo=False)
    await granted_to_vera(users, rec.id)
    out = tmp_path / "out.wav"
    assert (await fetch(users["vera"], rec.id, out, key=None)).kind == "mix"
    assert out.read_bytes() == rec.mix.read_bytes()


async def test_fetch_without_a_grant_is_refused_audited_and_writes_nothing(
        users: Users, seed: SeedRecording, tmp_path: Path, raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    out = tmp_path / "out.wav"
    with pytest.raises(AccessRefused, match="no access grant"):
        await fetch(users["vera"], rec.id, out, key=None)
    assert list(tmp_path.iterdir()) == [tmp_path / str(rec.id)]  # only the seeded recording
    assert (await audit_rows(raw))[-1] == ("vera", "recordings.fetch", str(rec.id), "refused")


async def test_a_requester_cannot_approve_their_own_request(
        users: Users, seed: SeedRecording, raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    request = await users["amos"].request_access(rec.id, "quality review")
    with pytest.raises(AccessRefused, match="other than its requester"):
        await users["amos"].approve(request.id)
    assert (await audit_rows(raw))[-1] == ("amos", "access.approve", str(request.id), "refused")
    grant = await users["april"].approve(request.id)
    assert (grant.grantee, grant.approved_by) == ("amos", "april")


async def test_the_database_also_refuses_self_approval(
        users: Users, seed: SeedRecording, raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    request = await users["amos"].request_access(rec.id, "quality review")
    with pytest.raises(psycopg.errors.CheckViolation, match="not_self_decided"):
        await raw.execute("UPDATE access_requests SET status = 'approved', decided_by = requester,"
                          " decided_at = now() WHERE id = %s", (request.id,))


async def test_an_expired_grant_is_refused(users: Users, seed: SeedRecording, tmp_path: Path,
                                           clock: FakeClock) -> None:
    rec = await seed()
    await granted_to_vera(users, rec.id)
    clock.advance(hours=23, minutes=59)
    await fetch(users["vera"], rec.id, tmp_path / "in-time.wav", key=None)
    clock.advance(minutes=1)
    with pytest.raises(AccessRefused, match="expired"):
        await fetch(users["vera"], rec.id, tmp_path / "late.wav", key=None)
    assert not (tmp_path / "late.wav").exists()


async def test_a_grant_is_for_its_requester_only(users: Users, seed: SeedRecording,
                                                 tmp_path: Path) -> None:
    rec = await seed()
    await granted_to_vera(users, rec.id)
    with pytest.raises(AccessRefused, match="no access grant"):
        await fetch(users["april"], rec.id, tmp_path / "x.wav", key=None)


async def test_a_file_that_no_longer_matches_its_hash_is_not_handed_out(
        users: Users, seed: SeedRecording, tmp_path: Path, raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    await granted_to_vera(users, rec.id)
    assert rec.stereo is not None
    data = bytearray(rec.stereo.read_bytes())
    data[-1] ^= 0xFF
    rec.stereo.write_bytes(bytes(data))
    out = tmp_path / "out.wav"
    with pytest.raises(IntegrityError, match="does not match its stored SHA-256"):
        await fetch(users["vera"], rec.id, out, key=None)
    assert sorted(tmp_path.iterdir()) == [tmp_path / str(rec.id)]  # no output, no temp file
    cur = await raw.execute("SELECT outcome, detail FROM audit_log ORDER BY seq DESC LIMIT 1")
    outcome, detail = await cur.fetchone()  # type: ignore[misc]
    assert outcome == "refused" and detail["actual"] == sha256(rec.stereo)


async def test_unknown_users_get_nothing_and_are_audited(
        as_user: MakeGovernance, users: Users, raw: psycopg.AsyncConnection) -> None:
    stranger = as_user("stranger")
    with pytest.raises(AccessRefused, match="unknown user"):
        await stranger.list_recordings(RecordingFilter())
    assert (await audit_rows(raw))[-1] == ("stranger", "recordings.list", None, "refused")


async def test_a_disabled_user_loses_access(users: Users, seed: SeedRecording,
                                            tmp_path: Path) -> None:
    rec = await seed()
    await granted_to_vera(users, rec.id)
    await users["root"].disable_user("vera")
    with pytest.raises(AccessRefused, match="disabled"):
        await fetch(users["vera"], rec.id, tmp_path / "x.wav", key=None)


async def test_encrypted_recordings_are_decrypted_and_verified_on_fetch(
        users: Users, seed: SeedRecording, tmp_path: Path) -> None:
    rec = await seed()
    assert rec.stereo is not None
    plain = rec.stereo.read_bytes()
    key = generate_key()
    done = await encrypt_recording(users["root"], rec.id, key, chunk_size=1024)
    assert len(done.files) == 4 and rec.stereo.read_bytes() != plain
    await granted_to_vera(users, rec.id)
    with pytest.raises(CryptoError, match="wrong key"):
        await fetch(users["vera"], rec.id, tmp_path / "wrong.wav", key=generate_key())
    with pytest.raises(CryptoError, match="no key is configured"):
        await fetch(users["vera"], rec.id, tmp_path / "none.wav", key=None)
    await fetch(users["vera"], rec.id, tmp_path / "out.wav", key=key)
    assert (tmp_path / "out.wav").read_bytes() == plain
    assert not (tmp_path / "wrong.wav").exists() and not (tmp_path / "none.wav").exists()


async def test_only_admins_encrypt(users: Users, seed: SeedRecording) -> None:
    rec = await seed()
    with pytest.raises(AccessRefused, match="approver may not recordings.encrypt"):
        await encrypt_recording(users["amos"], rec.id, generate_key(), 1024)
    assert not any(is_encrypted(f) for f in rec.files)


async def test_every_step_of_the_flow_is_in_a_chain_that_verifies(
        users: Users, seed: SeedRecording, tmp_path: Path, raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    await users["vera"].list_recordings(RecordingFilter())
    await users["vera"].show_recording(rec.id)
    request = await users["vera"].request_access(rec.id, "complaint")
    await users["amos"].approve(request.id)
    await fetch(users["vera"], rec.id, tmp_path / "out.wav", key=None)
    rows = await audit_rows(raw)
    assert [r[1] for r in rows if r[0] != "root"] == [
        "recordings.list", "recordings.show", "access.request", "access.approve",
        "recordings.fetch"]
    assert (await users["aud"].audit_verify()).ok
    with pytest.raises(AccessRefused):
        await users["vera"].audit_verify()
    assert (await audit_log.verify(users["aud"].db)).ok


async def test_requests_are_listed_by_role(users: Users, seed: SeedRecording) -> None:
    rec = await seed()
    mine = await users["vera"].request_access(rec.id, "mine")
    await users["amos"].request_access(rec.id, "his")
    assert [r.id for r in await users["vera"].list_requests()] == [mine.id]
    assert len(await users["april"].list_requests(pending=True)) == 2
    with pytest.raises(AccessRefused, match="a reason is required"):
        await users["vera"].request_access(rec.id, "   ")


async def test_the_first_user_must_be_an_admin_and_then_only_admins_add_users(
        as_user: MakeGovernance) -> None:
    with pytest.raises(AccessRefused, match="first user must be an admin"):
        await as_user("eve").add_user("eve", Role.VIEWER)
    await as_user("root").add_user("root", Role.ADMIN)
    with pytest.raises(AccessRefused, match="unknown user"):
        await as_user("eve").add_user("eve", Role.ADMIN)
    await as_user("root").add_user("eve", Role.VIEWER)
    with pytest.raises(AccessRefused, match="viewer may not users.add"):
        await as_user("eve").add_user("mallory", Role.ADMIN)


async def test_the_release_ports_check_grants_and_write_to_the_chain(
        users: Users, seed: SeedRecording, db: Database, clock: FakeClock,
        raw: psycopg.AsyncConnection) -> None:
    rec = await seed()
    authoriser, sink = GrantAuthoriser(db, clock), ChainedAuditSink(db, clock)
    assert "no access grant" in (await authoriser.refusal("vera", rec.id) or "")
    await granted_to_vera(users, rec.id)
    assert await authoriser.refusal("vera", rec.id) is None
    assert "unknown user" in (await authoriser.refusal("nobody", rec.id) or "")
    await sink.record("vera", "recordings.export", str(rec.id), "failed", {"reason": "disk"})
    cur = await raw.execute("SELECT outcome, detail FROM audit_log ORDER BY seq DESC LIMIT 1")
    assert await cur.fetchone() == ("failed", {"reason": "disk"})  # nothing was handed out
    assert (await audit_log.verify(db)).ok
    with pytest.raises(ValueError, match="unknown audit outcome"):
        await sink.record("vera", "recordings.export", str(rec.id), "maybe", {})
