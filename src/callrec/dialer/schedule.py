"""PURE schedule of outbound call tasks: which tasks to dial now, and what an attempt's outcome
does to its task. No I/O, no clock: times come in as arguments.

The rules (seed 003, "A minimum of three contact attempts should be made before a task is
closed"; issue 3: never more than three):

* a task is dialled only while open, due, inside its business unit's calling hours, with fewer
  than three attempts, and only while fewer than `max_concurrent` outbound calls are up;
* a human answering closes the task ("completed");
* anything else (voicemail, no answer, busy, failed, AMD unsure) schedules the next attempt
  `retry_minutes` later, moved into the next calling window -- until the third, which closes
  the task ("three attempts made");
* a cancelled task is never dialled again.

`begin_attempt` re-checks every condition `due` applies, so the store refuses an attempt the
schedule does not allow even if a caller skipped `due`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from callrec.dialer.errors import SchedulingError
from callrec.dialer.hours import aware, is_allowed, next_allowed
from callrec.dialer.settings import DialerConfig

MAX_ATTEMPTS = 3
COMPLETED = "completed"
EXHAUSTED = "three attempts made"


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    CANCELLED = "cancelled"


ACTIVE = frozenset({Status.OPEN, Status.IN_PROGRESS})


class Outcome(StrEnum):
    ANSWERED_HUMAN = "answered_human"
    MACHINE_VOICEMAIL_LEFT = "machine_voicemail_left"
    # A machine answered but no message may be left: the number is not known to be the
    # client's (seed 003: "If you are not sure the phone number belongs to the client, you
    # cannot leave a voice mail").
    MACHINE_NO_MESSAGE = "machine_no_message"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    UNSURE = "unsure"
    CANCELLED = "cancelled"


class VoicemailMode(StrEnum):
    """What may be left on a client's voicemail (set per task; seed 003)."""

    IDENTIFIES_CLIENT = "identifies_client"  # the greeting names the client: full scripts
    MINIMAL = "minimal"  # number known to be the client's, greeting does not say: minimal script
    NONE = "none"  # not sure the number is the client's: no message at all


@dataclass(frozen=True)
class Attempt:
    n: int
    started_at: datetime
    ended_at: datetime | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Task:
    id: UUID
    number: str  # E.164, normalised by callrec.dialer.numbers
    client_ref: str
    business_unit: str
    created_at: datetime
    next_due: datetime | None
    agent: str | None = None
    client_name: str | None = None
    voicemail: VoicemailMode = VoicemailMode.MINIMAL
    status: Status = Status.OPEN
    attempts: tuple[Attempt, ...] = ()
    close_reason: str | None = None
    closed_at: datetime | None = None

    @property
    def voicemail_identifies_client(self) -> bool:
        return self.voicemail is VoicemailMode.IDENTIFIES_CLIENT

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


def new_task(config: DialerConfig, *, id: UUID, number: str, client_ref: str,
             created_at: datetime, business_unit: str | None = None, agent: str | None = None,
             client_name: str | None = None,
             voicemail: VoicemailMode = VoicemailMode.MINIMAL) -> Task:
    """An open task, first due at the first allowed moment from `created_at`."""
    unit_name = business_unit or config.default_business_unit
    unit = config.unit(unit_name)
    if unit is None:
        raise SchedulingError(f"unknown business unit {unit_name!r}; configured: "
                              f"{', '.join(config.unit_names())}")
    return Task(id=id, number=number, client_ref=client_ref, business_unit=unit_name,
                created_at=aware(created_at), next_due=next_allowed(unit, created_at),
                agent=agent, client_name=client_name, voicemail=voicemail)


