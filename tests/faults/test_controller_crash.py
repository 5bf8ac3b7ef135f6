"""The controller is killed (-9) mid-call and restarted: nothing it was doing is lost or left running.

After a restart callrec rebuilds its view from PostgreSQL and Asterisk (`/channels`, `/bridges`): a
call whose agent is still in the bridge is adopted and its recording stops when the agent leaves; a
recording whose agent left while nobody watched is sealed as `interrupted` with its hash; a call whose
caller left is closed with a reason. Each test checks the invariants: no evidence row lost or doubled,
every file complete with a matching hash or marked, nothing recording without its agent.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from callrec.audio import wav_is_closed
from callrec.store import CallDetail, Store
from tests.e2e.harness import (
    AGENT,
    CALLER,
    Phones,
    agent,
    assert_only_conversation,
    eventually,
    finished_call,
    live_call,
    set_agents,
)
from tests.faults.calls import SETTLE_S, agent_leaves_and_check, normal_rows, scripted_call
from tests.faults.conftest import ControllerProcess
from tests.faults.evidence import Outcome, call_of
from tests.faults.sandbox import pbx_channels

pytestmark = [pytest.mark.e2e]


def assert_sealed(detail: CallDetail) -> None:
    """Every recording is closed on disk, hashed, and its hash matches the file."""
    for rec in detail.recordings:
        path = Path(rec.file_mix)
        assert rec.status in ("complete", "interrupted", "incomplete"), rec.status
        assert wav_is_closed(path), f"{path.name} was left open"
        assert rec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


async def gone_from_the_pbx(controller: ControllerProcess, channel_id: str) -> None:
    """Bounded wait for a party to hang up while the controller is down (its timing is the
    simulated phone's, which a busy box stretches)."""
    async def gone() -> bool:
        return channel_id not in await pbx_channels(controller.config)

    await eventually(gone, timeout=SETTLE_S, what=f"channel {channel_id} to hang up")


async def calls_from(store: Store, number: str) -> int:
    return len([c for c in await store.list_calls(limit=500) if c.caller_number == number])


async def test_adopts_a_live_call_and_stops_when_the_caller_leaves(
        controller: ControllerProcess, store: Store, phones: Phones) -> None:
    await set_agents(store, {"alice": agent("agent-stay")})
    await controller.start()
    number = await phones.call(stay=9)
    await live_call(store, number, "connected")
    await asyncio.sleep(1)
    await controller.kill()
    await controller.start()  # the caller and agent are still talking
    detail = await finished_call(store, number)
    [rec] = detail.recordings
    assert (rec.status, rec.stop_reason) == ("complete", "caller_hangup")
    assert "recovered" in [e.kind for e in detail.events]
    assert_sealed(detail)
    assert_only_conversation(rec, expected={CALLER, AGENT})
    assert await calls_from(store, number) == 1


async def test_agent_left_while_the_controller_was_down(
        controller: ControllerProcess, store: Store, phones: Phones) -> None:
    await set_agents(store, {"alice": agent("agent-hangup")})  # talks 3 s, hangs up
    await controller.start()
    number = await phones.call(stay=9)
    live = await live_call(store, number, "connected")
    await controller.kill()
    await set_agents(store, {})  # nobody to requeue to: the caller waits, then hangs up
    # The agent hangs up meanwhile; MixMonitor's `b` closes the file.
    await gone_from_the_pbx(controller, live.legs[0].channel_id)
    await controller.start()
    detail = await finished_call(store, number)
    [rec] = detail.recordings
    assert (rec.status, rec.stop_reason) == ("interrupted", "controller_restart")
    assert_sealed(detail)
    assert_only_conversation(rec, expected={CALLER, AGENT})
    assert detail.call.end_reason == "caller_hangup_while_waiting"


async def test_caller_left_while_the_controller_was_down(
        controller: ControllerProcess, store: Store, phones: Phones) -> None:
    await set_agents(store, {"alice": agent("agent-stay")})
    await controller.start()
    number = await phones.call(stay=2)
    live = await live_call(store, number, "connected")
    await controller.kill()
    # The caller hangs up 2 s in; Asterisk hangs up nobody else for us.
    await gone_from_the_pbx(controller, live.call.channel_id)
    await controller.start()
    detail = await finished_call(store, number)
    assert (detail.call.outcome, detail.call.end_reason) == ("interrupted",
                                                             "ended_while_controller_down")
    [rec] = detail.recordings
    assert rec.status == "interrupted"
    assert_sealed(detail)


async def forget_call(dsn: str, call_id: object) -> None:
    """Delete a call's rows: what a kill in the instant before its row was written leaves."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for table in ("call_events", "announcements", "agent_legs"):
            await conn.execute(sql.SQL("DELETE FROM {} WHERE call_id = %s").format(
                sql.Identifier(table)), (call_id,))
        await conn.execute("DELETE FROM calls WHERE id = %s", (call_id,))


async def test_a_caller_no_call_row_names_is_taken_as_a_new_call(
        controller: ControllerProcess, store: Store, phones: Phones) -> None:
    """After a restart, `GET /applications/callrec` shows a caller in our holding bridge whose call
    left no row: it is taken as a new call (the announcement again, then an agent), recorded only
    while the agent is in, and its old holding bridge is emptied."""
    await set_agents(store, {})  # nobody to ring: the caller waits in our holding bridge
    await controller.start()
    number = await phones.call(stay=40)
    lost = await live_call(store, number, "waiting")
    await controller.kill()
    await forget_call(controller.config.database.dsn, lost.call.id)
    await set_agents(store, {"alice": agent("agent-hangup")})  # talks 3 s, hangs up
    await controller.start()
    detail = await finished_call(store, number)
    assert detail.call.id != lost.call.id
    assert [a.kind for a in detail.announcements] == ["inbound_announcement"]
    [rec] = detail.recordings
    assert (rec.status, rec.stop_reason) == ("complete", "agent_hangup")
    assert_sealed(detail)
    assert_only_conversation(rec, expected={CALLER, AGENT})
    assert await calls_from(store, number) == 1


@pytest.mark.fault("controller_killed")
async def test_killed_mid_call_and_adopted(controller: ControllerProcess, store: Store,
                                           idle_phones: Phones, outcome: Outcome,
                                           trial: int) -> None:
    """The repeated form (`make faults`): killed mid-call, restarted, the live call adopted; when
    the agent hangs up later the recording stops then, as if nothing had happened."""
    phones, loop = idle_phones, asyncio.get_running_loop()
    await controller.start()
    expected = await normal_rows(store, phones)
    number = await scripted_call(store, phones)
    await asyncio.sleep(0.5)
    await controller.kill()
    killed = loop.time()
    await controller.start()

    async def adopted() -> bool:
        detail = await call_of(store, number)
        return detail is not None and "recovered" in [e.kind for e in detail.events]

    await eventually(adopted, timeout=SETTLE_S, interval=0.05, what="the call adopted")
    outcome.recover_s = loop.time() - killed  # here: killed -> restarted and the call adopted
    detail = await agent_leaves_and_check(store, phones, number, controller.config, outcome,
                                          expected)
    outcome.expect_agent_ended_it(detail, "the adopted call")
    outcome.assert_held()
