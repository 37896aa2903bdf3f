"""`imis-tier backfill`, `imis-tier sync` and `imis-tier load-exports`: fill the warehouse."""

from __future__ import annotations

import logging
from datetime import date

import click

from imis_tier.warehouse import Warehouse
from imis_tier.warehouse._progress import Progress
from imis_tier.warehouse.sync import SyncResult, backfill, load_exports, sync_incremental

from ._common import emit_json, imis_options, json_option, make_client, warehouse_option


def _report(result: SyncResult, as_json: bool) -> None:
    if as_json:
        emit_json({"run_id": result.run_id, "mode": result.mode, "resumed": result.resumed, "rows": result.rows})
        return
    click.echo(f"{result.mode} {result.run_id}{' (resumed)' if result.resumed else ''}: {result.total_rows:,} rows")
    for entity, rows in result.rows.items():
        click.echo(f"  {entity:<20} {rows:>10,}")


def _progress() -> Progress:
    logging.getLogger("imis_tier.sync").setLevel(logging.INFO)
    return Progress()


@click.command("backfill")
@imis_options
@warehouse_option
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Dated history from this day on.")
@click.option("--entity", "entities", multiple=True, help="Only these entities (repeatable).")
@json_option
def backfill_command(base_url: str | None, username: str | None, password: str | None,
                     warehouse_path: str, since: object, entities: tuple[str, ...], as_json: bool) -> None:
    """Pull full member history from iMIS into the warehouse (resumes a killed backfill)."""
    day: date | None = since.date() if since is not None else None  # type: ignore[attr-defined]
    with make_client(base_url, username, password) as client, Warehouse(warehouse_path) as warehouse:
        result = backfill(client, warehouse, since=day, entities=entities or None, progress=_progress())
    _report(result, as_json)


@click.command("sync")
@imis_options
@warehouse_option
@click.option("--entity", "entities", multiple=True, help="Only these entities (repeatable).")
@json_option
def sync_command(base_url: str | None, username: str | None, password: str | None,
                 warehouse_path: str, entities: tuple[str, ...], as_json: bool) -> None:
    """Pull only what changed in iMIS since the last checkpoint (UpdatedOn)."""
    with make_client(base_url, username, password) as client, Warehouse(warehouse_path) as warehouse:
        result = sync_incremental(client, warehouse, entities=entities or None, progress=_progress())
    _report(result, as_json)


@click.command("load-exports")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@warehouse_option
@json_option
def load_exports_command(directory: str, warehouse_path: str, as_json: bool) -> None:
    """Load IQA CSV exports (the on-premise route) from DIRECTORY into the warehouse."""
    with Warehouse(warehouse_path) as warehouse:
        result = load_exports(directory, warehouse, progress=_progress())
    _report(result, as_json)
