"""The dialer loop over the real PostgreSQL, with the controller replaced by a scripted placer: what
is dialled, when nothing is, and how a call's end becomes the attempt's row."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from callrec.controller.outbound import OutboundPlan, OutboundResult
from callrec.dialer.loop import DialerLoop
from callrec.dialer.schedule import Outcome, Status, Task, VoicemailMode, new_task
from callrec.dialer.settings import DialerConfig, dialer_config
from callrec.dialer.store import DialStore
from callrec.store import Store
from tests.dialer.conftest import T0, nz

pytestmark = pytest.mark.pg


def config(max_concurrent: int = 2) -> DialerConfig:
    return dialer_config({
        "max_concurrent": max_concurrent, "retry_minutes": 30,
        "dial_template": "PJSIP/{number}@trunk", "prompt_dir": "/nonexistent/vm",
        "business_units": {"default": {"timezone": "Pacific/Auckland", "caller_id": "0800559009",
                                       "hours": {"weekdays": "08:00-20:00"}}}}, environ={})


@dataclass
class FakeSession:
    result: OutboundResult
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class ScriptedPlacer:
    """Plays a call's part: writes the attempt (like DialClient), the calls row, then ends it."""

    store: Store
    verdict: str | None = "HUMAN"
    reason: str = "caller_hangup"
    dial: bool = True
    plans: list[OutboundPlan] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def start_outbound(self, plan: OutboundPlan) -> FakeSession:
        self.plans.append(plan)
        await self.store.create_call(plan.call_id, direction="outbound", caller_number=plan.number,
                                     channel_id=f"callrec-client-{plan.call_id}",
                                     started_at=T0)
        began = self.dial and await plan.hooks.begin()
        session = FakeSession(OutboundResult(began=began, verdict=self.verdict if began else None,
                                             reason=self.reason if began else "refused"))
        session.closed.set()
        return session


def loop_at(now: datetime, dials: DialStore, placer: ScriptedPlacer,
            cfg: DialerConfig | None = None) -> DialerLoop:
    async def drained() -> None:
        return None
    placer.connected.set()
    return DialerLoop(cfg or config(), dials, placer, set, drained, lambda: now, uuid4)


async def add(dials: DialStore, number: str, cfg: DialerConfig | None = None,
              voicemail: VoicemailMode = VoicemailMode.NONE) -> Task:
    task = new_task(cfg or config(), id=uuid4(), number=number, client_ref=f"R{number[-4:]}",
                    created_at=T0, voicemail=voicemail)
    await dials.add([task])
    return task


async def settle(loop: DialerLoop) -> list[UUID]:
    started = await loop.tick()
    await asyncio.gather(*loop.calls.values())
    return started


async def test_a_due_task_is_dialled_with_its_units_caller_id_and_closed_when_answered(
        store: Store, dials: DialStore) -> None:
    placer = ScriptedPlacer(store)
    task = await add(dials, "+64211234501")
    assert await settle(loop_at(T0, dials, placer)) == [task.id]
    [plan] = placer.plans
    assert (plan.endpoint, plan.caller_id) == ("PJSIP/+64211234501@trunk", "0800559009")
    detail = await dials.get(task.id)
    assert detail is not None and detail.task.status is Status.CLOSED
    [attempt] = detail.attempts
    assert (attempt.outcome, attempt.amd_verdict, attempt.call_id) == (
        "answered_human", "HUMAN", plan.call_id)


async def test_nothing_is_dialled_outside_the_calling_hours(store: Store,
                                                           dials: DialStore) -> None:
    placer = ScriptedPlacer(store)
    await add(dials, "+64211234502")
    saturday_night = nz(2025, 11, 8, 22, 0)
    assert await settle(loop_at(saturday_night, dials, placer)) == []
    assert placer.plans == []


async def test_no_more_calls_than_max_concurrent(store: Store, dials: DialStore) -> None:
    placer = ScriptedPlacer(store)
    for n in range(3):
        await add(dials, f"+6421123451{n}", config(1))
    loop = loop_at(T0, dials, placer, config(1))
    loop.calls[uuid4()] = asyncio.get_running_loop().create_future()  # one call already up
    assert await loop.tick() == []
    loop.calls.clear()
    assert len(await settle(loop)) == 1


async def test_a_call_that_never_dialled_is_not_an_attempt(store: Store,
                                                          dials: DialStore) -> None:
    placer = ScriptedPlacer(store, dial=False)
    task = await add(dials, "+64211234520")
    loop = loop_at(T0, dials, placer)
    await settle(loop)
    detail = await dials.get(task.id)
    assert detail is not None and detail.attempts == () and detail.task.status is Status.OPEN
    assert await settle(loop) == []  # backing off, not hammering


@pytest.mark.parametrize(("verdict", "reason", "outcome"), [
    (None, "busy", Outcome.BUSY), ("MACHINE", "machine_no_message", Outcome.MACHINE_NO_MESSAGE),
    ("NOTSURE", "amd_notsure", Outcome.UNSURE)])
async def test_an_unsuccessful_attempt_is_retried_after_the_interval(
        store: Store, dials: DialStore, verdict: str | None, reason: str,
        outcome: Outcome) -> None:
    placer = ScriptedPlacer(store, verdict=verdict, reason=reason)
    task = await add(dials, "+64211234530")
    await settle(loop_at(T0, dials, placer))
    detail = await dials.get(task.id)
    assert detail is not None and [a.outcome for a in detail.attempts] == [outcome.value]
    assert detail.task.status is Status.OPEN
    assert detail.task.next_due == T0 + timedelta(minutes=30)
    assert await settle(loop_at(T0 + timedelta(minutes=29), dials, placer)) == []


async def test_attempts_left_in_progress_by_a_crash_end_as_failed(store: Store,
                                                                 dials: DialStore) -> None:
    task = await add(dials, "+64211234540")
    await dials.begin_attempt(task.id, T0, config())
    await loop_at(T0, dials, ScriptedPlacer(store)).close_interrupted()
    detail = await dials.get(task.id)
    assert detail is not None and [a.outcome for a in detail.attempts] == ["failed"]
    assert detail.task.status is Status.OPEN
