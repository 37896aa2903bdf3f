"""The cron parser and next-fire calculator, including DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imis_tier.handlers.cron import CronError, CronSchedule

NY = ZoneInfo("America/New_York")


def at(text: str, zone: ZoneInfo = NY, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


def test_fields_lists_ranges_steps_and_names() -> None:
    cron = CronSchedule.parse("*/15 8-18/2 1,15 jan-mar mon-fri")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == {8, 10, 12, 14, 16, 18}
    assert cron.days == {1, 15}
    assert cron.months == {1, 2, 3}
    assert cron.weekdays == {1, 2, 3, 4, 5}
    assert CronSchedule.parse("0 0 * * 7").weekdays == {0}
    assert CronSchedule.parse("5/20 * * * *").minutes == {5, 25, 45}
    assert CronSchedule.parse("@daily").hours == {0}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 fields"),
        ("60 * * * *", "minute field: 60 is outside 0-59"),
        ("* 24 * * *", "hour field"),
        ("* * 0 * *", "day-of-month field"),
        ("* * * foo *", "month field: 'foo'"),
        ("*/0 * * * *", "step"),
        ("5-1 * * * *", "runs backwards"),
        ("1,,2 * * * *", "empty list item"),
    ],
)
def test_bad_expressions_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        CronSchedule.parse(expression)


def test_unknown_zone_and_never_firing_schedule() -> None:
    with pytest.raises(CronError, match="unknown time zone 'Mars/Olympus'"):
        CronSchedule.parse("* * * * *", "Mars/Olympus")
    with pytest.raises(CronError, match="never fires"):
        CronSchedule.parse("0 0 30 2 *").next_fire(datetime(2025, 1, 1, tzinfo=UTC))


def test_next_fire_is_strictly_after_and_in_local_time() -> None:
    cron = CronSchedule.parse("30 2 * * *", "America/New_York")
    assert cron.next_fire(at("2025-01-10T01:00")) == at("2025-01-10T02:30").astimezone(UTC)
    assert cron.next_fire(at("2025-01-10T02:30")) == at("2025-01-11T02:30").astimezone(UTC)


def test_spring_forward_gap_fires_once_when_the_gap_ends() -> None:
    # 2025-03-09: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day.
    cron = CronSchedule.parse("30 2 * * *", "America/New_York")
    fire = cron.next_fire(at("2025-03-09T00:00"))
    assert fire == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert cron.next_fire(fire) == at("2025-03-10T02:30").astimezone(UTC)


def test_fall_back_repeated_hour_fires_once() -> None:
    # 2025-11-02: 01:00-01:59 happens twice (EDT, then EST).
    cron = CronSchedule.parse("30 1 * * *", "America/New_York")
    first = cron.next_fire(at("2025-11-02T00:00"))
    assert first == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert cron.next_fire(first) == at("2025-11-03T01:30").astimezone(UTC)
    hourly = CronSchedule.parse("0 * * * *", "America/New_York")
    fires = hourly.fires_between(at("2025-11-02T00:30"), at("2025-11-02T03:30"))
    assert [f.astimezone(NY).hour for f in fires] == [1, 2, 3]


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    cron = CronSchedule.parse("0 9 13 * fri")
    fires = cron.fires_between(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 30, tzinfo=UTC))
    days = [f.day for f in fires]
    assert 13 in days  # a Friday the 13th in June 2025 anyway; check other Fridays too
    assert set(days) == {6, 13, 20, 27}
    both = CronSchedule.parse("0 9 1 * mon").fires_between(
        datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 9, 30, tzinfo=UTC)
    )
    assert [f.day for f in both] == [1, 8, 15, 22, 29]  # the 1st, and every Monday


def _brute_next(cron: CronSchedule, after: datetime) -> datetime:
    """Walk UTC minutes; the first whose wall time matches and is that wall time's first occurrence
    (or, inside a gap, the first instant after a skipped match)."""
    zone = cron.zone
    t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    prev_wall = (t - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
    for _ in range(60 * 24 * 400):
        wall = t.astimezone(zone).replace(tzinfo=None)
        first_time = t.astimezone(zone).fold == 0
        if wall - prev_wall > timedelta(minutes=1):  # skipped wall minutes (gap) end here
            skipped = prev_wall + timedelta(minutes=1)
            while skipped < wall:
                if cron.matches_wall_time(skipped):
                    return t
                skipped += timedelta(minutes=1)
        if first_time and cron.matches_wall_time(wall) and t > after:
            return t
        prev_wall = wall
        t += timedelta(minutes=1)
    raise AssertionError("no fire found")


@settings(max_examples=60, deadline=None)
@given(
    minute=st.sampled_from(["*/7", "0", "30", "15,45", "59"]),
    hour=st.sampled_from(["*", "1", "2", "1-3", "*/5"]),
    dom=st.sampled_from(["*", "1", "9", "1-10"]),
    dow=st.sampled_from(["*", "0", "1-5"]),
    offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
    base=st.sampled_from(["2025-03-01T00:00", "2025-10-25T00:00", "2025-06-01T12:00"]),
)
def test_next_fire_matches_a_brute_force_walk(
    minute: str, hour: str, dom: str, dow: str, offset_minutes: int, base: str
) -> None:
    cron = CronSchedule.parse(f"{minute} {hour} {dom} * {dow}", "America/New_York")
    after = at(base) + timedelta(minutes=offset_minutes)
    assert cron.next_fire(after) == _brute_next(cron, after)
