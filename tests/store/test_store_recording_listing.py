"""Listing recordings for the CLI: every filter narrows the result, paging is stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from callrec.store import Store, StoreError

pytestmark = [pytest.mark.pg, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _recording(
    store: Store, rec_id: UUID, call_id: UUID, leg_id: UUID | None, segment: int, start: int,
    status: str,
) -> None:
    await store.recording_started(
        rec_id, call_id=call_id, agent_leg_id=leg_id, segment=segment,
        mixmonitor_id=f"mm-{rec_id}", file_mix=f"{rec_id}-mix.wav",
        file_caller=f"{rec_id}-rx.wav", file_agent=f"{rec_id}-tx.wav", at=at(start),
    )
    if status == "complete":
        await store.recording_finalised(rec_id, stopped_at=at(start + 50), duration_ms=50_000,
                                        bytes=800_044, sha256="a" * 64, file_stereo=None,
                                        status=status)
    elif status != "recording":
        await store.recording_status(rec_id, status)


@pytest.fixture
async def ids(store: Store) -> dict[str, UUID]:
    """Three calls, four recordings:

    call A  inbound  +111 client C-A : A1 alice complete @0, A2 bob recording @100
    call B  outbound +222 client C-B : B1 alice failed @200
    call C  inbound  +333 no client  : C1 (no agent leg) interrupted @300
    """
    names = ["A", "B", "C", "legA_alice", "legA_bob", "legB_alice", "A1", "A2", "B1", "C1"]
    ids = {name: uuid4() for name in names}
    calls = [("A", "inbound", "+111", "C-A", 0), ("B", "outbound", "+222", "C-B", 190),
             ("C", "inbound", "+333", None, 290)]
    for name, direction, caller, client, start in calls:
        await store.create_call(ids[name], direction=direction, caller_number=caller,
                                channel_id=f"ch-{name}", started_at=at(start))
        if client is not None:
            await store.set_client_number(ids[name], client)
    for leg, call, agent in [("legA_alice", "A", "alice"), ("legA_bob", "A", "bob"),
                             ("legB_alice", "B", "alice")]:
        await store.agent_offered(ids[leg], ids[call], agent, f"ch-{leg}", at(0))
    await _recording(store, ids["A1"], ids["A"], ids["legA_alice"], 1, 0, "complete")
    await _recording(store, ids["A2"], ids["A"], ids["legA_bob"], 2, 100, "recording")
    await _recording(store, ids["B1"], ids["B"], ids["legB_alice"], 1, 200, "failed")
    await _recording(store, ids["C1"], ids["C"], None, 1, 300, "interrupted")
    return ids


ALL = {"A1", "A2", "B1", "C1"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"since": at(100)}, {"A2", "B1", "C1"}),
        ({"until": at(100)}, {"A1"}),
        ({"since": at(100), "until": at(300)}, {"A2", "B1"}),
        ({"agent": "alice"}, {"A1", "B1"}),
        ({"caller_number": "+111"}, {"A1", "A2"}),
        ({"client_number": "C-B"}, {"B1"}),
        ({"call_id": "C"}, {"C1"}),
        ({"direction": "outbound"}, {"B1"}),
        ({"status": "recording"}, {"A2"}),
        ({"agent": "alice", "direction": "inbound"}, {"A1"}),
        ({"agent": "carol"}, set()),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else None,
)
async def test_each_filter_keeps_exactly_the_matching_recordings(
    store: Store, ids: dict[str, UUID], filters: dict[str, Any], expected: set[str]
) -> None:
    assert expected != ALL  # the filter must actually exclude something
    if "call_id" in filters:
        filters = {**filters, "call_id": ids[filters["call_id"]]}
    found = await store.list_recordings(**filters)
    assert {r.recording.id for r in found} == {ids[name] for name in expected}


async def test_no_filter_lists_all_newest_first_with_paging(
    store: Store, ids: dict[str, UUID]
) -> None:
    newest_first = [ids[n] for n in ("C1", "B1", "A2", "A1")]
    assert [r.recording.id for r in await store.list_recordings()] == newest_first
    page1 = await store.list_recordings(limit=2)
    page2 = await store.list_recordings(limit=2, offset=2)
    assert [r.recording.id for r in page1 + page2] == newest_first


async def test_listing_carries_the_call_and_agent_context(
    store: Store, ids: dict[str, UUID]
) -> None:
    info = await store.get_recording(ids["B1"])
    assert info is not None
    assert (info.direction, info.caller_number, info.client_number, info.agent_name) == (
        "outbound", "+222", "C-B", "alice")
    assert (info.recording.call_id, info.recording.status) == (ids["B"], "failed")
    orphan = await store.get_recording(ids["C1"])
    assert orphan is not None and orphan.agent_name is None and orphan.client_number is None


async def test_unknown_recording_reads_as_none(store: Store, ids: dict[str, UUID]) -> None:
    assert await store.get_recording(uuid4()) is None


@pytest.mark.parametrize("paging", [{"limit": 0}, {"limit": 10_001}, {"offset": -1}])
async def test_out_of_range_paging_is_refused(store: Store, paging: dict[str, Any]) -> None:
    with pytest.raises(StoreError):
        await store.list_recordings(**paging)
