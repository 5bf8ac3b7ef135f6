"""`callrec calls show`: one call's evidence, for a person reading a terminal."""

from __future__ import annotations

from typing import Any

from callrec.cli.output import cell, plain, table
from callrec.dialer.schedule import MAX_ATTEMPTS, Task
from callrec.dialer.store import AttemptDetail
from callrec.store import CallDetail

# An outbound call's dial attempt and its task, None when no attempt cites the call.
Dialled = tuple[Task, AttemptDetail] | None


def call_json(d: CallDetail, dialled: Dialled) -> dict[str, Any]:
    """`calls show --json`: the call's evidence; an outbound call also carries "dialer", the task
    and the attempt that placed it (null when no attempt cites it). Inbound calls: unchanged."""
    shown: dict[str, Any] = plain(d)
    if d.call.direction == "outbound":
        shown["dialer"] = None if dialled is None else {
            "task": {"id": str(dialled[0].id), "client_ref": dialled[0].client_ref,
                     "number": dialled[0].number, "business_unit": dialled[0].business_unit,
                     "status": dialled[0].status.value, "close_reason": dialled[0].close_reason},
            "attempt": plain(dialled[1])}
    return shown


def print_call(d: CallDetail, dialled: Dialled = None) -> None:
    c = d.call
    table(f"Call {c.id}", ["field", "value"], [
        ("direction", c.direction), ("caller", c.caller_number), ("client number", c.client_number),
        ("queue", c.queue), ("started", c.started_at), ("answered", c.answered_at),
        ("ended", c.ended_at), ("outcome", c.outcome), ("reason", c.end_reason),
    ])
    table("Timeline", ["at", "event", "detail"],
          [(e.at, e.kind, e.detail or "") for e in d.events])
    table("Announcement proof", ["kind", "prompt", "started", "ended", "outcome"],
          [(a.kind, a.prompt, a.started_at, a.ended_at, a.outcome) for a in d.announcements])
    table("Agent legs", ["agent", "offered", "answered", "joined", "left", "why", "outcome"],
          [(g.agent_name, g.offered_at, g.answered_at, g.joined_at, g.left_at, g.left_reason,
            g.outcome) for g in d.legs])
    table("Recordings", ["segment", "started", "stopped", "stop reason", "ms", "bytes", "sha256",
                         "status", "file"],
          [(r.segment, r.started_at, r.stopped_at, r.stop_reason, r.duration_ms, r.bytes,
            cell(r.sha256)[:16], r.status, r.file_stereo or r.file_mix) for r in d.recordings])
    if d.holds:
        table("Holds", ["started", "ended", "offset start ms", "offset end ms"],
              [(h.started_at, h.ended_at, h.start_offset_ms, h.end_offset_ms) for h in d.holds])
    if d.transfers:
        table("Transfers", ["at", "kind", "target"], [(t.at, t.kind, t.target) for t in d.transfers])
    if d.call.direction == "outbound":
        print_dial_attempt(dialled)


def print_dial_attempt(dialled: Dialled) -> None:
    """The dialer's evidence for an outbound call: its task and the attempt this call was."""
    if dialled is None:
        table("Dial attempt", ["field", "value"],
              [("attempt", "none cites this call (in progress, or never dialled)")])
        return
    t, a = dialled
    table("Dial task", ["field", "value"], [
        ("task", t.id), ("client ref", t.client_ref), ("number", t.number),
        ("business unit", t.business_unit), ("status", t.status),
        ("closed because", t.close_reason),
    ])
    table(f"Dial attempt {a.n} of {MAX_ATTEMPTS}", ["field", "value"], [
        ("attempt", a.n), ("started", a.started_at), ("ended", a.ended_at),
        ("outcome", a.outcome),
        ("AMD", " ".join(filter(None, (a.amd_verdict, a.amd_cause))) or None),
        ("voicemail script", a.script_kind), ("voicemail left at", a.script_at),
        ("voicemail words", a.script_text), ("recording", a.recording_id),
    ])
