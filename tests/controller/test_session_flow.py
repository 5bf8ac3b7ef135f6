"""One inbound call through the real controller shell, with ARI events in the order Asterisk 22 sends them.

What is checked is what the shell does to the outside world (ARI, AMI, evidence), and when: above all
that MixMonitor is armed (option ``b``: writes only while bridged) on the agent who answered BEFORE the
agent is bridged, that the segment adopts it when the agent enters, that an armed MixMonitor whose
agent never becomes a segment leaves nothing behind, and that the stop is the very first thing done on
the first sign the agent is gone.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import pytest

from callrec.ami import AmiError
from callrec.ari import Channel
from callrec.controller.diskspace import DiskVerdict
from tests.controller.fakes import (
    ALICE,
    CALLER,
    INBOUND,
    LOCAL,
    T0,
    Rig,
    bridge,
    in_order,
    until,
)


async def test_a_call_the_agent_hangs_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="callrec")
    async with Rig() as rig:
        session = await rig.call_arrives()
        call_id, mix, hold = session.call_id, session.mix_bridge, session.hold_bridge
        await rig.reach_waiting()
        agent = await rig.agent_rung()
        [originate] = rig.journal.of("ari", "originate")
        leg_id = originate.args["channel_id"].removeprefix("callrec-agent-")
        assert originate.args["endpoint"] == ALICE.dial_string
        assert originate.args["app_args"] == f"agent,{call_id},{leg_id}"
        assert originate.args["caller_id"] == CALLER["caller"]["number"]

        answered = await rig.send("StasisStart", channel=agent, args=["agent", str(call_id), leg_id])
        await until(lambda: rig.added(agent["id"]), "the agent moved into the mix bridge")
        [armed] = rig.journal.of("ami", "start")  # on the agent's channel, before it is bridged
        assert armed.args["channel_name"] == agent["name"]
        await rig.send("ChannelLeftBridge", channel=CALLER, bridge=bridge(hold))
        await rig.send("ChannelEnteredBridge", channel=CALLER, bridge=bridge(mix))
        await rig.handled()
        assert not rig.stored("recording_started")  # the caller alone in the bridge: no segment
        joined = await rig.send("ChannelEnteredBridge", channel=agent, bridge=bridge(mix))
        await until(lambda: session.effects.running, "the segment recording")
        assert len(rig.journal.of("ami", "start")) == 1  # adopted: no second MixMonitor

        assert in_order(rig.journal.actions, [
            ("ari", "answer", {"channel_id": CALLER["id"]}),
            ("ari", "create_bridge", {"bridge_id": mix}),
            ("ari", "play", {"channel_id": CALLER["id"], "media": INBOUND.announcement}),
            ("ari", "play", {"channel_id": CALLER["id"], "media": INBOUND.client_number_prompt}),
            ("ari", "create_bridge", {"bridge_id": hold, "bridge_type": "holding"}),
            ("ari", "add_channel", {"bridge_id": hold, "channel_id": CALLER["id"]}),
            ("ari", "bridge_start_moh", {"bridge_id": hold, "moh_class": INBOUND.moh_class}),
            ("ari", "originate", {"channel_id": f"callrec-agent-{leg_id}"}),
            ("ami", "start", {"channel_name": agent["name"]}),
            ("ari", "add_channel", {"bridge_id": mix, "channel_id": CALLER["id"]}),
            ("ari", "add_channel", {"bridge_id": mix, "channel_id": agent["id"]}),
        ])
        # addChannel moves the caller out of the holding bridge by itself: no removeChannel.
        assert not rig.journal.of("ari", "remove_channel")
        assert "mixing" in rig.journal.of("ari", "create_bridge")[0].args["bridge_type"]
        assert not rig.journal.of("ari", "hangup")

        mark = len(rig.journal.actions)
        hangup = await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.send("ChannelLeftBridge", channel=agent, bridge=bridge(mix))
        await rig.send("StasisEnd", channel=agent)
        await rig.send("ChannelDestroyed", channel=agent, cause=16, cause_txt="Normal Clearing")
        await rig.ended(session)

    after = rig.telephony_since(mark)
    assert (after[0].who, after[0].name) == ("ami", "stop")  # before anything else
    assert after[0].args == {"channel_name": agent["name"], "asterisk_id": "mm-1"}
    assert len(rig.journal.of("ami", "stop")) == 1  # the later signs of the same departure: ignored
    assert in_order(after, [
        ("ari", "hangup", {"channel_id": CALLER["id"]}),
        ("ari", "destroy_bridge", {"bridge_id": mix}),
        ("ari", "destroy_bridge", {"bridge_id": hold}),
    ])
    # Its ChannelDestroyed had reached the controller before the call released the agent: no
    # hang-up of a channel that is gone; the caller's, once (not again in the clean-up).
    assert [a.args["channel_id"] for a in rig.journal.of("ari", "hangup")] == [CALLER["id"]]
    assert not rig.deps.pool.busy_names()

    # Evidence: timestamps are Asterisk's, from the events that caused them.
    [recording] = rig.stored("recording_started")
    rid = recording["id"]
    assert recording["call_id"] == call_id and recording["agent_leg_id"] == UUID(leg_id)
    # The segment begins when the agent entered (Asterisk's time), in the files armed at answer.
    assert (recording["segment"], recording["at"]) == (1, joined.timestamp)
    assert recording["file_mix"] == str(armed.args["files"].local_mix)
    assert recording["file_mix"].endswith(f"{rid}-mix.wav")
    assert not rig.journal.of("ami", "discard")
    assert rig.stored("agent_answered") == [{"id": UUID(leg_id), "at": answered.timestamp}]
    assert rig.stored("set_client_number") == [{"call_id": call_id, "client_number": "48213"}]
    assert rig.stored("recording_stop_requested") == [
        {"id": rid, "at": hangup.timestamp, "reason": "agent_hangup"}]
    [finalised] = rig.stored("recording_finalised")
    assert (finalised["id"], finalised["stopped_at"], finalised["status"]) == (
        rid, hangup.timestamp, "complete")
    assert [(e["call_id"], e["outcome"], e["end_reason"]) for e in rig.stored("end_call")] == [
        (call_id, "completed", "agent_hangup")]
    assert [a.args["outcome"] for a in rig.journal.of("store", "announcement_ended")] == ["finished"]
    assert [e["kind"] for e in rig.stored("add_call_event")] == [
        "phase:announcing", "phase:identifying", "phase:waiting", "phase:connected", "phase:ended"]
    assert in_order(rig.journal.of("store"), [
        ("store", "create_call", {"id": call_id}), ("store", "agent_offered", {}),
        ("store", "recording_started", {}), ("store", "recording_stop_requested", {}),
        ("store", "recording_finalised", {})])
    assert "48213" not in caplog.text  # the client number goes to the store only


@pytest.mark.parametrize("replaces", [False, True], ids=["Local;1 plain", "Local;1 replaces agent"])
async def test_blind_transfer_in_the_real_event_order(replaces: bool) -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        mix = bridge(session.mix_bridge)
        mark = len(rig.journal.actions)
        # A REFER from the agent's phone: Asterisk swaps a Local;1 in for the agent, then says why.
        await rig.send("ChannelLeftBridge", channel=agent, bridge=mix)
        await rig.send("StasisStart", channel=LOCAL, args=[],
                       **({"replace_channel": agent} if replaces else {}))
        await rig.send("ChannelEnteredBridge", channel=LOCAL, bridge=mix)
        await rig.send("BridgeBlindTransfer", channel=agent, bridge=mix, exten="2002",
                       context="callrec-transfer", result="Success", is_external=True,
                       transferee=CALLER, replace_channel=LOCAL)
        await until(lambda: rig.hung_up(agent["id"]), "the transferring agent released")
        # Once out of Stasis the agent's channel sends no ChannelDestroyed to us: StasisEnd must do.
        await rig.send("StasisEnd", channel=agent)
        await until(lambda: rig.stored("transfer"), "the transfer noted")

        after = rig.telephony_since(mark)
        assert (after[0].who, after[0].name) == ("ami", "stop")
        assert len(rig.journal.of("ami", "stop")) == 1
        [transfer] = rig.stored("transfer")
        assert (transfer["kind"], transfer["target"]) == ("blind", "2002")
        assert not rig.hung_up(CALLER["id"])  # the caller now talks to the target, unrecorded
        assert session.call_id in rig.controller.calls
        assert not rig.deps.pool.busy_names()  # alice can take the next call

        mark = len(rig.journal.actions)
        await rig.send("ChannelHangupRequest", channel=LOCAL, cause=16)  # the target hangs up
        await rig.ended(session)

    assert rig.hung_up(CALLER["id"])
    assert len(rig.journal.of("ami", "start")) == 1 and len(rig.journal.of("ami", "stop")) == 1
    assert [(e["outcome"], e["end_reason"]) for e in rig.stored("end_call")] == [
        ("transferred", "transfer_target_hangup")]


async def test_a_replacement_without_a_transfer_event_is_still_a_blind_transfer() -> None:
    async with Rig(settle_seconds=0.05) as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        mix = bridge(session.mix_bridge)
        await rig.send("ChannelLeftBridge", channel=agent, bridge=mix)
        await rig.send("StasisStart", channel=LOCAL, args=[])
        await rig.send("ChannelEnteredBridge", channel=LOCAL, bridge=mix)
        await until(lambda: rig.hung_up(agent["id"]), "the settle timer to release the agent")
        async with asyncio.timeout(2):
            await rig.evidence.drained()
        assert [(t["kind"], t["target"]) for t in rig.stored("transfer")] == [("blind", None)]
        assert len(rig.journal.of("ari", "bridge_start_moh")) == 1  # not put back in the queue
        assert not rig.hung_up(CALLER["id"])
        await rig.send("StasisEnd", channel=LOCAL)
        await rig.ended(session)
    assert len(rig.journal.of("ami", "stop")) == 1


async def test_agent_leaving_unexplained_puts_the_caller_back_in_the_queue() -> None:
    async with Rig(settle_seconds=0.05) as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        await rig.send("ChannelLeftBridge", channel=agent, bridge=bridge(session.mix_bridge))
        await until(lambda: len(rig.journal.of("ari", "bridge_start_moh")) == 2, "requeued")
        assert rig.hung_up(agent["id"]) and not rig.hung_up(CALLER["id"])
        assert len(rig.journal.of("ami", "stop")) == 1
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)
    assert [e["outcome"] for e in rig.stored("end_call")] == ["abandoned"]


async def test_the_caller_is_taken_out_of_the_mix_bridge_only_when_in_it() -> None:
    async with Rig(settle_seconds=0.05) as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        [first_queueing] = rig.journal.of("ari", "bridge_start_moh")
        before = rig.journal.actions[:rig.journal.actions.index(first_queueing)]
        assert not [a for a in before if a.name == "remove_channel"
                    and a.args["bridge_id"] == session.mix_bridge]  # it never was in it
        await rig.send("ChannelLeftBridge", channel=agent, bridge=bridge(session.mix_bridge))
        await until(lambda: len(rig.journal.of("ari", "bridge_start_moh")) == 2, "requeued")
        assert in_order(rig.journal.actions, [
            ("ari", "bridge_start_moh", {}),
            ("ari", "remove_channel", {"bridge_id": session.mix_bridge, "channel_id": CALLER["id"]}),
            ("ari", "add_channel", {"bridge_id": session.hold_bridge, "channel_id": CALLER["id"]}),
            ("ari", "bridge_start_moh", {})])
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)


async def test_an_agent_whose_phone_hung_up_is_not_hung_up_again() -> None:
    """The far end's hang-up request (not soft) always ends in ChannelDestroyed: hanging the
    channel up ourselves would only earn a 404, however soon the clean-up comes."""
    async with Rig() as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)  # nothing more yet
        await rig.ended(session)
    hangups = [a.args["channel_id"] for a in rig.journal.of("ari", "hangup")]
    assert hangups == [CALLER["id"]]


async def test_an_agent_with_a_soft_hangup_request_is_hung_up_once() -> None:
    """A soft request (someone's AMI or ARI hangup) is not taken on trust: the agent is released."""
    async with Rig() as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        await rig.send("ChannelHangupRequest", channel=agent, cause=16, soft=True)
        await rig.ended(session)
    hangups = [a.args["channel_id"] for a in rig.journal.of("ari", "hangup")]
    assert hangups == [agent["id"], CALLER["id"]]  # released, then the caller; no clean-up repeats


async def test_caller_hangs_up_during_the_announcement() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await until(lambda: rig.journal.of("ari", "play"), "the announcement")
        [announcement] = rig.journal.of("ari", "play")
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.send("StasisEnd", channel=CALLER)
        await rig.ended(session)
        # A PlaybackFinished still in flight reaches nobody and changes nothing.
        await rig.send("PlaybackFinished", playback={"id": announcement.args["playback_id"]})

    assert rig.journal.of("ari", "play") == [announcement]
    assert not rig.journal.of("ari", "originate") and not rig.journal.of("ami")
    assert not rig.journal.of("ari", "bridge_start_moh")
    assert [a["outcome"] for a in rig.stored("announcement_ended")] == ["caller_hung_up"]
    assert [(e["outcome"], e["end_reason"]) for e in rig.stored("end_call")] == [
        ("abandoned", "caller_hangup_during_announcement")]
    assert rig.stored("set_client_number") == []


async def test_caller_hangs_up_while_the_agent_rings() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await rig.reach_waiting()
        agent = await rig.agent_rung()
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)
        assert rig.hung_up(agent["id"])  # nobody must answer into an empty call
        assert rig.deps.pool.busy_names() == {"alice"}  # until Asterisk says the leg is gone
        await rig.send("ChannelDestroyed", channel=agent, cause=16)
        assert not rig.deps.pool.busy_names()
    assert not rig.journal.of("ami")
    assert [e["end_reason"] for e in rig.stored("end_call")] == ["caller_hangup_while_waiting"]


