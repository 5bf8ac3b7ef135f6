"""SQL of the governance tables (users, access requests and grants, legal holds, disposals).

Every function takes the connection of a transaction the caller opened with `transaction()`, so an
action, its side effects and its audit row commit together or not at all. Parameters always travel
separately from the SQL. Any database error becomes StoreError (through `transaction`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from callrec.governance.access import AccessRequest, Grant, Role, User
from callrec.store.errors import translated
from callrec.store.pool import Database, fetch_rows

T = TypeVar("T")


@asynccontextmanager
async def transaction(db: Database, action: str) -> AsyncIterator[AsyncConnection]:
    """One read-committed transaction; psycopg errors inside become StoreError."""
    with translated(action):
        async with db.pool.connection() as conn, conn.transaction():
            yield conn


@dataclass(frozen=True)
class RecordingRef:
    """What governance needs to know about a recording (files, fingerprints, retention inputs)."""

    id: UUID
    call_id: UUID
    status: str
    started_at: datetime
    file_mix: str
    file_caller: str
    file_agent: str
    file_stereo: str | None
    sha256: str | None
    stereo_sha256: str | None
    queue: str | None
    business_unit: str | None

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(f for f in (self.file_mix, self.file_caller, self.file_agent,
                                 self.file_stereo) if f)


@dataclass(frozen=True)
class LegalHold:
    id: UUID
    recording_id: UUID
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None


@dataclass(frozen=True)
class Disposal:
    recording_id: UUID
    disposed_at: datetime
    retention_class: str
    retention_days: int
    actor: str
    sha256: str | None
    files: list[dict[str, str]]


_RECORDING_REF = (
    "SELECT r.id, r.call_id, r.status, r.started_at, r.file_mix, r.file_caller, r.file_agent,"
    " r.file_stereo, r.sha256, r.stereo_sha256, c.queue, c.business_unit"
    " FROM recordings r JOIN calls c ON c.id = r.call_id"
)
_REQUEST_COLUMNS = ("id, recording_id, requester, reason, requested_at, status, decided_by,"
                    " decided_at, decision_note")
_GRANT_COLUMNS = "id, request_id, recording_id, grantee, approved_by, granted_at, expires_at"
_HOLD_COLUMNS = ("id, recording_id, reason, placed_by, placed_at, released_by, released_at,"
                 " release_reason")


async def _one(conn: AsyncConnection, model: type[T], query: Any, params: Sequence[Any]
               ) -> T | None:
    rows = await fetch_rows(conn, class_row(model), query, params)
    return rows[0] if rows else None


# ------------------------------------------------------------------------------------- users
def _user(row: dict[str, Any]) -> User:
    return User(row["name"], Role(row["role"]), row["enabled"])


async def get_user(conn: AsyncConnection, name: str) -> User | None:
    rows = await fetch_rows(conn, dict_row, "SELECT name, role, enabled FROM users WHERE name = %s",
                            (name,))
    return _user(rows[0]) if rows else None


async def any_user(conn: AsyncConnection) -> bool:
    # Serialises bootstrap: two "first users" created at once would both see an empty table.
    await conn.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM users)")
    row = await cur.fetchone()
    return bool(row and row[0])


async def insert_user(conn: AsyncConnection, name: str, role: Role, at: datetime, by: str) -> None:
    await conn.execute(
        "INSERT INTO users (name, role, created_at, created_by) VALUES (%s, %s, %s, %s)",
        (name, role.value, at, by))


async def disable_user(conn: AsyncConnection, name: str) -> bool:
    cur = await conn.execute("UPDATE users SET enabled = false WHERE name = %s", (name,))
    return cur.rowcount == 1


async def list_users(conn: AsyncConnection) -> list[dict[str, Any]]:
    return await fetch_rows(conn, dict_row, "SELECT name, role, enabled, created_at, created_by"
                            " FROM users ORDER BY name")


# -------------------------------------------------------------------------------- recordings
async def recording_ref(conn: AsyncConnection, id: UUID, *, lock: bool = False
                        ) -> RecordingRef | None:
    """`lock` takes the row FOR UPDATE: retention holds it while deleting, which makes a
    concurrent `hold add` (its foreign key check needs a share lock on the row) wait."""
    query = _RECORDING_REF + " WHERE r.id = %s" + (" FOR UPDATE OF r" if lock else "")
    return await _one(conn, RecordingRef, query, (id,))


async def mark_purged(conn: AsyncConnection, id: UUID) -> None:
    await conn.execute("UPDATE recordings SET status = 'purged' WHERE id = %s", (id,))


async def purge_candidates(conn: AsyncConnection, started_before: datetime
                           ) -> list[RecordingRef]:
    """Complete or incomplete recordings started before the cut-off and not under a legal hold,
    oldest first. The caller applies each one's own class."""
    query = (_RECORDING_REF + " WHERE r.status IN ('complete', 'incomplete')"
             " AND r.started_at < %s AND NOT EXISTS (SELECT 1 FROM legal_holds h"
             " WHERE h.recording_id = r.id AND h.released_at IS NULL)"
             " ORDER BY r.started_at, r.id")
    return await fetch_rows(conn, class_row(RecordingRef), query, (started_before,))


