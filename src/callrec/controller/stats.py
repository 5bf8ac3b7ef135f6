"""What the controller has handled: ARI events by type, and how late it got to them.

Logged at INFO when the controller stops (and readable at any time), so an operator - or the load
benchmark - sees the event volume and the controller's lag without DEBUG logging, which costs more
CPU than the figures it would give.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Final

# Lags kept for the percentiles: enough for a busy day's p99 to be sound, bounded in memory.
MAX_LAGS: Final = 200_000


class EventStats:
    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()
        self._lags_ms: list[float] = []

    def handled(self, event_type: str, stamped: datetime, now: datetime) -> None:
        """An event Asterisk stamped at ``stamped`` was handed to the controller at ``now``."""
        self.by_type[event_type] += 1
        if len(self._lags_ms) < MAX_LAGS:
            self._lags_ms.append((now - stamped).total_seconds() * 1000)

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def lag_ms(self, quantile: float) -> float | None:
        """The lag (ms) at ``quantile`` (0..1) of the events kept, nearest rank; None if none."""
        if not self._lags_ms:
            return None
        ordered = sorted(self._lags_ms)
        rank = min(len(ordered) - 1, max(0, round(quantile * len(ordered)) - 1))
        return round(ordered[rank], 1)

    def summary(self) -> str:
        """One line of JSON: {"events": N, "by_type": {...}, "lag_ms": {"p50", "p99", "max"}}."""
        return json.dumps({
            "events": self.total,
            "by_type": dict(self.by_type.most_common()),
            "lag_ms": {"p50": self.lag_ms(0.5), "p99": self.lag_ms(0.99),
                       "max": self.lag_ms(1.0)},
        })