async def test_agent_hold_plays_music_to_the_caller_and_notes_offsets() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        await rig.send("ChannelHold", channel=agent)
        await until(lambda: rig.journal.of("ari", "start_moh"), "music to the caller")
        await rig.send("ChannelUnhold", channel=agent)
        await until(lambda: rig.journal.of("ari", "stop_moh"), "music stopped")
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
    [started], [ended] = rig.stored("hold_started"), rig.stored("hold_ended")
    [recording] = rig.stored("recording_started")
    assert started["recording_id"] == recording["id"]
    assert started["offset_ms"] == 100 and ended["offset_ms"] == 200  # events 100 ms apart
    assert rig.journal.of("ari", "start_moh")[0].args["channel_id"] == CALLER["id"]


async def test_stop_is_first_even_when_the_agent_hangs_up_during_hold() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        agent = await rig.connect()
        await rig.send("ChannelHold", channel=agent)
        await until(lambda: rig.journal.of("ari", "start_moh"), "music to the caller")
        mark = len(rig.journal.actions)
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
    assert rig.telephony_since(mark)[0].name == "stop"


async def test_a_refused_mixmonitor_is_an_alarm_and_never_stopped() -> None:
    async with Rig() as rig:
        rig.recorder.start_error = AmiError("No such channel", "MixMonitor")
        session = await rig.call_arrives()
        agent = await rig.connect(expect_recording=False)
        await until(lambda: rig.stored("recording_status"), "the recording marked failed")
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
    assert len(rig.journal.of("ami", "start")) == 2  # not armed at answer: tried again on entry
    assert not rig.journal.of("ami", "stop")  # nothing runs, so nothing to stop
    [recording] = rig.stored("recording_started")
    assert rig.stored("recording_status") == [{"id": recording["id"], "status": "failed"}]
    assert "alarm" in [e["kind"] for e in rig.stored("add_call_event")]
    assert [e["end_reason"] for e in rig.stored("end_call")] == ["agent_hangup"]


