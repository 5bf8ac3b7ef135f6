"""Calling hours: is an instant inside a business unit's windows, and when do they next open.

Windows are wall-clock times in the unit's IANA zone, so "08:00-20:00" stays 08:00-20:00 local
across daylight-saving changes. The single test of "allowed" is `is_allowed` (local weekday and
time of day). `next_allowed` looks for the first instant after `at` where that test turns true,
which can only be where local time reaches a window's start (either reading of an ambiguous
local time) or where the clock jumps (a DST change: 02:30 never happens on the spring-forward
night, so a window opening then opens at the jump; on the fall-back night the clock may jump
back INTO a window). It checks those candidates in order with `is_allowed` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from callrec.dialer.errors import SchedulingError
from callrec.dialer.settings import BusinessUnit

# A weekly window lost to a DST gap (it lies inside the skipped hour) is back a week later.
_HORIZON = timedelta(days=15)
_SCAN = timedelta(hours=1)  # no zone changes its offset twice within an hour


def aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise SchedulingError(f"{at.isoformat()} has no time zone: dialer times must be aware")
    return at


def is_allowed(unit: BusinessUnit, at: datetime) -> bool:
    local = aware(at).astimezone(unit.zone)
    clock = local.time()
    return any(w.weekday == local.weekday() and w.start <= clock < w.end for w in unit.windows)


def next_allowed(unit: BusinessUnit, at: datetime) -> datetime:
    """`at` itself when calls may start then, else the next window opening (in UTC)."""
    if is_allowed(unit, at):
        return at
    until = at + _HORIZON
    candidates = sorted({c for c in (*_window_starts(unit, at), *_transitions(unit.zone, at, until))
                         if at < c <= until})
    for candidate in candidates:
        if is_allowed(unit, candidate):
            return candidate
    raise SchedulingError(f"business unit {unit.name!r}: no calling window within "
                          f"{_HORIZON.days} days of {at.isoformat()}")


def _window_starts(unit: BusinessUnit, at: datetime) -> Iterator[datetime]:
    first = at.astimezone(unit.zone).date() - timedelta(days=1)
    for offset in range(_HORIZON.days + 2):
        day = first + timedelta(days=offset)
        for w in unit.windows:
            if w.weekday == day.weekday():
                local = datetime.combine(day, w.start, tzinfo=unit.zone)
                for fold in (0, 1):  # both readings of a local time the fall-back repeats
                    yield local.replace(fold=fold).astimezone(UTC)


def _transitions(zone: ZoneInfo, start: datetime, until: datetime) -> Iterator[datetime]:
    """The instants in (start, until] where `zone`'s UTC offset changes, to the second."""
    t = start.astimezone(UTC).replace(microsecond=0)
    while t < until:
        step = t + _SCAN
        if _offset(zone, t) != _offset(zone, step):
            yield _bisect(zone, t, step)
        t = step


def _bisect(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first second with `after`'s offset (tz database transitions fall on whole seconds)."""
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) // 2
        middle = middle.replace(microsecond=0)
        if _offset(zone, middle) == _offset(zone, before):
            before = middle
        else:
            after = middle
    return after


def _offset(zone: ZoneInfo, at: datetime) -> timedelta | None:
    return at.astimezone(zone).utcoffset()
