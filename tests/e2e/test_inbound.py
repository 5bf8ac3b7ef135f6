"""Inbound calls through the real sandbox: what is recorded is exactly the agent's conversation.

Every test listens to the files: FFT must find the caller and agent tones, and none of the music on
hold, the prompts, DTMF or the transfer target; the recorded duration must match the agent's time in
the bridge (from Asterisk's own timestamps) within one 100 ms window.
"""

from __future__ import annotations

import asyncio

import pytest

from callrec.app import Service
from tests.e2e.harness import (
    AGENT,
    AGENT2,
    CALLER,
    SIMULATOR_SILENT_START_MS,
    Phones,
    agent,
    assert_duration_matches_bridge_time,
    assert_only_conversation,
    cli,
    finished_call,
    live_call,
    set_agents,
)

pytestmark = [pytest.mark.e2e]


def _events(detail) -> list[str]:
    return [e.kind for e in detail.events]


async def test_agent_hangs_up(service: Service, phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-hangup")})
    number = await phones.call()
    detail = await finished_call(service.store, number)

    assert detail.call.client_number == "12345"
    [announcement] = detail.announcements
    assert announcement.outcome == "finished"
    [rec] = detail.recordings
    assert (rec.status, rec.stop_reason) == ("complete", "agent_hangup")
    assert rec.sha256 and rec.bytes and rec.file_stereo
    assert_only_conversation(rec, expected={CALLER, AGENT})
    assert_duration_matches_bridge_time(detail, rec)
    assert _events(detail)[:4] == ["phase:announcing", "phase:identifying", "phase:waiting",
                                   "phase:connected"]
    assert detail.call.outcome == "completed"


async def test_caller_hangs_up_while_talking(service: Service, phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-stay")})
    number = await phones.call(stay=3)
    detail = await finished_call(service.store, number)
    [rec] = detail.recordings
    assert rec.stop_reason == "caller_hangup"
    assert_only_conversation(rec, expected={CALLER, AGENT})
    assert_duration_matches_bridge_time(detail, rec)


async def test_blind_refer_stops_recording_before_the_target_speaks(service: Service,
                                                                    phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-blind")})
    number = await phones.call(stay=8)
    detail = await finished_call(service.store, number)
    [rec] = detail.recordings
    assert rec.stop_reason == "blind_transfer"  # first seen as left_bridge, then explained
    assert [(t.kind, t.target) for t in detail.transfers] == [("blind", "target")]
    assert_only_conversation(rec, expected={CALLER, AGENT})  # no 2400 Hz from the target
    assert_duration_matches_bridge_time(detail, rec)


async def test_controller_transfer(service: Service, phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-stay")})
    number = await phones.call(stay=8)
    live = await live_call(service.store, number, "connected")
    await asyncio.sleep(2)  # agent and caller talk for a while: the content of the recording
    await cli("calls", "transfer", str(live.call.id), "--to", "PJSIP/target@phones")
    detail = await finished_call(service.store, number)
    [rec] = detail.recordings
    assert rec.stop_reason == "controller_transfer"
    assert [(t.kind, t.target) for t in detail.transfers] == [("controller", "PJSIP/target@phones")]
    assert_only_conversation(rec, expected={CALLER, AGENT})  # the target's 2400 Hz is not in it
    assert_duration_matches_bridge_time(detail, rec)


async def test_requeue_to_a_second_agent_starts_a_new_segment(service: Service,
                                                              phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-stay")})
    number = await phones.call(stay=10)
    live = await live_call(service.store, number, "connected")
    await asyncio.sleep(2)
    await set_agents(service.store, {"bob": agent("agent2-hangup", "agent2")})
    await cli("calls", "requeue", str(live.call.id))
    detail = await finished_call(service.store, number)
    first, second = sorted(detail.recordings, key=lambda r: r.segment)
    assert (first.segment, first.stop_reason) == (1, "requeue")
    assert (second.segment, second.stop_reason) == (2, "agent_hangup")
    assert_only_conversation(first, expected={CALLER, AGENT})
    assert_only_conversation(second, expected={CALLER, AGENT2})
    assert len(detail.announcements) == 1  # no second announcement


async def test_hold_is_noted_as_offsets_into_the_recording(service: Service,
                                                           phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-stay")})
    number = await phones.call(stay=12)  # outlasts two `callrec` subprocesses on a loaded box
    live = await live_call(service.store, number, "connected")
    await asyncio.sleep(1)
    clock = asyncio.get_running_loop().time
    before_hold = clock()
    await cli("calls", "hold", str(live.call.id))
    held = clock()
    await asyncio.sleep(1.5)
    before_unhold = clock()
    await cli("calls", "hold", "--off", str(live.call.id))
    unheld = clock()
    detail = await finished_call(service.store, number)
    [hold] = detail.holds
    [rec] = detail.recordings
    assert hold.start_offset_ms is not None and hold.end_offset_ms is not None
    # Each request lands while its `callrec` process runs: the hold lasted at least from the end of
    # the first command to the start of the second, at most from the start of one to the end of the
    # other (a subprocess takes about a second to start, so a fixed window would be a guess).
    shortest, longest = (before_unhold - held) * 1000, (unheld - before_hold) * 1000
    assert shortest - 100 <= hold.end_offset_ms - hold.start_offset_ms <= longest + 100
    # Offsets count from the agent entering the bridge; the file may start up to the simulated
    # phone's silent start later (see harness), never earlier.
    assert 0 < hold.start_offset_ms < hold.end_offset_ms
    assert hold.end_offset_ms <= rec.duration_ms + SIMULATOR_SILENT_START_MS
    assert_only_conversation(rec, expected={CALLER, AGENT})  # MOH goes to the caller only


@pytest.mark.parametrize(
    ("pre", "digits", "stay", "reason"),
    [
        (0.3, "", 0, "caller_hangup_during_announcement"),
        (2.0, "12", 0.3, "caller_hangup_while_identifying"),
        (2.5, "12345#", 2.0, "caller_hangup_while_waiting"),
    ],
    ids=["during-announcement", "during-dtmf", "while-waiting"],
)
async def test_caller_hangs_up_before_an_agent(service: Service, phones: Phones, pre: float,
                                               digits: str, stay: float, reason: str) -> None:
    await set_agents(service.store, {"alice": agent("agent-noanswer")})
    number = await phones.call(pre=pre, digits=digits, stay=stay)
    detail = await finished_call(service.store, number)
    assert (detail.call.outcome, detail.call.end_reason) == ("abandoned", reason)
    assert detail.recordings == ()
    if reason == "caller_hangup_during_announcement":
        assert [a.outcome for a in detail.announcements] == ["caller_hung_up"]
