"""EvidenceWriter: facts applied in order; while the database is unreachable they are journalled to
disk and replayed in order when it answers again (also after a restart); nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from callrec.controller.evidence import MAX_BATCH, EvidenceWriter, store_applier
from callrec.controller.journal import Fact, Journal
from callrec.store import StoreError


class Database:
    """Applies facts into a list; can be 'down' (transient errors) or refuse one op for good."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.down = False
        self.attempts = 0
        self.refuse: set[str] = set()
        self.crash: set[str] = set()
        self.missing: set[str] = set()  # ops whose row is missing: they change nothing
        self.batches: list[list[str]] = []  # every batch attempted, landed or not

    async def apply(self, fact: Fact) -> None:
        self.attempts += 1
        self._check(fact)
        if fact.op in self.missing:
            raise StoreError(f"{fact.op} failed: no row")
        self.applied.append(fact.op)

    async def apply_batch(self, batch: Sequence[Fact]) -> list[tuple[Fact, str]]:
        """One transaction: the batch lands, or (any fact failing) none of it; facts whose row is
        missing changed nothing and are returned."""
        self.batches.append([fact.op for fact in batch])
        for fact in batch:
            self._check(fact)
        self.applied.extend(fact.op for fact in batch if fact.op not in self.missing)
        return [(fact, f"{fact.op} failed: no row") for fact in batch if fact.op in self.missing]

    def _check(self, fact: Fact) -> None:
        if self.down:
            raise StoreError("connection refused", transient=True)
        if fact.op in self.refuse:
            raise StoreError("value rejected by check constraint")
        if fact.op in self.crash:
            raise TypeError("a bug in one write")


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "evidence.journal"


@pytest.fixture
async def db_and_writer(journal_path: Path, request: pytest.FixtureRequest
                        ) -> AsyncIterator[tuple[Database, EvidenceWriter]]:
    db = Database()
    batches = getattr(request, "param", False)  # parametrized indirectly: True = with batches
    writer = EvidenceWriter(db.apply, journal_path, max_backoff=0.01,
                            apply_batch=db.apply_batch if batches else None)
    task = asyncio.create_task(writer.run())
    yield db, writer
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def drained(writer: EvidenceWriter, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        await writer.drained()


def facts(*ops: str) -> list[Fact]:
    return [Fact(op) for op in ops]


async def test_facts_are_applied_in_submission_order(db_and_writer) -> None:
    db, writer = db_and_writer
    ops = [f"op{i}" for i in range(20)]
    for fact in facts(*ops):
        writer.submit(fact)
    await drained(writer)
    assert db.applied == ops and writer.pending == 0


async def test_submit_never_waits_for_the_database(journal_path: Path) -> None:
    writer = EvidenceWriter(Database().apply, journal_path)  # not even running
    writer.submit(Fact("create_call"))
    assert writer.pending == 1


@pytest.mark.parametrize("db_and_writer", [False, True], ids=["fact by fact", "batches"],
                         indirect=True)
async def test_an_outage_is_journalled_to_disk_and_replayed_in_order(
        db_and_writer, journal_path: Path) -> None:
    db, writer = db_and_writer
    db.down = True
    for fact in facts("create_call", "recording_started", "end_call"):
        writer.submit(fact)

    async def journalled() -> None:
        while writer.journalled < 3:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(journalled(), 3)
    assert journal_path.exists() and db.applied == [] and writer.pending == 3
    writer.submit(Fact("later"))  # queued behind the journal, on disk
    db.down = False
    await drained(writer)
    assert db.applied == ["create_call", "recording_started", "end_call", "later"]
    assert not journal_path.exists()  # emptied once replayed


async def test_a_journal_left_by_a_crash_is_replayed_first_after_a_restart(
        journal_path: Path) -> None:
    journal = Journal(journal_path)
    for fact in facts("create_call", "agent_offered", "end_call"):
        journal.append(fact)
    journal.advance()  # create_call was applied before the crash
    db = Database()
    writer = EvidenceWriter(db.apply, journal_path)
    writer.submit(Fact("after_restart"))
    task = asyncio.create_task(writer.run())
    await drained(writer)
    task.cancel()
    assert db.applied == ["agent_offered", "end_call", "after_restart"]  # none twice, order kept


def test_a_torn_last_line_is_ignored(journal_path: Path) -> None:
    Journal(journal_path).append(Fact("create_call"))
    with open(journal_path, "a") as fh:
        fh.write('{"fact": {"op": "half-writ')
    assert [Journal(journal_path).head().op] == ["create_call"]


def test_facts_survive_the_round_trip_through_json() -> None:
    fact = Fact("hold_started", (UUID(int=5), datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)),
                {"detail": {"k": UUID(int=6)}, "offset_ms": 1200, "recording_id": None})
    assert Fact.from_json(json.loads(json.dumps(fact.to_json()))) == fact


