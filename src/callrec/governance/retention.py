"""Retention: which recordings have outlived their class, and their disposal.

The class of a recording comes from its call's queue, else its business unit, else the default
(pure: `retention_class`, `verdict`). A run plans in one transaction, then purges each recording in
a transaction of its own: lock the row, re-check status and legal hold (a hold placed after the
plan still wins), delete the files, mark the row 'purged', write the disposal and the audit row.
Interrupting a run loses at most the recording in progress, whose files may already be gone; a
re-run finds it still 'complete' and records those files as missing. Safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from callrec.governance import store as q
from callrec.governance.access import Action, decide
from callrec.governance.service import Governance
from callrec.governance.settings import RetentionConfig
from callrec.store.errors import StoreError

PURGEABLE = ("complete", "incomplete")


@dataclass(frozen=True)
class Verdict:
    recording_id: UUID
    retention_class: str
    days: int
    started_at: datetime
    expires_at: datetime

    def due(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class Outcome:
    recording_id: UUID
    purged: bool
    note: str  # what happened, for the progress log
    files: tuple[tuple[str, str], ...] = ()  # (path, "deleted" | "missing")


@dataclass(frozen=True)
class RetentionReport:
    dry_run: bool
    due: tuple[Verdict, ...]
    outcomes: tuple[Outcome, ...]

    @property
    def purged(self) -> int:
        return sum(1 for o in self.outcomes if o.purged)


def retention_class(queue: str | None, business_unit: str | None, cfg: RetentionConfig) -> str:
    by_queue, by_unit = dict(cfg.queues), dict(cfg.business_units)
    if queue and queue in by_queue:
        return by_queue[queue]
    if business_unit and business_unit in by_unit:
        return by_unit[business_unit]
    return cfg.default_class


def verdict(ref: q.RecordingRef, cfg: RetentionConfig) -> Verdict:
    name = retention_class(ref.queue, ref.business_unit, cfg)
    days = cfg.days(name)
    return Verdict(ref.id, name, days, ref.started_at, ref.started_at + timedelta(days=days))


def shortest_cutoff(cfg: RetentionConfig, now: datetime) -> datetime:
    """Nothing started after this can be due under any class: the database filters on it."""
    return now - timedelta(days=min(days for _, days in cfg.classes))


async def plan(gov: Governance, cfg: RetentionConfig, *, dry_run: bool) -> tuple[Verdict, ...]:
    """The recordings due for disposal now (admins only; audited, dry run or not)."""
    action = Action.RETENTION_PLAN if dry_run else Action.RETENTION_PURGE
    async with gov.attempt(action) as att:
        att.require(decide(action, att.user, att.at), dry_run=dry_run)
        candidates = await q.purge_candidates(att.conn, shortest_cutoff(cfg, att.at))
        due = tuple(v for v in (verdict(c, cfg) for c in candidates) if v.due(att.at))
        classes = sorted({v.retention_class for v in due})
        await att.granted(phase="plan", dry_run=dry_run, due=len(due), classes=classes)
        return due


def delete_files(paths: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Delete each file; one already gone (an interrupted earlier run) is recorded as missing."""
    done = []
    for path in paths:
        try:
            Path(path).unlink()
            done.append((path, "deleted"))
        except FileNotFoundError:
            done.append((path, "missing"))
    return tuple(done)


async def purge_one(gov: Governance, v: Verdict, cfg: RetentionConfig) -> Outcome:
    async with gov.attempt(Action.RETENTION_PURGE, v.recording_id) as att:
        att.require(decide(Action.RETENTION_PURGE, att.user, att.at))
        ref = await q.recording_ref(att.conn, v.recording_id, lock=True)
        if ref is None or ref.status not in PURGEABLE:
            return Outcome(v.recording_id, False, "already purged or not sealed")
        if await q.active_hold(att.conn, v.recording_id) is not None:
            return Outcome(v.recording_id, False, "under legal hold (placed since the plan)")
        current = verdict(ref, cfg)
        if not current.due(att.at):
            return Outcome(v.recording_id, False, "no longer due")
        files = delete_files(ref.files)
        await q.mark_purged(att.conn, ref.id)
        listed = [{"path": p, "outcome": o} for p, o in files]
        await q.insert_disposal(att.conn, q.Disposal(
            ref.id, att.at, current.retention_class, current.days, gov.actor, ref.sha256, listed))
        await att.granted(retention_class=current.retention_class, days=current.days,
                          sha256=ref.sha256, files=listed)
        return Outcome(ref.id, True, f"purged ({current.retention_class})", files)


async def run(gov: Governance, cfg: RetentionConfig, *, dry_run: bool = False,
              on_plan: Callable[[int], None] = lambda _: None,
              on_outcome: Callable[[Outcome], None] = lambda _: None) -> RetentionReport:
    """Plan, then (unless `dry_run`) purge each due recording. A recording that fails (file
    system or database error) is reported and left for the next run; the others go on."""
    due = await plan(gov, cfg, dry_run=dry_run)
    on_plan(len(due))
    if dry_run:
        return RetentionReport(True, due, ())
    outcomes = []
    for v in due:
        try:
            outcome = await purge_one(gov, v, cfg)
        except (OSError, StoreError) as exc:
            outcome = Outcome(v.recording_id, False, f"failed: {exc}")
        outcomes.append(outcome)
        on_outcome(outcome)
    return RetentionReport(False, due, tuple(outcomes))
