"""The controller's account of what it handled: event counts by type and its lag behind Asterisk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from callrec.controller.stats import MAX_LAGS, EventStats

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_counts_by_type_and_lags_by_nearest_rank() -> None:
    stats = EventStats()
    for lag in range(1, 101):  # 1..100 ms late
        stats.handled("StasisStart" if lag % 2 else "ChannelDestroyed", T0,
                      T0 + timedelta(milliseconds=lag))
    summary = json.loads(stats.summary())
    assert summary["events"] == 100 == stats.total
    assert summary["by_type"] == {"StasisStart": 50, "ChannelDestroyed": 50}
    assert summary["lag_ms"] == {"p50": 50.0, "p99": 99.0, "max": 100.0}


def test_no_events_no_lag() -> None:
    assert json.loads(EventStats().summary()) == {
        "events": 0, "by_type": {}, "lag_ms": {"p50": None, "p99": None, "max": None}}


def test_lags_kept_are_bounded_but_every_event_is_counted() -> None:
    stats = EventStats()
    for _ in range(MAX_LAGS + 10):
        stats.handled("Dial", T0, T0)
    assert stats.total == MAX_LAGS + 10
    assert len(stats._lags_ms) == MAX_LAGS
