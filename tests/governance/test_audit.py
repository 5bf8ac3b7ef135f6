"""The audit log: every row chained to the one before; the database refuses to change or delete
rows; `verify` finds an edited row, a deleted row and a cut tail."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from callrec.governance import audit
from callrec.governance.audit import GENESIS, AuditEntry, json_safe, row_hash, verify_chain
from callrec.store import StoreError
from callrec.store.pool import Database

pytestmark = [pytest.mark.pg]

T0 = datetime(2025, 2, 1, 10, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditEntry]:
    """A valid chain of n rows, built with the same hash the appender uses."""
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        at, detail = T0 + timedelta(seconds=seq), {"n": seq, "why": "test"}
        digest = row_hash(seq, at, "root", "recordings.list", None, "granted", detail, prev)
        rows.append(AuditEntry(seq, at, "root", "recordings.list", None, "granted", detail, prev,
                               digest))
        prev = digest
    return rows


# ------------------------------------------------------------------------------- pure walk
def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    rows = chain(5)
    report = verify_chain(rows)
    assert report.ok and report.rows == 5
    assert (report.head_seq, report.head_hash) == (5, rows[-1].row_hash)


def test_an_edited_row_is_named() -> None:
    rows = chain(5)
    rows[2] = replace(rows[2], actor="mallory")
    report = verify_chain(rows)
    assert not report.ok and report.bad_seq == 3 and "edited" in (report.problem or "")


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = chain(5)
    edited = replace(rows[2], actor="mallory")
    rows[2] = replace(edited, row_hash=audit.recomputed(edited))
    report = verify_chain(rows)
    assert not report.ok and report.bad_seq == 4 and "does not link" in (report.problem or "")


@pytest.mark.parametrize("deleted", [0, 2])
def test_a_deleted_row_leaves_a_gap(deleted: int) -> None:
    rows = chain(5)
    del rows[deleted]
    report = verify_chain(rows)
    assert not report.ok and report.bad_seq == deleted + 2
    assert f"rows {deleted + 1}..{deleted + 1} are missing" in (report.problem or "")


def test_rows_deleted_at_the_end_are_caught_by_an_anchor_kept_elsewhere() -> None:
    rows = chain(5)
    anchor = (5, rows[4].row_hash)
    assert verify_chain(rows, anchor).ok
    report = verify_chain(rows[:3], anchor)
    assert not report.ok and "anchor row 5 is gone" in (report.problem or "")


def test_json_safe_detail_survives_jsonb_unchanged() -> None:
    assert json_safe({"f": 1e20, "t": (1, 2), "b": True, "n": None}) == {
        "f": "1e+20", "t": [1, 2], "b": True, "n": None}
    with pytest.raises(TypeError):
        json_safe({"x": object()})


# ------------------------------------------------------------------------------- database
async def append(db: Database, n: int, actor: str = "root") -> None:
    for i in range(n):
        await audit.append_alone(db, at=T0 + timedelta(seconds=i), actor=actor,
                                 action="recordings.show", target=f"r{i}", outcome="granted",
                                 detail={"i": i, "ratio": 0.5, "nested": {"a": [1, "b"]}})


async def test_appended_rows_form_a_chain_that_verifies(db: Database) -> None:
    await append(db, 4)
    report = await audit.verify(db)
    assert report.ok and report.rows == 4
    listed = await audit.list_entries(db, limit=10)
    assert [e.seq for e in listed] == [4, 3, 2, 1]
    assert listed[-1].prev_hash == GENESIS and listed[0].prev_hash == listed[1].row_hash


async def test_concurrent_writers_never_fork_the_chain(db: Database, migrated_dsn: str) -> None:
    others = [await Database.connect(migrated_dsn, min_size=1, max_size=1, timeout=10)
              for _ in range(4)]
    try:
        await asyncio.gather(*(append(d, 10, actor=f"w{i}") for i, d in enumerate(others)))
    finally:
        for d in others:
            await d.close()
    report = await audit.verify(db)
    assert report.ok and report.rows == 40


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
    "DELETE FROM audit_log WHERE seq = 1",
    "DELETE FROM audit_log WHERE false",
    "TRUNCATE audit_log",
])
async def test_the_database_refuses_to_change_or_delete_audit_rows(
        db: Database, raw: psycopg.AsyncConnection, statement: str) -> None:
    await append(db, 2)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        await raw.execute(statement)
    assert (await audit.verify(db)).rows == 2
    with pytest.raises(StoreError, match="append-only"):
        await db.execute("tamper", statement.encode())


async def tamper(raw: psycopg.AsyncConnection, statement: str) -> None:
    """What an owner bent on tampering must do: switch the guard off (documented)."""
    async with raw.transaction():
        await raw.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
        await raw.execute(statement.encode())
        await raw.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")


async def test_verify_detects_an_edited_row(db: Database, raw: psycopg.AsyncConnection) -> None:
    await append(db, 5)
    await tamper(raw, "UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = 3")
    report = await audit.verify(db)
    assert not report.ok and report.bad_seq == 3 and "edited" in (report.problem or "")


async def test_verify_detects_a_deleted_row(db: Database, raw: psycopg.AsyncConnection) -> None:
    await append(db, 5)
    await tamper(raw, "DELETE FROM audit_log WHERE seq = 2")
    report = await audit.verify(db)
    assert not report.ok and report.bad_seq == 3 and "missing" in (report.problem or "")


async def test_verify_with_an_anchor_detects_a_cut_tail(db: Database,
                                                        raw: psycopg.AsyncConnection) -> None:
    await append(db, 5)
    head = await audit.verify(db)
    await tamper(raw, "DELETE FROM audit_log WHERE seq = 5")
    assert (await audit.verify(db)).ok  # without an anchor a cut tail looks like a shorter log
    report = await audit.verify(db, (head.head_seq, head.head_hash))
    assert not report.ok and "gone" in (report.problem or "")


async def test_verify_streams_long_logs_in_batches(db: Database) -> None:
    await append(db, 25)
    walked = [e.seq async for e in audit.entries(db, batch=7)]
    assert walked == list(range(1, 26))
