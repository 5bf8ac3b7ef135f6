"""PURE: a call's evidence (`CallDetail`) as a picture's worth of data: phase spans, announcements,
agents in the bridge, recorded spans, holds and transfer markers, in seconds from the call's start.

The model is also what the picture's sidecar JSON holds, so tests (and auditors) check the data the
picture was drawn from rather than its pixels.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from callrec.store import CallDetail, Hold, Recording

Seconds = Callable[[datetime], float]  # a timestamp as seconds from the call's start

PHASE_PREFIX = "phase:"
TERMINAL_PHASE = "ended"
# What each policy phase is, for a person looking at the picture.
PHASE_LABELS = {
    "announcing": "announcement",
    "identifying": "client number (IVR)",
    "waiting": "waiting, music on hold",
    "connected": "agent talk",
    "unattended": "agent left, cause pending",
    "transferred": "transferred",
}


@dataclass(frozen=True)
class Span:
    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Marker:
    label: str
    at_s: float


@dataclass(frozen=True)
class RecordedSpan:
    recording_id: UUID
    segment: int
    status: str
    start_s: float
    end_s: float
    file: str  # the stereo file if there is one, else the mix: what the waveform is drawn from
    duration_ms: int | None


@dataclass(frozen=True)
class TimelineModel:
    call_id: UUID
    origin: datetime
    end_s: float
    phases: tuple[Span, ...]
    announcements: tuple[Span, ...]
    agents: tuple[Span, ...]
    recorded: tuple[RecordedSpan, ...]
    holds: tuple[Span, ...]
    transfers: tuple[Marker, ...]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON data (lists, strings, numbers): UUIDs and the origin as strings."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self), default=_text))
        return data


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def build_timeline(d: CallDetail) -> TimelineModel:
    origin = d.call.started_at
    end = _last_moment(d)

    def s(at: datetime) -> float:
        return round((at - origin).total_seconds(), 3)

    recorded = tuple(_recorded(r, s, end) for r in d.recordings)
    ends = {r.id: _recording_end(r, end) for r in d.recordings}
    return TimelineModel(
        call_id=d.call.id, origin=origin, end_s=s(end),
        phases=_phases(d, s, end),
        announcements=tuple(Span(a.kind, s(a.started_at), s(a.ended_at or end))
                            for a in d.announcements),
        agents=tuple(Span(g.agent_name, s(g.joined_at), s(g.left_at or end))
                     for g in d.legs if g.joined_at is not None),
        recorded=recorded,
        holds=tuple(Span("hold", s(h.started_at), s(_hold_end(h, ends, end))) for h in d.holds),
        transfers=tuple(Marker(f"{t.kind} transfer" + (f" to {t.target}" if t.target else ""),
                               s(t.at)) for t in d.transfers),
    )


def _phases(d: CallDetail, s: Seconds, end: datetime) -> tuple[Span, ...]:
    """One span per phase change, lasting until the next; repeats of a phase extend it. The
    terminal phase is a moment, not a span: the picture's right edge."""
    changes = [(e.kind.removeprefix(PHASE_PREFIX), e.at) for e in d.events
               if e.kind.startswith(PHASE_PREFIX)]
    spans: list[Span] = []
    for i, (phase, at) in enumerate(changes):
        if phase == TERMINAL_PHASE:
            continue
        until = changes[i + 1][1] if i + 1 < len(changes) else end
        if spans and spans[-1].label == phase:
            spans[-1] = Span(phase, spans[-1].start_s, s(until))
        else:
            spans.append(Span(phase, s(at), s(until)))
    return tuple(spans)


def _recording_end(r: Recording, fallback: datetime) -> datetime:
    """When callrec asked MixMonitor to stop (the first sign the agent left); else when it was
    sealed; else start + measured length; else the call's last known moment."""
    if r.stop_requested_at is not None or r.stopped_at is not None:
        return min(t for t in (r.stop_requested_at, r.stopped_at) if t is not None)
    if r.duration_ms is not None:
        return r.started_at + timedelta(milliseconds=r.duration_ms)
    return fallback


def _recorded(r: Recording, s: Seconds, fallback: datetime) -> RecordedSpan:
    return RecordedSpan(r.id, r.segment, r.status, s(r.started_at), s(_recording_end(r, fallback)),
                        r.file_stereo or r.file_mix, r.duration_ms)


def _hold_end(h: Hold, recording_ends: dict[UUID, datetime], fallback: datetime) -> datetime:
    if h.ended_at is not None:
        return h.ended_at
    if h.recording_id is not None and h.recording_id in recording_ends:
        return recording_ends[h.recording_id]
    return fallback


def _last_moment(d: CallDetail) -> datetime:
    """The call's end, or the latest timestamp anywhere in its evidence (a call still running,
    or one whose end was never recorded)."""
    if d.call.ended_at is not None:
        return d.call.ended_at
    return max(_all_times(d), default=d.call.started_at)


def _all_times(d: CallDetail) -> Iterable[datetime]:
    yield from (e.at for e in d.events)
    yield from (t.at for t in d.transfers)
    for row in (*d.legs, *d.recordings, *d.holds, *d.announcements):
        for value in vars(row).values():
            if isinstance(value, datetime):
                yield value
