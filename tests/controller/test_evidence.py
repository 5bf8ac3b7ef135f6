"""EvidenceWriter: facts applied in order; while the database is unreachable they are journalled to
disk and replayed in order when it answers again (also after a restart); nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from callrec.controller.evidence import EvidenceWriter, store_applier
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

    async def apply(self, fact: Fact) -> None:
        self.attempts += 1
        if self.down:
            raise StoreError("connection refused", transient=True)
        if fact.op in self.refuse:
            raise StoreError("value rejected by check constraint")
        if fact.op in self.crash:
            raise TypeError("a bug in one write")
        self.applied.append(fact.op)


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "evidence.journal"


@pytest.fixture
async def db_and_writer(journal_path: Path) -> AsyncIterator[tuple[Database, EvidenceWriter]]:
    db = Database()
    writer = EvidenceWriter(db.apply, journal_path, max_backoff=0.01)
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


async def test_an_outage_is_journalled_to_disk_and_replayed_in_order(db_and_writer,
                                                                     journal_path: Path) -> None:
    db, writer = db_and_writer
    db.down = True
    for fact in facts("create_call", "recording_started", "end_call"):
        writer.submit(fact)

    async def journalled() -> None:
        while writer.journalled < 3:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(journalled(), 3)
    assert journal_path.exists() and db.applied == []
    db.down = False
    await drained(writer)
    assert db.applied == ["create_call", "recording_started", "end_call"]
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
