"""A fresh `callrec_bench_<hex>` database per run on the sandbox PostgreSQL, and the rows we measure."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from callrec.store import Store

ADMIN_DSN = "postgresql://callrec@127.0.0.1:55432/callrec"


def _with_db(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@asynccontextmanager
async def scratch_database(admin_dsn: str = ADMIN_DSN) -> AsyncIterator[str]:
    name = f"callrec_bench_{secrets.token_hex(4)}"
    async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(admin_dsn, name)
    finally:
        async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                               .format(sql.Identifier(name)))


async def prepare(dsn: str, agents: int, dial_string: str) -> None:
    """Schema, and one agent per concurrent call (a001…) so no caller waits for another's agent."""
    async with await Store.open(dsn) as store:
        await store.migrate()
        for existing in await store.list_agents():
            await store.remove_agent(existing.name)
        for i in range(1, agents + 1):
            await store.add_agent(f"a{i:03d}", dial_string)


MEASURED = """
SELECT c.id AS call_id, c.caller_number, c.ended_at, l.channel_id, l.joined_at, l.left_at,
       r.started_at, r.stop_requested_at, r.stopped_at, r.duration_ms, r.status, r.file_mix
FROM calls c
LEFT JOIN agent_legs l ON l.call_id = c.id AND l.joined_at IS NOT NULL
LEFT JOIN recordings r ON r.agent_leg_id = l.id
WHERE c.caller_number = ANY(%s)
"""


async def measured_rows(dsn: str, numbers: list[str]) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(MEASURED, (numbers,))
        return list(await cur.fetchall())


async def unsettled(dsn: str, numbers: list[str]) -> int:
    """Calls not yet ended, or with a recording not yet sealed."""
    query = """SELECT count(*) FROM calls c WHERE c.caller_number = ANY(%s) AND (c.ended_at IS NULL
               OR EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id
                          AND r.status IN ('recording', 'stopping', 'finalising')))"""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        row = await (await conn.execute(query, (numbers,))).fetchone()
        seen = await (await conn.execute("SELECT count(*) FROM calls WHERE caller_number = ANY(%s)",
                                          (numbers,))).fetchone()
    assert row is not None and seen is not None
    return int(row[0]) + (len(numbers) - int(seen[0]))


async def recording_files(dsn: str) -> list[str]:
    query = "SELECT file_mix, file_caller, file_agent, file_stereo FROM recordings"
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        rows = await (await conn.execute(query)).fetchall()
    return [path for row in rows for path in row if path]
