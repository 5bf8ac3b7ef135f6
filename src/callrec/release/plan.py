"""PURE planning of a client copy: which parts of the recording are kept, cut or redacted.

Everything is in milliseconds of ORIGINAL recording time (the time base of the stored hold offsets
and of what the reviewer heard). The plan tiles the whole recording: every millisecond belongs to
exactly one piece, so what was cut and what was redacted stays documented in the stored edit list.

Precedence: a hold is CUT (the client was not in the conversation: music on hold), a redaction is
REDACTED (replaced, so the copy's timing stays truthful about a gap), everything else is KEPT.
Where a redaction overlaps a hold, the overlap is cut: nothing of it remains either way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from callrec.release.errors import PlanError

HoldOffsets = tuple[int, int | None]  # (start_offset_ms, end_offset_ms or None = to the end)

_TIME = r"(?:(\d+):)?(\d{1,3}):(\d{2})(?:\.(\d{1,3}))?"
_SPAN = re.compile(rf"^\s*{_TIME}\s*-\s*{_TIME}\s*$")


class PieceKind(StrEnum):
    KEEP = "keep"
    REDACT = "redact"
    CUT = "cut"


@dataclass(frozen=True, order=True)
class Span:
    """A half-open interval [start_ms, end_ms) of original recording time."""

    start_ms: int
    end_ms: int

    def __str__(self) -> str:
        return f"{format_ms(self.start_ms)}-{format_ms(self.end_ms)}"


@dataclass(frozen=True)
class Piece:
    kind: PieceKind
    start_ms: int
    end_ms: int

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class EditPlan:
    duration_ms: int
    pieces: tuple[Piece, ...]

    @property
    def output_duration_ms(self) -> int:
        return sum(p.length_ms for p in self.pieces if p.kind is not PieceKind.CUT)

    def as_json(self) -> list[dict[str, Any]]:
        """The edit list as stored with the release: source times and where each lands."""
        rows, out = [], 0
        for p in self.pieces:
            at = None if p.kind is PieceKind.CUT else out
            rows.append({"kind": p.kind.value, "source_start_ms": p.start_ms,
                         "source_end_ms": p.end_ms, "output_start_ms": at})
            out += 0 if p.kind is PieceKind.CUT else p.length_ms
        return rows


def format_ms(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def parse_time(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> int:
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise PlanError(f"seconds/minutes must be below 60 in {minutes}:{seconds}")
    ms = int((fraction or "").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def parse_span(text: str) -> Span:
    """``MM:SS-MM:SS`` (also ``H:MM:SS`` and ``.mmm`` fractions), e.g. ``01:23-01:41``."""
    match = _SPAN.match(text)
    if match is None:
        raise PlanError(f"not a span {text!r}: expected MM:SS-MM:SS, e.g. 01:23-01:41")
    g = match.groups()
    start, end = parse_time(*g[:4]), parse_time(*g[4:])
    if end <= start:
        raise PlanError(f"span {text!r} ends before it starts")
    return Span(start, end)


def plan_release(
    duration_ms: int, holds: Iterable[HoldOffsets], redactions: Iterable[Span]
) -> EditPlan:
    """The edit list for a recording of ``duration_ms``.

    Hold offsets come from PBX timestamps and may overshoot the file by a frame or start a few ms
    before it (the hold began as the recording did): they are clamped to the recording. Redactions
    are the reviewer's input: one that does not lie within the recording is an error, because
    silently clipping it could leave audio the reviewer meant to remove.
    """
    if duration_ms <= 0:
        raise PlanError("the recording is empty: nothing to release")
    cuts = _union(_hold_span(h, duration_ms) for h in holds)
    redacted = _union(_checked_redaction(r, duration_ms) for r in redactions)
    plan = EditPlan(duration_ms, _tile(duration_ms, cuts, redacted))
    if plan.output_duration_ms == 0:
        raise PlanError("the whole recording is on hold: nothing left to release")
    return plan


def _hold_span(hold: HoldOffsets, duration_ms: int) -> Span | None:
    start, end = hold
    end = duration_ms if end is None else end
    if end < start:
        raise PlanError(f"hold offsets inverted ({start} ms > {end} ms): evidence needs review")
    start, end = max(0, start), min(duration_ms, end)
    return Span(start, end) if start < end else None


def _checked_redaction(span: Span, duration_ms: int) -> Span:
    if span.start_ms < 0 or span.end_ms <= span.start_ms:
        raise PlanError(f"redaction {span} is not a forward span")
    if span.end_ms > duration_ms:
        raise PlanError(
            f"redaction {span} goes beyond the end of the recording ({format_ms(duration_ms)})"
        )
    return span


def _union(spans: Iterable[Span | None]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for s in sorted(s for s in spans if s is not None):
        if merged and s.start_ms <= merged[-1].end_ms:
            merged[-1] = Span(merged[-1].start_ms, max(merged[-1].end_ms, s.end_ms))
        else:
            merged.append(s)
    return tuple(merged)


def _tile(duration_ms: int, cuts: Sequence[Span], redacted: Sequence[Span]) -> tuple[Piece, ...]:
    """Split [0, duration) at every boundary, classify each piece, merge equal neighbours."""
    edges = sorted({0, duration_ms, *(e for s in (*cuts, *redacted)
                                      for e in (s.start_ms, s.end_ms))})
    pieces: list[Piece] = []
    for start, end in itertools.pairwise(edges):
        kind = (PieceKind.CUT if _covers(cuts, start) else
                PieceKind.REDACT if _covers(redacted, start) else PieceKind.KEEP)
        if pieces and pieces[-1].kind is kind:
            pieces[-1] = Piece(kind, pieces[-1].start_ms, end)
        else:
            pieces.append(Piece(kind, start, end))
    return tuple(pieces)


def _covers(spans: Sequence[Span], at: int) -> bool:
    return any(s.start_ms <= at < s.end_ms for s in spans)
