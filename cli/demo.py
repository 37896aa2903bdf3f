"""`imis-tier demo`: the whole pipeline against the embedded default iMIS (the emulator).

Every stage is the same library call a user would make against a real site: start an emulated
iMIS with a synthetic association, backfill it through the REST API into a warehouse, build the
member panel, then score, simulate and stage write-backs as those stages are available.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from imis_tier.client import Client
from imis_tier.emulator import Emulator, EmulatorConfig
from imis_tier.features import build_panel
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse._progress import Progress
from imis_tier.warehouse.sync import backfill

from ._common import err


@contextmanager
def _stage(title: str) -> Iterator[None]:
    err(f"\n== {title}")
    started = time.perf_counter()
    yield
    err(f"   ({time.perf_counter() - started:.1f} s)")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    click.echo("  " + "  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  " + "  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


STAGES: list[tuple[str, Callable[[Client, Warehouse, Emulator], None]]] = []


def stage(title: str) -> Callable[[Callable[[Client, Warehouse, Emulator], None]], Callable[[Client, Warehouse, Emulator], None]]:
    """Register a demo stage run after the backfill (in order of registration)."""

    def register(func: Callable[[Client, Warehouse, Emulator], None]) -> Callable[[Client, Warehouse, Emulator], None]:
        STAGES.append((title, func))
        return func

    return register


@stage("Member panel as of the emulator's clock")
def _panel(client: Client, warehouse: Warehouse, emu: Emulator) -> None:
    panel = build_panel(warehouse, emu.clock)
    counts = panel.groupby("tier", observed=True).agg(
        members=("party_id", "size"), mean_tenure_months=("tenure_months", "mean"),
        webinars_12m=("webinars_12m", "mean"), logins_90d=("logins_90d", "mean"),
    ).reset_index()
    rows = [
        {"tier": r.tier, "members": r.members, "tenure (months)": f"{r.mean_tenure_months:.0f}",
         "webinars/yr": f"{r.webinars_12m:.1f}", "logins/90d": f"{r.logins_90d:.1f}"}
        for r in counts.itertuples()
    ]
    _table(rows, ["tier", "members", "tenure (months)", "webinars/yr", "logins/90d"])
    click.echo(f"  {len(panel):,} members x {panel.shape[1]} features")


def _load_later_stages() -> None:
    # The scoring and simulation stages register themselves on import; importing them here, not at
    # the top, keeps them free to import `stage` from this module.
    from . import _demo_scoring, _demo_simulate  # noqa: F401


@click.command("demo")
@click.option("--members", type=click.IntRange(min=100), default=5000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--warehouse", "warehouse_path", type=click.Path(dir_okay=False),
              default=str(Path(".imis-tier") / "demo.duckdb"), show_default=True)
@click.option("--keep-serving", is_flag=True, help="Leave the emulator running afterwards (Ctrl-C stops it).")
def demo(members: int, seed: int, warehouse_path: str, keep_serving: bool) -> None:
    """Run the whole pipeline on an emulated iMIS with a synthetic association."""
    _load_later_stages()
    path = Path(warehouse_path)
    path.unlink(missing_ok=True)
    with _stage(f"Starting the iMIS emulator ({members:,} synthetic members, seed {seed})"):
        emu = Emulator(EmulatorConfig(members=members, seed=seed, port=0)).start()
    try:
        # The password is generated for this run; it is shown only when the emulator outlives it.
        shown = emu.password if keep_serving else "(generated; --keep-serving shows it)"
        err(f"   iMIS at {emu.base_url}  user {emu.username}  password {shown}")
        with Client(emu.base_url, username=emu.username, password=emu.password, use_keyring=False) as client, \
                Warehouse(path) as warehouse:
            with _stage(f"Backfilling 36 months of history through the REST API into {path}"):
                result = backfill(client, warehouse, progress=Progress(interval_s=2.0))
                click.echo(f"  {result.total_rows:,} rows from {len(result.rows)} queries, "
                           f"{len(emu.request_log):,} requests")
            for title, func in STAGES:
                with _stage(title):
                    func(client, warehouse, emu)
        if keep_serving:
            err(f"\nThe emulator keeps serving at {emu.base_url} (Ctrl-C to stop).")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        emu.stop()
