"""The `releases` table (migration 004): one row per client copy, written once, never updated."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from callrec.store import Store, StoreError
from callrec.store.pool import Database, utc

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Release:
    id: UUID
    recording_id: UUID
    request_ref: str
    reviewer: str
    reviewed_at: datetime
    edit_list: list[dict[str, Any]]
    redact_mode: str
    format: str
    source_path: str
    source_sha256: str
    output_path: str
    output_sha256: str
    output_duration_ms: int
    created_by: str
    created_at: datetime


_COLUMNS = sql.SQL(", ").join(sql.Identifier(f.name) for f in fields(Release))
_SELECT = sql.SQL("SELECT {} FROM releases").format(_COLUMNS)
_INSERT = sql.SQL("INSERT INTO releases ({}) VALUES ({})").format(
    _COLUMNS,
    sql.SQL(", ").join(
        sql.SQL("%s::jsonb" if f.name == "edit_list" else "%s") for f in fields(Release)),
)


class ReleaseRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def of(cls, store: Store) -> ReleaseRecords:
        # Store keeps its pool private and has no extension point for tables added by other
        # packages; sharing its pool beats opening a second one per command.
        return cls(store._db)

    async def add(self, r: Release) -> None:
        row = {f.name: getattr(r, f.name) for f in fields(Release)}
        row["edit_list"] = _edit_json(r.edit_list)
        row["reviewed_at"], row["created_at"] = utc(r.reviewed_at), utc(r.created_at)
        await self._db.execute("record release", _INSERT, list(row.values()))

    async def get(self, id: UUID) -> Release | None:
        rows = await self._db.fetch_all(
            "get release", Release, _SELECT + sql.SQL(" WHERE id = %s"), (id,))
        return rows[0] if rows else None

    async def list(self, recording_id: UUID | None = None, limit: int = 50) -> tuple[Release, ...]:
        """Newest first, optionally only one recording's releases."""
        if not 1 <= limit <= MAX_LIMIT:
            raise StoreError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        where = sql.SQL("") if recording_id is None else sql.SQL(" WHERE recording_id = %s")
        params: list[Any] = [] if recording_id is None else [recording_id]
        query = _SELECT + where + sql.SQL(" ORDER BY created_at DESC, id LIMIT %s")
        return tuple(await self._db.fetch_all("list releases", Release, query, [*params, limit]))


def _edit_json(edit_list: list[dict[str, Any]]) -> str:
    try:
        return json.dumps(edit_list, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"edit list is not JSON-serialisable: {exc}") from exc