async def test_channels_that_vanished_while_disconnected_end_the_call_once() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await rig.connect()
        rig.ari.alive = []  # both hung up while the WebSocket was down: no events for them
        await rig.controller.reconcile()
        await rig.ended(session)
    assert len(rig.journal.of("ami", "stop")) == 1
    # When they left is not known: said so, and no "cut short" verdict on a file nobody saw end.
    assert [e["end_reason"] for e in rig.stored("end_call")] == ["unobserved"]
    assert [r["status"] for r in rig.stored("recording_finalised")] == ["interrupted"]
    assert "alarm" not in [e["kind"] for e in rig.stored("add_call_event")]


async def test_an_agent_whose_leg_vanished_while_disconnected_is_free_again() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await rig.connect()
        rig.ari.alive = []
        await rig.controller.reconcile()
        await rig.ended(session)
        assert rig.deps.pool.busy_names() == set()


async def test_a_ringing_leg_that_vanished_while_disconnected_does_not_stall_the_hunt() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await rig.reach_waiting()
        await rig.agent_rung()
        rig.ari.alive = [Channel.from_json(CALLER)]  # the agent's phone stopped ringing meanwhile
        await rig.controller.reconcile()
        await until(lambda: len(rig.journal.of("ari", "originate")) == 2, "ringing again", 1.0)
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)


