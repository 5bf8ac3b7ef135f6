"""Command-line arguments with SQL and path tricks, through click against the real PostgreSQL: a
clean error or a verbatim value, never a traceback, never a dropped table, and files written only
where the operator asked."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import Result

from tests.cli_fixtures import Run, cli_fixture, people_fixture  # noqa: F401  (fixtures)
from tests.governance.conftest import GOVERNANCE_TABLES, Seeded, SeedRecording
from tests.store.conftest import EVIDENCE_TABLES

pytestmark = [pytest.mark.pg]

SQL_TRICKS = ("1; DROP TABLE calls", "' OR 1=1 --", "x'); DROP TABLE agents;--",
              "Robert'); DROP TABLE users;--", "\\'; SELECT pg_sleep(10); --", "%s%s%s", "$$ $$")


async def in_thread(cli: Run, *args: str, code: int = 0) -> Result:
    """The CLI runs its own event loop (asyncio.run): from an async test, give it a thread."""
    return await asyncio.to_thread(cli, *args, code=code)


def tables_intact(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        for table in (*EVIDENCE_TABLES, *GOVERNANCE_TABLES, "audit_log"):
            found = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
            assert found is not None and found[0] is not None, f"table {table} is gone"


@pytest.mark.parametrize("trick", SQL_TRICKS)
def test_an_id_that_is_not_a_uuid_is_a_usage_error(cli: Run, people: None, migrated_dsn: str,
                                                   trick: str) -> None:
    assert "not a call ID" in cli("root", "calls", "show", trick, code=2).output
    assert "not a recording ID" in cli("root", "recordings", "show", trick, code=2).output
    assert "not a recording ID" in cli("root", "access", "request", trick, "--reason", "x",
                                       code=2).output
    tables_intact(migrated_dsn)


@pytest.mark.parametrize("trick", SQL_TRICKS)
async def test_a_filter_is_a_value_matched_exactly(cli: Run, people: None, seed: SeedRecording,
                                                   migrated_dsn: str, trick: str) -> None:
    plain = await seed(caller="+3225550100")
    tricky = await seed(caller=trick)
    listed = json.loads((await in_thread(cli, "root", "recordings", "list", "--caller", trick,
                                         "--json")).stdout)
    assert [(r["recording"]["id"], r["caller_number"]) for r in listed] == [(str(tricky.id), trick)]
    assert str(plain.id) not in (await in_thread(cli, "root", "recordings", "list", "--agent",
                                                 trick)).output
    tables_intact(migrated_dsn)


@pytest.mark.parametrize("trick", SQL_TRICKS)
def test_names_are_stored_verbatim(cli: Run, people: None, migrated_dsn: str, trick: str) -> None:
    cli("root", "agents", "add", trick, "PJSIP/x")
    agents = json.loads(cli("root", "agents", "list", "--json").stdout)
    assert [(a["name"], a["dial_string"]) for a in agents] == [(trick, "PJSIP/x")]
    cli("root", "agents", "remove", trick)
    cli("root", "users", "add", trick, "--role", "viewer")
    users = json.loads(cli("root", "users", "list", "--json").stdout)
    assert trick in [u["name"] for u in users]
    tables_intact(migrated_dsn)


def test_a_nul_byte_is_refused_cleanly(cli: Run, people: None, migrated_dsn: str) -> None:
    """A shell cannot pass NUL in argv, but a script calling the CLI can: PostgreSQL refuses it in
    text, and that must be a clean error."""
    assert "database" in cli("root", "agents", "add", "a\x00b", "PJSIP/x", code=1).output
    tables_intact(migrated_dsn)


async def test_an_access_reason_is_kept_verbatim_and_the_audit_chain_holds(
        cli: Run, people: None, seed: SeedRecording) -> None:
    rec = await seed()
    reason = "'; DELETE FROM audit_log; --\n../../etc/passwd \U0001f600"
    await in_thread(cli, "vera", "access", "request", str(rec.id), "--reason", reason)
    [request] = json.loads((await in_thread(cli, "amos", "access", "list", "--json")).stdout)
    assert request["reason"] == reason
    assert "intact" in (await in_thread(cli, "aud", "audit", "verify")).output


# ------------------------------------------------------------------------------ output paths
def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def every_file(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture
def granted(cli: Run, people: None) -> Callable[[Seeded], None]:
    def grant(rec: Seeded) -> None:
        request_id = cli("vera", "access", "request", str(rec.id), "--reason", "FOI 7").output.split()[1]
        cli("amos", "access", "approve", request_id)
    return grant


@pytest.fixture
async def rec(seed: SeedRecording, granted: Callable[[Seeded], None]) -> Seeded:
    recording = await seed()
    await asyncio.to_thread(granted, recording)
    return recording


def test_fetch_never_overwrites_an_existing_file(cli: Run, rec: Seeded) -> None:
    passwd = Path("/etc/passwd")
    before = (digest(passwd), passwd.stat().st_mtime_ns)
    assert "already exists" in cli("vera", "recordings", "fetch", str(rec.id), "-o", str(passwd),
                                   code=1).output
    assert (digest(passwd), passwd.stat().st_mtime_ns) == before


def test_a_relative_climb_goes_where_it_says_or_nowhere(
        cli: Run, rec: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = every_file(tmp_path)
    # ../../etc/passwd from a/b/c is a/etc/passwd: no such directory, so nothing is written.
    assert "no directory" in cli("vera", "recordings", "fetch", str(rec.id), "-o",
                                 "../../etc/passwd", code=1).output
    assert every_file(tmp_path) == before
    cli("vera", "recordings", "fetch", str(rec.id), "-o", "../../copy.wav")
    assert every_file(tmp_path) - before == {tmp_path / "a" / "copy.wav"}
    assert rec.stereo is not None and digest(tmp_path / "a" / "copy.wav") == digest(rec.stereo)


def test_a_symlink_as_output_is_replaced_not_followed(cli: Run, rec: Seeded,
                                                       tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    dangling, existing = tmp_path / "dangling.wav", tmp_path / "existing.wav"
    dangling.symlink_to(tmp_path / "nowhere" / "x.wav")
    existing.symlink_to(victim)
    assert "already exists" in cli("vera", "recordings", "fetch", str(rec.id), "-o", str(existing),
                                   code=1).output
    cli("vera", "recordings", "fetch", str(rec.id), "-o", str(existing), "--force")
    cli("vera", "recordings", "fetch", str(rec.id), "-o", str(dangling))
    assert victim.read_text() == "keep me" and not (tmp_path / "nowhere").exists()
    for out in (existing, dangling):
        assert not out.is_symlink() and rec.stereo is not None and digest(out) == digest(rec.stereo)


def test_a_directory_as_output_is_a_usage_error(cli: Run, rec: Seeded, tmp_path: Path) -> None:
    cli("vera", "recordings", "fetch", str(rec.id), "-o", str(tmp_path), code=2)
    cli("vera", "recordings", "fetch", str(rec.id), "-o", f"{tmp_path}/", code=2)
