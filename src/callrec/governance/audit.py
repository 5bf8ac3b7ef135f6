"""The audit log: an append-only, hash-chained table.

Each row stores the previous row's hash and its own: row_hash = sha256 of the canonical JSON of its
fields (seq, at, actor, action, target, outcome, detail, prev_hash). Editing a row breaks its own
hash; deleting one leaves a gap in `seq` and a dangling prev_hash; rewriting the rest of the chain
after an edit is caught by comparing the head with an anchor kept elsewhere (`verify --anchor`).

Appends are serialised with a transaction-level advisory lock, so two writers can never both
chain onto the same row (a fork); the lock is released by the same commit that makes the row
visible. The hashing and the walk are pure; only `append` and `entries` touch the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any, Final
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from callrec.store.errors import translated
from callrec.store.pool import Database, where

GENESIS: Final = "0" * 64
# "cr-audit" as a bigint; distinct from the migration lock (callrec.store.migrate).
AUDIT_LOCK_KEY: Final = int.from_bytes(b"cr-audit", "big")
GRANTED: Final = "granted"
REFUSED: Final = "refused"
FAILED: Final = "failed"  # allowed, but the machinery broke: nothing was handed out

_COLUMNS: Final = "seq, at, actor, action, target, outcome, detail, prev_hash, row_hash"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int  # rows walked before the first problem (all of them when ok)
    head_seq: int  # 0 for an empty log
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None


def json_safe(value: Any) -> Any:
    """The detail as it will come back from jsonb, so that the hash computed before the INSERT
    equals the one recomputed from the stored row. Floats become strings because jsonb stores
    numerics and would print 1e20 back as 100000000000000000000."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, (float, UUID, PurePath)):
        return str(value)
    raise TypeError(f"audit detail cannot hold {type(value).__name__}")


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def row_hash(seq: int, at: datetime, actor: str, action: str, target: str | None, outcome: str,
             detail: Mapping[str, Any], prev_hash: str) -> str:
    canonical = json.dumps(
        {"seq": seq, "at": _utc_text(at), "actor": actor, "action": action, "target": target,
         "outcome": outcome, "detail": json_safe(detail), "prev_hash": prev_hash},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def recomputed(entry: AuditEntry) -> str:
    return row_hash(entry.seq, entry.at, entry.actor, entry.action, entry.target, entry.outcome,
                    entry.detail, entry.prev_hash)


class ChainWalker:
    """Checks rows one at a time (so verify streams a log of any length) and remembers the first
    problem. `anchor` is a (seq, row_hash) noted earlier outside the database: it must still be
    there, unchanged."""

    def __init__(self, anchor: tuple[int, str] | None = None) -> None:
        self._anchor = anchor
        self._anchor_seen = anchor is None
        self._expected = 1
        self._prev = GENESIS
        self._failure: ChainReport | None = None

    def feed(self, entry: AuditEntry) -> bool:
        """False once a problem is found (stop feeding)."""
        if self._failure is not None:
            return False
        problem = _link_problem(entry, self._expected, self._prev)
        if problem is None and self._anchor is not None and entry.seq == self._anchor[0]:
            self._anchor_seen = True
            if entry.row_hash != self._anchor[1]:
                problem = f"row {entry.seq} differs from the anchor: the chain was rewritten"
        if problem is not None:
            self._failure = self._report(problem, entry.seq)
            return False
        self._prev, self._expected = entry.row_hash, self._expected + 1
        return True

    def report(self) -> ChainReport:
        if self._failure is not None:
            return self._failure
        if not self._anchor_seen:
            assert self._anchor is not None
            seq = self._anchor[0]
            return self._report(f"anchor row {seq} is gone: rows at the end were deleted", seq)
        return ChainReport(True, self._expected - 1, self._expected - 1, self._prev)

    def _report(self, problem: str, seq: int) -> ChainReport:
        walked = self._expected - 1
        return ChainReport(False, walked, walked, self._prev, problem, seq)


def verify_chain(entries: Iterable[AuditEntry], anchor: tuple[int, str] | None = None) -> ChainReport:
    """Walk the chain in seq order and report the first broken or missing link."""
    walker = ChainWalker(anchor)
    for entry in entries:
        if not walker.feed(entry):
            break
    return walker.report()


def _link_problem(entry: AuditEntry, expected_seq: int, prev: str) -> str | None:
    if entry.seq != expected_seq:
        return f"rows {expected_seq}..{entry.seq - 1} are missing (deleted)"
    if recomputed(entry) != entry.row_hash:
        return f"row {entry.seq} was edited: its content no longer matches its hash"
    if entry.prev_hash != prev:
        return f"row {entry.seq} does not link to row {entry.seq - 1}: the chain was rewritten"
    return None


# ------------------------------------------------------------------------------------ database
async def append(conn: AsyncConnection, *, at: datetime, actor: str, action: str,
                 target: str | None, outcome: str, detail: Mapping[str, Any]) -> AuditEntry:
    """Append one row. `conn` must be inside a transaction: the row commits (or rolls back)
    with whatever the caller did in it, and the chain lock is held until then."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
    cur = await conn.execute("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    last = await cur.fetchone()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    safe = json_safe(detail)
    entry = AuditEntry(seq, at, actor, action, target, outcome, safe, prev,
                       row_hash(seq, at, actor, action, target, outcome, safe, prev))
    await conn.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (entry.seq, entry.at, entry.actor, entry.action, entry.target, entry.outcome,
         Jsonb(entry.detail), entry.prev_hash, entry.row_hash),
    )
    return entry


async def append_alone(db: Database, **fields: Any) -> AuditEntry:
    """Append in a transaction of its own (a refusal, or an action that wrote nothing else)."""
    with translated("audit append"):
        async with db.pool.connection() as conn, conn.transaction():
            return await append(conn, **fields)


async def entries(db: Database, batch: int = 5000) -> AsyncGenerator[AuditEntry, None]:
    """Every row in seq order, streamed (a server-side cursor in one snapshot), for verify."""
    with translated("audit read"):
        async with db.pool.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            async with conn.cursor("audit_walk", row_factory=dict_row) as cur:
                await cur.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq")
                while rows := await cur.fetchmany(batch):
                    for row in rows:
                        yield AuditEntry(**row)


async def verify(db: Database, anchor: tuple[int, str] | None = None) -> ChainReport:
    walker = ChainWalker(anchor)
    # aclosing: stopping early must still end the cursor's transaction now, not at GC time.
    async with aclosing(entries(db)) as rows:
        async for entry in rows:
            if not walker.feed(entry):
                break
    return walker.report()


async def list_entries(db: Database, *, actor: str | None = None, action: str | None = None,
                       target: str | None = None, since: datetime | None = None,
                       limit: int = 100) -> list[AuditEntry]:
    """Newest first."""
    candidates = (("actor = %s", actor), ("action = %s", action), ("target = %s", target),
                  ("at >= %s", since))
    clause, params = where([(sql.SQL(f), v) for f, v in candidates if v is not None])
    query = sql.SQL(f"SELECT {_COLUMNS} FROM audit_log") + clause + sql.SQL(
        " ORDER BY seq DESC LIMIT %s")
    rows = await db.fetch_dicts("audit list", query, [*params, limit])
    return [AuditEntry(**row) for row in rows]
