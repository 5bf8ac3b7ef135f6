"""Calling hours in the business unit's own time zone, daylight saving included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.dialer.errors import SchedulingError
from callrec.dialer.hours import is_allowed, next_allowed
from callrec.dialer.settings import BusinessUnit, Window, weekday_windows
from tests.dialer.conftest import nz

AUCKLAND = BusinessUnit("cc")  # weekdays 08:00-20:00 Pacific/Auckland
# Every day 02:00-04:00: spans both of Auckland's DST changes (02:00->03:00, 03:00->02:00).
NIGHT = BusinessUnit("night", windows=tuple(Window(d, time(2), time(4)) for d in range(7)))


@pytest.mark.parametrize(("local", "allowed"), [
    ((2025, 11, 4, 7, 59, 59), False),   # Tuesday, a second before opening
    ((2025, 11, 4, 8, 0), True),         # opening is inside
    ((2025, 11, 4, 19, 59, 59), True),
    ((2025, 11, 4, 20, 0), False),       # closing is outside: windows are half-open
    ((2025, 11, 8, 10, 0), False),       # Saturday
    ((2025, 11, 9, 10, 0), False),       # Sunday
    ((2025, 6, 2, 8, 30), True),         # winter (NZST, UTC+12) keeps local hours
])
def test_hours_are_local_wall_clock(local: tuple[int, ...], allowed: bool) -> None:
    assert is_allowed(AUCKLAND, nz(*local)) is allowed


def test_the_same_utc_instant_is_inside_for_one_zone_and_outside_for_another() -> None:
    at = nz(2025, 11, 4, 9, 0)  # 9 am Tuesday in Auckland = 8 pm Monday in London
    assert is_allowed(AUCKLAND, at)
    assert not is_allowed(BusinessUnit("uk", timezone="Europe/London"), at)


@pytest.mark.parametrize(("local", "expected"), [
    ((2025, 11, 4, 10, 0), (2025, 11, 4, 10, 0)),   # allowed now: now
    ((2025, 11, 4, 6, 0), (2025, 11, 4, 8, 0)),     # early: this morning
    ((2025, 11, 4, 20, 0), (2025, 11, 5, 8, 0)),    # evening: tomorrow morning
    ((2025, 11, 7, 21, 0), (2025, 11, 10, 8, 0)),   # Friday night: Monday
])
def test_next_allowed(local: tuple[int, ...], expected: tuple[int, ...]) -> None:
    assert next_allowed(AUCKLAND, nz(*local)) == nz(*expected)


def test_a_window_opening_in_the_spring_forward_gap_opens_when_the_clock_gets_there() -> None:
    # Sunday 28 September 2025: 02:00 NZST jumps to 03:00 NZDT; 02:xx never happens.
    opened = next_allowed(NIGHT, datetime(2025, 9, 27, 13, 0, tzinfo=UTC))  # 01:00 NZST
    assert opened == datetime(2025, 9, 27, 14, 0, tzinfo=UTC)  # = 03:00 NZDT
    assert is_allowed(NIGHT, opened)


def sunday(start: time, end: time) -> BusinessUnit:
    return BusinessUnit("sun", windows=(Window(6, start, end),))


@pytest.mark.parametrize(("unit", "at", "opens"), [
    # Window 02:01-03:01 on the spring-forward Sunday (29 Sep 2024): local time jumps from
    # 01:59:59 NZST to 03:00 NZDT, i.e. straight into the window: it opens at the jump.
    (sunday(time(2, 1), time(3, 1)), datetime(2024, 9, 23, 0, 0, tzinfo=UTC),
     datetime(2024, 9, 28, 14, 0, tzinfo=UTC)),
    # Window 02:10-02:50 lies inside the skipped hour that Sunday: the next Sunday it is back.
    (sunday(time(2, 10), time(2, 50)), datetime(2024, 9, 22, 0, 0, tzinfo=UTC),
     datetime(2024, 10, 5, 13, 10, tzinfo=UTC)),
    # Fall-back Sunday (6 Apr 2025), 02:45 NZDT, past a 02:00-02:30 window: at 03:00 NZDT the
    # clock goes back to 02:00 NZST, into the window again.
    (sunday(time(2, 0), time(2, 30)), datetime(2025, 4, 5, 13, 45, tzinfo=UTC),
     datetime(2025, 4, 5, 14, 0, tzinfo=UTC)),
])
def test_windows_around_daylight_saving_changes(unit: BusinessUnit, at: datetime,
                                                opens: datetime) -> None:
    assert next_allowed(unit, at) == opens


def test_the_repeated_hour_of_fall_back_is_inside_both_times() -> None:
    # Sunday 5 April 2026: 03:00 NZDT goes back to 02:00 NZST; 02:30 happens twice.
    first = datetime(2026, 4, 4, 13, 30, tzinfo=UTC)  # 02:30 NZDT
    assert is_allowed(NIGHT, first) and is_allowed(NIGHT, first + timedelta(hours=1))


def test_naive_times_are_refused() -> None:
    with pytest.raises(SchedulingError, match="no time zone"):
        is_allowed(AUCKLAND, datetime(2025, 11, 4, 10, 0))


ZONES = ["Pacific/Auckland", "Pacific/Chatham", "Europe/London", "America/St_Johns", "UTC"]
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1),
                        timezones=st.just(UTC))


@st.composite
def units(draw: st.DrawFn) -> BusinessUnit:
    spans = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 23 * 60),
                                     st.integers(1, 120)), min_size=1, max_size=6))
    windows = tuple(Window(day, time(*divmod(start, 60)),
                           time(*divmod(min(start + length, 24 * 60 - 1), 60)))
                    for day, start, length in spans)
    return BusinessUnit("u", timezone=draw(st.sampled_from(ZONES)), windows=windows)


@settings(deadline=None)  # the minute-by-minute check below can walk two weeks
@given(units(), instants)
def test_next_allowed_is_allowed_and_nothing_earlier_is(unit: BusinessUnit,
                                                         at: datetime) -> None:
    found = next_allowed(unit, at)
    assert found >= at and is_allowed(unit, found)
    # Nothing allowed in between, checked minute by minute from `at` (windows are whole
    # minutes, so a window opening between two probes would be caught at the next one).
    probe = at
    while probe + timedelta(minutes=1) < found:
        probe += timedelta(minutes=1)
        assert not is_allowed(unit, probe)


def test_default_windows_are_monday_to_friday() -> None:
    assert [w.weekday for w in weekday_windows()] == [0, 1, 2, 3, 4]
