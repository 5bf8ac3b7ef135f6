"""The schedule of call tasks: table tests of each rule, then properties over any sequence of
clock ticks, outcomes and cancellations (never a 4th attempt, never outside hours, never over
the concurrency limit, attempts strictly later each time, cancelled tasks never dialled)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.dialer.errors import SchedulingError
from callrec.dialer.hours import is_allowed
from callrec.dialer.schedule import (
    COMPLETED,
    EXHAUSTED,
    MAX_ATTEMPTS,
    Outcome,
    Status,
    Task,
    after_attempt,
    begin_attempt,
    cancel,
    due,
    new_task,
    why_not_dial,
)
from callrec.dialer.settings import BusinessUnit, DialerConfig
from tests.dialer.conftest import T0, nz

CONFIG = DialerConfig(max_concurrent=2, retry_minutes=30)
UNSUCCESSFUL = [Outcome.MACHINE_VOICEMAIL_LEFT, Outcome.MACHINE_NO_MESSAGE, Outcome.NO_ANSWER,
                Outcome.BUSY, Outcome.FAILED, Outcome.UNSURE]


def task(at: datetime = T0, agent: str | None = None, number: str = "+6421000001",
         config: DialerConfig = CONFIG) -> Task:
    return new_task(config, id=uuid4(), number=number, client_ref=f"C{number[-4:]}",
                    created_at=at, agent=agent)


def attempt(t: Task, at: datetime, outcome: Outcome,
            minutes: float = 1) -> Task:
    return after_attempt(begin_attempt(t, at, CONFIG), outcome,
                         at + timedelta(minutes=minutes), CONFIG)


def test_a_new_task_is_due_at_once_inside_hours_and_at_the_next_opening_outside() -> None:
    assert task(T0).next_due == T0
    assert task(nz(2025, 11, 7, 21, 0)).next_due == nz(2025, 11, 10, 8, 0)


def test_a_human_answering_completes_the_task() -> None:
    done = attempt(task(), T0, Outcome.ANSWERED_HUMAN)
    assert (done.status, done.close_reason, done.next_due) == (Status.CLOSED, COMPLETED, None)
    assert done.attempts[0].outcome is Outcome.ANSWERED_HUMAN


@pytest.mark.parametrize("outcome", UNSUCCESSFUL)
def test_an_unsuccessful_attempt_schedules_the_next_after_the_interval(outcome: Outcome) -> None:
    later = attempt(task(), T0, outcome, minutes=2)
    assert later.status is Status.OPEN
    assert later.next_due == T0 + timedelta(minutes=2 + 30)


def test_a_retry_falling_after_hours_moves_to_the_next_opening() -> None:
    later = attempt(task(nz(2025, 11, 4, 19, 45)), nz(2025, 11, 4, 19, 45), Outcome.BUSY)
    assert later.next_due == nz(2025, 11, 5, 8, 0)


def test_the_third_unsuccessful_attempt_closes_the_task() -> None:
    t = task()
    for n in range(MAX_ATTEMPTS):
        assert t.status is Status.OPEN and t.next_due is not None
        t = attempt(t, t.next_due, Outcome.NO_ANSWER)
    assert (t.status, t.close_reason, len(t.attempts)) == (Status.CLOSED, EXHAUSTED, 3)
    with pytest.raises(SchedulingError, match="task is closed"):
        begin_attempt(t, t.attempts[-1].ended_at + timedelta(days=1), CONFIG)


def test_a_fourth_attempt_is_refused_even_on_a_task_forced_open() -> None:
    t = task()
    for _ in range(MAX_ATTEMPTS):
        assert t.next_due is not None
        t = attempt(t, t.next_due, Outcome.BUSY)
    forced = replace(t, status=Status.OPEN, next_due=T0)
    with pytest.raises(SchedulingError, match="3 attempts already made"):
        begin_attempt(forced, T0 + timedelta(days=1), CONFIG)


@pytest.mark.parametrize(("at", "reason"), [
    (T0 - timedelta(minutes=1), "not due yet"),
    (nz(2025, 11, 8, 10, 0), "outside the calling hours of default"),
])
def test_refusals_say_why(at: datetime, reason: str) -> None:
    t = replace(task(), next_due=nz(2025, 11, 1, 0, 0)) if "hours" in reason else task()
    assert why_not_dial(t, at, CONFIG) == reason
    with pytest.raises(SchedulingError, match=reason):
        begin_attempt(t, at, CONFIG)


def test_a_unit_missing_from_the_settings_is_never_dialled() -> None:
    t = replace(task(), business_unit="gone")
    assert why_not_dial(t, T0, CONFIG) == "business unit 'gone' is not configured"


def test_cancel_stops_an_open_task_and_lets_a_call_in_progress_finish() -> None:
    closed = cancel(task(), T0, "client called in")
    assert (closed.status, closed.close_reason, closed.closed_at) == (
        Status.CANCELLED, "client called in", T0)
    in_call = cancel(begin_attempt(task(), T0, CONFIG), T0 + timedelta(seconds=5))
    assert in_call.status is Status.CANCELLED and in_call.closed_at is None
    ended = after_attempt(in_call, Outcome.ANSWERED_HUMAN, T0 + timedelta(minutes=3), CONFIG)
    assert ended.status is Status.CANCELLED and ended.attempts[0].outcome is Outcome.ANSWERED_HUMAN
    assert ended.closed_at == T0 + timedelta(minutes=3)
    with pytest.raises(SchedulingError, match="already cancelled"):
        cancel(ended, T0)


def test_an_attempt_cannot_end_twice_or_before_it_began() -> None:
    started = begin_attempt(task(), T0, CONFIG)
    with pytest.raises(SchedulingError, match="before it started"):
        after_attempt(started, Outcome.BUSY, T0 - timedelta(seconds=1), CONFIG)
    ended = after_attempt(started, Outcome.BUSY, T0, CONFIG)
    with pytest.raises(SchedulingError, match="no attempt in progress"):
        after_attempt(ended, Outcome.BUSY, T0, CONFIG)


def test_due_takes_the_oldest_first_up_to_the_free_slots() -> None:
    tasks = [task(T0 - timedelta(minutes=m), number=f"+642100000{m}") for m in (1, 3, 2)]
    chosen = due(tasks, T0, CONFIG, active_calls=0)
    assert [t.number for t in chosen] == ["+6421000003", "+6421000002"]
    assert [t.number for t in due(tasks, T0, CONFIG, active_calls=1)] == ["+6421000003"]
    assert due(tasks, T0, CONFIG, active_calls=2) == []
    assert due(tasks, T0, replace(CONFIG, max_concurrent=0), active_calls=0) == []


def test_due_gives_an_agent_one_call_at_a_time() -> None:
    earlier = T0 - timedelta(minutes=5)
    tasks = [task(T0, agent="alice", number="+6421000002"),
             task(earlier, agent="alice", number="+6421000001"),
             task(T0, agent="bob", number="+6421000003")]
    assert {t.number for t in due(tasks, T0, CONFIG, 0)} == {"+6421000001", "+6421000003"}
    assert [t.number for t in due(tasks, T0, CONFIG, 0, frozenset({"alice"}))] == [
        "+6421000003"]


# ------------------------------------------------------------------------------ properties
OUTCOMES = st.sampled_from(list(Outcome))
ZONES = st.sampled_from(["Pacific/Auckland", "Europe/London", "America/New_York"])


@st.composite
def configs(draw: st.DrawFn) -> DialerConfig:
    return DialerConfig(
        max_concurrent=draw(st.integers(1, 3)), retry_minutes=draw(st.sampled_from([1, 30, 600])),
        business_units=(BusinessUnit("default", timezone=draw(ZONES)),
                        BusinessUnit("other", timezone=draw(ZONES))))


# One step of the world: time passes; the dialer dials what is due; some calls end; the
# operator cancels some task.
steps = st.lists(st.tuples(st.sampled_from([1, 7, 30, 61, 240, 720, 1440]),  # minutes passing
                           st.lists(OUTCOMES, min_size=1, max_size=3),  # calls ending, oldest first
                           st.one_of(st.none(), st.none(), st.none(),
                                     st.integers(0, 9))),  # a task cancelled, now and then
                 min_size=10, max_size=80)


class World:
    def __init__(self, config: DialerConfig, tasks: list[Task]) -> None:
        self.config = config
        self.tasks = {t.id: t for t in tasks}
        self.in_call: list[UUID] = []
        self.cancelled_at: dict[UUID, datetime] = {}
        self.dialled: list[tuple[UUID, datetime]] = []

    def dial(self, now: datetime) -> None:
        for chosen in due(self.tasks.values(), now, self.config, len(self.in_call)):
            self.tasks[chosen.id] = begin_attempt(chosen, now, self.config)
            self.in_call.append(chosen.id)
            self.dialled.append((chosen.id, now))
        assert len(self.in_call) <= self.config.max_concurrent

    def end_calls(self, outcomes: list[Outcome], now: datetime) -> None:
        for outcome in outcomes[:len(self.in_call)]:
            task_id = self.in_call.pop(0)
            self.tasks[task_id] = after_attempt(self.tasks[task_id], outcome, now, self.config)

    def cancel(self, index: int | None, now: datetime) -> None:
        ids = sorted(self.tasks, key=str)
        if index is None or index >= len(ids):
            return
        t = self.tasks[ids[index]]
        if t.status in (Status.OPEN, Status.IN_PROGRESS):
            self.tasks[t.id] = cancel(t, now)
            self.cancelled_at[t.id] = now


@settings(max_examples=300, deadline=None)
@given(configs(), st.integers(1, 10), st.integers(0, 7 * 24 * 60), steps)
def test_any_run_of_the_dialer_keeps_every_rule(config: DialerConfig, count: int,
                                                start_minutes: int, run: list) -> None:
    now = T0 + timedelta(minutes=start_minutes)
    tasks = [new_task(config, id=uuid4(), number=f"+64210000{i:02d}", client_ref=f"C{i}",
                      created_at=now, business_unit="default" if i % 2 else "other")
             for i in range(count)]
    world = World(config, tasks)
    for minutes, outcomes, cancelled in run:
        world.dial(now)
        now += timedelta(minutes=minutes)
        world.end_calls(outcomes, now)
        world.cancel(cancelled, now)
    for task_id, at in world.dialled:
        t = world.tasks[task_id]
        unit = config.unit(t.business_unit)
        assert unit is not None and is_allowed(unit, at), "dialled outside calling hours"
        assert task_id not in world.cancelled_at or at < world.cancelled_at[task_id]
    for t in world.tasks.values():
        assert len(t.attempts) <= MAX_ATTEMPTS
        starts = [a.started_at for a in t.attempts]
        assert starts == sorted(set(starts)), "attempts not strictly later each time"
        assert [a.n for a in t.attempts] == list(range(1, len(t.attempts) + 1))
        for earlier, later in zip(t.attempts, t.attempts[1:]):
            assert earlier.ended_at is not None
            assert later.started_at >= earlier.ended_at + config.retry_interval
        finished = [a.outcome for a in t.attempts if a.outcome is not None]
        if t.status is Status.CLOSED:
            assert (t.close_reason == COMPLETED) == (finished[-1] is Outcome.ANSWERED_HUMAN)
            assert t.close_reason in (COMPLETED, EXHAUSTED)
        if Outcome.ANSWERED_HUMAN in finished:
            assert finished[-1] is Outcome.ANSWERED_HUMAN, "dialled again after a human answered"


@given(configs(), st.lists(OUTCOMES, min_size=1, max_size=10))
def test_whatever_the_outcomes_a_task_ends_within_three_attempts(
        config: DialerConfig, outcomes: list[Outcome]) -> None:
    t = new_task(config, id=uuid4(), number="+6421000001", client_ref="C1", created_at=T0)
    for outcome in outcomes:
        if t.status is not Status.OPEN:
            break
        assert t.next_due is not None
        t = after_attempt(begin_attempt(t, t.next_due, config), outcome, t.next_due, config)
    assert len(t.attempts) <= MAX_ATTEMPTS
    if len(t.attempts) == MAX_ATTEMPTS:
        assert t.status is not Status.OPEN
