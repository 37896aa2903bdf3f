"""The scheduler on a compressed clock: on time, missed slots caught up once, killed runs re-served."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from imis_tier.handlers import (
    HandlerContext,
    HandlerRegistry,
    ManualClock,
    Runner,
    Schedule,
    Scheduler,
)

NY = ZoneInfo("America/New_York")


def _recording(registry: HandlerRegistry, name: str, cron: str) -> list[datetime]:
    slots: list[datetime] = []

    @registry.register(name, trigger=Schedule(cron))
    def record(ctx: HandlerContext) -> None:
        assert ctx.slot is not None
        slots.append(ctx.slot)

    return slots


def test_a_scheduled_handler_runs_on_time_in_local_time(
    registry: HandlerRegistry, runner: Runner, clock: ManualClock
) -> None:
    slots = _recording(registry, "nightly", "30 2 * * *")
    scheduler = Scheduler(runner)
    assert scheduler.run_pending() == []  # first sight: starts from now, nothing due
    assert scheduler.next_fire("nightly") == datetime(2025, 3, 4, 2, 30, tzinfo=NY).astimezone(UTC)
    clock.set(datetime(2025, 3, 4, 2, 29, tzinfo=NY))
    assert scheduler.run_pending() == []
    clock.advance(minutes=1)
    runs = scheduler.run_pending()
    assert [r.trigger for r in runs] == ["schedule"] and runs[0].ok
    assert slots == [datetime(2025, 3, 4, 2, 30, tzinfo=NY).astimezone(UTC)]
    assert scheduler.run_pending() == []  # not twice for one slot


def test_missed_slots_are_caught_up_once(
    registry: HandlerRegistry, runner: Runner, clock: ManualClock
) -> None:
    slots = _recording(registry, "hourly", "0 * * * *")
    scheduler = Scheduler(runner)
    scheduler.run_pending()
    clock.advance(hours=10, minutes=5)  # the service was down for ten slots
    runs = scheduler.run_pending()
    assert len(runs) == 1 and len(slots) == 1
    assert slots[0] == datetime(2025, 3, 3, 22, 0, tzinfo=UTC)  # the latest missed slot
    clock.advance(hours=1)
    scheduler.run_pending()
    assert len(slots) == 2


def test_position_survives_a_restart_and_a_killed_run_is_served_again(
    registry: HandlerRegistry, runner: Runner, clock: ManualClock
) -> None:
    attempts: list[datetime] = []

    @registry.register("daily", trigger=Schedule("0 6 * * *"))
    def daily(ctx: HandlerContext) -> None:
        attempts.append(ctx.now())
        if len(attempts) == 1:
            raise KeyboardInterrupt  # stands in for the process dying mid-run

    Scheduler(runner).run_pending()
    clock.set(datetime(2025, 3, 4, 6, 0, tzinfo=NY))
    with contextlib.suppress(KeyboardInterrupt):
        Scheduler(runner).run_pending()
    assert runner.journal.runs("daily")[0].status == "interrupted"
    clock.advance(minutes=3)
    runs = Scheduler(runner).run_pending()  # a new scheduler, as after a restart
    assert len(runs) == 1 and runs[0].ok and runs[0].slot == datetime(2025, 3, 4, 6, 0, tzinfo=NY)


def test_run_forever_fires_on_a_scaled_clock(registry: HandlerRegistry, warehouse: object) -> None:
    from imis_tier.handlers import ScaledClock
    from imis_tier.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
    clock = ScaledClock(datetime(2025, 3, 3, 23, 59, 30, tzinfo=UTC), speed=600)  # 1 s = 10 min
    slots = _recording(registry, "every5", "*/5 * * * *")
    scheduler = Scheduler(
        Runner(registry, warehouse, clock=clock, lock_stale_after=timedelta(hours=1))
    )
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,))
    thread.start()
    threading.Event().wait(2.2)  # about 22 minutes of schedule time
    stop.set()
    thread.join(5)
    assert [s.strftime("%H:%M") for s in slots][:4] == ["00:00", "00:05", "00:10", "00:15"]
