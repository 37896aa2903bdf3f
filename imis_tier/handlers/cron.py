"""Five-field cron schedules evaluated in the association's time zone, safe across DST changes.

Fields are ``minute hour day-of-month month day-of-week`` with ``*``, lists (``1,15``), ranges
(``1-5``), steps (``*/15``, ``8-18/2``), month and weekday names (``jan``, ``mon``) and ``7`` for
Sunday; ``@hourly``, ``@daily``, ``@weekly``, ``@monthly`` and ``@yearly`` are accepted. As in Vixie
cron, when both day-of-month and day-of-week are restricted a day matching either fires.

Daylight saving time: schedules are wall-clock times. A time that does not exist (inside the
spring-forward gap) fires at the first minute after the gap; a time that happens twice (fall back)
fires once, at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (  # name, low, high, names
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_SEARCH_LIMIT = timedelta(days=366 * 8)  # covers every leap-day schedule


class CronError(ValueError):
    """A cron expression or time zone that cannot be used, with the part that is wrong."""


def _parse_value(text: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    key = text.lower()
    if key in names:
        return names[key]
    if not text.isdigit():
        raise CronError(f"{field} field: {text!r} is not a number or a known name")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{field} field: {value} is outside {low}-{high}")
    return value


def _parse_field(
    text: str, field: str, low: int, high: int, names: dict[str, int]
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{field} field: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{field} field: step {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = (
                _parse_value(a, field, low, high, names),
                _parse_value(b, field, low, high, names),
            )
            if start > end:
                raise CronError(f"{field} field: range {base!r} runs backwards")
        else:
            start = _parse_value(base, field, low, high, names)
            # "5/15" means from 5 to the end in steps of 15, as in Vixie cron
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression bound to a time zone; :meth:`next_fire` gives the next instant."""

    expression: str
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        """Parse ``expression`` (five fields or an ``@alias``) for the IANA zone ``timezone``."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CronError(f"unknown time zone {timezone!r}") from exc
        text = _ALIASES.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"cron expression {expression!r} has {len(parts)} fields; expected 5 "
                "(minute hour day-of-month month day-of-week)"
            )
        try:
            parsed = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        except CronError as exc:
            raise CronError(f"cron expression {expression!r}: {exc}") from None
        weekdays = frozenset(d % 7 for d in parsed[4])
        return cls(
            expression=expression,
            timezone=timezone,
            minutes=parsed[0],
            hours=parsed[1],
            days=parsed[2],
            months=parsed[3],
            weekdays=weekdays,
            day_restricted=parts[2] != "*" and not parts[2].startswith("*/"),
            weekday_restricted=parts[4] != "*" and not parts[4].startswith("*/"),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def matches_wall_time(self, local: datetime) -> bool:
        """Whether a local wall-clock time (naive, minute precision) is one of the schedule's."""
        return (
            local.minute in self.minutes
            and local.hour in self.hours
            and local.month in self.months
            and self._day_matches(local)
        )

    def next_fire(self, after: datetime) -> datetime:
        """The first firing instant strictly after ``after`` (aware), returned in UTC."""
        if after.tzinfo is None:
            raise CronError("next_fire needs a timezone-aware instant")
        zone = self.zone
        after_utc = after.astimezone(UTC)
        wall = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        wall += timedelta(minutes=1)
        limit = wall + _SEARCH_LIMIT
        while wall <= limit:
            wall = self._next_wall_time(wall, limit)
            instant = _instant_for(wall, zone)
            if instant > after_utc:
                return instant
            wall += timedelta(minutes=1)
        raise CronError(f"cron expression {self.expression!r} never fires (searched 8 years)")

    def fires_between(self, start: datetime, end: datetime, limit: int = 100_000) -> list[datetime]:
        """Every firing instant in ``(start, end]``, at most ``limit`` of them."""
        found: list[datetime] = []
        current = start
        while len(found) < limit:
            current = self.next_fire(current)
            if current > end:
                break
            found.append(current)
        return found

    # -- search ----------------------------------------------------------------------------------
    def _day_matches(self, local: datetime) -> bool:
        in_days = local.day in self.days
        in_weekdays = (local.isoweekday() % 7) in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _next_wall_time(self, wall: datetime, limit: datetime) -> datetime:
        """The first naive wall time >= ``wall`` whose fields match (jumping field by field)."""
        while wall <= limit:
            if wall.month not in self.months:
                year, month = (
                    (wall.year + 1, 1) if wall.month == 12 else (wall.year, wall.month + 1)
                )
                wall = datetime(year, month, 1)
                continue
            if not self._day_matches(wall):
                wall = datetime(wall.year, wall.month, wall.day) + timedelta(days=1)
                continue
            if wall.hour not in self.hours:
                wall = wall.replace(minute=0) + timedelta(hours=1)
                continue
            if wall.minute not in self.minutes:
                later = [m for m in self.minutes if m > wall.minute]
                wall = (
                    wall.replace(minute=min(later))
                    if later
                    else wall.replace(minute=0) + timedelta(hours=1)
                )
                continue
            return wall
        raise CronError(f"cron expression {self.expression!r} never fires (searched 8 years)")


def _instant_for(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall time: first occurrence if repeated, end of gap if skipped."""
    candidate = wall.replace(tzinfo=zone, fold=0)
    if candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return candidate.astimezone(UTC)
    # Inside a spring-forward gap: walk to the first wall minute that exists.
    probe = wall
    for _ in range(24 * 60):
        probe += timedelta(minutes=1)
        moved = probe.replace(tzinfo=zone, fold=0)
        if moved.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == probe:
            return moved.astimezone(UTC)
    raise CronError(f"no valid local time after {wall} in {zone.key}")  # pragma: no cover
