"""Client-side limits: how many requests may be in flight and how fast they may start.

ASI's usage guidelines ask integrations not to pull in parallel, so the default is one request in
flight and no rate cap (ASI publishes no number). :class:`RateBucket` is the shared arithmetic of
a token bucket; the sync and async clients each wait on it in their own way.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """``max_in_flight`` concurrent requests; at most ``requests_per_second`` (None = no cap),
    with bursts of up to ``burst`` requests."""

    max_in_flight: int = 1
    requests_per_second: float | None = None
    burst: int = 1

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError(f"Limits.max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.requests_per_second is not None and self.requests_per_second <= 0:
            raise ValueError(
                f"Limits.requests_per_second must be positive or None, got {self.requests_per_second}"
            )
        if self.burst < 1:
            raise ValueError(f"Limits.burst must be at least 1, got {self.burst}")


class RateBucket:
    """A token bucket: :meth:`reserve` books the next start and says how long to wait for it."""

    def __init__(self, rate: float | None, burst: int = 1) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; the seconds the caller must wait before starting its request."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            # A negative balance is a queue: each waiter is booked one interval later.
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
