"""The dialer loop over the real PostgreSQL, with the controller replaced by a scripted placer: what
is dialled, when nothing is, and how a call's end becomes the attempt's row."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from callrec.controller.outbound import OutboundPlan, OutboundResult
from callrec.controller.recovery import DISCLOSURE_UNPROVEN
from callrec.dialer.errors import DialerError
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
        "disclosure_prompt": "sound:callrec/vm/disclosure",
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
    hooks: list[Any] = field(default_factory=list)
    agent: str | None = "alice"  # the agent the controller fetched into the bridge
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def start_outbound(self, plan: OutboundPlan) -> FakeSession:
        self.plans.append(plan)
        await self.store.create_call(plan.call_id, direction="outbound", caller_number=plan.number,
                                     channel_id=f"callrec-client-{plan.call_id}",
                                     started_at=T0)
        began = self.dial and await plan.hooks.begin(self.agent)
        self.hooks.append(plan.hooks)
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



async def left_behind(store: Store, number: str, at: datetime, *, recorded: bool,
                      end_reason: str | None = None) -> tuple[UUID, UUID | None]:
    """The outbound call a crash left: its calls row (and its recording when a person answered);
    (call id, recording id)."""
    call_id = uuid4()
    await store.create_call(call_id, direction="outbound", caller_number=number,
                            channel_id=f"callrec-client-{call_id}", started_at=at)
    recording_id = None
    if recorded:
        recording_id = uuid4()
        await store.recording_started(
            recording_id, call_id=call_id, agent_leg_id=None, segment=1, mixmonitor_id="mm",
            file_mix="/r/m.wav", file_caller="/r/c.wav", file_agent="/r/a.wav",
            at=at + timedelta(seconds=20))
    if end_reason is not None:
        await store.end_call(call_id, at + timedelta(seconds=30), "interrupted", end_reason)
    return call_id, recording_id


async def test_a_person_still_talking_after_a_restart_was_reached(store: Store,
                                                                 dials: DialStore) -> None:
    """The restarted controller adopted the conversation (its call has a recording, which starts
    only on AMD's HUMAN): the attempt is answered_human and the task closes - the client is not rung
    again while, or after, talking to the agent."""
    task = await add(dials, "+64211234541")
    call_id, recording_id = await left_behind(store, task.number, T0, recorded=True)
    await dials.begin_attempt(task.id, T0 + timedelta(seconds=5), config())
    await loop_at(T0 + timedelta(minutes=1), dials, ScriptedPlacer(store)).close_interrupted()
    detail = await dials.get(task.id)
    assert detail is not None
    [attempt] = detail.attempts
    assert (attempt.outcome, attempt.amd_verdict) == ("answered_human", "HUMAN")
    assert (attempt.call_id, attempt.recording_id) == (call_id, recording_id)
    assert detail.task.status is Status.CLOSED


@pytest.mark.parametrize("end_reason", [None, DISCLOSURE_UNPROVEN])
async def test_an_interrupted_attempt_nobody_talked_on_is_failed_and_cites_its_call(
        store: Store, dials: DialStore, end_reason: str | None) -> None:
    """Still ringing or screening when the controller died (no recording), or hung up by
    recovery because no disclosure could be proven: failed, retried later."""
    task = await add(dials, "+64211234542")
    call_id, _ = await left_behind(store, task.number, T0, recorded=end_reason is not None,
                                   end_reason=end_reason)
    await dials.begin_attempt(task.id, T0 + timedelta(seconds=5), config())
    await loop_at(T0 + timedelta(minutes=1), dials, ScriptedPlacer(store)).close_interrupted()
    detail = await dials.get(task.id)
    assert detail is not None
    [attempt] = detail.attempts
    assert (attempt.outcome, attempt.call_id, attempt.recording_id) == ("failed", call_id, None)
    assert detail.task.status is Status.OPEN


async def test_an_earlier_attempts_call_is_never_taken_for_the_interrupted_one(
        store: Store, dials: DialStore) -> None:
    task = await add(dials, "+64211234543")
    await left_behind(store, task.number, T0, recorded=True)  # attempt 1's: a person, long ago
    await dials.begin_attempt(task.id, T0 + timedelta(seconds=5), config())
    await dials.finish_attempt(task.id, Outcome.UNSURE, T0 + timedelta(seconds=40), config())
    later = T0 + timedelta(hours=1)
    await dials.begin_attempt(task.id, later, config())  # crashed before its calls row was written
    await loop_at(later + timedelta(minutes=1), dials, ScriptedPlacer(store)).close_interrupted()
    detail = await dials.get(task.id)
    assert detail is not None
    assert [(a.outcome, a.call_id) for a in detail.attempts][1] == ("failed", None)


async def test_nothing_is_dialled_without_a_disclosure_to_play(store: Store,
                                                               dials: DialStore) -> None:
    """disclosure_prompt is resolved (rendered from disclosure_text) before the loop starts; a loop
    given an unresolved one refuses to dial rather than call a client with nothing to say."""
    await add(dials, "+64211234544")
    placer = ScriptedPlacer(store)
    loop = loop_at(T0, dials, placer, replace(config(), disclosure_prompt=""))
    with pytest.raises(DialerError, match="no disclosure"):
        await loop.tick()
    await asyncio.wait_for(loop.run(), 5)  # returns at once, having dialled nobody
    assert placer.plans == []



async def test_the_voicemail_names_the_agent_who_was_fetched(store: Store,
                                                            dials: DialStore) -> None:
    """A task with no agent of its own is called by whoever was free: that agent's name, not the
    default "a case manager", is the one the script speaks."""
    cfg = dialer_config({
        "max_concurrent": 1, "retry_minutes": 30, "dial_template": "PJSIP/{number}@trunk",
        "prompt_dir": "/nonexistent/vm", "disclosure_prompt": "sound:callrec/vm/disclosure",
        "agent_names": {"alice": "Aroha"},
        "business_units": {"default": {"timezone": "Pacific/Auckland", "caller_id": "0800559009",
                                       "hours": {"weekdays": "08:00-20:00"}}}}, environ={})
    await add(dials, "+64211234545", cfg, voicemail=VoicemailMode.MINIMAL)
    placer = ScriptedPlacer(store, verdict="MACHINE", agent="alice")
    await settle(loop_at(T0, dials, placer, cfg))
    [hooks] = placer.hooks
    assert "Aroha" in hooks.script.text and cfg.default_agent_name not in hooks.script.text
