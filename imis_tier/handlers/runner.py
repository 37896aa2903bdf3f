"""Run one handler once: lock, journal, retries with backoff, heartbeat, crash recovery."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from imis_tier.handlers.clock import Clock, SystemClock
from imis_tier.handlers.context import ClientFactory, HandlerContext
from imis_tier.handlers.errors import HandlerBusy, is_transient
from imis_tier.handlers.journal import HOST, Journal, RunRecord, new_owner, pid_alive
from imis_tier.handlers.registry import HandlerRegistry
from imis_tier.warehouse import Warehouse

_log = logging.getLogger(__name__)

PROCESS_OWNER = new_owner()
"""One owner id per process, so a restarted process (even with the same pid) is a new owner."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with seeded jitter: ``initial * multiplier**(n-1)``, capped, +-``jitter``."""

    max_attempts: int = 3
    initial: float = 2.0
    multiplier: float = 2.0
    maximum: float = 300.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.initial * self.multiplier ** (attempt - 1), self.maximum)
        return max(0.0, base * (1 + self.jitter * (2 * rng.random() - 1)))

    def with_attempts(self, max_attempts: int) -> RetryPolicy:
        return replace(self, max_attempts=max_attempts)


class Runner:
    """Runs handlers from ``registry`` against one warehouse, one run of a handler at a time.

    ``lock_stale_after`` is how long a lock may go without a heartbeat before another process
    takes it over; on this host a lock whose process has died is taken over at once.
    """

    def __init__(
        self,
        registry: HandlerRegistry,
        warehouse: Warehouse,
        *,
        client_factory: ClientFactory | None = None,
        clock: Clock | None = None,
        timezone: str = "UTC",
        retry: RetryPolicy | None = None,
        lock_stale_after: timedelta = timedelta(minutes=5),
        seed: int = 0,
        owner: str = PROCESS_OWNER,
    ) -> None:
        self.registry = registry
        self.warehouse = warehouse
        self.journal = Journal(warehouse)
        self.client_factory = client_factory
        self.clock = clock or SystemClock()
        self.timezone = timezone
        self.retry = retry or RetryPolicy()
        self.lock_stale_after = lock_stale_after
        self.owner = owner
        self._rng = random.Random(seed)

    def run(
        self,
        name: str,
        *,
        trigger: str = "manual",
        slot: datetime | None = None,
        event: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        resumes: str | None = None,
    ) -> RunRecord:
        """Run handler ``name`` once and return its journal record (status finished or failed).

        Raises :class:`HandlerBusy` when another live run holds the handler.
        """
        handler = self.registry.get(name)
        now = self.clock.now()
        run_id = f"{name}-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        acquired, previous = self.journal.try_lock(
            name, owner=self.owner, run_id=run_id, now=now, stale_after=self.lock_stale_after
        )
        if not acquired:
            assert previous is not None
            raise HandlerBusy(name, previous.owner, previous.run_id)
        try:
            if previous is not None:
                # The previous holder died mid-run: close its journal row; this run completes it.
                _log.warning(
                    "handler %s: taking over the lock of dead run %s", name, previous.run_id
                )
                self.journal.mark_interrupted(previous.run_id, now, f"owner {previous.owner} died")
                resumes = resumes or previous.run_id
            self.journal.start_run(
                name, trigger=trigger, owner=self.owner, now=now, slot=slot,
                event_id=str(event["id"]) if event and "id" in event else None,
                dry_run=dry_run, resumes=resumes, run_id=run_id,
            )  # fmt: skip
            ctx = HandlerContext(
                handler=handler, run_id=run_id, trigger=trigger, clock=self.clock,
                warehouse=self.warehouse, timezone=self.timezone, dry_run=dry_run, slot=slot,
                event=event, resumes=resumes, client_factory=self.client_factory,
            )  # fmt: skip
            with _Heartbeat(self, name):
                return self._attempt(ctx)
        finally:
            self.journal.unlock(name, self.owner)

    def _attempt(self, ctx: HandlerContext) -> RunRecord:
        attempt = 0
        error: str | None = None
        details: Mapping[str, Any] | None = None
        status = "failed"
        try:
            while True:
                attempt += 1
                try:
                    result = ctx.handler.function(ctx)
                    details = dict(result) if isinstance(result, Mapping) else None
                    if ctx.plan:
                        details = {**(details or {}), "plan": list(ctx.plan)}
                    status, error = "finished", None
                    break
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    if not is_transient(exc) or attempt >= self.retry.max_attempts:
                        _log.error("handler %s run %s failed: %s", ctx.name, ctx.run_id, error)
                        break
                    wait = self.retry.delay(attempt, self._rng)
                    _log.warning(
                        "handler %s attempt %d failed (%s); retrying in %.1fs",
                        ctx.name,
                        attempt,
                        error,
                        wait,
                    )
                    self.clock.sleep(wait)
        except BaseException:
            # Interrupted (Ctrl-C, shutdown): leave an honest journal row, then let it propagate.
            self.journal.finish_run(
                ctx.run_id, status="interrupted", now=self.clock.now(), attempts=attempt,
                rows_read=ctx.rows_read, rows_written=ctx.rows_written, error="interrupted",
            )  # fmt: skip
            ctx.close()
            raise
        ctx.close()
        self.journal.finish_run(
            ctx.run_id, status=status, now=self.clock.now(), attempts=attempt,
            rows_read=ctx.rows_read, rows_written=ctx.rows_written, error=error, details=details,
        )  # fmt: skip
        return self.journal.run(ctx.run_id)

    def recover(self) -> list[RunRecord]:
        """Mark runs left 'running' by dead processes as interrupted; return them.

        Their work is completed by whatever started them: the scheduler re-serves a slot that was
        not recorded as done, and the event worker re-delivers an event not marked done.
        """
        now = self.clock.now()
        interrupted: list[RunRecord] = []
        for record, owner in self.journal.running_runs():
            if owner == self.owner or not self._owner_dead(record.handler, owner, now):
                continue
            self.journal.mark_interrupted(record.run_id, now, f"owner {owner} died")
            interrupted.append(self.journal.run(record.run_id))
        return interrupted

    def _owner_dead(self, handler: str, owner: str, now: datetime) -> bool:
        host, _, rest = owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host == HOST and pid_text.isdigit():
            pid = int(pid_text)
            return not pid_alive(pid) or pid == PROCESS_OWNER_PID
        lock = self.journal.lock(handler)
        return (
            lock is None or lock.owner != owner or now - lock.heartbeat_at > self.lock_stale_after
        )


PROCESS_OWNER_PID = int(PROCESS_OWNER.split(":")[1])


class _Heartbeat:
    """Refreshes the lock's heartbeat while a run is going (checked every 0.2 s of real time)."""

    def __init__(self, runner: Runner, handler: str) -> None:
        self._runner = runner
        self._handler = handler
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{handler}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        interval = self._runner.lock_stale_after / 4
        last = self._runner.clock.now()
        while not self._stop.wait(0.2):
            now = self._runner.clock.now()
            if now - last >= interval:
                try:
                    self._runner.journal.heartbeat(self._handler, self._runner.owner, now)
                except Exception as exc:  # a missed beat only risks a takeover after stale_after
                    _log.warning("heartbeat for %s failed: %s", self._handler, exc)
                last = now
