"""``imis-tier scenario init`` and ``imis-tier simulate [run] SCENARIO | compare | backtest | replay``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from imis_tier_cli._common import emit_json, err, json_option, warehouse_option


def _open(path: str, *, read_only: bool = False) -> Any:
    from imis_tier.warehouse import Warehouse

    if not Path(path).exists():
        raise click.ClickException(f"no warehouse at {path}: run `imis-tier backfill` first")
    return Warehouse(path, read_only=read_only)


@click.group()
def scenario() -> None:
    """Write and check tier scenario files."""


@scenario.command("init")
@warehouse_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="-",
    show_default=True,
    help="File to write ('-' for stdout).",
)
@click.option("--name", default="My scenario", show_default=True)
def scenario_init(warehouse_path: str, output: str, name: str) -> None:
    """Write the current structure (read from the warehouse) as a starting scenario file."""
    from imis_tier.simulate import current_structure, scenario_template

    with _open(warehouse_path, read_only=True) as wh:
        text = scenario_template(current_structure(wh), name)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        err(f"wrote {output}")


@scenario.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def scenario_check(path: str) -> None:
    """Validate a scenario file; errors name the line and field."""
    from imis_tier.simulate import ScenarioError, load_scenario

    try:
        s = load_scenario(path)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: ok ({s.name!r}, {len(s.changes)} change(s))")


class _DefaultRun(click.Group):
    """``imis-tier simulate FILE`` means ``imis-tier simulate run FILE``."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultRun)
def simulate() -> None:
    """Forecast tier scenarios against the status quo (default: `run SCENARIO`)."""


def _run_options(func: Any) -> Any:
    for option in reversed(
        [
            warehouse_option,
            click.option(
                "--draws", default=200, show_default=True, help="Parameter x outcome draws."
            ),
            click.option(
                "--horizon",
                default=1,
                show_default=True,
                type=click.IntRange(1, 3),
                help="Yearly renewal cycles.",
            ),
            click.option("--seed", default=0, show_default=True),
            click.option(
                "--by", "by", multiple=True, help="Break down by a panel column (repeatable)."
            ),
            click.option(
                "--kind",
                type=click.Choice(["conditional", "nested", "mixed"]),
                default="conditional",
                show_default=True,
                help="Tier-choice model.",
            ),
            click.option(
                "--backend",
                type=click.Choice(["joblib", "dask"]),
                default="joblib",
                show_default=True,
            ),
            click.option(
                "--scheduler", default=None, help="Dask scheduler address (backend dask)."
            ),
        ]
    ):
        func = option(func)
    return func


def _forecast(wh: Any, path: str, opts: dict[str, Any], model: Any = None) -> tuple[Any, Any, Any]:
    from imis_tier.features import build_panel
    from imis_tier.simulate import (
        ScenarioError,
        TierChoiceModel,
        benefit_costs,
        current_structure,
        data_date,
        load_scenario,
    )
    from imis_tier.simulate import (
        simulate as run_simulation,
    )

    try:
        sc = load_scenario(path)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if model is None:
        err(f"fitting the {opts['kind']} tier-choice model on the renewal history...")
        model = TierChoiceModel(opts["kind"]).fit(wh)
    as_of = data_date(wh)
    try:
        forecast = run_simulation(
            sc, build_panel(wh, as_of), model, status_quo=current_structure(wh),
            draws=opts["draws"], horizon=opts["horizon"], seed=opts["seed"], by=opts["by"],
            backend=opts["backend"], scheduler=opts["scheduler"], costs=benefit_costs(wh),
        )  # fmt: skip
    except (ScenarioError, ValueError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    return sc, model, forecast


_SHOWN = ("members_end", "churn_rate", "dues_revenue", "nondues_revenue", "cost_to_serve",
          "net_revenue", "revenue_per_member", "engagement")  # fmt: skip


def _print_table(forecast: Any) -> None:
    table = forecast.table()
    click.echo(
        f"{forecast.name}: {forecast.meta.get('members')} members, {forecast.draws} draws, "
        f"{forecast.horizon} cycle(s), {int(forecast.level * 100)}% intervals"
    )
    click.echo(f"{'metric':<22}{'status quo':>14}{'scenario':>14}{'change':>14}  interval")
    for _, row in table.iterrows():
        m = row["metric"]
        if m in _SHOWN or m.startswith("count."):
            fmt = (
                "{:>14.1%}"
                if m.endswith("rate")
                else "{:>14,.0f}"
                if m != "engagement"
                else "{:>14.3f}"
            )
            click.echo(
                f"{m:<22}"
                + fmt.format(row["status_quo"])
                + fmt.format(row["scenario"])
                + fmt.format(row["change"])
                + "  ["
                + fmt.format(row["change_lower"]).strip()
                + ", "
                + fmt.format(row["change_upper"]).strip()
                + "]"
            )


@simulate.command("run")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(exists=True, dir_okay=False))
@_run_options
@json_option
@click.option("--chart", type=click.Path(dir_okay=False), default=None, help="Write a PNG chart.")
@click.option("--no-record", is_flag=True, help="Do not record the run in the warehouse.")
def run(
    scenario_path: str,
    warehouse_path: str,
    as_json: bool,
    chart: str | None,
    no_record: bool,
    **opts: Any,
) -> None:
    """Forecast SCENARIO against the status quo; the run is recorded and reproducible."""
    from imis_tier.simulate import data_date, record_run

    with _open(warehouse_path) as wh:
        sc, model, forecast = _forecast(wh, scenario_path, opts)
        record = None
        if not no_record:
            record = record_run(wh, forecast, sc, model, as_of=data_date(wh), costs=_costs(wh))
    if chart:
        _chart(forecast, chart)
    if as_json:
        emit_json({**forecast.to_json(), "run_id": record.run_id if record else None})
        return
    _print_table(forecast)
    if record is not None:
        err(f"recorded run {record.run_id} (reproduce: imis-tier simulate replay {record.run_id})")


