"""PURE: does a recording agree with its call's timeline? One function over one recording's facts,
returning findings (empty = consistent).

The rules (README, "The recorded duration is checked..."): a recording starts no earlier than its
agent joined the bridge and ends no later than the agent left, each within one 20 ms audio frame
(the timestamps are Asterisk's own, but MixMonitor works in whole frames); its file exists, is not
empty or silent, matches its SHA-256; and it is not longer than the agent's time in the bridge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from callrec.audio import FileFacts
from callrec.store import AgentLeg, Recording
from callrec.store.models import OPEN_RECORDING_STATUSES

FRAME = timedelta(milliseconds=20)
FRAME_MS = 20
# Deleted on purpose by retention: nothing left to verify (the disposal record is the evidence).
SKIPPED_STATUSES = frozenset({"purged"})
# Sealed, but not as intended: each is worth a person's look.
STATUS_FINDINGS = {
    "failed": "MixMonitor could not be started or the file never appeared",
    "interrupted": "interrupted (callrec restarted mid-call and could not prove the recording)",
    "incomplete": "Asterisk never closed the file; its header was repaired",
}


@dataclass(frozen=True)
class FileObservation:
    """What was found on disk for a recording's file. `problem` says why there are no facts."""

    path: str
    facts: FileFacts | None
    silent: bool | None
    problem: str | None = None  # "missing" | "empty" | "unreadable"
    reason: str = ""  # why unreadable


@dataclass(frozen=True)
class Finding:
    recording_id: UUID
    call_id: UUID
    code: str
    message: str


def in_progress(rec: Recording, leg: AgentLeg | None) -> bool:
    """Still being recorded: the agent is in the bridge and the file is open. Not checked yet."""
    return rec.status in OPEN_RECORDING_STATUSES and leg is not None and leg.left_at is None


def check_recording(rec: Recording, leg: AgentLeg | None, file: FileObservation | None
                    ) -> list[Finding]:
    if rec.status in SKIPPED_STATUSES or in_progress(rec, leg):
        return []
    # A failed recording has no file by definition: the status is the finding.
    files = [] if rec.status == "failed" else _file(rec, file)
    found = [*_status(rec), *_timing(rec, leg), *files]
    return [Finding(rec.id, rec.call_id, code, message) for code, message in found]


def _status(rec: Recording) -> list[tuple[str, str]]:
    if rec.status in OPEN_RECORDING_STATUSES:
        return [("not_finalised", f"status still {rec.status!r} although the agent has left")]
    if rec.status in STATUS_FINDINGS:
        return [(rec.status, STATUS_FINDINGS[rec.status])]
    return []


def _timing(rec: Recording, leg: AgentLeg | None) -> list[tuple[str, str]]:
    if leg is None:
        return [("no_agent_leg", "recording is not tied to an agent leg")]
    found: list[tuple[str, str]] = []
    if leg.joined_at is None:
        found.append(("agent_never_joined", f"agent {leg.agent_name} has no bridge join time"))
    elif rec.started_at < leg.joined_at - FRAME:
        early = _ms(leg.joined_at - rec.started_at)
        found.append(("started_before_agent_joined",
                      f"started {early} ms before {leg.agent_name} joined"))
    end = _stop(rec)
    if end is None:
        found.append(("no_stop_time", "no stop request or stop time recorded"))
    if leg.left_at is None:
        found.append(("agent_leave_unknown", f"no time for {leg.agent_name} leaving the bridge"))
    elif end is not None and end > leg.left_at + FRAME:
        found.append(("stopped_after_agent_left",
                      f"stopped {_ms(end - leg.left_at)} ms after {leg.agent_name} left"))
    bridge = _bridge_ms(leg)
    recorded = rec.duration_ms
    if bridge is not None and recorded is not None and recorded > bridge + FRAME_MS:
        found.append(("longer_than_bridge",
                      f"recorded {recorded} ms, agent in the bridge only {bridge} ms"))
    return found


def _file(rec: Recording, file: FileObservation | None) -> list[tuple[str, str]]:
    if file is None or file.problem == "missing":
        return [("file_missing", f"{rec.file_mix} does not exist")]
    if file.problem == "empty":
        return [("file_empty", f"{file.path} is empty (0 bytes)")]
    if file.facts is None:
        return [("file_unreadable", f"{file.path}: {file.reason or 'unreadable'}")]
    found: list[tuple[str, str]] = []
    if file.facts.frames == 0:
        found.append(("file_empty", f"{file.path} holds no audio"))
    elif file.silent:
        found.append(("file_silent", f"{file.path} is silent throughout"))
    if rec.sha256 is None:
        found.append(("no_fingerprint", "no SHA-256 was recorded at finalisation"))
    elif file.facts.sha256 != rec.sha256:
        was, now = rec.sha256[:12], file.facts.sha256[:12]
        found.append(("hash_mismatch", f"{file.path}: SHA-256 {now}… but {was}… recorded"))
    if rec.duration_ms is not None and file.facts.duration_ms != rec.duration_ms:
        lasts = file.facts.duration_ms
        found.append(("duration_mismatch", f"file lasts {lasts} ms, {rec.duration_ms} recorded"))
    return found


def _stop(rec: Recording) -> datetime | None:
    """The earlier of the stop request and the stop: the moment callrec ended the recording."""
    known = [t for t in (rec.stop_requested_at, rec.stopped_at) if t is not None]
    return min(known) if known else None


def _bridge_ms(leg: AgentLeg) -> int | None:
    if leg.joined_at is None or leg.left_at is None:
        return None
    return _ms(leg.left_at - leg.joined_at)


def _ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)