async def test_recovery_waits_until_the_evidence_journal_is_replayed() -> None:
    """Restarted during a database outage, the journal holds facts PostgreSQL lacks (a call's end,
    its sealed recording): recovering from the database then would close that call a second time,
    as interrupted. Recovery waits for the replay, without holding up the events meanwhile."""
    async with Rig() as rig:
        rig.store.down = True
        ended = UUID(int=0xE1D)
        rig.deps.record("end_call", ended, T0, "completed", "agent_hangup")
        await until(lambda: rig.evidence.journalled, "the fact journalled")
        await rig.controller.reconcile()
        await asyncio.sleep(0.05)  # a few turns of the loop: nothing may read the open calls yet
        assert not rig.journal.of("store", "open_calls")
        assert not rig.controller.reconciled.is_set()
        session = await rig.call_arrives()  # events are handled meanwhile
        rig.store.down = False
        await until(rig.controller.reconciled.is_set, "recovery after the replay")
        assert in_order(rig.journal.actions, [("store", "end_call", {"call_id": ended}),
                                              ("store", "open_calls", {})])
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)


async def test_a_nearly_full_disk_with_policy_refuse_records_nothing_and_alarms() -> None:
    async with Rig() as rig:
        rig.recorder.disk = DiskVerdict(False, "recordings disk low: recording refused")
        session = await rig.call_arrives()
        agent = await rig.connect(expect_recording=False)
        await until(lambda: rig.stored("recording_status"), "the recording marked failed")
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
    assert not rig.journal.of("ami", "start")  # MixMonitor was never asked
    assert [e["status"] for e in rig.stored("recording_status")] == ["failed"]
    alarms = [e["detail"]["message"] for e in rig.stored("add_call_event") if e["kind"] == "alarm"]
    assert any("disk low" in a for a in alarms)


