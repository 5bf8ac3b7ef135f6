"""`callrec calls show`: one call's evidence, for a person reading a terminal."""

from __future__ import annotations

from callrec.cli.output import cell, table
from callrec.store import CallDetail


def print_call(d: CallDetail) -> None:
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
