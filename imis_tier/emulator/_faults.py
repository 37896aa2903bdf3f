"""Seeded, reproducible faults: latency, rate limiting (429), 5xx answers, dropped connections."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class FaultConfig:
    """Knobs for misbehaviour; all off by default.

    ``latency_ms`` +- ``jitter_ms`` is added to every /api and /token answer;
    ``rate_limit_per_s`` answers 429 with ``Retry-After: retry_after_s`` beyond that many requests
    in any one-second window; ``error_rate`` answers that share with 500; ``drop_rate`` closes
    the connection without an answer; ``token_lifetime_s`` overrides the token lifetime for
    tokens issued from now on. Decisions draw from one generator seeded with ``seed``, so the
    same request sequence meets the same faults.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit_per_s: float | None = None
    retry_after_s: int = 1
    error_rate: float = 0.0
    drop_rate: float = 0.0
    token_lifetime_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} must be between 0 and 1, got {value}")
        for name in ("latency_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"FaultConfig.{name} must not be negative")
        if self.rate_limit_per_s is not None and self.rate_limit_per_s <= 0:
            raise ValueError("FaultConfig.rate_limit_per_s must be positive (None disables it)")
        if self.token_lifetime_s is not None and self.token_lifetime_s <= 0:
            raise ValueError(
                "FaultConfig.token_lifetime_s must be positive (None keeps the default)"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True)
class Decision:
    """What the fault layer does to one request."""

    delay_s: float = 0.0
    rate_limited: bool = False
    error: bool = False
    drop: bool = False


class FaultInjector:
    """Draws fault decisions in a fixed order per request so runs are reproducible by seed."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._window.clear()

    def decide(self) -> Decision:
        c = self.config
        with self._lock:
            # Always draw the same three numbers so one knob does not shift another's sequence.
            jitter_u, error_u, drop_u = self._rng.random(), self._rng.random(), self._rng.random()
            limited = False
            if c.rate_limit_per_s is not None:
                now = time.monotonic()
                while self._window and now - self._window[0] >= 1.0:
                    self._window.popleft()
                if len(self._window) >= c.rate_limit_per_s:
                    limited = True
                else:
                    self._window.append(now)
        delay = max(0.0, c.latency_ms + (2 * jitter_u - 1) * c.jitter_ms) / 1000.0
        return Decision(
            delay_s=delay,
            rate_limited=limited,
            drop=not limited and drop_u < c.drop_rate,
            error=not limited and error_u < c.error_rate,
        )

    @staticmethod
    def sleep(decision: Decision) -> None:
        if decision.delay_s > 0:
            time.sleep(decision.delay_s)
