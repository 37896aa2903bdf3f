"""When and how long to retry: an immutable :class:`RetryPolicy` and its tenacity wiring.

A request is retried only when repeating it cannot do harm:

- any request refused with 429 (the server did not act on it) or that never connected;
- idempotent requests (GET, the token request, PUT to an identity, DELETE) after a dropped
  connection, a timeout, 408 or a 5xx.

Waits grow exponentially with full jitter; a server ``Retry-After`` is honoured up to
``max_retry_after`` seconds and every wait is logged.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt

from imis_tier.client._errors import ImisError, RateLimited, TransportError

logger = logging.getLogger("imis_tier.client")


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries a failed request (an immutable value; ``with_*`` return copies).

    ``max_attempts`` counts the first try (1 = never retry). The n-th retry waits a random time
    up to ``min(max_backoff, initial_backoff * 2**(n-1))``, or the server's ``Retry-After`` when
    it sent one, capped at ``max_retry_after`` seconds.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = frozenset({408, 500, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(
                f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}"
            )
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy waits must not be negative")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def with_max_attempts(self, max_attempts: int) -> RetryPolicy:
        """A copy allowing ``max_attempts`` tries in all."""
        return replace(self, max_attempts=max_attempts)

    def with_backoff(self, initial: float, maximum: float) -> RetryPolicy:
        """A copy with other exponential backoff bounds (seconds)."""
        return replace(self, initial_backoff=initial, max_backoff=maximum)

    def with_max_retry_after(self, seconds: float) -> RetryPolicy:
        """A copy that waits at most ``seconds`` for a server's ``Retry-After``."""
        return replace(self, max_retry_after=seconds)

    def with_retry_statuses(self, statuses: frozenset[int] | set[int]) -> RetryPolicy:
        """A copy retrying idempotent requests on these statuses (429 is always retried)."""
        return replace(self, retry_statuses=frozenset(statuses))

    # ------------------------------------------------------------ decisions
    def should_retry(self, error: BaseException, *, idempotent: bool) -> bool:
        """Whether a request that failed with ``error`` may be sent again."""
        if isinstance(error, RateLimited):
            return True
        if isinstance(error, TransportError):
            return idempotent or not error.connected
        if isinstance(error, ImisError) and error.status is not None:
            return idempotent and error.status in self.retry_statuses
        return False

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The jittered wait before retry ``retry_number`` (1-based) when the server set none."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** (retry_number - 1))
        return (rng or random).uniform(0, ceiling)

    def wait_for(self, error: BaseException | None, retry_number: int) -> float:
        """The wait before retry ``retry_number`` after ``error``: Retry-After (capped) or backoff."""
        after = getattr(error, "retry_after", None)
        if after is not None:
            return min(float(after), self.max_retry_after)
        return self.backoff(retry_number)

    def tenacity_args(self, *, idempotent: bool, describe: str) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` under this policy."""

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_for(error, state.attempt_number)

        def log_wait(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            pause = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.2fs",
                describe,
                state.attempt_number,
                self.max_attempts,
                error,
                pause,
            )

        retry_if: Callable[[BaseException], bool] = lambda e: self.should_retry(  # noqa: E731
            e, idempotent=idempotent
        )
        return {
            "stop": stop_after_attempt(self.max_attempts),
            "wait": wait,
            "retry": retry_if_exception(retry_if),
            "before_sleep": log_wait,
            "reraise": True,
        }


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
