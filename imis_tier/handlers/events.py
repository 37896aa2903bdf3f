"""Deliver stored change notifications to their handlers, with retries and dead letters.

Events are stored first (de-duplicated by event id) and answered at once; this worker runs the
handlers afterwards. A delivery that keeps failing after ``max_attempts`` is dead-lettered.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from imis_tier.handlers.errors import HandlerBusy
from imis_tier.handlers.model import ChangeNotification
from imis_tier.handlers.runner import RetryPolicy, Runner

_log = logging.getLogger(__name__)
_BUSY_RETRY = timedelta(seconds=5)


@dataclass
class Accepted:
    """What a delivery added: new event ids, repeats of ids already received, and ignored ones."""

    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "unhandled": self.unhandled,
        }


class EventDispatcher:
    """Stores incoming events and runs the handlers subscribed to their type."""

    def __init__(self, runner: Runner, *, retry: RetryPolicy | None = None, seed: int = 0) -> None:
        self.runner = runner
        self.journal = runner.journal
        self.clock = runner.clock
        self.retry = retry or RetryPolicy(max_attempts=5, initial=30.0)
        self.wake = threading.Event()
        self._rng = random.Random(seed)

    def handlers_for(self, event_type: str) -> list[str]:
        return [
            h.name
            for h in self.runner.registry
            if isinstance(h.trigger, ChangeNotification) and h.trigger.matches(event_type)
        ]

    def accept(self, events: Iterable[dict[str, Any]]) -> Accepted:
        """Store the events (each id once) and wake the worker."""
        result = Accepted()
        for event in events:
            names = self.handlers_for(str(event["eventType"]))
            event_id = str(event["id"])
            if not self.journal.record_event(event, names, self.clock.now()):
                result.duplicates.append(event_id)
            elif names:
                result.accepted.append(event_id)
            else:
                result.unhandled.append(event_id)
        if result.accepted:
            self.wake.set()
        return result

    def process_due(self) -> int:
        """Run every delivery that is due now; return how many runs finished."""
        done = 0
        for delivery in self.journal.due_deliveries(self.clock.now()):
            now = self.clock.now()
            try:
                record = self.runner.run(delivery.handler, trigger="event", event=delivery.payload)
            except HandlerBusy as busy:
                _log.info("%s; event %s waits", busy, delivery.event_id)
                self.journal.postpone_delivery(delivery, now + _BUSY_RETRY)
                continue
            except Exception as exc:  # e.g. the handler was unregistered since the event arrived
                error = f"{type(exc).__name__}: {exc}"
            else:
                if record.ok:
                    self.journal.delivery_done(
                        delivery.event_id, delivery.handler, record.run_id, self.clock.now()
                    )
                    done += 1
                    continue
                error = record.error or f"run ended {record.status}"
            now = self.clock.now()
            attempts = delivery.attempts + 1
            if attempts >= self.retry.max_attempts:
                _log.error(
                    "event %s for handler %s dead-lettered after %d attempts: %s",
                    delivery.event_id, delivery.handler, attempts, error,
                )  # fmt: skip
                self.journal.delivery_failed(delivery, error, now, retry_at=None)
            else:
                delay = timedelta(seconds=self.retry.delay(attempts, self._rng))
                self.journal.delivery_failed(delivery, error, now, retry_at=now + delay)
        return done

    def run_forever(self, stop: threading.Event, *, poll: float = 0.05) -> None:
        """Loop until ``stop``: run due deliveries, then wait for new events or the next retry."""
        while not stop.is_set():
            try:
                self.process_due()
            except Exception:
                _log.exception("event worker tick failed")
            self.wake.clear()
            next_at = self.journal.next_delivery_at()
            while not stop.is_set() and not self.wake.is_set():
                if next_at is not None and self.clock.now() >= next_at:
                    break
                self.wake.wait(poll)
