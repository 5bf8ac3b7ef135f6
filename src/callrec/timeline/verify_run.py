"""`verify_all`: every recording (optionally since a time) through the pure checker, with the facts
gathered from the store and the disk. Files are hashed and scanned in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from callrec.audio import AudioError, file_facts, is_silent
from callrec.store import AgentLeg, Store, StoreError
from callrec.timeline.errors import TimelineError
from callrec.timeline.verify import FileObservation, Finding, check_recording

PAGE = 1000


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    findings: tuple[Finding, ...]


def observe(path: str) -> FileObservation:
    p = Path(path)
    try:
        if not p.exists():
            return FileObservation(path, None, None, "missing")
        if p.stat().st_size == 0:
            return FileObservation(path, None, None, "empty")
        return FileObservation(path, file_facts(p), is_silent(p))
    except (AudioError, OSError) as exc:
        return FileObservation(path, None, None, "unreadable", str(exc))


async def verify_all(store: Store, since: datetime | None, until: datetime,
                     observe_file: Callable[[str], FileObservation] = observe) -> VerifyReport:
    """Recordings started in [since, until). `until` (the run's start) freezes the set, so
    recordings arriving meanwhile cannot shift the pages under us."""
    try:
        return await _verify(store, since, until, observe_file)
    except StoreError as exc:
        raise TimelineError(f"database: {exc}") from exc


async def _verify(store: Store, since: datetime | None, until: datetime,
                  observe_file: Callable[[str], FileObservation]) -> VerifyReport:
    legs: dict[UUID, dict[UUID, AgentLeg]] = {}
    findings: list[Finding] = []
    checked, offset = 0, 0
    while True:
        page = await store.list_recordings(since=since, until=until, limit=PAGE, offset=offset)
        for info in page:
            rec = info.recording
            if rec.call_id not in legs:
                legs[rec.call_id] = await _legs(store, rec.call_id)
            leg = legs[rec.call_id].get(rec.agent_leg_id) if rec.agent_leg_id else None
            file = await asyncio.to_thread(observe_file, rec.file_mix)
            findings.extend(check_recording(rec, leg, file))
            checked += 1
        if len(page) < PAGE:
            return VerifyReport(checked, tuple(findings))
        offset += PAGE


async def _legs(store: Store, call_id: UUID) -> dict[UUID, AgentLeg]:
    detail = await store.get_call(call_id)
    return {} if detail is None else {leg.id: leg for leg in detail.legs}