# ------------------------------------------------------------------------- requests, grants
async def insert_request(conn: AsyncConnection, request: AccessRequest) -> None:
    await conn.execute(
        f"INSERT INTO access_requests ({_REQUEST_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s,"
        " %s, %s, %s)",
        (request.id, request.recording_id, request.requester, request.reason,
         request.requested_at, request.status, request.decided_by, request.decided_at,
         request.decision_note))


async def get_request(conn: AsyncConnection, id: UUID, *, lock: bool = False
                      ) -> AccessRequest | None:
    query = f"SELECT {_REQUEST_COLUMNS} FROM access_requests WHERE id = %s"
    return await _one(conn, AccessRequest, query + (" FOR UPDATE" if lock else ""), (id,))


async def decide_request(conn: AsyncConnection, id: UUID, status: str, by: str, at: datetime,
                         note: str | None) -> None:
    await conn.execute(
        "UPDATE access_requests SET status = %s, decided_by = %s, decided_at = %s,"
        " decision_note = %s WHERE id = %s AND status = 'pending'", (status, by, at, note, id))


async def list_requests(conn: AsyncConnection, *, requester: str | None, pending: bool,
                        limit: int) -> list[AccessRequest]:
    query = f"SELECT {_REQUEST_COLUMNS} FROM access_requests WHERE (%s::text IS NULL OR" \
            " requester = %s) AND (NOT %s OR status = 'pending') ORDER BY requested_at DESC" \
            " LIMIT %s"
    return await fetch_rows(conn, class_row(AccessRequest), query,
                            (requester, requester, pending, limit))


async def insert_grant(conn: AsyncConnection, grant: Grant) -> None:
    await conn.execute(
        f"INSERT INTO access_grants ({_GRANT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (grant.id, grant.request_id, grant.recording_id, grant.grantee, grant.approved_by,
         grant.granted_at, grant.expires_at))


async def newest_grant(conn: AsyncConnection, grantee: str, recording_id: UUID) -> Grant | None:
    """The grant of this user on this recording that lasts longest (expired or not: the rules
    decide, and say "expired" rather than "no grant")."""
    query = (f"SELECT {_GRANT_COLUMNS} FROM access_grants WHERE grantee = %s"
             " AND recording_id = %s ORDER BY expires_at DESC LIMIT 1")
    return await _one(conn, Grant, query, (grantee, recording_id))


# ------------------------------------------------------------------------------- legal holds
async def active_hold(conn: AsyncConnection, recording_id: UUID) -> LegalHold | None:
    query = (f"SELECT {_HOLD_COLUMNS} FROM legal_holds WHERE recording_id = %s"
             " AND released_at IS NULL")
    return await _one(conn, LegalHold, query, (recording_id,))


async def holds_of(conn: AsyncConnection, recording_id: UUID) -> list[LegalHold]:
    query = f"SELECT {_HOLD_COLUMNS} FROM legal_holds WHERE recording_id = %s ORDER BY placed_at"
    return await fetch_rows(conn, class_row(LegalHold), query, (recording_id,))


async def insert_hold(conn: AsyncConnection, id: UUID, recording_id: UUID, reason: str, by: str,
                      at: datetime) -> None:
    await conn.execute(
        "INSERT INTO legal_holds (id, recording_id, reason, placed_by, placed_at)"
        " VALUES (%s, %s, %s, %s, %s)", (id, recording_id, reason, by, at))


async def release_hold(conn: AsyncConnection, id: UUID, by: str, at: datetime,
                       reason: str) -> None:
    await conn.execute(
        "UPDATE legal_holds SET released_by = %s, released_at = %s, release_reason = %s"
        " WHERE id = %s AND released_at IS NULL", (by, at, reason, id))


# --------------------------------------------------------------------------------- disposals
async def insert_disposal(conn: AsyncConnection, d: Disposal) -> None:
    await conn.execute(
        "INSERT INTO disposals (recording_id, disposed_at, retention_class, retention_days,"
        " actor, sha256, files) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (recording_id) DO NOTHING",
        (d.recording_id, d.disposed_at, d.retention_class, d.retention_days, d.actor, d.sha256,
         Jsonb(d.files)))


async def get_disposal(conn: AsyncConnection, recording_id: UUID) -> Disposal | None:
    query = ("SELECT recording_id, disposed_at, retention_class, retention_days, actor, sha256,"
             " files FROM disposals WHERE recording_id = %s")
    return await _one(conn, Disposal, query, (recording_id,))
