"""The edit plan of a client copy, as a table: what is kept, cut (holds) and redacted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.release.plan import (
    EditPlan,
    PieceKind,
    PlanError,
    Span,
    parse_span,
    plan_release,
)

K, C, R = PieceKind.KEEP, PieceKind.CUT, PieceKind.REDACT


def pieces(plan: EditPlan) -> list[tuple[PieceKind, int, int]]:
    return [(p.kind, p.start_ms, p.end_ms) for p in plan.pieces]


@pytest.mark.parametrize(
    ("case", "holds", "redactions", "expected"),
    [
        ("nothing to do", [], [], [(K, 0, 10_000)]),
        ("one hold in the middle", [(2000, 5000)], [], [(K, 0, 2000), (C, 2000, 5000),
                                                        (K, 5000, 10_000)]),
        ("hold at the start", [(0, 1000)], [], [(C, 0, 1000), (K, 1000, 10_000)]),
        ("hold starting a few ms before the recording is clamped", [(-15, 1000)], [],
         [(C, 0, 1000), (K, 1000, 10_000)]),
        ("hold running past the end is clamped", [(9000, 10_020)], [],
         [(K, 0, 9000), (C, 9000, 10_000)]),
        ("hold still on when the recording stopped (no end offset)", [(8000, None)], [],
         [(K, 0, 8000), (C, 8000, 10_000)]),
        ("hold entirely after the end is ignored", [(10_000, 10_500)], [], [(K, 0, 10_000)]),
        ("overlapping holds merge", [(1000, 3000), (2500, 4000)], [],
         [(K, 0, 1000), (C, 1000, 4000), (K, 4000, 10_000)]),
        ("touching holds merge", [(1000, 2000), (2000, 3000)], [],
         [(K, 0, 1000), (C, 1000, 3000), (K, 3000, 10_000)]),
        ("one redaction", [], [Span(1000, 2000)],
         [(K, 0, 1000), (R, 1000, 2000), (K, 2000, 10_000)]),
        ("redaction up to the very end", [], [Span(9000, 10_000)],
         [(K, 0, 9000), (R, 9000, 10_000)]),
        ("overlapping redactions merge", [], [Span(1000, 3000), Span(2000, 4000)],
         [(K, 0, 1000), (R, 1000, 4000), (K, 4000, 10_000)]),
        ("redaction overlapping the start of a hold: the overlap is cut", [(3000, 6000)],
         [Span(2000, 4000)], [(K, 0, 2000), (R, 2000, 3000), (C, 3000, 6000), (K, 6000, 10_000)]),
        ("redaction spanning a whole hold: redacted on both sides", [(3000, 4000)],
         [Span(2000, 5000)], [(K, 0, 2000), (R, 2000, 3000), (C, 3000, 4000), (R, 4000, 5000),
                              (K, 5000, 10_000)]),
        ("redaction inside a hold disappears with it", [(3000, 6000)], [Span(4000, 5000)],
         [(K, 0, 3000), (C, 3000, 6000), (K, 6000, 10_000)]),
        ("unsorted input", [(7000, 8000), (1000, 2000)], [Span(5000, 5500), Span(3000, 3500)],
         [(K, 0, 1000), (C, 1000, 2000), (K, 2000, 3000), (R, 3000, 3500), (K, 3500, 5000),
          (R, 5000, 5500), (K, 5500, 7000), (C, 7000, 8000), (K, 8000, 10_000)]),
    ],
)
def test_plan(case: str, holds: list[tuple[int, int | None]], redactions: list[Span],
              expected: list[tuple[PieceKind, int, int]]) -> None:
    assert pieces(plan_release(10_000, holds, redactions)) == expected, case


@pytest.mark.parametrize(
    ("holds", "redactions", "message"),
    [
        ([], [Span(9000, 10_001)], "beyond the end of the recording"),
        ([], [Span(12_000, 13_000)], r"beyond the end of the recording \(00:10.000\)"),
        ([(5000, 4000)], [], "hold offsets inverted"),
        ([(0, None)], [], "nothing left to release"),
        ([(0, 4000), (4000, 10_000)], [], "nothing left to release"),
    ],
)
def test_plan_refuses(holds: list[tuple[int, int | None]], redactions: list[Span],
                      message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_release(10_000, holds, redactions)


def test_empty_recording_is_refused() -> None:
    with pytest.raises(PlanError, match="empty"):
        plan_release(0, [], [])


def test_edit_list_json_says_where_each_piece_lands() -> None:
    plan = plan_release(10_000, [(2000, 5000)], [Span(6000, 7000)])
    assert plan.as_json() == [
        {"kind": "keep", "source_start_ms": 0, "source_end_ms": 2000, "output_start_ms": 0},
        {"kind": "cut", "source_start_ms": 2000, "source_end_ms": 5000, "output_start_ms": None},
        {"kind": "keep", "source_start_ms": 5000, "source_end_ms": 6000, "output_start_ms": 2000},
        {"kind": "redact", "source_start_ms": 6000, "source_end_ms": 7000,
         "output_start_ms": 3000},
        {"kind": "keep", "source_start_ms": 7000, "source_end_ms": 10_000,
         "output_start_ms": 4000},
    ]
    assert plan.output_duration_ms == 7000


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("01:23-01:41", Span(83_000, 101_000)),
        ("0:05-0:06", Span(5000, 6000)),
        (" 00:01.5 - 00:02.25 ", Span(1500, 2250)),
        ("1:02:03-1:02:04.001", Span(3_723_000, 3_724_001)),
        ("90:00-91:00", Span(5_400_000, 5_460_000)),
    ],
)
def test_parse_span(text: str, span: Span) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("83-101", "expected MM:SS-MM:SS"),
        ("01:23", "expected MM:SS-MM:SS"),
        ("01:23-", "expected MM:SS-MM:SS"),
        ("aa:bb-cc:dd", "expected MM:SS-MM:SS"),
        ("01:41-01:23", "ends before it starts"),
        ("01:23-01:23", "ends before it starts"),
        ("00:75-01:00", "below 60"),
        ("1:75:00-2:00:00", "below 60"),
        ("00:01.1234-00:02", "expected MM:SS-MM:SS"),
    ],
)
def test_parse_span_rejects(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_span(text)


spans = st.tuples(st.integers(-500, 12_000), st.integers(0, 3000)).map(
    lambda t: (t[0], t[0] + t[1]))


@given(
    duration=st.integers(1, 10_000),
    holds=st.lists(spans, max_size=5),
    redactions=st.lists(spans, max_size=5),
)
def test_plan_tiles_the_recording_and_never_keeps_a_held_or_redacted_ms(
    duration: int, holds: list[tuple[int, int]], redactions: list[tuple[int, int]]
) -> None:
    reds = [Span(max(0, s), min(e, duration)) for s, e in redactions]
    reds = [r for r in reds if r.start_ms < r.end_ms]
    try:
        plan = plan_release(duration, holds, reds)
    except PlanError as exc:
        assert "nothing left" in str(exc)
        return
    assert plan.pieces[0].start_ms == 0 and plan.pieces[-1].end_ms == duration
    for a, b in zip(plan.pieces, plan.pieces[1:]):
        assert a.end_ms == b.start_ms and a.kind is not b.kind
    edges = {0, *(t for s, e in [*holds, *((r.start_ms, r.end_ms) for r in reds)]
                  for t in (s, e - 1, e) if 0 <= t < duration)}
    for t in sorted(edges):
        [piece] = [p for p in plan.pieces if p.start_ms <= t < p.end_ms]
        held = any(s <= t < e for s, e in holds)
        redacted = any(r.start_ms <= t < r.end_ms for r in reds)
        assert piece.kind is (C if held else R if redacted else K), t
