"""Fire scheduled handlers on time; catch up missed slots once, not once per missed slot."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from imis_tier.handlers.cron import CronSchedule
from imis_tier.handlers.errors import HandlerBusy
from imis_tier.handlers.journal import RunRecord
from imis_tier.handlers.model import Schedule
from imis_tier.handlers.runner import Runner

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """A handler whose schedule slot has come: ``slot`` is the latest one, ``missed`` the older ones."""

    handler: str
    slot: datetime
    missed: int


class Scheduler:
    """Schedules of the runner's registry, positions kept in the warehouse (``handler_schedule``).

    A handler seen for the first time starts from the current instant: slots before the service
    first knew the handler are not run. A slot is recorded as served only when its run ends, so a
    run killed half-way is served again after a restart.
    """

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.journal = runner.journal
        self.clock = runner.clock
        self._crons: dict[str, CronSchedule] = {
            h.name: CronSchedule.parse(h.trigger.cron, runner.timezone)
            for h in runner.registry
            if isinstance(h.trigger, Schedule)
        }

    @property
    def handlers(self) -> list[str]:
        return sorted(self._crons)

    def _last_slot(self, name: str, now: datetime) -> datetime:
        last = self.journal.last_slot(name)
        if last is None:
            self.journal.set_last_slot(name, now, None, now)
            return now
        return last

    def next_fire(self, name: str) -> datetime:
        now = self.clock.now()
        return self._crons[name].next_fire(self._last_slot(name, now))

    def due(self) -> list[Due]:
        """Handlers with at least one slot in (last served slot, now]."""
        now = self.clock.now()
        found: list[Due] = []
        for name, cron in self._crons.items():
            count, latest, cursor = 0, None, self._last_slot(name, now)
            while batch := cron.fires_between(cursor, now, limit=10_000):
                count, latest, cursor = count + len(batch), batch[-1], batch[-1]
            if latest is not None:
                found.append(Due(name, latest, count - 1))
        return found

    def run_pending(self) -> list[RunRecord]:
        """Run each due handler once (for its latest slot) and record the slot; return the runs."""
        runs: list[RunRecord] = []
        for due in self.due():
            if due.missed:
                _log.warning(
                    "handler %s: %d missed slot(s) caught up by one run", due.handler, due.missed
                )
            try:
                record = self.runner.run(due.handler, trigger="schedule", slot=due.slot)
            except HandlerBusy as busy:
                _log.info("%s; slot %s waits for the next tick", busy, due.slot)
                continue
            self.journal.set_last_slot(due.handler, due.slot, record.run_id, self.clock.now())
            runs.append(record)
        return runs

    def next_wakeup(self) -> datetime | None:
        fires = [self.next_fire(name) for name in self._crons]
        return min(fires) if fires else None

    def run_forever(
        self, stop: threading.Event, *, idle: timedelta = timedelta(seconds=60)
    ) -> None:
        """Loop until ``stop`` is set: run what is due, then wait for the next slot (polling the clock)."""
        while not stop.is_set():
            try:
                self.run_pending()
                wake = self.next_wakeup()
            except Exception:
                _log.exception("scheduler tick failed")
                wake = None
            limit = self.clock.now() + idle
            wake = min(wake, limit) if wake else limit
            while not stop.is_set() and self.clock.now() < wake:
                stop.wait(0.05)
