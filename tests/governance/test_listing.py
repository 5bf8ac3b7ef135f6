"""Finding recordings: every filter narrows, sorts are total, pages neither overlap nor skip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from callrec.governance import Governance
from callrec.governance.listing import RecordingFilter
from tests.governance.conftest import T0, Seeded, SeedRecording

pytestmark = [pytest.mark.pg]
Users = dict[str, Governance]


@pytest.fixture
async def four(seed: SeedRecording, raw: psycopg.AsyncConnection) -> dict[str, Seeded]:
    """a: day 0, 1 s, unit benefits, +111, with an on-hold span
    b: day 1, 3 s, unit helpdesk, queue fraud, +222
    c: day 2, 2 s, unit benefits, +111, incomplete
    d: day 3, 4 s, no unit, +333, an outbound call (the dialer's; the others are inbound)"""
    made = {
        "a": await seed(started=T0, seconds=1, business_unit="benefits", caller="+111"),
        "b": await seed(started=T0 + timedelta(days=1), seconds=3, business_unit="helpdesk",
                        queue="fraud", caller="+222"),
        "c": await seed(started=T0 + timedelta(days=2), seconds=2, business_unit="benefits",
                        caller="+111", status="incomplete"),
        "d": await seed(started=T0 + timedelta(days=3), seconds=4, caller="+333"),
    }
    await raw.execute("UPDATE calls SET direction = 'outbound' WHERE id = %s",
                      (made["d"].call_id,))
    a = made["a"]
    await raw.execute(
        "INSERT INTO holds (id, call_id, recording_id, started_at, ended_at, start_offset_ms,"
        " end_offset_ms) VALUES (%s, %s, %s, %s, %s, 200, 600)",
        (uuid4(), a.call_id, a.id, T0, T0 + timedelta(seconds=1)))
    return made


async def listed(g: Governance, **filters: Any) -> list[UUID]:
    return [r.recording.id for r in await g.list_recordings(RecordingFilter(**filters))]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, "dcba"),
    ({"since": T0 + timedelta(days=1)}, "dcb"),
    ({"until": T0 + timedelta(days=1)}, "a"),
    ({"since": T0 + timedelta(days=1), "until": T0 + timedelta(days=3)}, "cb"),
    ({"caller_number": "+111"}, "ca"),
    ({"business_unit": "benefits"}, "ca"),
    ({"queue": "fraud"}, "b"),
    ({"status": "incomplete"}, "c"),
    ({"direction": "outbound"}, "d"),
    ({"direction": "inbound"}, "cba"),
    ({"direction": "inbound", "sort": "duration"}, "bca"),
    ({"has_holds": True}, "a"),
    ({"caller_number": "+111", "status": "complete"}, "a"),
    ({"sort": "duration"}, "dbca"),
])
async def test_filters_and_sorts(users: Users, four: dict[str, Seeded],
                                 filters: dict[str, Any], expected: str) -> None:
    assert await listed(users["vera"], **filters) == [four[k].id for k in expected]


async def test_call_and_legal_hold_filters(users: Users, four: dict[str, Seeded]) -> None:
    assert await listed(users["vera"], call_id=four["b"].call_id) == [four["b"].id]
    await users["amos"].hold_add(four["c"].id, "litigation")
    assert await listed(users["vera"], legal_hold=True) == [four["c"].id]
    [row] = await users["vera"].list_recordings(RecordingFilter(legal_hold=True))
    assert row.legal_hold and row.business_unit == "benefits" and row.hold_count == 0


async def test_pages_cover_everything_once(users: Users, four: dict[str, Seeded]) -> None:
    pages = [await listed(users["vera"], limit=3, page=p) for p in (1, 2, 3)]
    assert pages[0] + pages[1] == [four[k].id for k in "dcba"] and pages[2] == []


def test_bad_paging_is_refused() -> None:
    with pytest.raises(ValueError):
        RecordingFilter(page=0)
    with pytest.raises(ValueError):
        RecordingFilter(limit=0)
    with pytest.raises(ValueError):
        RecordingFilter(sort="caller")
