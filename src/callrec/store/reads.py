"""Read side of the evidence store: what the CLI lists and shows, and crash-recovery look-ups."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from callrec.store.errors import StoreError
from callrec.store.models import (
    OPEN_RECORDING_STATUSES,
    Agent,
    AgentLeg,
    Announcement,
    Call,
    CallDetail,
    CallEvent,
    Hold,
    Recording,
    RecordingInfo,
    Transfer,
)
from callrec.store.pool import Database, fetch_rows, utc, where

MAX_LIMIT = 10_000


def _columns(model: type[Any], alias: str | None = None) -> sql.Composed:
    """The model's fields as a column list. Explicit columns, never `*`, so that a later
    migration adding a column cannot break building the dataclass from a row."""
    prefix = () if alias is None else (alias,)
    return sql.SQL(", ").join(sql.Identifier(*prefix, f.name) for f in fields(model))


def _select(model: type[Any], table: str) -> sql.Composed:
    return sql.SQL("SELECT {} FROM {}").format(_columns(model), sql.Identifier(table))


_RECORDING_LISTING = sql.SQL(
    "SELECT {}, c.direction, c.caller_number, c.client_number, l.agent_name"
    " FROM recordings r JOIN calls c ON c.id = r.call_id"
    " LEFT JOIN agent_legs l ON l.id = r.agent_leg_id"
).format(_columns(Recording, "r"))

# Per-call collections of get_call, each in chronological order with a unique tie-breaker.
_BY_CALL = sql.SQL(" WHERE call_id = %s ORDER BY ")
_CALL_PARTS: tuple[tuple[type[Any], sql.Composed], ...] = (
    (CallEvent, _select(CallEvent, "call_events") + _BY_CALL + sql.SQL("at, id")),
    (AgentLeg, _select(AgentLeg, "agent_legs") + _BY_CALL + sql.SQL("offered_at, id")),
    (Recording, _select(Recording, "recordings") + _BY_CALL + sql.SQL("segment")),
    (Hold, _select(Hold, "holds") + _BY_CALL + sql.SQL("started_at, id")),
    (Announcement, _select(Announcement, "announcements") + _BY_CALL + sql.SQL("started_at, id")),
    (Transfer, _select(Transfer, "transfers") + _BY_CALL + sql.SQL("at, id")),
)


class StoreReads:
    _db: Database

    async def list_agents(self) -> tuple[Agent, ...]:
        query = _select(Agent, "agents") + sql.SQL(" ORDER BY name")
        return tuple(await self._db.fetch_all("list agents", Agent, query))

    async def list_calls(
        self,
        limit: int = 50,
        since: datetime | None = None,
        until: datetime | None = None,
        direction: str | None = None,
    ) -> tuple[Call, ...]:
        """Newest first; `since` inclusive, `until` exclusive (on started_at)."""
        conditions: list[tuple[sql.SQL, Any]] = []
        if since is not None:
            conditions.append((sql.SQL("started_at >= %s"), utc(since)))
        if until is not None:
            conditions.append((sql.SQL("started_at < %s"), utc(until)))
        if direction is not None:
            conditions.append((sql.SQL("direction = %s"), direction))
        clause, params = where(conditions)
        query = _select(Call, "calls") + clause + sql.SQL(" ORDER BY started_at DESC, id LIMIT %s")
        return tuple(await self._db.fetch_all("list calls", Call, query, [*params, _limit(limit)]))

    async def get_call(self, id: UUID) -> CallDetail | None:
        """The call and everything recorded about it, read in one consistent snapshot."""
        async with self._db.snapshot("get call") as conn:
            query = _select(Call, "calls") + sql.SQL(" WHERE id = %s")
            calls = await fetch_rows(conn, class_row(Call), query, (id,))
            if not calls:
                return None
            parts = [await _fetch_part(conn, model, part, id) for model, part in _CALL_PARTS]
        events, legs, recordings, holds, announcements, transfers = parts
        return CallDetail(calls[0], events, legs, recordings, holds, announcements, transfers)

    async def list_recordings(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        agent: str | None = None,
        caller_number: str | None = None,
        client_number: str | None = None,
        call_id: UUID | None = None,
        direction: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[RecordingInfo, ...]:
        """Newest first; `since` inclusive, `until` exclusive (on the recording's started_at).
        Text filters match exactly; all given filters must hold."""
        if offset < 0:
            raise StoreError(f"offset must not be negative, got {offset}")
        candidates: tuple[tuple[sql.SQL, Any], ...] = (
            (sql.SQL("r.started_at >= %s"), None if since is None else utc(since)),
            (sql.SQL("r.started_at < %s"), None if until is None else utc(until)),
            (sql.SQL("l.agent_name = %s"), agent),
            (sql.SQL("c.caller_number = %s"), caller_number),
            (sql.SQL("c.client_number = %s"), client_number),
            (sql.SQL("r.call_id = %s"), call_id),
            (sql.SQL("c.direction = %s"), direction),
            (sql.SQL("r.status = %s"), status),
        )
        clause, params = where([(f, v) for f, v in candidates if v is not None])
        query = _RECORDING_LISTING + clause + sql.SQL(
            " ORDER BY r.started_at DESC, r.id LIMIT %s OFFSET %s"
        )
        params = [*params, _limit(limit), offset]
        rows = await self._db.fetch_dicts("list recordings", query, params)
        return tuple(_recording_info(row) for row in rows)

    async def get_recording(self, id: UUID) -> RecordingInfo | None:
        query = _RECORDING_LISTING + sql.SQL(" WHERE r.id = %s")
        rows = await self._db.fetch_dicts("get recording", query, (id,))
        return _recording_info(rows[0]) if rows else None

    async def open_calls(self) -> tuple[Call, ...]:
        """Calls not yet ended: what a restarted controller must account for."""
        query = _select(Call, "calls") + sql.SQL(" WHERE ended_at IS NULL ORDER BY started_at, id")
        return tuple(await self._db.fetch_all("list open calls", Call, query))

    async def open_recordings(self) -> tuple[Recording, ...]:
        """Recordings not yet sealed (MixMonitor may still be running): to reconcile after a
        crash."""
        query = _select(Recording, "recordings") + sql.SQL(
            " WHERE status = ANY(%s) ORDER BY started_at, id"
        )
        rows = await self._db.fetch_all(
            "list open recordings", Recording, query, (list(OPEN_RECORDING_STATUSES),)
        )
        return tuple(rows)


async def _fetch_part(
    conn: AsyncConnection, model: type[Any], query: sql.Composed, call_id: UUID
) -> tuple[Any, ...]:
    return tuple(await fetch_rows(conn, class_row(model), query, (call_id,)))


def _recording_info(row: dict[str, Any]) -> RecordingInfo:
    return RecordingInfo(
        recording=Recording(**{f.name: row[f.name] for f in fields(Recording)}),
        direction=row["direction"],
        caller_number=row["caller_number"],
        client_number=row["client_number"],
        agent_name=row["agent_name"],
    )


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise StoreError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit
