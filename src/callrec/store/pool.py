"""Connection pool and the few query primitives the store is built from (all errors translated)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, LiteralString, TypeAlias, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import BaseRowFactory, class_row, dict_row
from psycopg_pool import AsyncConnectionPool

from callrec.store.errors import StoreError, translated

T = TypeVar("T")
Params: TypeAlias = Sequence[Any]
# What psycopg executes, minus t-string Templates (not needed; absent before psycopg 3.3).
Query: TypeAlias = LiteralString | bytes | sql.SQL | sql.Composed


def utc(at: datetime) -> datetime:
    """Refuse naive datetimes: PostgreSQL would silently read them in the session time zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise StoreError(f"timestamp {at.isoformat()} has no time zone; evidence times must be UTC")
    return at


def where(conditions: Sequence[tuple[sql.SQL, Any]]) -> tuple[sql.Composable, list[Any]]:
    """`WHERE a AND b ...` from (fragment with one %s, value) pairs. The fragments are constants
    in our code; only the values come from callers, and they travel as parameters."""
    if not conditions:
        return sql.SQL(""), []
    clause = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(fragment for fragment, _ in conditions)
    return clause, [value for _, value in conditions]


async def _configure(conn: AsyncConnection) -> None:
    # Make returned timestamptz values UTC-aware datetimes regardless of the server's TimeZone.
    await conn.execute("SET TIME ZONE 'UTC'")


async def _raise_connect_reason(dsn: str, timeout: float) -> None:
    """The pool only reports "initialization incomplete"; one direct attempt names the cause
    (refused, unknown role, missing database...)."""
    with translated("connecting to the store"):
        conn = await AsyncConnection.connect(dsn, connect_timeout=max(1, int(timeout)))
        await conn.close()


class KeptConnection:
    """One connection of the pool, kept out of it between uses by a single steady user (the
    evidence writer): each use skips the pool's checkout and its liveness query, a round trip of
    its own. A use that fails gives the connection back (the pool discards a broken one) and the
    next use takes a fresh one; uses never overlap (a connection in pipeline mode is not shared)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await self._pool.getconn()
            try:
                yield self._conn
            except BaseException:
                await self._give_back()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._give_back()

    async def _give_back(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.putconn(conn)


class Database:
    """A psycopg AsyncConnectionPool in autocommit mode: one statement = one transaction."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.kept = KeptConnection(pool)  # the evidence writer's (store/batch.py)

    @classmethod
    async def connect(
        cls, dsn: str, *, min_size: int, max_size: int, timeout: float
    ) -> Database:
        pool = AsyncConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
            configure=_configure,
            # Detects connections killed by a server restart before handing them out.
            check=AsyncConnectionPool.check_connection,
            name="callrec-store",
        )
        try:
            with translated("connecting to the store"):
                await pool.open(wait=True, timeout=timeout)
        except StoreError:
            await pool.close()
            await _raise_connect_reason(dsn, timeout)
            raise
        return cls(pool)

    async def close(self) -> None:
        await self.kept.close()
        await self.pool.close()

    async def execute(self, action: str, query: Query, params: Params = ()) -> int:
        """Run one statement; return the affected row count."""
        with translated(action):
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                return cur.rowcount

    async def execute_one(self, action: str, what: str, query: Query, params: Params) -> None:
        """Run an UPDATE that must hit exactly one row (a missing row is a caller bug)."""
        if await self.execute(action, query, params) != 1:
            raise StoreError(f"{action} failed: no {what}")

    async def fetch_value(self, action: str, query: Query, params: Params = ()) -> Any:
        with translated(action):
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                row = await cur.fetchone()
                return None if row is None else row[0]

    async def fetch_all(
        self, action: str, model: type[T], query: Query, params: Params = ()
    ) -> list[T]:
        with translated(action):
            async with self.pool.connection() as conn:
                return await fetch_rows(conn, class_row(model), query, params)

    async def fetch_dicts(
        self, action: str, query: Query, params: Params = ()
    ) -> list[dict[str, Any]]:
        with translated(action):
            async with self.pool.connection() as conn:
                return await fetch_rows(conn, dict_row, query, params)

    @asynccontextmanager
    async def snapshot(self, action: str) -> AsyncIterator[AsyncConnection]:
        """A read-only REPEATABLE READ transaction: several queries see one consistent state."""
        with translated(action):
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn


    @asynccontextmanager
    async def transaction(self, action: str) -> AsyncIterator[AsyncConnection]:
        """One read-write transaction: several statements that must land together."""
        with translated(action):
            async with self.pool.connection() as conn, conn.transaction():
                yield conn


async def fetch_rows(
    conn: AsyncConnection, row_factory: BaseRowFactory[T], query: Query, params: Params = ()
) -> list[T]:
    async with conn.cursor(row_factory=row_factory) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()
