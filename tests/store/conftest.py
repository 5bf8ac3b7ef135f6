"""Fixtures for the evidence-store tests: a real PostgreSQL (the sandbox), one fresh database per
test session, migrated once, emptied before each test.

Without a reachable server the tests skip -- unless CI=true, where they must fail.
Start the server with `scripts/pg-sandbox.sh up`; override the server with CALLREC_TEST_PG_DSN.
The databases come from tests/conftest.py (`throwaway_database`), as the end-to-end suites' do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack

import psycopg
import pytest
import pytest_asyncio
from psycopg import sql

from callrec.store import Store, migrate
from tests.conftest import SERVER_DSN, pg_server, throwaway_database

# Child tables first is not needed with CASCADE, but listing them all documents the schema.
EVIDENCE_TABLES = (
    "transfers", "holds", "announcements", "recordings", "agent_legs", "call_events", "calls",
    "agents",
)


@pytest.fixture(scope="session")
def pg_server_dsn() -> str:
    """DSN of a database on the server that we may connect to in order to create others."""
    with pg_server():
        return SERVER_DSN


@pytest.fixture
def empty_database(pg_server_dsn: str) -> Iterator[Callable[[], str]]:
    """Factory of brand-new, unmigrated databases (dropped after the test); returns their DSNs."""
    with ExitStack() as created:
        yield lambda: created.enter_context(throwaway_database("callrec_test_empty"))


@pytest.fixture(scope="session")
def session_db_dsn(pg_server_dsn: str) -> Iterator[str]:
    with throwaway_database("callrec_test") as dsn:
        yield dsn


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
