"""Fixtures for the evidence-store tests: a real PostgreSQL (the sandbox), one fresh database per
test session, migrated once, emptied before each test.

Without a reachable server the tests skip -- unless CI=true, where they must fail.
Start the server with `scripts/pg-sandbox.sh up`; override the server with CALLREC_TEST_PG_DSN.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator

import psycopg
import pytest
import pytest_asyncio
from psycopg import sql
from psycopg.conninfo import make_conninfo

from callrec.store import Store, migrate

DEFAULT_DSN = "postgresql://callrec@127.0.0.1:55432/callrec"

# Child tables first is not needed with CASCADE, but listing them all documents the schema.
EVIDENCE_TABLES = (
    "transfers", "holds", "announcements", "recordings", "agent_legs", "call_events", "calls",
    "agents",
)


def _server_dsn() -> str:
    return os.environ.get("CALLREC_TEST_PG_DSN", DEFAULT_DSN)


def _with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL sandbox unreachable ({reason}); run scripts/pg-sandbox.sh up"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _create_database(admin_dsn: str, prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_server_dsn() -> str:
    """DSN of a database on the server that we may connect to in order to create others."""
    dsn = _server_dsn()
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _unreachable(str(exc).strip().splitlines()[0])
    return dsn


@pytest.fixture
def empty_database(pg_server_dsn: str) -> Iterator[Callable[[], str]]:
    """Factory of brand-new, unmigrated databases (dropped after the test); returns their DSNs."""
    created: list[str] = []

    def make() -> str:
        created.append(_create_database(pg_server_dsn, "callrec_test_empty"))
        return _with_dbname(pg_server_dsn, created[-1])

    yield make
    for name in created:
        _drop_database(pg_server_dsn, name)


@pytest.fixture(scope="session")
def session_db_dsn(pg_server_dsn: str) -> Iterator[str]:
    name = _create_database(pg_server_dsn, "callrec_test")
    yield _with_dbname(pg_server_dsn, name)
    _drop_database(pg_server_dsn, name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def migrated_dsn(session_db_dsn: str) -> str:
    async with await psycopg.AsyncConnection.connect(session_db_dsn, autocommit=True) as conn:
        await migrate(conn)
    return session_db_dsn


@pytest_asyncio.fixture(loop_scope="session")
async def store(migrated_dsn: str) -> AsyncIterator[Store]:
    """An open Store over an emptied, migrated database."""
    async with await psycopg.AsyncConnection.connect(migrated_dsn, autocommit=True) as conn:
        tables = sql.SQL(", ").join(sql.Identifier(t) for t in EVIDENCE_TABLES)
        await conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
    async with await Store.open(migrated_dsn, min_size=1, max_size=4) as opened:
        yield opened


@pytest_asyncio.fixture(loop_scope="session")
async def raw(migrated_dsn: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """A plain connection to the same database, to look behind the Store's back."""
    async with await psycopg.AsyncConnection.connect(migrated_dsn, autocommit=True) as conn:
        yield conn
