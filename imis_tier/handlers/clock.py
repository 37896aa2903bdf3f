"""Injectable time: every part of the handler service asks a :class:`Clock`, never ``datetime.now``.

Tests hand in a :class:`ManualClock` (time moves only when told) or a :class:`ScaledClock` (real
time sped up, e.g. one second of wall time is one hour of schedule time) to compress days of
schedules into seconds.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of the current instant (timezone-aware, UTC) and a way to wait."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that stands still until :meth:`advance` (or :meth:`sleep`) moves it.

    ``sleep`` advances the clock instead of waiting, so retry backoff costs no real time.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start instant")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds=max(seconds, 0.0))

    def advance(self, **delta: float) -> datetime:
        """Move time forward by ``timedelta(**delta)`` and return the new instant."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now += step
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (must not be in the past)."""
        instant = instant.astimezone(UTC)
        with self._lock:
            if instant < self._now:
                raise ValueError(f"cannot move the clock back from {self._now} to {instant}")
            self._now = instant


class ScaledClock:
    """Real time sped up by ``speed`` from a chosen ``start`` instant.

    ``ScaledClock(start, speed=3600)`` makes each real second an hour; ``sleep(3600)`` waits one
    real second. Used by ``imis-tier handlers serve --clock-start/--clock-speed`` for demos and tests.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start instant")
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._speed)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._speed)
