"""The monitor handler and its check registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imis_tier.handlers import HandlerContext, HandlerRegistry, Runner, default_registry
from imis_tier.handlers.builtin.monitor import MONITOR_CHECKS, Finding, register_check
from imis_tier.warehouse import Warehouse


@pytest.fixture
def builtins(runner: Runner) -> Runner:
    runner.registry = default_registry(entry_points=False)
    return runner


@pytest.fixture
def extra_check() -> Iterator[None]:
    @register_check("forecast_gap")
    def forecast_gap(ctx: HandlerContext) -> list[Finding]:
        return [Finding("forecast_gap", "alert", "GOLD", "renewals 12% under forecast", 0.12, 0.05)]

    yield
    MONITOR_CHECKS.pop("forecast_gap")


def test_monitor_records_findings_of_every_check(
    builtins: Runner, warehouse: Warehouse, registry: HandlerRegistry, extra_check: None
) -> None:
    builtins.registry.register("broken")(lambda ctx: 1 / 0)
    assert builtins.run("broken").status == "failed"
    record = builtins.run("monitor")
    assert record.ok and record.details == {
        "checks": ["forecast_gap", "handler_failures"], "findings": 2, "alerts": 1,
    }  # fmt: skip
    with warehouse.transaction() as conn:
        rows = conn.execute(
            "SELECT check_name, severity, subject FROM handler_monitor_findings ORDER BY check_name"
        ).fetchall()
    assert rows == [("forecast_gap", "alert", "GOLD"), ("handler_failures", "warning", "broken")]


def test_fail_on_alert_fails_the_run(builtins: Runner, extra_check: None) -> None:
    monitor = builtins.registry.get("monitor")
    builtins.registry.add(monitor.configured(settings={"fail_on_alert": True}), replace=True)
    record = builtins.run("monitor")
    assert record.status == "failed" and "renewals 12% under forecast" in (record.error or "")


def test_unknown_check_is_named(builtins: Runner) -> None:
    monitor = builtins.registry.get("monitor")
    builtins.registry.add(monitor.configured(settings={"checks": ["nope"]}), replace=True)
    assert "unknown monitor check(s) ['nope']" in (builtins.run("monitor").error or "")