def test_a_fact_keeps_its_id_through_the_journal_and_an_old_line_without_one_still_loads(
        journal_path: Path) -> None:
    fact = Fact("add_call_event", (UUID(int=1), datetime(2026, 1, 2, tzinfo=UTC), "phase", {}))
    Journal(journal_path).append(fact)
    with open(journal_path, "a") as fh:  # as journalled before facts had ids
        fh.write('{"fact":{"op":"end_call","args":[],"kwargs":{}}}\n')
    reloaded = Journal(journal_path)
    assert reloaded.head() == fact and fact.id != Fact("add_call_event").id
    reloaded.advance()
    assert reloaded.head().op == "end_call"


async def test_a_call_event_is_applied_with_its_facts_id_as_idempotency_key() -> None:
    class Store:
        def __init__(self) -> None:
            self.calls: list[tuple[str, dict[str, object]]] = []

        async def add_call_event(self, *args: object, **kwargs: object) -> None:
            self.calls.append(("add_call_event", kwargs))

        async def end_call(self, *args: object, **kwargs: object) -> None:
            self.calls.append(("end_call", kwargs))

    store = Store()
    event, end = Fact("add_call_event"), Fact("end_call", kwargs={"outcome": "x"})
    for fact in (event, end):
        await store_applier(store)(fact)
    assert store.calls == [("add_call_event", {"idempotency_key": event.id}),
                           ("end_call", {"outcome": "x"})]


async def test_a_fact_the_database_will_always_refuse_is_dropped_not_retried(db_and_writer) -> None:
    db, writer = db_and_writer
    db.refuse = {"bad"}
    for fact in facts("bad", "next"):
        writer.submit(fact)
    await drained(writer)
    assert db.applied == ["next"] and db.attempts == 2


async def test_a_bug_in_one_write_does_not_stop_the_others(db_and_writer) -> None:
    db, writer = db_and_writer
    db.crash = {"broken"}
    for fact in facts("broken", "next"):
        writer.submit(fact)
    await drained(writer)
    assert db.applied == ["next"]


# ---------------------------------------------------------------- batches (one transaction each)
@pytest.fixture
async def batching(journal_path: Path) -> AsyncIterator[tuple[Database, EvidenceWriter]]:
    db = Database()
    writer = EvidenceWriter(db.apply, journal_path, apply_batch=db.apply_batch, max_backoff=0.01)
    task = asyncio.create_task(writer.run())
    yield db, writer
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_facts_queued_together_are_applied_as_one_batch_in_order(batching) -> None:
    db, writer = batching
    ops = [f"op{i}" for i in range(20)]
    for fact in facts(*ops):
        writer.submit(fact)
    assert writer.pending == 20
    await drained(writer)
    assert db.batches == [ops] and db.applied == ops and writer.pending == 0


