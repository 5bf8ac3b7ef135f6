"""Versioned SQL migrations: `migrations/NNN_name.sql`, applied in order, one transaction each.

Safe to run repeatedly (applied versions are recorded in `schema_migrations`) and concurrently
(a session-level advisory lock serialises migrators, so several app instances or test workers
can all call `migrate()` at start-up).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from callrec.store.errors import StoreError, translated

# Arbitrary but fixed: the ASCII bytes of "callrec" as a bigint. Every migrator must use the same.
MIGRATION_LOCK_KEY = 0x63616C6C726563

_FILE_NAME = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> tuple[Migration, ...]:
    """The migrations shipped in the `callrec.store.migrations` package directory, in order."""
    folder = resources.files("callrec.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is not None:
            found.append(
                Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8"))
            )
    return _checked_order(found)


def _checked_order(migrations: Sequence[Migration]) -> tuple[Migration, ...]:
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    versions = [m.version for m in ordered]
    if len(set(versions)) != len(versions):
        raise StoreError(f"duplicate migration versions: {versions}")
    return ordered


async def migrate(
    target: AsyncConnection | AsyncConnectionPool,
    migrations: Sequence[Migration] | None = None,
) -> list[int]:
    """Apply pending migrations; return the versions applied by THIS call (empty if up to date).

    `migrations` defaults to the bundled ones; tests pass their own to exercise failure paths.
    A failing migration is rolled back entirely and reported as StoreError; earlier ones stay.
    """
    plan = _checked_order(bundled_migrations() if migrations is None else migrations)
    if isinstance(target, AsyncConnectionPool):
        with translated("migration"):
            async with target.connection() as conn:
                return await _migrate_locked(conn, plan)
    return await _migrate_locked(target, plan)


async def _migrate_locked(conn: AsyncConnection, plan: tuple[Migration, ...]) -> list[int]:
    # Every statement runs inside an explicit transaction block so that this works the same on
    # autocommit and non-autocommit connections (no implicit transaction is left open). The
    # advisory lock is session-level, so it survives those commits and spans the whole run.
    with translated("migration lock"):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        return await _apply_pending(conn, plan)
    finally:
        with translated("migration unlock"):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


async def _apply_pending(conn: AsyncConnection, plan: tuple[Migration, ...]) -> list[int]:
    with translated("migration ledger"):
        async with conn.transaction():
            await conn.execute(_CREATE_LEDGER)
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
    applied: list[int] = []
    for migration in plan:
        if migration.version not in done:
            await _apply_one(conn, migration)
            applied.append(migration.version)
    return applied


async def _apply_one(conn: AsyncConnection, migration: Migration) -> None:
    with translated(f"migration {migration.version:03d}_{migration.name}"):
        async with conn.transaction():
            # No parameters: psycopg sends the script with the simple query protocol, which is
            # what allows several statements in one execute().
            await conn.execute(migration.sql.encode("utf-8"))
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
