"""An ordered, non-blocking path for evidence writes.

Telephony must never wait for the database: a MixMonitor start that queued behind an INSERT would lose
conversation. Calls' handlers enqueue writes here and move on; one task applies them in order, retrying
a failed write (database restarting, pool exhausted) with backoff instead of dropping it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callrec.store import StoreError

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class _Item:
    what: str
    write: Write


class EvidenceWriter:
    def __init__(self, *, max_backoff: float = 5.0) -> None:
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._max_backoff = max_backoff
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, what: str, write: Write) -> None:
        self._idle.clear()
        self._queue.put_nowait(_Item(what, write))

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def drained(self) -> None:
        """Wait until every write submitted so far is applied (used at shutdown and in tests)."""
        await self._idle.wait()

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            await self._apply(item)
            self._queue.task_done()
            if self._queue.empty():
                self._idle.set()

    async def _apply(self, item: _Item) -> None:
        delay = 0.1
        while True:
            try:
                await item.write()
                return
            except StoreError as exc:
                if not exc.transient:
                    # The same write will always fail (a constraint, bad data): retrying would block
                    # every call's evidence behind it. Say so loudly and go on.
                    log.error("evidence write %s rejected: %s", item.what, exc)
                    return
                # Keep order: later rows may reference this one (a recording references its call).
                log.warning("evidence write %s failed, retrying in %.1fs: %s", item.what, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
            except Exception:  # a bug in one write must not silence the evidence of every call
                log.exception("evidence write %s failed unexpectedly", item.what)
                return
