"""What agents do with their phone's keys, over real SIP: callrec must record exactly the agent's part.

* Attended transfer: the agent phone consults the target on a second call through the pbx, then sends a
  REFER with Replaces on the caller's dialog; Asterisk joins caller and target (BridgeAttendedTransfer).
  The recording ends when the agent leaves, before the target is heard; the caller talks to the target.
* Hold: the agent phone sends a re-INVITE with a=sendonly, later a=sendrecv (ChannelHold/ChannelUnhold
  on the agent's channel). The hold is noted as offsets into the recording; the caller hears music on
  hold, which must never reach the file.

The caller's side records what it hears (tests/e2e/sip_agent.py): that is how we know the transfer and
the hold really happened for the caller, not only in callrec's database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import pytest

from callrec.app import Service
from callrec.audio import tones_present
from callrec.store import Hold, Store
from tests.e2e.harness import (
    AGENT,
    CALLER,
    MOH,
    TARGET,
    Phones,
    agent,
    assert_duration_matches_bridge_time,
    assert_only_conversation,
    eventually,
    finished_call,
    live_call,
    set_agents,
)
from tests.e2e.sip_agent import listening_call, phone_app

pytestmark = [pytest.mark.e2e]

HOLD_TOLERANCE_MS = 300  # re-INVITE round trip + event delivery, with room for a loaded CI box


async def test_attended_refer_stops_recording_before_the_target_speaks(service: Service,
                                                                       phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-attended")})
    async with listening_call(phones, stay=10) as call:
        detail = await finished_call(service.store, call.number)
        heard = await call.heard_file()

        [rec] = detail.recordings
        assert rec.stop_reason == "attended_transfer"  # first seen as left_bridge, then explained
        assert [leg.left_reason for leg in detail.legs] == ["attended_transfer"]
        assert [(t.kind, t.target) for t in detail.transfers] == [("attended", "target")]
        assert_only_conversation(rec, expected={CALLER, AGENT})  # no 2400 Hz from the target
        assert_duration_matches_bridge_time(detail, rec)
        assert TARGET in tones_present(heard, [TARGET]), "the caller never reached the target"
        assert (detail.call.outcome, detail.call.end_reason) == ("transferred", "caller_hangup")


async def test_sip_hold_is_noted_and_its_music_is_not_recorded(service: Service,
                                                               phones: Phones) -> None:
    await set_agents(service.store, {"alice": agent("agent-hold")})
    async with phone_app() as app, listening_call(phones, stay=8) as call:
        phone = await app.next_phone(timeout=15)
        live = await live_call(service.store, call.number, "connected")
        await asyncio.sleep(1)  # the conversation before the hold: part of the recording

        hold_pressed = datetime.now(UTC)
        await app.hold(phone)
        await eventually(lambda: _holds(service.store, live.call.id), timeout=3,
                         what="the hold to be noted")
        await asyncio.sleep(1.5)  # the hold itself: the caller hears music meanwhile
        await app.unhold(phone)
        held_ms = (datetime.now(UTC) - hold_pressed).total_seconds() * 1000

        detail = await finished_call(service.store, call.number)
        heard = await call.heard_file()

        [hold] = detail.holds
        [rec] = detail.recordings
        assert rec.stop_reason == "caller_hangup"
        assert hold.recording_id == rec.id
        assert hold.start_offset_ms is not None and hold.end_offset_ms is not None
        assert rec.duration_ms is not None
        assert abs((hold.end_offset_ms - hold.start_offset_ms) - held_ms) <= HOLD_TOLERANCE_MS
        assert abs((hold.started_at - hold_pressed).total_seconds() * 1000) <= HOLD_TOLERANCE_MS
        assert 0 < hold.start_offset_ms < hold.end_offset_ms < rec.duration_ms
        assert_only_conversation(rec, expected={CALLER, AGENT})  # the music went to the caller only
        assert MOH in tones_present(heard, [MOH]), "the caller was never put on hold"


async def _holds(store: Store, call_id: UUID) -> tuple[Hold, ...]:
    detail = await store.get_call(call_id)
    return detail.holds if detail else ()
