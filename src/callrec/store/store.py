"""`Store`: the evidence store gateway the rest of callrec talks to."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from callrec.store.migrate import migrate
from callrec.store.pool import Database
from callrec.store.reads import StoreReads
from callrec.store.writes import StoreWrites


class Store(StoreWrites, StoreReads):
    """Async PostgreSQL evidence store. Every method raises StoreError on any database failure.

    Usage::

        async with await Store.open(dsn) as store:
            await store.migrate()
            await store.create_call(...)
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    async def open(
        cls, dsn: str, min_size: int = 1, max_size: int = 10, *, timeout: float = 10.0
    ) -> Store:
        """Open the pool and wait (up to `timeout` s) for its first connection, so that a wrong
        DSN or a down server fails here rather than on the first call's evidence."""
        db = await Database.connect(dsn, min_size=min_size, max_size=max_size, timeout=timeout)
        return cls(db)

    @property
    def database(self) -> Database:
        """The pool and query primitives, for the governance and release stores built on them."""
        return self._db

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> list[int]:
        """Apply pending schema migrations; returns the versions this call applied."""
        return await migrate(self._db.pool)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
