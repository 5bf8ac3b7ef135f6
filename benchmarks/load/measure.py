"""Per-call numbers from Asterisk's own timestamps, and their percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import soundfile

from benchmarks.load.ami import Message


def ami_time(event: Message) -> datetime:
    """AMI `Timestamp: 1732270000.123456` (epoch seconds, µs) as a UTC datetime."""
    return datetime.fromtimestamp(float(event["Timestamp"]), UTC)


def ms(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() * 1000, 3)


def first_by(events: Sequence[Message], key: str) -> dict[str, Message]:
    """The first event per value of header `key` (events are in arrival order)."""
    found: dict[str, Message] = {}
    for event in events:
        found.setdefault(event.get(key, ""), event)
    return found


def file_closed(path: str | Path | None) -> datetime | None:
    """When MixMonitor last wrote the file (its header is rewritten at close): the kernel's mtime,
    same clock as Asterisk's (the sandbox's Asterisks run in a chroot on this host)."""
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC) if path else None
    except OSError:
        return None


def wav_ms(path: Path) -> float | None:
    try:
        info = soundfile.info(str(path))
    except (OSError, RuntimeError):
        return None
    return round(info.frames / info.samplerate * 1000, 3)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every reported value was measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float | None]) -> dict[str, float | int | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "min": None}
    return {"n": len(present), "min": min(present), "p50": percentile(present, 50),
            "p95": percentile(present, 95), "p99": percentile(present, 99), "max": max(present)}
