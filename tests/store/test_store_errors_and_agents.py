"""The store's contract at its edges: one domain error, agent admin, hostile input verbatim."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
import pytest

from callrec.store import Store, StoreError

pytestmark = [pytest.mark.pg, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)

HOSTILE = [
    "'; DROP TABLE calls; --",
    "\" OR 1=1 --",
    "%s %(x)s {} $1 \\x00-not-a-nul",
    "Robert'); DELETE FROM agents WHERE ('1'='1",
    "unicode ✓ — ünïcödé ☎",
]


async def _call(store: Store, caller: str = "100") -> UUID:
    call_id = uuid4()
    await store.create_call(call_id, direction="inbound", caller_number=caller,
                            channel_id="ch", started_at=T0)
    return call_id


# ------------------------------------------------------------------------------ agents


async def test_agents_can_be_added_listed_and_removed(store: Store) -> None:
    await store.add_agent("bob", "PJSIP/bob")
    await store.add_agent("alice", "PJSIP/alice@phones")
    agents = await store.list_agents()
    assert [(a.name, a.dial_string, a.enabled) for a in agents] == [
        ("alice", "PJSIP/alice@phones", True), ("bob", "PJSIP/bob", True)]
    assert all(a.created_at.tzinfo is not None for a in agents)
    assert await store.remove_agent("alice") is True
    assert await store.remove_agent("alice") is False
    assert [a.name for a in await store.list_agents()] == ["bob"]


async def test_duplicate_agent_is_a_clear_store_error(store: Store) -> None:
    await store.add_agent("alice", "PJSIP/alice")
    with pytest.raises(StoreError, match="agent 'alice' already exists"):
        await store.add_agent("alice", "PJSIP/other")
    assert [a.dial_string for a in await store.list_agents()] == ["PJSIP/alice"]


async def test_removing_an_agent_keeps_the_history_of_their_legs(store: Store) -> None:
    call_id, leg_id = await _call(store), uuid4()
    await store.add_agent("alice", "PJSIP/alice")
    await store.agent_offered(leg_id, call_id, "alice", "ch-a", T0)
    assert await store.remove_agent("alice") is True
    detail = await store.get_call(call_id)
    assert detail is not None and [leg.agent_name for leg in detail.legs] == ["alice"]


# ----------------------------------------------------------------- one domain error


BadWrite = Callable[[Store, UUID], Awaitable[object]]

BAD_ENUM_WRITES: dict[str, BadWrite] = {
    "call direction": lambda s, c: s.create_call(
        uuid4(), direction="sideways", caller_number="1", channel_id="x", started_at=T0),
    "recording status": lambda s, c: _bad_recording_status(s, c),
    "leg outcome": lambda s, c: _bad_leg_outcome(s, c),
    "announcement kind": lambda s, c: s.announcement_started(
        uuid4(), c, "jingle", "p", None, T0),
    "announcement outcome": lambda s, c: _bad_announcement_outcome(s, c),
    "transfer kind": lambda s, c: s.transfer(uuid4(), c, "teleport", None, "x", T0),
}


async def _bad_recording_status(store: Store, call_id: UUID) -> None:
    rec_id = uuid4()
    await store.recording_started(rec_id, call_id=call_id, agent_leg_id=None, segment=1,
                                  mixmonitor_id="mm", file_mix="m", file_caller="c",
                                  file_agent="a", at=T0)
    await store.recording_status(rec_id, "paused")


async def _bad_leg_outcome(store: Store, call_id: UUID) -> None:
    leg_id = uuid4()
    await store.agent_offered(leg_id, call_id, "alice", "ch", T0)
    await store.agent_leg_outcome(leg_id, "maybe")


async def _bad_announcement_outcome(store: Store, call_id: UUID) -> None:
    ann_id = uuid4()
    await store.announcement_started(ann_id, call_id, "outbound_disclosure", "p", None, T0)
    await store.announcement_ended(ann_id, T0, "applause")


@pytest.mark.parametrize("write", BAD_ENUM_WRITES.values(), ids=BAD_ENUM_WRITES.keys())
async def test_a_bad_enum_value_is_a_store_error_not_a_driver_error(
    store: Store, write: BadWrite
) -> None:
    call_id = await _call(store)
    with pytest.raises(StoreError, match="check constraint") as caught:
        await write(store, call_id)
    # The driver error is kept as the cause for debugging, but never leaks as the type.
    assert isinstance(caught.value.__cause__, psycopg.errors.CheckViolation)


async def test_duplicate_primary_key_is_a_store_error(store: Store) -> None:
    call_id = await _call(store)
    with pytest.raises(StoreError, match="duplicate"):
        await store.create_call(call_id, direction="inbound", caller_number="1",
                                channel_id="ch", started_at=T0)


async def test_nul_bytes_are_refused_as_store_error(store: Store) -> None:
    # PostgreSQL text cannot hold NUL; the driver refuses before sending.
    with pytest.raises(StoreError):
        await store.add_agent("evil\x00agent", "PJSIP/x")


async def test_unserialisable_event_detail_is_a_store_error(store: Store) -> None:
    call_id = await _call(store)
    with pytest.raises(StoreError, match="JSON"):
        await store.add_call_event(call_id, T0, "phase", {"when": T0})
    with pytest.raises(StoreError, match="JSON"):
        await store.add_call_event(call_id, T0, "phase", {"ratio": float("nan")})


async def test_a_closed_store_raises_store_error(migrated_dsn: str) -> None:
    store = await Store.open(migrated_dsn)
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.list_agents()


async def test_an_unreachable_server_is_a_store_error_naming_the_cause(
    pg_server_dsn: str,
) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await Store.open(pg_server_dsn.rsplit("/", 1)[0] + "/no_such_db_callrec", timeout=2)


# ------------------------------------------------------------ hostile input verbatim


@pytest.mark.parametrize("text", HOSTILE)
async def test_sql_looking_input_is_stored_verbatim(
    store: Store, raw: psycopg.AsyncConnection, text: str
) -> None:
    call_id, leg_id, rec_id = await _call(store, caller=text), uuid4(), uuid4()
    await store.set_client_number(call_id, text)
    await store.add_call_event(call_id, T0, text, {text: text})
    await store.add_agent(text, text)
    await store.agent_offered(leg_id, call_id, text, text, T0)
    await store.recording_started(rec_id, call_id=call_id, agent_leg_id=leg_id, segment=1,
                                  mixmonitor_id=text, file_mix=text, file_caller=text,
                                  file_agent=text, at=T0)

    detail = await store.get_call(call_id)
    assert detail is not None
    assert (detail.call.caller_number, detail.call.client_number) == (text, text)
    assert [(e.kind, e.detail) for e in detail.events] == [(text, {text: text})]
    assert [(a.name, a.dial_string) for a in await store.list_agents()] == [(text, text)]
    found = await store.list_recordings(caller_number=text, client_number=text, agent=text)
    assert [(r.recording.id, r.recording.mixmonitor_id, r.recording.file_mix) for r in found] == [
        (rec_id, text, text)]
    assert [c.id for c in await store.list_calls()] == [call_id]
    cur = await raw.execute("SELECT count(*) FROM information_schema.tables"
                            " WHERE table_schema = 'public' AND table_name = 'calls'")
    assert await cur.fetchone() == (1,)
