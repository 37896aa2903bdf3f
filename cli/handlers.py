"""``imis-tier handlers``: list, run once (for cron / systemd / Kubernetes / serverless), or serve."""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import UTC, datetime
from typing import Any

import click

_log = logging.getLogger("imis_tier.handlers.cli")


def _load(config_path: str | None) -> tuple[Any, Any]:
    from imis_tier.handlers import default_registry, load_config

    config = load_config(config_path)
    return config, config.apply(default_registry())


def _runner(config: Any, registry: Any, clock: Any = None) -> Any:
    from imis_tier.handlers import Runner
    from imis_tier.warehouse import Warehouse

    warehouse = Warehouse(config.warehouse_path())
    return Runner(
        registry,
        warehouse,
        client_factory=config.client_factory(),
        clock=clock,
        timezone=config.service.timezone,
        retry=config.retry_policy(),
        lock_stale_after=config.lock_stale_after(),
        seed=config.service.seed,
    )


_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: $IMIS_TIER_CONFIG, then ./imis-tier.toml).",
)


@click.group()
def handlers() -> None:
    """Automation steps: scheduled or change-triggered jobs against iMIS and the warehouse."""


@handlers.command("list")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_handlers(config_path: str | None, as_json: bool) -> None:
    """List the handlers with their trigger, input and outputs."""
    _config, registry = _load(config_path)
    rows = [
        {
            "name": h.name,
            "trigger": h.trigger.describe(),
            "input": h.input.describe() if h.input else None,
            "outputs": [o.describe() for o in h.outputs],
            "description": h.description,
        }
        for h in registry
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<20} {row['trigger']:<28} {row['description']}")


@handlers.command("run")
@click.argument("name")
@_config_option
@click.option(
    "--dry-run", is_flag=True, help="Read and plan, but write nothing to iMIS or the warehouse."
)
@click.option("--json", "as_json", is_flag=True, help="Print the journal record as JSON.")
def run_handler(name: str, config_path: str | None, dry_run: bool, as_json: bool) -> None:
    """Run handler NAME once; exit 1 if the run failed (for cron, timers and CronJobs)."""
    config, registry = _load(config_path)
    runner = _runner(config, registry)
    try:
        record = runner.run(name, trigger="manual", dry_run=dry_run)
    finally:
        runner.warehouse.close()
    plan = (record.details or {}).get("plan", [])
    if as_json:
        click.echo(json.dumps(record.__dict__, default=str, indent=2))
    else:
        for step in plan:
            click.echo(f"would {step}")
        click.echo(
            f"{record.run_id}: {record.status} (read {record.rows_read}, wrote {record.rows_written},"
            f" attempts {record.attempts})",
            err=True,
        )
    if not record.ok:
        raise click.ClickException(f"handler {name} failed: {record.error}")


@handlers.command("serve")
@_config_option
@click.option("--host", default=None, help="Listen address (default from [service] host).")
@click.option("--port", type=int, default=None, help="Listen port (default from [service] port).")
@click.option(
    "--clock-start", default=None, hidden=True, help="ISO instant the clock starts at (testing)."
)
@click.option(
    "--clock-speed", type=float, default=1.0, hidden=True, help="Clock speed-up factor (testing)."
)
def serve(
    config_path: str | None,
    host: str | None,
    port: int | None,
    clock_start: str | None,
    clock_speed: float,
) -> None:
    """Run the scheduler and the change-notification endpoint until stopped."""
    from imis_tier.handlers import HandlerService, ScaledClock
    from imis_tier.handlers.events import EventDispatcher

    logging.getLogger("imis_tier").setLevel(logging.INFO)
    config, registry = _load(config_path)
    clock = None
    if clock_start or clock_speed != 1.0:
        start = datetime.fromisoformat(clock_start) if clock_start else datetime.now(UTC)
        clock = ScaledClock(start if start.tzinfo else start.replace(tzinfo=UTC), clock_speed)
    runner = _runner(config, registry, clock)
    service = HandlerService(
        runner,
        config.webhook_auth(),
        host=host or config.service.host,
        port=config.service.port if port is None else port,
        dispatcher=EventDispatcher(
            runner, retry=config.event_retry_policy(), seed=config.service.seed
        ),
    )
    signal.signal(signal.SIGTERM, lambda *_: service.request_stop())
    service.start()
    # The address on stdout (first line) lets supervisors and tests find a port chosen with --port 0.
    click.echo(json.dumps({"listening": service.url}), nl=True)
    sys.stdout.flush()
    try:
        service.wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        runner.warehouse.close()
