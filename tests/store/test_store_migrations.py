"""Schema migrations: ordered, recorded, idempotent, safe under concurrency, atomic per file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest

from callrec.governance import audit
from callrec.store import Migration, Store, StoreError, bundled_migrations, migrate

pytestmark = [pytest.mark.pg, pytest.mark.asyncio(loop_scope="session")]

EXPECTED_TABLES = {
    "calls", "call_events", "agents", "agent_legs", "recordings", "holds", "announcements",
    "transfers", "schema_migrations",
}


async def _ledger(dsn: str) -> list[tuple[int, str]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(v, n) for v, n in await cur.fetchall()]


async def _tables(dsn: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return {row[0] for row in await cur.fetchall()}


async def test_first_run_applies_all_then_reruns_apply_nothing(
    empty_database: Callable[[], str],
) -> None:
    dsn = empty_database()
    bundled = bundled_migrations()
    async with await psycopg.AsyncConnection.connect(dsn) as conn:  # not autocommit on purpose
        first = await migrate(conn)
        second = await migrate(conn)
    assert first == [m.version for m in bundled]
    assert second == []
    assert await _ledger(dsn) == [(m.version, m.name) for m in bundled]
    assert await _tables(dsn) >= EXPECTED_TABLES


async def test_store_migrate_uses_its_pool(empty_database: Callable[[], str]) -> None:
    dsn = empty_database()
    async with await Store.open(dsn) as store:
        assert await store.migrate() == [m.version for m in bundled_migrations()]
        assert await store.migrate() == []


async def test_concurrent_migrators_apply_each_version_exactly_once(
    empty_database: Callable[[], str],
) -> None:
    dsn = empty_database()
    conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(6)]
    try:
        results = await asyncio.gather(*(migrate(conn) for conn in conns))
    finally:
        for conn in conns:
            await conn.close()
    applied = sorted(v for result in results for v in result)
    assert applied == [m.version for m in bundled_migrations()]
    assert sum(1 for result in results if result) == 1  # one winner did all the work
    assert [v for v, _ in await _ledger(dsn)] == applied


async def test_a_failing_migration_is_rolled_back_and_stops_the_run(
    empty_database: Callable[[], str],
) -> None:
    dsn = empty_database()
    good = Migration(1, "good", "CREATE TABLE first_table (x int);")
    bad = Migration(2, "bad", "CREATE TABLE half_done (x int); SELECT 1 / 0;")
    later = Migration(3, "later", "CREATE TABLE never_reached (x int);")
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        with pytest.raises(StoreError, match="002_bad"):
            await migrate(conn, [good, bad, later])
        assert await _ledger(dsn) == [(1, "good")]
        tables = await _tables(dsn)
        assert "first_table" in tables
        assert "half_done" not in tables and "never_reached" not in tables

        fixed = Migration(2, "bad", "CREATE TABLE half_done (x int);")
        assert await migrate(conn, [good, fixed, later]) == [2, 3]


async def test_duplicate_versions_are_refused(empty_database: Callable[[], str]) -> None:
    dsn = empty_database()
    twins = [Migration(1, "a", "SELECT 1;"), Migration(1, "b", "SELECT 1;")]
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        with pytest.raises(StoreError, match="duplicate"):
            await migrate(conn, twins)


async def test_008_keys_the_events_already_stored_and_widens_the_audit_outcomes(
    empty_database: Callable[[], str],
) -> None:
    dsn = empty_database()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await migrate(conn, [m for m in bundled_migrations() if m.version < 8])
        call_id = uuid4()
        await conn.execute("INSERT INTO calls (id, direction, caller_number, channel_id, started_at)"
                           " VALUES (%s, 'inbound', '1', 'c', now())", (call_id,))
        for _ in range(2):  # the same event twice: two rows before 008, and still two after it
            await conn.execute("INSERT INTO call_events (call_id, at, kind) VALUES (%s, now(), 'x')",
                               (call_id,))
        with pytest.raises(psycopg.errors.CheckViolation):
            await _audit(conn, "failed")

        assert (await migrate(conn))[0] == 8
        cur = await conn.execute("SELECT count(DISTINCT idempotency_key) FROM call_events")
        assert await cur.fetchone() == (2,)
        await _audit(conn, "failed")
        with pytest.raises(psycopg.errors.CheckViolation):
            await _audit(conn, "maybe")


async def _audit(conn: psycopg.AsyncConnection, outcome: str) -> None:
    async with conn.transaction():
        await audit.append(conn, at=datetime.now(UTC), actor="rita", action="recordings.export",
                           target="r", outcome=outcome, detail={})
