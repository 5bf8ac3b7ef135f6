"""Summaries of repeated timings: medians, percentiles and the spread around them.

Nearest-rank percentiles, not interpolated ones: with 30 samples an interpolated p95 is a value no
query ever took, and these numbers are compared against a target one query must meet.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Seconds (or any unit the caller chose) over ``n`` repetitions."""

    n: int
    median: float
    p95: float
    minimum: float
    maximum: float

    @property
    def spread(self) -> float:
        """(max - min) / median: how much the repetitions disagreed, as a fraction."""
        return (self.maximum - self.minimum) / self.median if self.median else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "spread": self.spread}


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarise(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("nothing to summarise")
    return Summary(len(values), statistics.median(values), percentile(values, 0.95),
                   min(values), max(values))


def wall(work: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``work``."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def interleaved(candidates: dict[str, Callable[[], object]], repeats: int,
                warmup: int = 1) -> dict[str, list[float]]:
    """Time each candidate ``repeats`` times, alternating A B C A B C..., so that a slow spell of
    the machine (another process, the page cache) lands on every candidate alike."""
    for _ in range(warmup):
        for work in candidates.values():
            work()
    timings: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, work in candidates.items():
            timings[name].append(wall(work))
    return timings
