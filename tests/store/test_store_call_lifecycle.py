"""Writing a whole inbound call and reading it back as one CallDetail, in chronological order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from callrec.store import (
    AgentLeg,
    Announcement,
    Call,
    CallEvent,
    Hold,
    Recording,
    Store,
    StoreError,
    Transfer,
)

pytestmark = [pytest.mark.pg, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime(2025, 3, 14, 9, 26, 53, 589_793, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_full_inbound_call_reads_back_complete_and_in_order(store: Store) -> None:
    call_id, ann_id, leg1, leg2, rec_id, hold_id, xfer_id = (uuid4() for _ in range(7))
    sha = "0123456789abcdef" * 4

    await store.create_call(
        call_id, direction="inbound", caller_number="+4930123456", channel_id="pbx-1700.1",
        started_at=at(0), queue="sales", business_unit="retail",
    )
    # Timeline written out of order on purpose, with two events sharing one timestamp.
    await store.add_call_event(call_id, at(6), "phase", {"to": "queued"})
    await store.add_call_event(call_id, at(0), "phase", {"to": "announcing"})
    await store.add_call_event(call_id, at(6), "policy", {"command": "offer", "agent": "alice"})
    await store.call_answered(call_id, at(0.05))
    await store.announcement_started(ann_id, call_id, "inbound_announcement",
                                     "callrec/inbound", "This call is recorded.", at(0.1))
    await store.announcement_ended(ann_id, at(5.9), "finished")
    await store.set_client_number(call_id, "C-1001")

    await store.agent_offered(leg1, call_id, "alice", "pbx-1701.2", at(6.1))
    await store.agent_leg_outcome(leg1, "no_answer")
    await store.agent_offered(leg2, call_id, "bob", "pbx-1702.3", at(21))
    await store.transfer(xfer_id, call_id, "controller", leg2, "bob", at(21))
    await store.agent_answered(leg2, at(25))
    await store.agent_leg_outcome(leg2, "answered")
    await store.agent_joined(leg2, at(25.2))

    await store.recording_started(
        rec_id, call_id=call_id, agent_leg_id=leg2, segment=1, mixmonitor_id="mm-42",
        file_mix="c/mix.wav", file_caller="c/rx.wav", file_agent="c/tx.wav", at=at(25.3),
    )
    await store.hold_started(hold_id, call_id, rec_id, at(40), 14_700)
    await store.hold_ended(hold_id, at(55), 29_700)
    await store.recording_stop_requested(rec_id, at(90), "agent_left")
    await store.agent_left(leg2, at(90), "hangup")
    await store.recording_finalised(
        rec_id, stopped_at=at(90.2), duration_ms=64_900, bytes=1_038_444, sha256=sha,
        file_stereo="c/stereo.wav", status="complete",
    )
    await store.end_call(call_id, at(91), "completed", "caller_hangup")

    detail = await store.get_call(call_id)

    assert detail is not None
    assert detail.call == Call(
        id=call_id, direction="inbound", caller_number="+4930123456", client_number="C-1001",
        queue="sales", business_unit="retail", channel_id="pbx-1700.1", started_at=at(0),
        answered_at=at(0.05), ended_at=at(91), outcome="completed", end_reason="caller_hangup",
    )
    assert [(e.at, e.kind, e.detail) for e in detail.events] == [
        (at(0), "phase", {"to": "announcing"}),
        (at(6), "phase", {"to": "queued"}),
        (at(6), "policy", {"command": "offer", "agent": "alice"}),
    ]
    assert all(isinstance(e, CallEvent) and e.call_id == call_id for e in detail.events)
    assert detail.announcements == (
        Announcement(ann_id, call_id, "inbound_announcement", "callrec/inbound",
                     "This call is recorded.", at(0.1), at(5.9), "finished"),
    )
    assert detail.legs == (
        AgentLeg(leg1, call_id, "alice", "pbx-1701.2", at(6.1), None, None, None, None,
                 "no_answer"),
        AgentLeg(leg2, call_id, "bob", "pbx-1702.3", at(21), at(25), at(25.2), at(90), "hangup",
                 "answered"),
    )
    assert detail.recordings == (
        Recording(rec_id, call_id, leg2, 1, "mm-42", "c/mix.wav", "c/rx.wav", "c/tx.wav",
                  "c/stereo.wav", at(25.3), at(90), at(90.2), "agent_left", 64_900, 1_038_444,
                  sha, "complete"),
    )
    assert detail.holds == (Hold(hold_id, call_id, rec_id, at(40), at(55), 14_700, 29_700),)
    assert detail.transfers == (Transfer(xfer_id, call_id, "controller", leg2, "bob", at(21)),)


async def test_timestamps_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    call_id = uuid4()
    berlin = timezone(timedelta(hours=1))
    started = datetime(2025, 1, 2, 10, 0, 0, 123_456, tzinfo=berlin)
    await store.create_call(call_id, direction="outbound", caller_number="100",
                            channel_id="ch", started_at=started)
    detail = await store.get_call(call_id)
    assert detail is not None
    assert detail.call.started_at == started
    assert detail.call.started_at.utcoffset() == timedelta(0)


async def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="time zone"):
        await store.create_call(uuid4(), direction="inbound", caller_number="1",
                                channel_id="ch", started_at=datetime(2025, 1, 1, 12, 0))


async def test_unknown_call_reads_as_none(store: Store) -> None:
    assert await store.get_call(uuid4()) is None


@pytest.mark.parametrize(
    "update",
    [
        lambda s, i: s.end_call(i, T0, "completed", "x"),
        lambda s, i: s.call_answered(i, T0),
        lambda s, i: s.set_client_number(i, "C-1"),
        lambda s, i: s.agent_joined(i, T0),
        lambda s, i: s.agent_leg_outcome(i, "busy"),
        lambda s, i: s.recording_status(i, "failed"),
        lambda s, i: s.recording_stop_requested(i, T0, "x"),
        lambda s, i: s.hold_ended(i, T0, 0),
        lambda s, i: s.announcement_ended(i, T0, "cut_off"),
    ],
    ids=["end_call", "call_answered", "set_client_number", "agent_joined", "agent_leg_outcome",
         "recording_status", "recording_stop_requested", "hold_ended", "announcement_ended"],
)
async def test_updating_a_missing_row_is_an_error_not_a_silent_no_op(
    store: Store, update: Callable[[Store, UUID], Awaitable[None]]
) -> None:
    with pytest.raises(StoreError, match="no "):
        await update(store, uuid4())


async def test_children_of_a_missing_call_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="missing row"):
        await store.add_call_event(uuid4(), T0, "phase", {})


async def test_recording_cannot_cite_another_calls_agent_leg(store: Store) -> None:
    call_a, call_b, leg_a = uuid4(), uuid4(), uuid4()
    for call_id in (call_a, call_b):
        await store.create_call(call_id, direction="inbound", caller_number="1",
                                channel_id=str(call_id), started_at=T0)
    await store.agent_offered(leg_a, call_a, "alice", "ch-a", T0)
    with pytest.raises(StoreError, match="missing row"):
        await store.recording_started(
            uuid4(), call_id=call_b, agent_leg_id=leg_a, segment=1, mixmonitor_id="mm",
            file_mix="m", file_caller="c", file_agent="a", at=T0,
        )


async def _call_with_recording(store: Store) -> tuple[UUID, UUID]:
    call_id, rec_id = uuid4(), uuid4()
    await store.create_call(call_id, direction="inbound", caller_number="1", channel_id="ch",
                            started_at=T0)
    await store.recording_started(
        rec_id, call_id=call_id, agent_leg_id=None, segment=1, mixmonitor_id=f"mm-{rec_id}",
        file_mix="m", file_caller="c", file_agent="a", at=T0,
    )
    return call_id, rec_id


async def test_repeated_stop_requests_keep_the_first_time_and_reason(store: Store) -> None:
    _, rec_id = await _call_with_recording(store)
    await store.recording_stop_requested(rec_id, at(10), "agent_left")
    await store.recording_stop_requested(rec_id, at(11), "call_ended")
    info = await store.get_recording(rec_id)
    assert info is not None
    assert (info.recording.stop_requested_at, info.recording.stop_reason) == (at(10), "agent_left")
    assert info.recording.status == "stopping"


async def test_a_late_stop_request_does_not_reopen_a_sealed_recording(store: Store) -> None:
    _, rec_id = await _call_with_recording(store)
    await store.recording_finalised(rec_id, stopped_at=at(5), duration_ms=5000, bytes=80_044,
                                    sha256="f" * 64, file_stereo=None, status="complete")
    await store.recording_stop_requested(rec_id, at(6), "call_ended")
    info = await store.get_recording(rec_id)
    assert info is not None and info.recording.status == "complete"


async def test_complete_requires_a_fingerprint(store: Store) -> None:
    _, rec_id = await _call_with_recording(store)
    with pytest.raises(StoreError, match="recordings_complete_has_fingerprint"):
        await store.recording_finalised(rec_id, stopped_at=at(5), duration_ms=5000, bytes=10,
                                        sha256=None, file_stereo=None, status="complete")


async def test_open_recordings_are_those_not_yet_sealed(store: Store) -> None:
    statuses = ("recording", "stopping", "finalising", "complete", "incomplete", "interrupted",
                "failed")
    by_status: dict[str, UUID] = {}
    for status in statuses:
        _, rec_id = await _call_with_recording(store)
        if status == "complete":
            await store.recording_finalised(rec_id, stopped_at=at(1), duration_ms=1, bytes=1,
                                            sha256="e" * 64, file_stereo=None, status=status)
        else:
            await store.recording_status(rec_id, status)
        by_status[status] = rec_id
    open_ids = {r.id for r in await store.open_recordings()}
    assert open_ids == {by_status[s] for s in ("recording", "stopping", "finalising")}


async def test_list_calls_filters_and_orders_newest_first(store: Store) -> None:
    ids = [uuid4() for _ in range(4)]
    directions = ["inbound", "outbound", "inbound", "inbound"]
    for n, (call_id, direction) in enumerate(zip(ids, directions, strict=True)):
        await store.create_call(call_id, direction=direction, caller_number=str(n),
                                channel_id=f"ch{n}", started_at=at(n * 60))
    assert [c.id for c in await store.list_calls()] == ids[::-1]
    assert [c.id for c in await store.list_calls(limit=2)] == ids[:1:-1]
    assert [c.id for c in await store.list_calls(direction="outbound")] == [ids[1]]
    assert [c.id for c in await store.list_calls(since=at(60), until=at(180))] == [ids[2], ids[1]]
    assert [c.id for c in await store.list_calls(direction="inbound")] == [ids[3], ids[2], ids[0]]
