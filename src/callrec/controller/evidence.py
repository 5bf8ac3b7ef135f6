"""An ordered, non-blocking path for evidence writes that survives the database going away.

Telephony must never wait for the database: a MixMonitor start that queued behind an INSERT would lose
conversation. Calls record facts here and move on; one task applies them in order. When PostgreSQL is
unreachable the facts go to an fsync'd journal on local disk (the failing one first, then everything
after it, so order holds) and are replayed from there once it answers again — also after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from callrec.controller.journal import Fact, Journal
from callrec.store import StoreError

log = logging.getLogger(__name__)

Apply = Callable[[Fact], Awaitable[object]]

# Store methods that append a row with no key of ours (call_events has a serial id): they take the
# fact's own id as their idempotency key, so a fact applied just before a crash and replayed from the
# journal after it adds no second row. Every other fact is keyed by our UUIDs or is an UPDATE.
KEYED_BY_FACT: Final = frozenset({"add_call_event"})


def store_applier(store: object) -> Apply:
    """Apply a fact by calling the Store method it names."""
    async def apply(fact: Fact) -> object:
        kwargs = fact.kwargs
        if fact.op in KEYED_BY_FACT:
            kwargs = {**kwargs, "idempotency_key": fact.id}
        return await getattr(store, fact.op)(*fact.args, **kwargs)
    return apply


class EvidenceWriter:
    def __init__(self, apply: Apply, journal_path: Path, *, max_backoff: float = 5.0) -> None:
        self._apply_fact = apply
        self._queue: asyncio.Queue[Fact] = asyncio.Queue()
        self._journal = Journal(journal_path)
        self._max_backoff = max_backoff
        self._idle = asyncio.Event()
        if not self._journal:
            self._idle.set()

    def submit(self, fact: Fact) -> None:
        self._idle.clear()
        self._queue.put_nowait(fact)

    @property
    def pending(self) -> int:
        return self._queue.qsize() + len(self._journal)

    @property
    def journalled(self) -> int:
        return len(self._journal)

    async def drained(self) -> None:
        """Wait until every fact submitted so far is applied (used at shutdown and in tests)."""
        await self._idle.wait()

    async def run(self) -> None:
        await self._drain_journal()  # facts left from an outage before a restart come first
        self._note_idle()
        while True:
            fact = await self._queue.get()
            if not await self._apply(fact):
                self._journal.append(fact)
                await self._drain_journal()
            self._note_idle()

    def _note_idle(self) -> None:
        if self._queue.empty() and not self._journal:
            self._idle.set()

    async def _apply(self, fact: Fact) -> bool:
        """True when done with the fact (applied, or refused for good); False: try again later."""
        try:
            await self._apply_fact(fact)
            return True
        except StoreError as exc:
            if exc.transient:
                log.warning("evidence %s: database unavailable (%s); journalling", fact.op, exc)
                return False
            # The same write will always fail (a constraint, bad data, a replayed INSERT): retrying
            # would block every call's evidence behind it.
            log.error("evidence %s rejected: %s", fact.op, exc)
            return True
        except Exception:  # a bug in one write must not silence the evidence of every call
            log.exception("evidence %s failed unexpectedly", fact.op)
            return True

    async def _drain_journal(self) -> None:
        if not self._journal:
            return
        delay = 0.1
        while self._journal:
            self._spill_queue()
            if await self._apply(self._journal.head()):
                self._journal.advance()
                delay = 0.1
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_backoff)
        log.info("evidence journal replayed")

    def _spill_queue(self) -> None:
        """While the journal is not empty, new facts must queue behind it, on disk."""
        while not self._queue.empty():
            self._journal.append(self._queue.get_nowait())
