"""One run of a handler: journal, retries with backoff, one run at a time, crash recovery."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest

from imis_tier.handlers import (
    HandlerBusy,
    HandlerContext,
    HandlerRegistry,
    ManualClock,
    Runner,
    TransientError,
    WarehouseInput,
)
from imis_tier.handlers.journal import HOST
from imis_tier.warehouse import Warehouse


def test_a_run_is_journaled_with_its_counts(registry: HandlerRegistry, runner: Runner) -> None:
    @registry.register("count")
    def count(ctx: HandlerContext) -> dict[str, Any]:
        ctx.read(7)
        ctx.write("write three rows", lambda: None, count=3)
        return {"note": "ok"}

    record = runner.run("count")
    assert record.ok and record.trigger == "manual"
    assert (record.rows_read, record.rows_written, record.attempts) == (7, 3, 1)
    assert record.details == {"note": "ok"}
    assert runner.journal.runs("count")[0].run_id == record.run_id
    assert runner.journal.lock("count") is None  # released


def test_transient_failures_retry_with_backoff_then_succeed(
    registry: HandlerRegistry, runner: Runner, clock: ManualClock
) -> None:
    calls: list[int] = []

    @registry.register("flaky")
    def flaky(ctx: HandlerContext) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("iMIS answered 503")

    record = runner.run("flaky")
    assert record.ok and record.attempts == 3
    assert clock.slept == [10.0, 20.0]  # exponential, on the injected clock: no real waiting


def test_permanent_failure_is_not_retried_and_is_journaled(
    registry: HandlerRegistry, runner: Runner
) -> None:
    @registry.register("broken")
    def broken(ctx: HandlerContext) -> None:
        raise ValueError("bad settings: source missing")

    record = runner.run("broken")
    assert record.status == "failed" and record.attempts == 1
    assert record.error == "ValueError: bad settings: source missing"


def test_transient_failures_give_up_after_max_attempts(
    registry: HandlerRegistry, runner: Runner
) -> None:
    @registry.register("down")
    def down(ctx: HandlerContext) -> None:
        raise ConnectionError("connection refused")

    record = runner.run("down")
    assert record.status == "failed" and record.attempts == 3


def test_one_run_of_a_handler_at_a_time(registry: HandlerRegistry, runner: Runner) -> None:
    entered, release = threading.Event(), threading.Event()

    @registry.register("slow")
    def slow(ctx: HandlerContext) -> None:
        entered.set()
        release.wait(10)

    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(runner.run("slow")))
    worker.start()
    assert entered.wait(10)
    with pytest.raises(HandlerBusy, match="'slow' is already running"):
        runner.run("slow")
    release.set()
    worker.join()
    assert results[0].ok
    assert runner.run("slow").ok  # free again


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_left_by_a_dead_process_is_taken_over_and_its_run_closed(
    registry: HandlerRegistry, runner: Runner, warehouse: Warehouse, clock: ManualClock
) -> None:
    registry.register("job")(lambda ctx: None)
    pid = _dead_pid()
    owner = f"{HOST}:{pid}:deadbeef"
    old = runner.journal.start_run("job", trigger="schedule", owner=owner, now=clock.now())
    warehouse.execute(
        "INSERT INTO handler_locks VALUES ('job', ?, ?, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP)",
        [owner, HOST, pid, old],
    )
    record = runner.run("job")
    assert record.ok and record.resumes == old
    assert runner.journal.run(old).status == "interrupted"


def test_a_silent_lock_from_another_host_is_taken_over_only_when_stale(
    registry: HandlerRegistry, runner: Runner, warehouse: Warehouse, clock: ManualClock
) -> None:
    registry.register("job")(lambda ctx: None)
    now = clock.now().replace(tzinfo=None)
    warehouse.execute(
        "INSERT INTO handler_locks VALUES ('job', 'other-host:1:abc', 'other-host', 1, 'job-x', ?, ?)",
        [now, now],
    )
    with pytest.raises(HandlerBusy):
        runner.run("job")
    clock.advance(minutes=6)  # past lock_stale_after without a heartbeat
    assert runner.run("job").ok


def test_recover_marks_runs_of_dead_processes_interrupted(
    runner: Runner, clock: ManualClock
) -> None:
    dead = runner.journal.start_run(
        "a", trigger="event", owner=f"{HOST}:{_dead_pid()}:x", now=clock.now()
    )
    alive = runner.journal.start_run("b", trigger="event", owner=runner.owner, now=clock.now())
    assert [r.run_id for r in runner.recover()] == [dead]
    assert runner.journal.run(alive).status == "running"


def test_dry_run_records_the_plan_and_writes_nothing(
    registry: HandlerRegistry, runner: Runner
) -> None:
    writes: list[str] = []

    @registry.register("writer", input=WarehouseInput("SELECT 1 AS a UNION ALL SELECT 2"))
    def writer(ctx: HandlerContext) -> None:
        for row in ctx.input_rows():
            ctx.write(f"write row {row['a']}", lambda: writes.append("x"))

    record = runner.run("writer", dry_run=True)
    assert record.ok and record.dry_run and writes == []
    assert record.rows_read == 2 and record.rows_written == 0
    assert record.details == {"plan": ["write row 1", "write row 2"]}


def test_heartbeat_refreshes_the_lock_during_a_long_run(
    registry: HandlerRegistry, warehouse: Warehouse, clock: ManualClock
) -> None:
    seen: list[Any] = []
    runner = Runner(registry, warehouse, clock=clock, lock_stale_after=timedelta(seconds=40))

    def beat(ctx: HandlerContext) -> Any:
        with ctx.warehouse.transaction() as conn:
            return conn.execute("SELECT heartbeat_at FROM handler_locks").fetchone()

    @registry.register("long")
    def long(ctx: HandlerContext) -> None:
        before = beat(ctx)
        clock.advance(seconds=30)
        threading.Event().wait(0.6)  # the heartbeat thread checks every 0.2 s
        seen.extend([before, beat(ctx)])

    assert runner.run("long").ok
    assert seen[1][0] - seen[0][0] == timedelta(seconds=30)