def _costs(wh: Any) -> Any:
    from imis_tier.simulate import benefit_costs

    return benefit_costs(wh)


@simulate.command("compare")
@click.argument(
    "paths",
    metavar="A B ...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False),
)
@_run_options
@json_option
def compare(paths: tuple[str, ...], warehouse_path: str, as_json: bool, **opts: Any) -> None:
    """Forecast several scenarios with one model and the same draws; show their changes side by side."""
    if len(paths) < 2:
        raise click.UsageError("compare needs at least two scenario files")
    results = []
    model = None
    with _open(warehouse_path) as wh:
        for p in paths:
            _, model, forecast = _forecast(wh, p, opts, model)
            results.append(forecast)
    if as_json:
        emit_json([f.to_json() for f in results])
        return
    click.echo(f"{'change in':<22}" + "".join(f"{f.name[:24]:>26}" for f in results))
    tables = [f.table().set_index("metric") for f in results]
    for m in _SHOWN:
        cells = []
        for t in tables:
            v = t.loc[m, "change"]
            cells.append(f"{v:>26.2%}" if m.endswith("rate") else f"{v:>26,.1f}")
        click.echo(f"{m:<22}" + "".join(cells))


@simulate.command("backtest")
@warehouse_option
@click.option(
    "--kind",
    type=click.Choice(["conditional", "nested", "mixed"]),
    default="conditional",
    show_default=True,
)
@click.option(
    "--price-rise/--no-price-rise",
    default=False,
    show_default=True,
    help="Add the reaction to a rise over what each member last paid (TierChoiceModel price_rise).",
)
@click.option("--draws", default=100, show_default=True)
@click.option("--seed", default=0, show_default=True)
@json_option
def backtest(
    warehouse_path: str, kind: str, price_rise: bool, draws: int, seed: int, as_json: bool
) -> None:
    """Fit before each known change, simulate it, compare with what then happened."""
    from imis_tier.simulate.backtest import backtest_change, known_changes

    with _open(warehouse_path, read_only=True) as wh:
        changes = known_changes(wh)
        if not changes:
            raise click.ClickException(
                "the warehouse shows no price change or benefit move to test"
            )
        results = [
            backtest_change(
                wh, d, label=label, kind=kind, draws=draws, seed=seed, price_rise=price_rise
            )
            for label, d in changes
        ]
    if as_json:
        emit_json([r.to_json() for r in results])
        return
    for r in results:
        e = r.errors
        click.echo(
            f"{r.change_date} {r.label}: {r.decisions} decisions; lapse "
            f"{r.forecast['lapse_rate']:.1%} vs {r.actual['lapse_rate']:.1%} ({e['lapse_rate_pp']:+.1f} pp), "
            f"max tier-share error {e['max_share_pp']:.1f} pp, dues {e['dues_revenue_pct']:+.1f}% "
            f"-> {'within' if r.passes() else 'outside'} targets"
        )


@simulate.command("replay")
@click.argument("run_id")
@warehouse_option
@json_option
def replay(run_id: str, warehouse_path: str, as_json: bool) -> None:
    """Reproduce a recorded run from its record and check the outputs are identical."""
    from imis_tier.simulate import reproduce_run

    with _open(warehouse_path) as wh:
        try:
            forecast, same = reproduce_run(wh, run_id)
        except KeyError as exc:
            raise click.ClickException(str(exc.args[0])) from None
    if as_json:
        emit_json({"run_id": run_id, "identical": same, "forecast": forecast.to_json()})
    else:
        _print_table(forecast)
        click.echo(f"identical to the record: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


def _chart(forecast: Any, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = forecast.table().set_index("metric")
    counts = [m for m in table.index if m.startswith("count.")]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = [m.removeprefix("count.") for m in counts]
    change = table.loc[counts, "change"].to_numpy()
    lo = change - table.loc[counts, "change_lower"].to_numpy()
    hi = table.loc[counts, "change_upper"].to_numpy() - change
    ax.bar(labels, change, yerr=[lo, hi], capsize=4, color="#4477aa")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("members vs status quo")
    ax.set_title(f"{forecast.name}: churn change {table.loc['churn_rate', 'change']:+.1%}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["scenario", "simulate"]


def _register_analysis() -> None:
    from .simulate_analysis import sensitivity, sweep

    simulate.add_command(sweep)
    simulate.add_command(sensitivity)


_register_analysis()
