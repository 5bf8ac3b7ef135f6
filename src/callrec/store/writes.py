"""Write side of the evidence store: one method per fact the controller learns about a call.

Every value travels as a query parameter; SQL text is never built from input.
Updates address rows by the application-generated UUID and fail loudly when the row is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from callrec.store.batch import pipelined
from callrec.store.errors import StoreError
from callrec.store.pool import Database, utc

# One write as data: a StoreWrites method's name, its positional and its keyword arguments.
Write = tuple[str, Sequence[Any], Mapping[str, Any]]

# Either the new row's id, or (the key was seen before) the existing row's: both branches read the
# same snapshot, which does not include the row this statement inserts, so exactly one answers.
_ADD_CALL_EVENT: Final = (
    "WITH added AS ("
    " INSERT INTO call_events (idempotency_key, call_id, at, kind, detail)"
    " VALUES (COALESCE(%s::uuid, gen_random_uuid()), %s, %s, %s, %s::jsonb)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id)"
    " SELECT id FROM added UNION ALL SELECT id FROM call_events WHERE idempotency_key = %s"
)


class StoreWrites:
    _db: Database

    async def apply_writes(self, writes: Sequence[Write]) -> list[tuple[int, str]]:
        """Several writes, in order, as ONE pipelined transaction (store/batch.py): one pool
        checkout and one round trip for all of them, where each write on its own costs a checkout
        and two round trips. A statement that fails (a constraint, bad data) rolls the whole batch
        back and raises StoreError (``transient`` as for a single write), so the caller can apply
        the writes one by one to find it. Writes that changed nothing because their row is missing
        (the StoreError each would raise on its own) do not stop the others: returned as (index,
        that error's message). The methods' own return values are not known here."""
        async with pipelined(self._db, "apply evidence writes") as db:
            batch = _WritesOn(db)
            for index, (name, args, kwargs) in enumerate(writes):
                db.write = index
                await getattr(batch, name)(*args, **kwargs)
        return db.missed()

    # ----------------------------------------------------------------------------- calls

    async def create_call(
        self,
        id: UUID,
        *,
        direction: str,
        caller_number: str,
        channel_id: str,
        started_at: datetime,
        queue: str | None = None,
        business_unit: str | None = None,
    ) -> None:
        await self._db.execute(
            "create call",
            "INSERT INTO calls (id, direction, caller_number, channel_id, started_at,"
            " queue, business_unit) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (id, direction, caller_number, channel_id, utc(started_at), queue, business_unit),
        )

    async def add_call_event(
        self, call_id: UUID, at: datetime, kind: str, detail: dict[str, Any],
        *, idempotency_key: UUID | None = None,
    ) -> int:
        """Append to the call's timeline; returns the event's id (ties on `at` keep this order).

        The same `idempotency_key` again appends nothing and returns the first event's id: the
        controller passes the id of the evidence fact, which a replay after a crash repeats.
        Without one the event is always new."""
        event_id = await self._db.fetch_value(
            "add call event", _ADD_CALL_EVENT,
            (idempotency_key, call_id, utc(at), kind, _json_object(detail), idempotency_key),
        )
        if event_id is None:  # only if the same key is being added concurrently, uncommitted
            raise StoreError(f"call event {idempotency_key} is being added by another session")
        return int(event_id)

    async def set_client_number(self, call_id: UUID, client_number: str) -> None:
        await self._db.execute_one(
            "set client number", f"call {call_id}",
            "UPDATE calls SET client_number = %s WHERE id = %s", (client_number, call_id),
        )

    async def call_answered(self, call_id: UUID, at: datetime) -> None:
        await self._db.execute_one(
            "mark call answered", f"call {call_id}",
            "UPDATE calls SET answered_at = %s WHERE id = %s", (utc(at), call_id),
        )

    async def end_call(self, call_id: UUID, at: datetime, outcome: str, end_reason: str) -> None:
        await self._db.execute_one(
            "end call", f"call {call_id}",
            "UPDATE calls SET ended_at = %s, outcome = %s, end_reason = %s WHERE id = %s",
            (utc(at), outcome, end_reason, call_id),
        )

    # --------------------------------------------------------------------- announcements

    async def announcement_started(
        self, id: UUID, call_id: UUID, kind: str, prompt: str, text: str | None, at: datetime
    ) -> None:
        await self._db.execute(
            "record announcement start",
            "INSERT INTO announcements (id, call_id, kind, prompt, text, started_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (id, call_id, kind, prompt, text, utc(at)),
        )

    async def announcement_ended(self, id: UUID, at: datetime, outcome: str) -> None:
        await self._db.execute_one(
            "record announcement end", f"announcement {id}",
            "UPDATE announcements SET ended_at = %s, outcome = %s WHERE id = %s",
            (utc(at), outcome, id),
        )

    # ------------------------------------------------------------------------ agent legs

    async def agent_offered(
        self, id: UUID, call_id: UUID, agent_name: str, channel_id: str, at: datetime
    ) -> None:
        await self._db.execute(
            "record agent offer",
            "INSERT INTO agent_legs (id, call_id, agent_name, channel_id, offered_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (id, call_id, agent_name, channel_id, utc(at)),
        )

    async def agent_answered(self, id: UUID, at: datetime) -> None:
        await self._db.execute_one(
            "record agent answer", f"agent leg {id}",
            "UPDATE agent_legs SET answered_at = %s WHERE id = %s", (utc(at), id),
        )

    async def agent_joined(self, id: UUID, at: datetime) -> None:
        await self._db.execute_one(
            "record agent join", f"agent leg {id}",
            "UPDATE agent_legs SET joined_at = %s WHERE id = %s", (utc(at), id),
        )

    async def agent_left(self, id: UUID, at: datetime, reason: str) -> None:
        await self._db.execute_one(
            "record agent leave", f"agent leg {id}",
            "UPDATE agent_legs SET left_at = %s, left_reason = %s WHERE id = %s",
            (utc(at), reason, id),
        )

    async def explain_departure(self, leg_id: UUID, reason: str) -> None:
        """The agent was first seen only leaving the bridge; now we know why (a transfer, a hangup).
        Only a provisional 'left_bridge' is replaced: an explained reason is never overwritten."""
        async with self._db.transaction("explain departure") as conn:
            await conn.execute(
                "UPDATE agent_legs SET left_reason = %s WHERE id = %s AND left_reason = 'left_bridge'",
                (reason, leg_id))
            await conn.execute(
                "UPDATE recordings SET stop_reason = %s"
                " WHERE agent_leg_id = %s AND stop_reason = 'left_bridge'", (reason, leg_id))

    async def agent_leg_outcome(self, id: UUID, outcome: str) -> None:
        await self._db.execute_one(
            "record agent leg outcome", f"agent leg {id}",
            "UPDATE agent_legs SET outcome = %s WHERE id = %s", (outcome, id),
        )

    # ------------------------------------------------------------------------ recordings

    async def recording_started(
        self,
        id: UUID,
        *,
        call_id: UUID,
        agent_leg_id: UUID | None,
        segment: int,
        mixmonitor_id: str,
        file_mix: str,
        file_caller: str,
        file_agent: str,
        at: datetime,
    ) -> None:
        await self._db.execute(
            "record recording start",
            "INSERT INTO recordings (id, call_id, agent_leg_id, segment, mixmonitor_id,"
            " file_mix, file_caller, file_agent, started_at, status)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'recording')",
            (id, call_id, agent_leg_id, segment, mixmonitor_id,
             file_mix, file_caller, file_agent, utc(at)),
        )

    async def recording_stop_requested(self, id: UUID, at: datetime, reason: str) -> None:
        """Note that StopMixMonitor was requested. Repeats keep the FIRST request's time and
        reason, and a recording that already got past 'recording' keeps its status (the stop
        request can race with MixMonitor ending on hang-up)."""
        await self._db.execute_one(
            "record recording stop request", f"recording {id}",
            "UPDATE recordings SET"
            " stop_requested_at = COALESCE(stop_requested_at, %s),"
            " stop_reason = COALESCE(stop_reason, %s),"
            " status = CASE WHEN status = 'recording' THEN 'stopping' ELSE status END"
            " WHERE id = %s",
            (utc(at), reason, id),
        )

    async def recording_finalised(
        self,
        id: UUID,
        *,
        stopped_at: datetime,
        duration_ms: int | None,
        bytes: int | None,
        sha256: str | None,
        file_stereo: str | None,
        status: str,
        stereo_sha256: str | None = None,
    ) -> None:
        await self._db.execute_one(
            "record recording finalisation", f"recording {id}",
            "UPDATE recordings SET stopped_at = %s, duration_ms = %s, bytes = %s, sha256 = %s,"
            " file_stereo = %s, stereo_sha256 = %s, status = %s WHERE id = %s",
            (utc(stopped_at), duration_ms, bytes, sha256, file_stereo, stereo_sha256, status, id),
        )

    async def recording_status(self, id: UUID, status: str) -> None:
        await self._db.execute_one(
            "set recording status", f"recording {id}",
            "UPDATE recordings SET status = %s WHERE id = %s", (status, id),
        )

    # ------------------------------------------------------------------ holds, transfers

    async def hold_started(
        self, id: UUID, call_id: UUID, recording_id: UUID | None, at: datetime,
        offset_ms: int | None,
    ) -> None:
        await self._db.execute(
            "record hold start",
            "INSERT INTO holds (id, call_id, recording_id, started_at, start_offset_ms)"
            " VALUES (%s, %s, %s, %s, %s)",
            (id, call_id, recording_id, utc(at), offset_ms),
        )

    async def hold_ended(self, id: UUID, at: datetime, offset_ms: int | None) -> None:
        await self._db.execute_one(
            "record hold end", f"hold {id}",
            "UPDATE holds SET ended_at = %s, end_offset_ms = %s WHERE id = %s",
            (utc(at), offset_ms, id),
        )

    async def transfer(
        self, id: UUID, call_id: UUID, kind: str, agent_leg_id: UUID | None,
        target: str | None, at: datetime,
    ) -> None:
        await self._db.execute(
            "record transfer",
            "INSERT INTO transfers (id, call_id, kind, agent_leg_id, target, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (id, call_id, kind, agent_leg_id, target, utc(at)),
        )

    # ---------------------------------------------------------------------------- agents

    async def add_agent(self, name: str, dial_string: str) -> None:
        inserted = await self._db.execute(
            "add agent",
            "INSERT INTO agents (name, dial_string) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, dial_string),
        )
        if inserted == 0:
            raise StoreError(f"agent {name!r} already exists")

    async def remove_agent(self, name: str) -> bool:
        """Delete the agent; False when there was none. Past legs keep the name (no FK)."""
        deleted = await self._db.execute(
            "remove agent", "DELETE FROM agents WHERE name = %s", (name,)
        )
        return deleted == 1


class _WritesOn(StoreWrites):
    """The same writes, on another Database (a batch's pipelined connection)."""

    def __init__(self, db: Database) -> None:
        self._db = db


def _json_object(detail: dict[str, Any]) -> str:
    # Serialised here rather than by psycopg's Jsonb dumper so that unserialisable values
    # surface as StoreError instead of a TypeError from deep inside the driver.
    if not isinstance(detail, dict):
        raise StoreError(f"event detail must be a dict, not {type(detail).__name__}")
    try:
        return json.dumps(detail, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"event detail is not JSON-serialisable: {exc}") from exc