async def test_a_batch_is_bounded(batching) -> None:
    db, writer = batching
    ops = [f"op{i}" for i in range(MAX_BATCH + 5)]
    for fact in facts(*ops):
        writer.submit(fact)
    await drained(writer)
    assert db.batches == [ops[:MAX_BATCH], ops[MAX_BATCH:]] and db.applied == ops


async def test_a_fact_alone_is_applied_on_its_own(batching) -> None:
    db, writer = batching
    writer.submit(Fact("create_call"))
    await drained(writer)
    assert db.batches == [] and db.applied == ["create_call"]


@pytest.mark.parametrize("failure", ["refuse", "crash"])
async def test_a_batch_with_a_failing_fact_is_redone_fact_by_fact(batching, failure: str) -> None:
    db, writer = batching
    setattr(db, failure, {"bad"})
    for fact in facts("before", "bad", "after"):
        writer.submit(fact)
    await drained(writer)
    assert db.batches == [["before", "bad", "after"]]  # rolled back as a whole: nothing landed
    assert db.applied == ["before", "after"] and not writer.journalled


async def test_a_fact_whose_row_is_missing_is_reported_and_the_rest_of_its_batch_stands(
        batching, caplog: pytest.LogCaptureFixture) -> None:
    db, writer = batching
    db.missing = {"agent_answered"}
    for fact in facts("create_call", "agent_answered", "end_call"):
        writer.submit(fact)
    await drained(writer)
    assert db.batches == [["create_call", "agent_answered", "end_call"]]
    assert db.applied == ["create_call", "end_call"]
    assert "evidence agent_answered rejected: agent_answered failed: no row" in caplog.text


class HangingDatabase(Database):
    """A database whose server vanished: a write hangs (the pool waits for a connection) until
    `give_up` is set, then fails as unavailable."""

    def __init__(self) -> None:
        super().__init__()
        self.give_up = asyncio.Event()

    async def apply(self, fact: Fact) -> None:
        if self.down:
            await self.give_up.wait()
        await super().apply(fact)


def writer_on_a_hanging_database(
        journal_path: Path) -> tuple[HangingDatabase, EvidenceWriter, asyncio.Task[None]]:
    """The writer running against a database that sits on every write until told to give up."""
    db = HangingDatabase()
    db.down = True
    writer = EvidenceWriter(db.apply, journal_path, max_backoff=0.01, spill_after=0.05)
    return db, writer, asyncio.create_task(writer.run())


async def test_a_write_the_database_sits_on_is_journalled_before_it_gives_up(
        journal_path: Path) -> None:
    """A crash while the pool still waits for a connection must lose nothing: the facts in hand
    and those submitted meanwhile are on disk within `spill_after`, in order."""
    _, writer, task = writer_on_a_hanging_database(journal_path)
    writer.submit(Fact("agent_left"))
    await asyncio.sleep(0.02)
    writer.submit(Fact("recording_stop_requested"))
    writer.submit(Fact("end_call"))

    async def on_disk() -> None:
        while len(Journal(journal_path)) < 3:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(on_disk(), 3)
    task.cancel()  # the controller dies while the write still hangs
    await asyncio.gather(task, return_exceptions=True)

    restarted = Database()
    writer = EvidenceWriter(restarted.apply, journal_path)
    task = asyncio.create_task(writer.run())
    await drained(writer)
    task.cancel()
    assert restarted.applied == ["agent_left", "recording_stop_requested", "end_call"]


async def test_a_slow_write_that_lands_is_replayed_harmlessly_and_nothing_is_lost(
        journal_path: Path) -> None:
    db, writer, task = writer_on_a_hanging_database(journal_path)
    writer.submit(Fact("create_call"))
    await asyncio.sleep(0.1)
    writer.submit(Fact("end_call"))
    db.down = False
    db.give_up.set()  # the write finally lands
    await drained(writer)
    task.cancel()
    # create_call landed, was journalled too, and replayed: idempotent facts make that harmless.
    assert db.applied == ["create_call", "create_call", "end_call"]
    assert not journal_path.exists()
