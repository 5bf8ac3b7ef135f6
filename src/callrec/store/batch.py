"""The store's query primitives on one connection in pipeline mode, for a batch of writes.

Each write on its own costs a pool checkout (with the pool's liveness query), a round trip for its
statement and one for its commit; on the controller's event loop a round trip costs ~100-150 us of
CPU (psycopg registers and unregisters the socket with asyncio for every wait), more than the
statement itself. In a batch the statements go out back to back without waiting for their answers
(libpq pipeline mode), COMMIT included, and are answered together, on a connection kept between
batches (no checkout, no liveness query); what an answer must show (one
row updated, a row returned) is checked once they are in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from psycopg import AsyncConnection, AsyncCursor
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from callrec.store.errors import translated
from callrec.store.pool import Database, Params, Query


class _Held:
    """Hands out the one connection where Database expects a pool: a nested ``transaction()``
    then becomes a savepoint inside the batch's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        yield self._conn


class PipelinedDatabase(Database):
    """Database's primitives, queued in the pipeline of a connection inside a transaction.

    No answer is known before the pipeline is synced: ``execute`` reports -1 rows and
    ``fetch_value`` a placeholder. The evidence writes only check those (one row hit, a row
    returned); ``missed`` makes the same checks once the answers are in. A write that fails them
    changed nothing (an UPDATE of a missing row, an event neither added nor found), so the rest of
    the batch may stand, as it would have applied one write at a time."""

    def __init__(self, conn: AsyncConnection) -> None:
        # WHY the cast: Database only ever calls ``pool.connection()``, which _Held provides.
        super().__init__(cast(AsyncConnectionPool, _Held(conn)))
        self._conn = conn
        self.write = 0  # which write of the batch is being queued (set by the caller)
        self._expected: list[tuple[int, AsyncCursor[Any], int | None, str]] = []

    async def execute(self, action: str, query: Query, params: Params = ()) -> int:
        await self._send(query, params)
        return -1

    async def execute_one(self, action: str, what: str, query: Query, params: Params) -> None:
        cur = await self._send(query, params)
        self._expected.append((self.write, cur, 1, f"{action} failed: no {what}"))

    async def fetch_value(self, action: str, query: Query, params: Params = ()) -> Any:
        cur = await self._send(query, params)
        self._expected.append((self.write, cur, None, f"{action} failed: no row returned"))
        return 0  # stands in for the value, which no write in a batch reads

    @asynccontextmanager
    async def transaction(self, action: str) -> AsyncIterator[AsyncConnection]:
        # Statements that must land together (a write of several) do: the batch is one transaction.
        yield self._conn

    async def _send(self, query: Query, params: Params) -> AsyncCursor[Any]:
        # Not translated per write: a failure surfaces at whichever statement's answer is read
        # next, so naming this write's action could blame the wrong one; ``pipelined`` names it.
        return await self._conn.execute(query, params)

    def missed(self) -> list[tuple[int, str]]:
        """Once the batch was answered: the writes whose check failed, and why."""
        return [(write, failure) for write, cur, rows, failure in self._expected
                if ((cur.rowcount != rows) if rows is not None else cur.rowcount < 1)]


@asynccontextmanager
async def pipelined(db: Database, action: str) -> AsyncIterator[PipelinedDatabase]:
    """One transaction on ``db``'s kept connection (``KeptConnection``: no pool checkout, no
    liveness query): BEGIN, the block's statements and COMMIT sent back to back and answered
    together on leaving it, one round trip. Rolled back if anything in the block raised or any
    statement failed; a connection that broke is given back to the pool and replaced next time.

    WHY not ``conn.transaction()``: in pipeline mode psycopg syncs on entering and leaving it (three
    round trips), which would cost more than the writes it saves."""
    with translated(action):
        async with db.kept.connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute("BEGIN")
                    yield PipelinedDatabase(conn)
                    await conn.execute("COMMIT")
            finally:
                # A failed statement leaves the transaction aborted, an exception in the block
                # leaves it open: either way it must not reach the pool (or the next batch).
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    await conn.rollback()
