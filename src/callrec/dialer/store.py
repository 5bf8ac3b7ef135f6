"""The dialer's tables (migration 006) over the evidence store's pool.

Every state change loads the task under a row lock (SELECT ... FOR UPDATE), applies the PURE
schedule function and writes its result in the same transaction: two dialer loops, or the dialer
and `callrec dial cancel`, can never both act on one task, and nothing the schedule refuses (a
fourth attempt, a call outside hours, a cancelled task) is ever written. Parameters always travel
apart from the SQL. Database errors are StoreError; refusals are the schedule's SchedulingError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from callrec.dialer import schedule as s
from callrec.dialer.errors import DialerError
from callrec.dialer.scripts import Voicemail
from callrec.dialer.settings import DialerConfig
from callrec.store.pool import Database, fetch_rows, utc

_TASK_COLUMNS: LiteralString = (
    "id, number, client_ref, client_name, agent, business_unit, voicemail, status, next_due, "
    "created_at, close_reason, closed_at")
_ATTEMPT_COLUMNS: LiteralString = (
    "task_id, n, started_at, ended_at, outcome, amd_verdict, amd_cause, script_kind, "
    "script_text, prompt, script_at, call_id, recording_id")


@dataclass(frozen=True)
class AttemptDetail:
    """One attempt as evidence: everything `callrec dial show` prints."""

    task_id: UUID
    n: int
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    amd_verdict: str | None
    amd_cause: str | None
    script_kind: str | None
    script_text: str | None
    prompt: str | None
    script_at: datetime | None
    call_id: UUID | None
    recording_id: UUID | None


@dataclass(frozen=True)
class Disclosure:
    """The recording disclosure played to a client who answered (an `announcements` row)."""

    call_id: UUID
    prompt: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class LeftBehind:
    """The outbound call of an attempt a restart interrupted (the attempt never learnt its end)."""

    call_id: UUID
    recording_id: UUID | None  # its first recording: a person answered (recording needs HUMAN)
    end_reason: str | None  # None: still open, i.e. adopted by the restarted controller


@dataclass(frozen=True)
class TaskDetail:
    task: s.Task
    attempts: tuple[AttemptDetail, ...]
    disclosures: tuple[Disclosure, ...]


class DialStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------------------- reads
    async def open_tasks(self) -> list[s.Task]:
        """Open and in-progress tasks with their attempts (what the dialer loop schedules)."""
        return await self._tasks("WHERE status IN ('open', 'in_progress')", ())

    async def list_tasks(self, status: s.Status | None = None, limit: int = 100) -> list[s.Task]:
        if status is None:
            return await self._tasks("ORDER BY created_at DESC, id LIMIT %s", (limit,))
        return await self._tasks("WHERE status = %s ORDER BY created_at DESC, id LIMIT %s",
                                 (status.value, limit))

    async def get(self, task_id: UUID) -> TaskDetail | None:
        async with self._db.snapshot("reading a dial task") as conn:
            tasks = await _load(conn, "WHERE id = %s", (task_id,))
            if not tasks:
                return None
            rows = await fetch_rows(conn, dict_row, "SELECT " + _ATTEMPT_COLUMNS +
                                    " FROM dial_attempts WHERE task_id = %s ORDER BY n",
                                    (task_id,))
            told = await fetch_rows(
                conn, dict_row, "SELECT a.call_id, a.prompt, a.started_at, a.ended_at, a.outcome "
                "FROM announcements a JOIN dial_attempts d ON d.call_id = a.call_id "
                "WHERE d.task_id = %s AND a.kind = 'outbound_disclosure' ORDER BY a.started_at",
                (task_id,))
        return TaskDetail(tasks[0], tuple(AttemptDetail(**r) for r in rows),
                          tuple(Disclosure(**r) for r in told))

    async def call_left_behind(self, task: s.Task) -> LeftBehind | None:
        """The call of the task's last attempt, found without the link a restart kept it from
        writing: the latest outbound call to the task's number that started after the previous
        attempt began and no later than this one (agent first: the call exists before the
        client is dialled, and both times come from the controller's clock)."""
        attempt = task.attempts[-1]
        after = task.attempts[-2].started_at if len(task.attempts) > 1 else task.created_at
        async with self._db.snapshot("finding an interrupted attempt's call") as conn:
            rows = await fetch_rows(
                conn, dict_row, "SELECT c.id AS call_id, c.end_reason, (SELECT r.id FROM "
                "recordings r WHERE r.call_id = c.id ORDER BY r.segment LIMIT 1) AS recording_id "
                "FROM calls c WHERE c.direction = 'outbound' AND c.caller_number = %s "
                "AND c.started_at >= %s AND c.started_at <= %s ORDER BY c.started_at DESC LIMIT 1",
                (task.number, utc(after), utc(attempt.started_at)))
        return LeftBehind(**rows[0]) if rows else None

    async def in_progress(self) -> int:
        """Tasks with a call up: the dialer's count of active outbound calls."""
        count = await self._db.fetch_value(
            "counting outbound calls", "SELECT count(*) FROM dial_tasks WHERE status = %s",
            (s.Status.IN_PROGRESS.value,))
        return int(count or 0)

    async def _tasks(self, tail: LiteralString, params: Sequence[Any]) -> list[s.Task]:
        async with self._db.snapshot("listing dial tasks") as conn:
            return await _load(conn, tail, params)

    # ------------------------------------------------------------------------------ writes
    async def add(self, tasks: Sequence[s.Task]) -> None:
        """All of `tasks` or none (one transaction): an import never half-lands."""
        rows = [(t.id, t.number, t.client_ref, t.client_name, t.agent, t.business_unit,
                 t.voicemail.value, t.status.value, _utc(t.next_due), utc(t.created_at))
                for t in tasks]
        async with self._db.transaction("adding dial tasks") as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO dial_tasks (id, number, client_ref, client_name, agent, "
                "business_unit, voicemail, status, next_due, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)

    async def cancel(self, task_id: UUID, at: datetime, reason: str = "cancelled") -> s.Task:
        async with self._db.transaction("cancelling a dial task") as conn:
            task = s.cancel(await _locked(conn, task_id), utc(at), reason)
            await _save_task(conn, task)
        return task

    async def begin_attempt(self, task_id: UUID, at: datetime, config: DialerConfig) -> s.Task:
        """Record attempt n+1 as started -- BEFORE dialling: if this is refused, do not dial."""
        async with self._db.transaction("starting a dial attempt") as conn:
            task = s.begin_attempt(await _locked(conn, task_id), utc(at), config)
            attempt = task.attempts[-1]
            await conn.execute(
                "INSERT INTO dial_attempts (task_id, n, started_at) VALUES (%s, %s, %s)",
                (task_id, attempt.n, attempt.started_at))
            await _save_task(conn, task)
        return task

    async def finish_attempt(self, task_id: UUID, outcome: s.Outcome, at: datetime,
                             config: DialerConfig, *, amd_verdict: str | None = None,
                             amd_cause: str | None = None,
                             recording_id: UUID | None = None) -> s.Task:
        async with self._db.transaction("finishing a dial attempt") as conn:
            task = s.after_attempt(await _locked(conn, task_id), outcome, utc(at), config)
            attempt = task.attempts[-1]
            await conn.execute(
                "UPDATE dial_attempts SET ended_at = %s, outcome = %s, amd_verdict = %s, "
                "amd_cause = %s, recording_id = COALESCE(%s, recording_id) "
                "WHERE task_id = %s AND n = %s",
                (attempt.ended_at, outcome.value, amd_verdict, amd_cause, recording_id,
                 task_id, attempt.n))
            await _save_task(conn, task)
        return task

    async def attach_call(self, task_id: UUID, n: int, call_id: UUID) -> None:
        """The `calls` row of attempt n (created by the controller when it dials)."""
        await self._db.execute_one(
            "linking a dial attempt to its call", f"attempt {n} of task {task_id}",
            "UPDATE dial_attempts SET call_id = %s WHERE task_id = %s AND n = %s",
            (call_id, task_id, n))

    async def voicemail_left(self, task_id: UUID, n: int, voicemail: Voicemail, prompt: str,
                             at: datetime) -> None:
        """Which script was left on attempt n, its words as rendered, the prompt, when."""
        await self._db.execute_one(
            "recording a voicemail drop", f"attempt {n} of task {task_id}",
            "UPDATE dial_attempts SET script_kind = %s, script_text = %s, prompt = %s, "
            "script_at = %s WHERE task_id = %s AND n = %s AND ended_at IS NULL",
            (voicemail.kind.value, voicemail.text, prompt, utc(at), task_id, n))

    async def attempt_of_call(self, call_id: UUID) -> tuple[s.Task, AttemptDetail] | None:
        """The attempt that placed outbound call `call_id`, with its task (`callrec calls show`).
        None when no attempt cites the call: an inbound call, an outbound call still in progress
        (the link is written when it ends) or one that never reached the dialling step."""
        async with self._db.snapshot("reading a call's dial attempt") as conn:
            rows = await fetch_rows(conn, dict_row, "SELECT " + _ATTEMPT_COLUMNS +
                                    " FROM dial_attempts WHERE call_id = %s "
                                    "ORDER BY started_at DESC, n DESC LIMIT 1", (call_id,))
            if not rows:
                return None
            tasks = await _load(conn, "WHERE id = %s", (rows[0]["task_id"],))
        return tasks[0], AttemptDetail(**rows[0])


# --------------------------------------------------------------------------------- helpers
async def _locked(conn: AsyncConnection, task_id: UUID) -> s.Task:
    tasks = await _load(conn, "WHERE id = %s FOR UPDATE", (task_id,))
    if not tasks:
        raise DialerError(f"no dial task {task_id}")
    return tasks[0]


async def _load(conn: AsyncConnection, tail: LiteralString, params: Sequence[Any]
                ) -> list[s.Task]:
    rows = await fetch_rows(conn, dict_row, "SELECT " + _TASK_COLUMNS + " FROM dial_tasks " +
                            tail, params)
    if not rows:
        return []
    attempts = await fetch_rows(
        conn, dict_row, "SELECT task_id, n, started_at, ended_at, outcome FROM dial_attempts "
        "WHERE task_id = ANY(%s) ORDER BY task_id, n", ([r["id"] for r in rows],))
    by_task: dict[UUID, list[s.Attempt]] = {}
    for a in attempts:
        outcome = None if a["outcome"] is None else s.Outcome(a["outcome"])
        by_task.setdefault(a["task_id"], []).append(
            s.Attempt(a["n"], a["started_at"], a["ended_at"], outcome))
    return [_task(r, tuple(by_task.get(r["id"], ()))) for r in rows]


def _task(row: dict[str, Any], attempts: tuple[s.Attempt, ...]) -> s.Task:
    return s.Task(
        id=row["id"], number=row["number"], client_ref=row["client_ref"],
        business_unit=row["business_unit"], created_at=row["created_at"],
        next_due=row["next_due"], agent=row["agent"], client_name=row["client_name"],
        voicemail=s.VoicemailMode(row["voicemail"]), status=s.Status(row["status"]),
        attempts=attempts, close_reason=row["close_reason"], closed_at=row["closed_at"])


async def _save_task(conn: AsyncConnection, task: s.Task) -> None:
    await conn.execute(
        "UPDATE dial_tasks SET status = %s, next_due = %s, close_reason = %s, closed_at = %s "
        "WHERE id = %s",
        (task.status.value, _utc(task.next_due), task.close_reason, _utc(task.closed_at),
         task.id))


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at)
