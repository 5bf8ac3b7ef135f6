"""An ordered, non-blocking path for evidence writes that survives the database going away.

Telephony must never wait for the database: a MixMonitor start that queued behind an INSERT would lose
conversation. Calls record facts here and move on; one task applies them in order. When PostgreSQL is
unreachable the facts go to an fsync'd journal on local disk (the failing one first, then everything
after it, so order holds) and are replayed from there once it answers again — also after a restart.

The facts queued while the previous ones were being written are applied together, in order, in one
transaction (given a batch applier): a write's cost is mostly its pool checkout, round trips and
commit, not its statement, and the controller makes ~20 writes per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from callrec.controller.journal import Fact, Journal
from callrec.store import StoreError
from callrec.store.writes import Write

log = logging.getLogger(__name__)

Apply = Callable[[Fact], Awaitable[object]]
# Several facts in order, in one transaction. A failure raises (StoreError, transient or not) and
# lands nothing; facts refused for good that changed nothing (a missing row) are returned, and
# the others stand.
ApplyBatch = Callable[[Sequence[Fact]], Awaitable[Sequence[tuple[Fact, str]]]]
# Facts taken for one transaction at most: a refused one makes the writer redo its batch fact by fact.
MAX_BATCH: Final = 100

# Store methods that append a row with no key of ours (call_events has a serial id): they take the
# fact's own id as their idempotency key, so a fact applied just before a crash and replayed from the
# journal after it adds no second row. Every other fact is keyed by our UUIDs or is an UPDATE.
KEYED_BY_FACT: Final = frozenset({"add_call_event"})


class BatchWrites(Protocol):
    async def apply_writes(self, writes: Sequence[Write]) -> list[tuple[int, str]]: ...


def store_call(fact: Fact) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The Store method a fact names, and its arguments."""
    kwargs = fact.kwargs
    if fact.op in KEYED_BY_FACT:
        kwargs = {**kwargs, "idempotency_key": fact.id}
    return fact.op, fact.args, kwargs


def store_applier(store: object) -> Apply:
    """Apply a fact by calling the Store method it names."""
    async def apply(fact: Fact) -> object:
        op, args, kwargs = store_call(fact)
        return await getattr(store, op)(*args, **kwargs)
    return apply


def store_batch_applier(store: BatchWrites) -> ApplyBatch:
    """Apply facts in one transaction (``Store.apply_writes``), each as store_applier would."""
    async def apply(facts: Sequence[Fact]) -> list[tuple[Fact, str]]:
        missed = await store.apply_writes([store_call(fact) for fact in facts])
        return [(facts[index], reason) for index, reason in missed]
    return apply


class EvidenceWriter:
    def __init__(self, apply: Apply, journal_path: Path, *, apply_batch: ApplyBatch | None = None,
                 linger: float = 0.0, max_backoff: float = 5.0, spill_after: float = 0.5) -> None:
        self._spill_after = spill_after
        self._apply_fact = apply
        self._apply_batch = apply_batch  # None: one fact per transaction
        self._linger = linger if apply_batch is not None else 0.0
        self._queue: asyncio.Queue[Fact] = asyncio.Queue()
        self._in_hand = 0  # taken from the queue, not applied or journalled yet
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
        return self._queue.qsize() + self._in_hand + len(self._journal)

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
            batch = await self._next_batch()
            self._in_hand = len(batch)
            for fact in await self._apply_guarded(batch):
                self._journal.append(fact)
            self._in_hand = 0
            await self._drain_journal()
            self._note_idle()

    async def _apply_guarded(self, batch: list[Fact]) -> list[Fact]:
        """``_apply_all``, made durable when the database is slow to answer: a pool that lost its
        server waits its whole connection timeout (10 s) before it says so, and a crash in that
        window would take the batch and every fact submitted meanwhile with it. So after
        ``spill_after`` seconds the batch goes to the journal, and so does each fact that arrives
        until the attempt ends; the journal is then replayed in order as after an outage. A fact
        both applied and journalled is applied twice, harmlessly: every fact is idempotent."""
        attempt = asyncio.ensure_future(self._apply_all(batch))
        done, _ = await asyncio.wait({attempt}, timeout=self._spill_after)
        if done:
            return attempt.result()
        log.warning("evidence: the database has not answered for %.1f s; journalling",
                    self._spill_after)
        for fact in batch:
            self._journal.append(fact)
        while not attempt.done():
            self._spill_queue()
            await asyncio.wait({attempt}, timeout=0.05)
        self._spill_queue()
        attempt.result()  # applied or not, the journal holds it all: replayed next, in order
        return []

    async def _next_batch(self) -> list[Fact]:
        batch = [await self._queue.get()]
        if self._linger and self._queue.qsize() < MAX_BATCH - 1:
            await asyncio.sleep(self._linger)  # the facts of the next few events join this batch
        while len(batch) < MAX_BATCH and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def _apply_all(self, batch: list[Fact]) -> list[Fact]:
        """Apply the batch in order; returns the facts left for the journal (from the first one
        the database could not take, to the end)."""
        if self._apply_batch is not None and len(batch) > 1:
            left = await self._in_one_transaction(batch)
            if left is not None:
                return left
        for i, fact in enumerate(batch):
            if not await self._apply(fact):
                return batch[i:]
        return []

    async def _in_one_transaction(self, batch: list[Fact]) -> list[Fact] | None:
        """[] when the batch landed; all of it when the database is unavailable (none of it landed,
        or, if the commit's answer was lost, all of it did: replaying facts changes nothing);
        None when a fact was refused or broke: the batch was rolled back, so applying its facts
        one by one finds that fact and keeps the others, exactly as without batches."""
        assert self._apply_batch is not None
        try:
            for fact, reason in await self._apply_batch(batch):
                log.error("evidence %s rejected: %s", fact.op, reason)  # as if applied alone
            return []
        except StoreError as exc:
            if exc.transient:
                log.warning("evidence: database unavailable (%s); journalling %d facts", exc,
                            len(batch))
                return batch
            log.info("evidence batch of %d refused (%s): applying it fact by fact", len(batch), exc)
        except Exception as exc:  # noqa: BLE001 (a bug in one write: the fact-by-fact path logs it)
            log.info("evidence batch of %d failed (%r): applying it fact by fact", len(batch), exc)
        return None

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
