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
from callrec.store.pool import fetch_rows, utc

MAX_LIMIT: Final = 10_000
SORTS: Final = ("started", "duration")

# Newest / longest first; the id makes the order total, so pages never overlap or skip rows.
_ORDER: Final = {
    "started": sql.SQL(" ORDER BY {alias}.started_at DESC, {alias}.id DESC"),
    "duration": sql.SQL(" ORDER BY {alias}.duration_ms DESC NULLS LAST, {alias}.id DESC"),
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


# The page is chosen first over the filtered, sorted keys; everything else (the call's and the
# agent's columns, the hold count, the legal-hold flag) is fetched afterwards for that page only.
# In one flat query PostgreSQL would compute them for every row an OFFSET skips, and join the call
# and the leg of every candidate row. The page query reads only the sort key and the id, and joins
# the call only when a filter reads it, so that an index holding those columns (migration 005)
# answers it alone: a heap fetch per candidate row is what made deep pages and --agent slow
# (even a LEFT JOIN the planner removes as unused keeps PostgreSQL 15 from an index-only scan).
_PAGE: Final = sql.SQL("SELECT r.id, {key} FROM recordings r")
_SORT_KEY: Final = {"started": sql.SQL("r.started_at"), "duration": sql.SQL("r.duration_ms")}
_JOIN_CALL: Final = sql.SQL(" JOIN calls c ON c.id = r.call_id")
_EXTRAS: Final = sql.SQL(
    "SELECT {columns}, c.direction, c.caller_number, c.client_number, c.queue, c.business_unit,"
    " l.agent_name, (SELECT count(*) FROM holds h WHERE h.recording_id = r.id) AS hold_count,"
    " EXISTS (SELECT 1 FROM legal_holds g WHERE g.recording_id = r.id"
    " AND g.released_at IS NULL) AS legal_hold"
    " FROM ({page}) AS p JOIN recordings r ON r.id = p.id JOIN calls c ON c.id = r.call_id"
    " LEFT JOIN agent_legs l ON l.id = r.agent_leg_id"
)
_COLUMNS: Final = sql.SQL(", ").join(sql.Identifier("r", f.name) for f in fields(Recording))

# The legal-hold set is small and known up front, so it is computed once (an InitPlan) and the
# recordings are then reached by index; as a correlated filter PostgreSQL would rather walk the
# whole table in time order looking for them.
_BY_AGENT: Final = "r.agent_name = %s"  # filled from the agent leg by a trigger (migration 007)
_UNDER_LEGAL_HOLD: Final = ("r.id = ANY (ARRAY (SELECT recording_id FROM legal_holds"
                            " WHERE released_at IS NULL))")
_WITH_HOLDS: Final = "EXISTS (SELECT 1 FROM holds h WHERE h.recording_id = r.id)"


# Filters on the call's columns: the page query joins calls only when one of them is set.
_ON_CALL: Final = frozenset({"c.caller_number = %s", "c.client_number = %s", "c.direction = %s",
                             "c.business_unit = %s", "c.queue = %s"})


@dataclass(frozen=True)
class _Where:
    terms: tuple[sql.SQL, ...]
    params: tuple[Any, ...]
    on_call: bool = False  # a term reads the call's columns


def _conditions(f: RecordingFilter) -> _Where:
    """WHERE terms and their parameters for the filters that are set. The terms are constants;
    only values travel, as parameters."""
    valued: tuple[tuple[str, Any], ...] = (
        ("r.started_at >= %s", None if f.since is None else utc(f.since)),
        ("r.started_at < %s", None if f.until is None else utc(f.until)),
        (_BY_AGENT, f.agent),
        ("c.caller_number = %s", f.caller_number),
        ("c.client_number = %s", f.client_number),
        ("r.call_id = %s", f.call_id),
        ("c.direction = %s", f.direction),
        ("c.business_unit = %s", f.business_unit),
        ("c.queue = %s", f.queue),
        ("r.status = %s", f.status),
    )
    flags = ((_WITH_HOLDS, f.has_holds), (_UNDER_LEGAL_HOLD, f.legal_hold))
    used = [(term, value) for term, value in valued if value is not None]
    terms = [sql.SQL(term) for term, _ in used] + [sql.SQL(t) for t, wanted in flags if wanted]
    return _Where(tuple(terms), tuple(value for _, value in used),
                  any(term in _ON_CALL for term, _ in used))


def _query(f: RecordingFilter, where: _Where) -> sql.Composed:
    joins = _JOIN_CALL if where.on_call else sql.SQL("")
    clause = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where.terms) if where.terms else sql.SQL("")
    order = _ORDER[f.sort].format(alias=sql.Identifier("r"))
    page = (_PAGE.format(key=_SORT_KEY[f.sort]) + joins + clause + order
            + sql.SQL(" LIMIT %s OFFSET %s"))
    return _EXTRAS.format(columns=_COLUMNS, page=page) + order


async def list_recordings(conn: AsyncConnection, f: RecordingFilter) -> list[RecordingRow]:
    """Call inside a transaction (the SET LOCAL ends with it)."""
    where = _conditions(f)
    # A page is at most a few thousand index probes; launching parallel workers costs more
    # (~20 ms measured on 1M rows) than it saves, and the planner does not count that.
    await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    rows = await fetch_rows(conn, dict_row, _query(f, where), [*where.params, f.limit, f.offset])
    return [_row(row) for row in rows]


async def get_recording_row(conn: AsyncConnection, id: UUID) -> RecordingRow | None:
    query = _query(RecordingFilter(limit=1), _Where((sql.SQL("r.id = %s"),), (id,)))
    rows = await fetch_rows(conn, dict_row, query, (id, 1, 0))
    return _row(rows[0]) if rows else None


def _row(row: dict[str, Any]) -> RecordingRow:
    return RecordingRow(
        recording=Recording(**{f.name: row[f.name] for f in fields(Recording)}),
        direction=row["direction"], caller_number=row["caller_number"],
        client_number=row["client_number"], agent_name=row["agent_name"], queue=row["queue"],
        business_unit=row["business_unit"], hold_count=row["hold_count"],
        legal_hold=row["legal_hold"],
    )