def why_not_dial(task: Task, now: datetime, config: DialerConfig) -> str | None:
    """None when `task` may be dialled at `now` (ignoring concurrency), else the reason."""
    unit = config.unit(task.business_unit)
    if task.status is not Status.OPEN:
        return f"task is {task.status.value}"
    if len(task.attempts) >= MAX_ATTEMPTS:
        return f"{MAX_ATTEMPTS} attempts already made"
    if task.next_due is None or now < task.next_due:
        return "not due yet"
    if task.last is not None and now <= task.last.started_at:
        return "not after the previous attempt"
    if unit is None:
        return f"business unit {task.business_unit!r} is not configured"
    if not is_allowed(unit, now):
        return f"outside the calling hours of {unit.name}"
    return None


def due(tasks: Iterable[Task], now: datetime, config: DialerConfig, active_calls: int,
        busy_agents: frozenset[str] = frozenset()) -> list[Task]:
    """The tasks to dial now, oldest due first: never more than the free outbound slots, and at
    most one per named agent (an agent busy on a call gets none)."""
    aware(now)
    free = max(0, config.max_concurrent - active_calls)
    chosen: list[Task] = []
    taken = set(busy_agents)
    for task in sorted(tasks, key=_queue_order):
        if len(chosen) >= free:
            break
        if why_not_dial(task, now, config) is None and task.agent not in taken:
            chosen.append(task)
            if task.agent is not None:
                taken.add(task.agent)
    return chosen


def _queue_order(task: Task) -> tuple[datetime, datetime, str]:
    return (task.next_due or task.created_at, task.created_at, str(task.id))


def begin_attempt(task: Task, at: datetime, config: DialerConfig) -> Task:
    """The task with attempt n+1 started at `at` (now in progress); refused unless allowed."""
    reason = why_not_dial(task, aware(at), config)
    if reason is not None:
        raise SchedulingError(f"task {task.id}: no attempt at {at.isoformat()}: {reason}")
    attempt = Attempt(n=len(task.attempts) + 1, started_at=at)
    return replace(task, status=Status.IN_PROGRESS, attempts=(*task.attempts, attempt))


def after_attempt(task: Task, outcome: Outcome, at: datetime, config: DialerConfig) -> Task:
    """The task once its attempt in progress ended at `at` with `outcome`."""
    last = task.last
    if last is None or last.outcome is not None:
        raise SchedulingError(f"task {task.id} has no attempt in progress")
    if aware(at) < last.started_at:
        raise SchedulingError(f"task {task.id}: attempt {last.n} cannot end before it started")
    done = replace(task, attempts=(*task.attempts[:-1], replace(last, ended_at=at,
                                                                  outcome=outcome)))
    if task.status is Status.CANCELLED or outcome is Outcome.CANCELLED:
        return _closed(done, Status.CANCELLED, task.close_reason or "cancelled", at)
    if task.status is not Status.IN_PROGRESS:
        raise SchedulingError(f"task {task.id} is {task.status.value}, not in progress")
    if outcome is Outcome.ANSWERED_HUMAN:
        return _closed(done, Status.CLOSED, COMPLETED, at)
    if last.n >= MAX_ATTEMPTS:
        return _closed(done, Status.CLOSED, EXHAUSTED, at)
    return replace(done, status=Status.OPEN, next_due=_retry_at(task, at, config))


def _retry_at(task: Task, at: datetime, config: DialerConfig) -> datetime:
    earliest = at + config.retry_interval
    unit = config.unit(task.business_unit)
    # A unit removed from the settings: keep the interval; why_not_dial refuses to dial anyway.
    return earliest if unit is None else next_allowed(unit, earliest)


def cancel(task: Task, at: datetime, reason: str = "cancelled") -> Task:
    """No further attempts. An attempt in progress is left to finish (and be recorded)."""
    if task.status not in ACTIVE:
        raise SchedulingError(f"task {task.id} is already {task.status.value}")
    if task.status is Status.IN_PROGRESS:
        return replace(task, status=Status.CANCELLED, close_reason=reason, next_due=None)
    return _closed(task, Status.CANCELLED, reason, aware(at))


def _closed(task: Task, status: Status, reason: str, at: datetime) -> Task:
    return replace(task, status=status, close_reason=reason, closed_at=at, next_due=None)
