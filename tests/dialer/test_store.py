"""The dialer's tables on the real PostgreSQL: every change goes through the schedule under a row
lock, and the database itself refuses a fourth attempt or a second open task for a number."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import psycopg
import pytest

from callrec.dialer.errors import DialerError, SchedulingError
from callrec.dialer.schedule import COMPLETED, EXHAUSTED, Outcome, Status, Task, new_task
from callrec.dialer.scripts import ScriptKind, Voicemail
from callrec.dialer.settings import DialerConfig
from callrec.dialer.store import DialStore
from callrec.store import Store, StoreError
from tests.dialer.conftest import T0, nz

pytestmark = pytest.mark.pg
CONFIG = DialerConfig(max_concurrent=2, retry_minutes=30)


def task(number: str = "+64211234567", ref: str = "C1") -> Task:
    return new_task(CONFIG, id=uuid4(), number=number, client_ref=ref, created_at=T0,
                    agent="alice")


async def test_tasks_round_trip(dials: DialStore) -> None:
    t = task()
    await dials.add([t])
    assert await dials.open_tasks() == [t]
    detail = await dials.get(t.id)
    assert detail is not None and detail.task == t and detail.attempts == ()
    assert await dials.get(uuid4()) is None


async def test_three_unanswered_attempts_close_the_task(dials: DialStore) -> None:
    t = task()
    await dials.add([t])
    at = T0
    for n in (1, 2, 3):
        started = await dials.begin_attempt(t.id, at, CONFIG)
        assert started.status is Status.IN_PROGRESS and await dials.in_progress() == 1
        after = await dials.finish_attempt(t.id, Outcome.NO_ANSWER, at + timedelta(seconds=30),
                                           CONFIG, amd_verdict="NOTSURE", amd_cause="TOOLONG")
        if n < 3:
            assert after.status is Status.OPEN and after.next_due is not None
            at = after.next_due
    detail = await dials.get(t.id)
    assert detail is not None
    assert (detail.task.status, detail.task.close_reason) == (Status.CLOSED, EXHAUSTED)
    assert [(a.n, a.outcome, a.amd_verdict) for a in detail.attempts] == [
        (n, "no_answer", "NOTSURE") for n in (1, 2, 3)]
    assert await dials.open_tasks() == [] and await dials.in_progress() == 0
    with pytest.raises(SchedulingError, match="task is closed"):
        await dials.begin_attempt(t.id, at + timedelta(days=1), CONFIG)


async def test_an_attempt_outside_hours_is_refused_and_nothing_is_written(
        dials: DialStore) -> None:
    t = task()
    await dials.add([t])
    with pytest.raises(SchedulingError, match="outside the calling hours"):
        await dials.begin_attempt(t.id, nz(2025, 11, 4, 21, 0), CONFIG)
    detail = await dials.get(t.id)
    assert detail is not None and detail.attempts == () and detail.task.status is Status.OPEN


async def test_a_human_answer_is_kept_with_its_call_and_voicemail_fields_empty(
        dials: DialStore, store: Store) -> None:
    t = task()
    await dials.add([t])
    await dials.begin_attempt(t.id, T0, CONFIG)
    call_id = uuid4()
    await store.create_call(call_id, direction="outbound", caller_number="0800559009",
                            channel_id="ch-1", started_at=T0)
    await dials.attach_call(t.id, 1, call_id)
    done = await dials.finish_attempt(t.id, Outcome.ANSWERED_HUMAN, T0 + timedelta(minutes=5),
                                      CONFIG, amd_verdict="HUMAN", amd_cause="HUMAN-1-1")
    assert (done.status, done.close_reason) == (Status.CLOSED, COMPLETED)
    disclosure = uuid4()
    await store.announcement_started(disclosure, call_id, "outbound_disclosure",
                                     "sound:callrec/disclosure", None, T0 + timedelta(seconds=9))
    await store.announcement_ended(disclosure, T0 + timedelta(seconds=17), "finished")
    detail = await dials.get(t.id)
    assert detail is not None
    [a] = detail.attempts
    assert (a.call_id, a.outcome, a.script_kind, a.ended_at) == (
        call_id, "answered_human", None, T0 + timedelta(minutes=5))
    [told] = detail.disclosures
    assert (told.call_id, told.started_at, told.ended_at, told.outcome) == (
        call_id, T0 + timedelta(seconds=9), T0 + timedelta(seconds=17), "finished")


async def test_the_voicemail_left_is_logged_with_its_words_and_time(dials: DialStore) -> None:
    t = task()
    await dials.add([t])
    await dials.begin_attempt(t.id, T0, CONFIG)
    words = Voicemail(ScriptKind.MINIMAL, "Kia ora, this is Aroha from ...")
    await dials.voicemail_left(t.id, 1, words, "sound:callrec/vm/vm-0123",
                               T0 + timedelta(seconds=20))
    await dials.finish_attempt(t.id, Outcome.MACHINE_VOICEMAIL_LEFT, T0 + timedelta(seconds=35),
                               CONFIG, amd_verdict="MACHINE", amd_cause="LONGGREETING-1500-1500")
    detail = await dials.get(t.id)
    assert detail is not None
    [a] = detail.attempts
    assert (a.script_kind, a.script_text, a.prompt, a.script_at) == (
        "minimal", words.text, "sound:callrec/vm/vm-0123", T0 + timedelta(seconds=20))
    with pytest.raises(StoreError, match="no attempt 1"):  # the attempt is over
        await dials.voicemail_left(t.id, 1, words, "x", T0 + timedelta(minutes=1))


async def test_cancel(dials: DialStore) -> None:
    t = task()
    await dials.add([t])
    cancelled = await dials.cancel(t.id, T0, "client called in")
    assert (cancelled.status, cancelled.close_reason) == (Status.CANCELLED, "client called in")
    with pytest.raises(SchedulingError, match="task is cancelled"):
        await dials.begin_attempt(t.id, T0 + timedelta(minutes=1), CONFIG)
    with pytest.raises(DialerError, match="no dial task"):
        await dials.cancel(uuid4(), T0)


async def test_concurrent_dialers_cannot_both_start_an_attempt(dials: DialStore) -> None:
    t = task()
    await dials.add([t])
    results = await asyncio.gather(*(dials.begin_attempt(t.id, T0, CONFIG) for _ in range(4)),
                                   return_exceptions=True)
    assert sum(isinstance(r, Task) for r in results) == 1
    assert all(isinstance(r, SchedulingError) for r in results if not isinstance(r, Task))


async def test_an_import_lands_whole_or_not_at_all(dials: DialStore) -> None:
    await dials.add([task("+64211111111", "A")])
    with pytest.raises(StoreError, match="dial_tasks_one_open_per_number"):
        await dials.add([task("+64212222222", "B"), task("+64211111111", "C")])
    assert [t.client_ref for t in await dials.list_tasks()] == ["A"]


async def test_listing_by_status(dials: DialStore) -> None:
    a, b = task("+64211111111", "A"), task("+64212222222", "B")
    await dials.add([a, b])
    await dials.cancel(b.id, T0)
    assert [t.id for t in await dials.list_tasks(Status.CANCELLED)] == [b.id]
    assert [t.id for t in await dials.list_tasks(Status.OPEN)] == [a.id]
    assert len(await dials.list_tasks(limit=1)) == 1


async def test_the_database_refuses_a_fourth_attempt_behind_the_codes_back(
        dials: DialStore, raw: psycopg.AsyncConnection) -> None:
    t = task()
    await dials.add([t])
    with pytest.raises(psycopg.errors.CheckViolation):
        await raw.execute("INSERT INTO dial_attempts (task_id, n, started_at) VALUES "
                          "(%s, 4, %s)", (t.id, T0))
    with pytest.raises(psycopg.errors.CheckViolation, match="recording_has_call"):
        await raw.execute("INSERT INTO dial_attempts (task_id, n, started_at, recording_id) "
                          "VALUES (%s, 1, %s, %s)", (t.id, T0, uuid4()))


async def test_a_cited_recording_must_belong_to_the_attempts_call(
        dials: DialStore, store: Store) -> None:
    t = task()
    await dials.add([t])
    await dials.begin_attempt(t.id, T0, CONFIG)
    calls, recordings = (uuid4(), uuid4()), (uuid4(), uuid4())
    for call_id, rec_id in zip(calls, recordings):
        await store.create_call(call_id, direction="outbound", caller_number="0800559009",
                                channel_id=f"ch-{call_id}", started_at=T0)
        await store.recording_started(rec_id, call_id=call_id, agent_leg_id=None, segment=1,
                                      mixmonitor_id=f"mm-{rec_id}", file_mix="m.wav",
                                      file_caller="c.wav", file_agent="a.wav", at=T0)
    await dials.attach_call(t.id, 1, calls[0])
    with pytest.raises(StoreError, match="reference to a missing row"):
        await dials.finish_attempt(t.id, Outcome.ANSWERED_HUMAN, T0 + timedelta(minutes=1),
                                   CONFIG, recording_id=recordings[1])
    done = await dials.finish_attempt(t.id, Outcome.ANSWERED_HUMAN, T0 + timedelta(minutes=1),
                                      CONFIG, recording_id=recordings[0])
    assert done.status is Status.CLOSED
    detail = await dials.get(t.id)
    assert detail is not None and detail.attempts[0].recording_id == recordings[0]
