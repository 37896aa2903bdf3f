"""``monitor``: compare what the models said with what happened since; a registry of checks.

Other parts of imis-tier (scoring, forecasts) add checks with :func:`register_check`; each check
reads the warehouse and returns :class:`Finding` values, stored in ``handler_monitor_findings``.
The built-in ``handler_failures`` check reports handlers whose recent runs failed and events that
were dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, Literal

from imis_tier.handlers.context import HandlerContext
from imis_tier.handlers.model import Handler, Manual, WarehouseInput, WarehouseOutput


@dataclass(frozen=True)
class Finding:
    """One observation of a check; ``alert`` findings fail the monitor run when ``fail_on_alert``."""

    check: str
    severity: Literal["info", "warning", "alert"]
    subject: str
    message: str
    metric: float | None = None
    threshold: float | None = None


MonitorCheck = Callable[[HandlerContext], list[Finding]]
MONITOR_CHECKS: dict[str, MonitorCheck] = {}


def register_check(name: str) -> Callable[[MonitorCheck], MonitorCheck]:
    """Decorator adding a monitor check under ``name`` (a later registration replaces it)."""

    def decorate(check: MonitorCheck) -> MonitorCheck:
        MONITOR_CHECKS[name] = check
        return check

    return decorate


class MonitorAlert(Exception):
    """The monitor found alert-level problems (raised only with ``fail_on_alert``)."""


@register_check("handler_failures")
def _handler_failures(ctx: HandlerContext) -> list[Finding]:
    window = timedelta(hours=float(ctx.settings.get("window_hours", 24)))
    since = (ctx.now() - window).astimezone(UTC).replace(tzinfo=None)
    with ctx.warehouse.transaction() as conn:
        failed = conn.execute(
            "SELECT handler, count(*) FROM handler_runs WHERE status IN ('failed', 'interrupted')"
            " AND started_at >= ? GROUP BY handler ORDER BY handler",
            [since],
        ).fetchall()
        dead = conn.execute(
            "SELECT handler, count(*) FROM handler_dead_letters WHERE dead_at >= ? GROUP BY handler"
            " ORDER BY handler",
            [since],
        ).fetchall()
    findings = [
        Finding(
            "handler_failures",
            "warning",
            str(h),
            f"{n} failed or interrupted run(s)",
            float(n),
            0.0,
        )
        for h, n in failed
    ]
    findings += [
        Finding("handler_failures", "alert", str(h), f"{n} event(s) dead-lettered", float(n), 0.0)
        for h, n in dead
    ]
    return findings


def monitor(ctx: HandlerContext) -> dict[str, Any]:
    """Run the monitor checks (settings.checks picks some) and record their findings."""
    wanted = ctx.settings.get("checks") or sorted(MONITOR_CHECKS)
    unknown = [c for c in wanted if c not in MONITOR_CHECKS]
    if unknown:
        raise ValueError(f"unknown monitor check(s) {unknown}; known: {sorted(MONITOR_CHECKS)}")
    findings: list[Finding] = []
    for name in wanted:
        findings.extend(MONITOR_CHECKS[name](ctx))
    ctx.read(len(findings))
    observed = ctx.now().astimezone(UTC).replace(tzinfo=None)
    rows = [
        [ctx.run_id, f.check, f.severity, f.subject, f.message, f.metric, f.threshold, observed]
        for f in findings
    ]
    if rows and not ctx.dry_run:
        with ctx.warehouse.transaction() as conn:
            conn.executemany(
                "INSERT INTO handler_monitor_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        ctx.wrote(len(rows))
    elif rows:
        ctx.would(f"record {len(rows)} monitor finding(s)")
    alerts = [f for f in findings if f.severity == "alert"]
    if alerts and ctx.settings.get("fail_on_alert"):
        raise MonitorAlert("; ".join(f"{f.check}: {f.subject}: {f.message}" for f in alerts))
    return {"checks": list(wanted), "findings": len(findings), "alerts": len(alerts)}


MONITOR = Handler(
    "monitor",
    monitor,
    Manual(),
    WarehouseInput(),
    (WarehouseOutput(("handler_monitor_findings",)),),
)
