"""Finding recordings: the filtered, sorted, paginated listing behind `callrec recordings list`.

Kept apart from callrec.store.reads (the controller's read side) because it knows about the
governance tables (legal holds) and the call's business unit and queue.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from callrec.store.models import Recording
from callrec.store.pool import fetch_rows, utc, where

MAX_LIMIT: Final = 10_000
SORTS: Final = ("started", "duration")

# Newest / longest first; the id makes the order total, so pages never overlap or skip rows.
_ORDER: Final = {
    "started": sql.SQL(" ORDER BY r.started_at DESC, r.id DESC"),
    "duration": sql.SQL(" ORDER BY r.duration_ms DESC NULLS LAST, r.id DESC"),
}


@dataclass(frozen=True)
class RecordingFilter:
    since: datetime | None = None  # inclusive, on the recording's start
    until: datetime | None = None  # exclusive
    agent: str | None = None
    caller_number: str | None = None
    client_number: str | None = None
    call_id: UUID | None = None
    direction: str | None = None
    business_unit: str | None = None
    queue: str | None = None
    status: str | None = None
    has_holds: bool = False  # the caller was put on hold during the recording
    legal_hold: bool = False  # under an active legal hold
    sort: str = "started"
    page: int = 1
    limit: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")
        if self.page < 1:
            raise ValueError(f"page must be 1 or more, got {self.page}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True)
class RecordingRow:
    """One line of the listing. `recording`, `direction`, `caller_number`, `client_number` and
    `agent_name` keep the JSON shape of the original `recordings list --json`."""

    recording: Recording
    direction: str
    caller_number: str
    client_number: str | None
    agent_name: str | None
    queue: str | None
    business_unit: str | None
    hold_count: int
    legal_hold: bool


_HOLDS: Final = "SELECT 1 FROM holds h WHERE h.recording_id = r.id"
_LEGAL: Final = "SELECT 1 FROM legal_holds g WHERE g.recording_id = r.id AND g.released_at IS NULL"
_SELECT: Final = sql.SQL(
    "SELECT {}, c.direction, c.caller_number, c.client_number, c.queue, c.business_unit,"
    " l.agent_name, (SELECT count(*) FROM holds h WHERE h.recording_id = r.id) AS hold_count,"
    " EXISTS (" + _LEGAL + ") AS legal_hold"
    " FROM recordings r JOIN calls c ON c.id = r.call_id"
    " LEFT JOIN agent_legs l ON l.id = r.agent_leg_id"
).format(sql.SQL(", ").join(sql.Identifier("r", f.name) for f in fields(Recording)))


def _conditions(f: RecordingFilter) -> list[tuple[sql.SQL, Any]]:
    """(fragment, value) for each filter that is set. The fragments are constants."""
    candidates: tuple[tuple[str, Any], ...] = (
        ("r.started_at >= %s", None if f.since is None else utc(f.since)),
        ("r.started_at < %s", None if f.until is None else utc(f.until)),
        ("l.agent_name = %s", f.agent),
        ("c.caller_number = %s", f.caller_number),
        ("c.client_number = %s", f.client_number),
        ("r.call_id = %s", f.call_id),
        ("c.direction = %s", f.direction),
        ("c.business_unit = %s", f.business_unit),
        ("c.queue = %s", f.queue),
        ("r.status = %s", f.status),
        # Flags: the value is a constant true so they fit the (fragment, value) shape.
        (f"EXISTS ({_HOLDS}) = %s", True if f.has_holds else None),
        (f"EXISTS ({_LEGAL}) = %s", True if f.legal_hold else None),
    )
    return [(sql.SQL(frag), value) for frag, value in candidates if value is not None]


async def list_recordings(conn: AsyncConnection, f: RecordingFilter) -> list[RecordingRow]:
    clause, params = where(_conditions(f))
    query = _SELECT + clause + _ORDER[f.sort] + sql.SQL(" LIMIT %s OFFSET %s")
    rows = await fetch_rows(conn, dict_row, query, [*params, f.limit, f.offset])
    return [_row(row) for row in rows]


async def get_recording_row(conn: AsyncConnection, id: UUID) -> RecordingRow | None:
    rows = await fetch_rows(conn, dict_row, _SELECT + sql.SQL(" WHERE r.id = %s"), (id,))
    return _row(rows[0]) if rows else None


def _row(row: dict[str, Any]) -> RecordingRow:
    return RecordingRow(
        recording=Recording(**{f.name: row[f.name] for f in fields(Recording)}),
        direction=row["direction"], caller_number=row["caller_number"],
        client_number=row["client_number"], agent_name=row["agent_name"], queue=row["queue"],
        business_unit=row["business_unit"], hold_count=row["hold_count"],
        legal_hold=row["legal_hold"],
    )
