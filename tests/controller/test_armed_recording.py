"""The agent's MixMonitor is armed (option ``b``) when the agent answers, before it is bridged.

With ``b`` MixMonitor writes nothing until the channel is in a bridge, so the file begins the instant the
agent enters the caller's bridge, however late the controller hears of it (under load, seconds). The
segment adopts the armed MixMonitor; one whose agent never becomes a segment is discarded (stopped, its
files removed) and leaves no recording row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from callrec.ari import AriError
from callrec.controller.session import CallSession
from tests.controller.fakes import CALLER, T0, Action, Rig, ari_event, bridge, channel, until


async def answer(rig: Rig, agent: dict[str, Any]) -> None:
    """The rung agent answers (StasisStart) and the shell bridges it."""
    call_id, leg_id = rig.journal.of("ari", "originate")[-1].args["app_args"].split(",")[1:]
    await rig.send("StasisStart", channel=agent, args=["agent", call_id, leg_id])
    await rig.handled()


async def answered(rig: Rig) -> tuple[CallSession, dict[str, Any], Action]:
    """A call up to its agent answering: the session, the agent's channel, the arming MixMonitor."""
    session = await rig.call_arrives()
    await rig.reach_waiting()
    agent = await rig.agent_rung()
    await answer(rig, agent)
    [armed] = rig.journal.of("ami", "start")
    return session, agent, armed


async def enters_at(rig: Rig, agent: dict[str, Any], at: datetime) -> None:
    """The agent's ChannelEnteredBridge, stamped ``at`` by Asterisk, reaches the controller now;
    until its segment is recording."""
    await rig.controller.dispatch(ari_event("ChannelEnteredBridge", at, channel=agent,
                                            bridge=bridge(rig.mix())))
    await until(lambda: rig.sessions[-1].effects.running, "the segment recording")


async def test_a_join_heard_late_begins_the_segment_at_the_agents_entry_in_the_armed_files() -> None:
    async with Rig() as rig:
        session, agent, armed = await answered(rig)
        # The agent entered long before the controller got to the event (its loop lagging).
        entered = T0 + timedelta(seconds=30)
        await enters_at(rig, agent, entered)
        [run] = session.effects.running.values()
        assert run.segment.started_at == entered  # cut-short checks measure from the entry
        assert (run.files, run.asterisk_id) == (armed.args["files"], "mm-1")
        assert session.effects.armed == {}
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
    assert len(rig.journal.of("ami", "start")) == 1
    assert [a.args["asterisk_id"] for a in rig.journal.of("ami", "stop")] == ["mm-1"]


async def test_the_caller_leaving_before_the_agent_joined_discards_the_armed_monitor() -> None:
    async with Rig() as rig:
        session, agent, armed = await answered(rig)
        # Asterisk bridged the agent, but the caller's hangup reaches us before the agent's join.
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.send("ChannelEnteredBridge", channel=agent, bridge=bridge(rig.mix()))
        await rig.ended(session)
    [discard] = rig.journal.of("ami", "discard")
    assert discard.args == {"channel_name": agent["name"], "asterisk_id": "mm-1",
                            "files": armed.args["files"]}
    assert rig.hung_up(agent["id"])
    assert not rig.stored("recording_started") and not rig.journal.of("ami", "stop")


async def test_an_agent_that_could_not_be_bridged_is_disarmed() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await rig.reach_waiting()
        agent = await rig.agent_rung()
        rig.ari.fail["add_channel"] = AriError(404, "POST", "/bridges/x/addChannel",
                                               "Bridge not found")
        await answer(rig, agent)
        await until(lambda: rig.journal.of("ami", "discard"), "the armed monitor discarded")
        assert session.effects.armed == {}
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)
    assert len(rig.journal.of("ami", "discard")) == 1
    assert not rig.stored("recording_started")


async def test_a_requeued_call_arms_the_next_agent_again_for_its_own_segment() -> None:
    async with Rig(settle_seconds=0.05) as rig:
        session = await rig.call_arrives()
        first = await rig.connect()
        await rig.send("ChannelLeftBridge", channel=first, bridge=bridge(rig.mix()))
        await until(lambda: rig.hung_up(first["id"]), "the first agent released")
        await rig.send("ChannelDestroyed", channel=first, cause=16)  # alice is free again
        await until(lambda: len(rig.journal.of("ari", "originate")) == 2, "the next agent rung")
        second = channel(rig.journal.of("ari", "originate")[-1].args["channel_id"],
                         "PJSIP/agent1-00000003")
        await answer(rig, second)
        await rig.send("ChannelEnteredBridge", channel=second, bridge=bridge(rig.mix()))
        await until(lambda: len(rig.stored("recording_started")) == 2, "the second segment")
        await rig.send("ChannelHangupRequest", channel=second, cause=16)
        await rig.ended(session)
    starts = rig.journal.of("ami", "start")
    assert [s.args["channel_name"] for s in starts] == [first["name"], second["name"]]
    segments = rig.stored("recording_started")
    assert [r["segment"] for r in segments] == [1, 2]
    assert [r["file_mix"] for r in segments] == [str(s.args["files"].local_mix) for s in starts]
    assert not rig.journal.of("ami", "discard")


async def test_an_agent_answering_before_midnight_and_entering_after_records_afresh() -> None:
    async with Rig() as rig:
        session, agent, armed = await answered(rig)
        tomorrow = T0 + timedelta(days=1)
        await enters_at(rig, agent, tomorrow)
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
    [_, fresh] = rig.journal.of("ami", "start")
    # The segment's files live under the day it began, where recovery and the sweep look for them.
    assert fresh.args["files"].local_mix.parent.name == f"{tomorrow.day:02d}"
    [recording] = rig.stored("recording_started")
    assert recording["file_mix"] == str(fresh.args["files"].local_mix)
    [discard] = rig.journal.of("ami", "discard")
    assert discard.args["files"] == armed.args["files"]