async def test_a_file_shorter_than_the_agents_time_in_the_bridge_is_sealed_incomplete() -> None:
    async with Rig() as rig:
        rig.recorder.cut_short_tolerance_ms = 50  # the rig's clock ticks 100 ms per event
        rig.recorder.recorded_ms = 0  # the disk filled up: MixMonitor wrote nothing
        session = await rig.call_arrives()
        agent = await rig.connect()
        await rig.send("ChannelHangupRequest", channel=agent, cause=16)
        await rig.ended(session)
        await until(lambda: rig.stored("recording_finalised"), "the recording sealed")
    [sealed] = rig.stored("recording_finalised")
    assert sealed["status"] == "incomplete"
    alarms = [e["detail"]["message"] for e in rig.stored("add_call_event") if e["kind"] == "alarm"]
    assert any("cut short" in a for a in alarms)


async def test_no_agent_is_rung_into_a_disconnected_application() -> None:
    """An agent's channel originated while our ARI application is down would report its answer to
    nobody: the hunt waits, and rings once the application is connected again."""
    async with Rig() as rig:
        session = await rig.call_arrives()
        rig.deps.connected.clear()
        await rig.reach_waiting()
        await asyncio.sleep(0.3)  # six hunt rounds (hunt_retry_seconds = 0.05): none may ring
        assert not rig.journal.of("ari", "originate")
        rig.deps.connected.set()
        await rig.agent_rung()
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)



async def test_shutdown_waits_for_a_stop_being_sent_again_but_no_longer_than_its_timeout(
        caplog: pytest.LogCaptureFixture) -> None:
    async with Rig() as rig:
        retry = asyncio.get_running_loop().create_future()
        rig.recorder.retrying.append(retry)
        asyncio.get_running_loop().call_later(0.05, retry.set_result, True)
        await rig.controller.shutdown(2.0)
        assert retry.done()  # waited for it
        rig.recorder.retrying = [asyncio.get_running_loop().create_future()]  # AMI never answers
        await rig.controller.shutdown(0.05)
        assert "StopMixMonitor is still unanswered" in caplog.text
        rig.recorder.retrying = []
