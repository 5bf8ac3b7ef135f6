"""A throwaway database ``callrec_bench_*`` on the sandbox PostgreSQL, migrated, dropped at the end."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from callrec.store import migrate

DEFAULT_DSN = "postgresql://callrec@127.0.0.1:55432/callrec"


def server_dsn() -> str:
    """The server to create the bench database on (same variable the test suite honours)."""
    return os.environ.get("CALLREC_BENCH_PG_DSN",
                          os.environ.get("CALLREC_TEST_PG_DSN", DEFAULT_DSN))


@contextmanager
def bench_database(admin_dsn: str) -> Iterator[str]:
    """Create a fresh database, apply every bundled migration, yield its DSN, drop it."""
    name = f"callrec_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(admin_dsn, dbname=name)
    try:
        migrate_sync(dsn)
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def migrate_sync(dsn: str) -> None:
    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await migrate(conn)

    asyncio.run(go())
