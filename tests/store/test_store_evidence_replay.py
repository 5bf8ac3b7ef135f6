"""Evidence facts replayed from the controller's journal into the real PostgreSQL write every row once.

The journal is replayed from the first fact not yet noted as applied. A fact applied just before a
crash (or whose commit's answer was lost) is therefore applied again; the rows must come out exactly
as one clean replay leaves them, whichever fact it was.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from callrec.controller.evidence import (
    Apply,
    ApplyBatch,
    EvidenceWriter,
    store_applier,
    store_batch_applier,
    store_call,
)
from callrec.controller.journal import Fact, Journal
from callrec.store import Store, StoreError
from tests.store.conftest import EVIDENCE_TABLES

pytestmark = [pytest.mark.pg, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
Snapshot = dict[str, list[str]]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def whole_call() -> list[Fact]:
    """Every kind of fact the controller writes about an inbound call, in the order it writes them."""
    call, ann, leg, rec, hold, xfer = (uuid4() for _ in range(6))
    alarm = (call, at(30), "alarm", {"message": "the same words at the same instant"})
    return [
        Fact("create_call", (call,), {"direction": "inbound", "caller_number": "+3225550100",
                                      "channel_id": "pbx-1.1", "started_at": at(0)}),
        Fact("add_call_event", (call, at(0), "phase:announcing", {})),
        Fact("call_answered", (call, at(0.05))),
        Fact("announcement_started", (ann, call, "inbound_announcement", "callrec/inbound",
                                      None, at(0.1))),
        Fact("announcement_ended", (ann, at(4), "finished")),
        Fact("add_call_event", (call, at(4), "phase:identifying", {})),
        Fact("set_client_number", (call, "48213")),
        Fact("agent_offered", (leg, call, "alice", "pbx-1.2", at(9))),
        Fact("agent_answered", (leg, at(12))),
        Fact("agent_leg_outcome", (leg, "answered")),
        Fact("agent_joined", (leg, at(12.2))),
        Fact("add_call_event", (call, at(12.2), "phase:connected", {})),
        Fact("recording_started", (rec,), {
            "call_id": call, "agent_leg_id": leg, "segment": 1, "mixmonitor_id": "mm-1",
            "file_mix": "a/mix.wav", "file_caller": "a/rx.wav", "file_agent": "a/tx.wav",
            "at": at(12.3)}),
        Fact("hold_started", (hold, call, rec, at(20), 7700)),
        Fact("hold_ended", (hold, at(25), 12700)),
        # Two facts that say the same thing are two events: only a replay of ONE fact is a copy.
        Fact("add_call_event", alarm),
        Fact("add_call_event", alarm),
        Fact("recording_stop_requested", (rec, at(40), "left_bridge")),
        Fact("agent_left", (leg, at(40), "left_bridge")),
        Fact("explain_departure", (leg, "blind_transfer")),
        Fact("transfer", (xfer, call, "blind", leg, "PJSIP/9000", at(40))),
        Fact("recording_finalised", (rec,), {
            "stopped_at": at(40.1), "duration_ms": 27800, "bytes": 444844, "sha256": "ab" * 32,
            "file_stereo": None, "status": "complete"}),
        Fact("add_call_event", (call, at(41), "phase:ended", {})),
        Fact("end_call", (call, at(41), "transferred", "blind_transfer")),
    ]


FACT_OPS = [fact.op for fact in whole_call()]


def journalled(path: Path, facts: list[Fact]) -> Path:
    """The journal an outage leaves behind: every fact on disk, none noted as applied."""
    journal = Journal(path)
    for fact in facts:
        journal.append(fact)
    return path


async def until_drained(writer: EvidenceWriter) -> None:
    task = asyncio.create_task(writer.run())
    try:
        async with asyncio.timeout(10):
            await writer.drained()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def replay(apply: Apply, journal: Path) -> None:
    """What a (re)started controller does first: apply the journal it finds, in order."""
    await until_drained(EvidenceWriter(apply, journal, max_backoff=0.01))


async def snapshot(raw: psycopg.AsyncConnection) -> Snapshot:
    """Every evidence row as sorted text, without the ids (our UUIDs are the same in every run
    anyway; a conflicting replay still draws a number from call_events' sequence) and without the
    idempotency key: what is compared is the evidence, and every row of it."""
    rows: Snapshot = {}
    for table in EVIDENCE_TABLES:
        query = sql.SQL(
            "SELECT (to_jsonb(t) - 'id' - 'idempotency_key')::text FROM {} t ORDER BY 1"
        ).format(sql.Identifier(table))
        rows[table] = [text for (text,) in await (await raw.execute(query)).fetchall()]
    return rows


def counts(rows: Snapshot) -> dict[str, int]:
    return {table: len(found) for table, found in rows.items()}


async def emptied(raw: psycopg.AsyncConnection) -> None:
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in EVIDENCE_TABLES)
    await raw.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))


class Crash(BaseException):
    """The process dying: nothing after it runs, not even noting the fact as applied."""


def crashing_after(apply: Apply, applied: int) -> Apply:
    """Applies facts, and dies right after the `applied`-th one reached the database."""
    done = 0

    async def run(fact: Fact) -> object:
        nonlocal done
        result = await apply(fact)
        done += 1
        if done == applied:
            raise Crash
        return result
    return run


async def test_the_same_journal_replayed_twice_leaves_the_same_rows(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path) -> None:
    facts = whole_call()
    journal = journalled(tmp_path / "evidence.journal", facts)
    left_by_the_outage = journal.read_bytes()
    await replay(store_applier(store), journal)
    once = await snapshot(raw)
    assert counts(once)["call_events"] == Counter(FACT_OPS)["add_call_event"]
    assert all(counts(once)[t] > 0 for t in EVIDENCE_TABLES if t != "agents")

    journal.write_bytes(left_by_the_outage)  # as if not one fact had been noted as applied
    await replay(store_applier(store), journal)
    assert counts(await snapshot(raw)) == counts(once)
    assert await snapshot(raw) == once


@pytest.mark.parametrize("crashed_after", range(1, len(FACT_OPS) + 1), ids=FACT_OPS)
async def test_a_crash_between_applying_a_fact_and_noting_it_adds_no_row(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path, crashed_after: int) -> None:
    facts = whole_call()
    journal = journalled(tmp_path / "clean.journal", facts)
    await replay(store_applier(store), journal)
    clean = await snapshot(raw)
    await emptied(raw)

    journal = journalled(tmp_path / "crashed.journal", facts)
    with pytest.raises(Crash):
        await asyncio.wait_for(EvidenceWriter(crashing_after(store_applier(store), crashed_after),
                                              journal).run(), 10)
    # The fact that reached the database is still pending on disk: the restart applies it again.
    assert len(Journal(journal)) == len(facts) - crashed_after + 1
    await replay(store_applier(store), journal)
    assert counts(await snapshot(raw)) == counts(clean)
    assert await snapshot(raw) == clean


async def test_an_event_whose_commit_answer_was_lost_is_retried_without_a_second_row(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path) -> None:
    """The INSERT committed, then the connection broke before PostgreSQL's answer arrived: to the
    writer that is an outage, so it journals the fact and applies it again."""
    call_id, apply = uuid4(), store_applier(store)
    answers_lost: list[Fact] = []

    async def answer_lost_once(fact: Fact) -> object:
        result = await apply(fact)
        if fact.op == "add_call_event" and not answers_lost:
            answers_lost.append(fact)
            raise StoreError("server closed the connection unexpectedly", transient=True)
        return result

    writer = EvidenceWriter(answer_lost_once, tmp_path / "evidence.journal", max_backoff=0.01)
    writer.submit(Fact("create_call", (call_id,), {"direction": "inbound", "caller_number": "1",
                                                   "channel_id": "pbx-2.1", "started_at": at(0)}))
    writer.submit(Fact("add_call_event", (call_id, at(0), "phase:announcing", {})))
    writer.submit(Fact("add_call_event", (call_id, at(4), "phase:identifying", {})))
    await until_drained(writer)
    assert answers_lost
    cur = await raw.execute("SELECT kind FROM call_events WHERE call_id = %s ORDER BY at, id",
                            (call_id,))
    assert [kind for (kind,) in await cur.fetchall()] == ["phase:announcing", "phase:identifying"]


async def test_the_store_returns_the_first_rows_id_for_a_repeated_key(store: Store) -> None:
    call_id, key = uuid4(), uuid4()
    await store.create_call(call_id, direction="inbound", caller_number="1", channel_id="c",
                            started_at=T0)
    first = await store.add_call_event(call_id, T0, "phase", {}, idempotency_key=key)
    again = await store.add_call_event(call_id, T0, "phase", {}, idempotency_key=key)
    unkeyed = [await store.add_call_event(call_id, T0, "phase", {}) for _ in range(2)]
    assert again == first and len({first, *unkeyed}) == 3
    detail = await store.get_call(call_id)
    assert detail is not None and [e.id for e in detail.events] == [first, *unkeyed]


# ------------------------------------------------------- batches: one pipelined transaction each
async def batched(store: Store, facts: list[Fact], journal: Path,
                  apply_batch: ApplyBatch | None = None) -> EvidenceWriter:
    """The controller's writer with the store's batch applier, given the facts all at once."""
    writer = EvidenceWriter(store_applier(store), journal,
                            apply_batch=apply_batch or store_batch_applier(store), max_backoff=0.01)
    for fact in facts:
        writer.submit(fact)
    await until_drained(writer)
    return writer


async def clean_rows(store: Store, raw: psycopg.AsyncConnection, facts: list[Fact],
                     tmp_path: Path) -> Snapshot:
    """The rows these facts leave applied one by one (then the tables emptied again)."""
    await replay(store_applier(store), journalled(tmp_path / "clean.journal", facts))
    rows = await snapshot(raw)
    await emptied(raw)
    return rows


async def test_a_whole_call_in_one_batch_leaves_the_rows_of_fact_by_fact(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path) -> None:
    facts = whole_call()
    clean = await clean_rows(store, raw, facts, tmp_path)
    batches: list[int] = []
    apply = store_batch_applier(store)

    async def counted(batch: Sequence[Fact]) -> Sequence[tuple[Fact, str]]:
        batches.append(len(batch))
        return await apply(batch)

    await batched(store, facts, tmp_path / "evidence.journal", counted)
    assert batches == [len(facts)]
    assert await snapshot(raw) == clean


async def test_a_batch_with_a_statement_the_store_refuses_lands_nothing(
        store: Store, raw: psycopg.AsyncConnection) -> None:
    facts = whole_call()
    with pytest.raises(StoreError) as refused:  # facts[0] again: an INSERT of a key already there
        await store.apply_writes([store_call(f) for f in [*facts, facts[0]]])
    assert not refused.value.transient
    assert all(not rows for rows in (await snapshot(raw)).values())
    await store.create_call(uuid4(), direction="inbound", caller_number="1", channel_id="c",
                            started_at=T0)  # the connection went back to the pool usable


async def test_a_batch_broken_off_by_an_exception_lands_nothing(
        store: Store, raw: psycopg.AsyncConnection) -> None:
    facts = whole_call()
    with pytest.raises(AttributeError):  # a fact naming no Store method: a bug, not the database
        await store.apply_writes([*(store_call(f) for f in facts), ("no_such_write", (), {})])
    assert all(not rows for rows in (await snapshot(raw)).values())
    assert await store.apply_writes([store_call(facts[0])]) == []  # the connection is usable


async def test_batches_share_a_kept_connection_and_a_killed_one_is_replaced(
        store: Store, raw: psycopg.AsyncConnection) -> None:
    """No pool checkout (and its liveness query) per batch: the writer's connection is kept. With
    no liveness check, a connection the server killed fails one batch as *transient* (the writer
    journals it and replays), and the next batch runs on a fresh connection."""
    facts = whole_call()
    kept = store._db.kept  # the store's own mechanism, under test
    async with kept.connection() as first:
        pass
    async with kept.connection() as second:
        assert second is first
    await raw.execute("SELECT pg_terminate_backend(pg_stat_activity.pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    with pytest.raises(StoreError) as lost:
        await store.apply_writes([store_call(facts[0])])
    assert lost.value.transient
    assert await store.apply_writes([store_call(facts[0])]) == []
    assert (await snapshot(raw))["calls"]


async def test_a_write_whose_row_is_missing_is_named_and_the_rest_of_its_batch_stands(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path) -> None:
    facts = whole_call()
    clean = await clean_rows(store, raw, facts, tmp_path)
    missing = [Fact("agent_answered", (uuid4(), at(1))), Fact("hold_ended", (uuid4(), at(2), 0))]
    alone = []
    for fact in missing:  # what each says when applied on its own
        with pytest.raises(StoreError) as refused:
            await store_applier(store)(fact)
        alone.append(str(refused.value))
    writes = [store_call(f) for f in [*facts[:3], missing[0], *facts[3:], missing[1]]]
    assert await store.apply_writes(writes) == [(3, alone[0]), (len(facts) + 1, alone[1])]
    assert await snapshot(raw) == clean


async def test_the_writer_keeps_every_fact_of_a_refused_batch_but_the_refused_one(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path) -> None:
    facts = whole_call()
    clean = await clean_rows(store, raw, facts, tmp_path)
    bad = Fact("hold_started", (uuid4(), uuid4(), None, at(1), None))  # of a call that is not there
    refused = []
    apply = store_batch_applier(store)

    async def noted(batch: Sequence[Fact]) -> Sequence[tuple[Fact, str]]:
        try:
            return await apply(batch)
        except StoreError:
            refused.append(len(batch))
            raise

    writer = await batched(store, [*facts[:5], bad, *facts[5:]], tmp_path / "evidence.journal",
                           noted)
    assert refused == [len(facts) + 1]  # rolled back as a whole, then applied fact by fact
    assert await snapshot(raw) == clean and not writer.journalled


async def test_a_batch_whose_commit_answer_was_lost_is_replayed_without_a_second_row(
        store: Store, raw: psycopg.AsyncConnection, tmp_path: Path) -> None:
    """The batch committed, then the connection broke before PostgreSQL's answer arrived: to the
    writer that is an outage, so it journals the whole batch and applies it again, fact by fact."""
    facts = whole_call()
    clean = await clean_rows(store, raw, facts, tmp_path)
    apply, lost = store_batch_applier(store), []

    async def answer_lost_once(batch: Sequence[Fact]) -> Sequence[tuple[Fact, str]]:
        result = await apply(batch)
        if not lost:
            lost.append(batch)
            raise StoreError("server closed the connection unexpectedly", transient=True)
        return result

    await batched(store, facts, tmp_path / "evidence.journal", answer_lost_once)
    assert lost and counts(await snapshot(raw)) == counts(clean)
    assert await snapshot(raw) == clean
