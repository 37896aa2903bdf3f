"""``imis-tier optimize prices``: the tier prices that maximise net revenue under guardrails."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from imis_tier_cli._common import emit_json, err, json_option, warehouse_option

_KINDS = ("conditional", "nested", "mixed")


@dataclass
class Context:
    """What the analysis commands read from the warehouse: structure, panel, costs, model."""

    warehouse: Any
    structure: Any
    as_of: Any
    panel: Any
    costs: dict[str, Decimal]
    model: Any


def model_options(func: Any) -> Any:
    """--kind / --model: which tier-choice model, fitted now or loaded from a joblib file."""
    func = click.option(
        "--model",
        "model_path",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="A fitted TierChoiceModel saved with joblib (default: fit one now).",
    )(func)
    return click.option(
        "--kind",
        type=click.Choice(_KINDS),
        default="conditional",
        show_default=True,
        help="Tier-choice model to fit.",
    )(func)


def open_warehouse(path: str) -> Any:
    from imis_tier.warehouse import Warehouse

    if not Path(path).exists():
        raise click.ClickException(f"no warehouse at {path}: run `imis-tier backfill` first")
    return Warehouse(path)


def load_context(wh: Any, kind: str, model_path: str | None) -> Context:
    """Read the current structure, the member panel and costs; fit or load the model."""
    import joblib

    from imis_tier.features import build_panel
    from imis_tier.simulate import TierChoiceModel, benefit_costs, current_structure, data_date

    as_of = data_date(wh)
    if model_path is not None:
        model = joblib.load(model_path)
        if not isinstance(model, TierChoiceModel):
            raise click.ClickException(
                f"{model_path}: not a TierChoiceModel (got {type(model).__name__})"
            )
    else:
        err(f"fitting the {kind} tier-choice model on the renewal history...")
        model = TierChoiceModel(kind).fit(wh)
    return Context(
        warehouse=wh,
        structure=current_structure(wh),
        as_of=as_of,
        panel=build_panel(wh, as_of),
        costs=benefit_costs(wh),
        model=model,
    )


@click.group()
def optimize() -> None:
    """Optimise tier prices under governance guardrails."""


@optimize.command("prices")
@click.option(
    "--guardrails",
    "guardrails_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Guardrails YAML (see examples/guardrails.yaml); default: prices ordered by rank.",
)
@click.option(
    "--objective",
    type=click.Choice(["net_revenue", "lifetime_value"]),
    default=None,
    help="What to maximise (default: the guardrails file's, else net_revenue).",
)
@warehouse_option
@model_options
@click.option("--draws", default=200, show_default=True, help="Forecast draws (intervals).")
@click.option("--starts", default=6, show_default=True, help="Optimiser starts.")
@click.option("--seed", default=0, show_default=True)
@click.option("--no-record", is_flag=True, help="Do not record the run in the warehouse.")
@json_option
def prices(
    guardrails_path: str | None,
    objective: str | None,
    warehouse_path: str,
    kind: str,
    model_path: str | None,
    draws: int,
    starts: int,
    seed: int,
    no_record: bool,
    as_json: bool,
) -> None:
    """Propose tier prices, forecast them against today's, and show which guardrails bind."""
    from imis_tier.simulate import record_run
    from imis_tier.simulate.guardrails import GuardrailsError, load_guardrails
    from imis_tier.simulate.optimize import optimize_structure, price_scenario

    guardrails = None
    if guardrails_path is not None:
        try:
            guardrails = load_guardrails(guardrails_path)
        except GuardrailsError as exc:
            raise click.ClickException(str(exc)) from None
    goal = objective or (guardrails.objective if guardrails else None) or "net_revenue"
    if draws < 1:
        raise click.UsageError("--draws must be at least 1: the proposal is shown with intervals")
    with open_warehouse(warehouse_path) as wh:
        ctx = load_context(wh, kind, model_path)
        try:
            opt = optimize_structure(
                ctx.model,
                ctx.panel,
                ctx.structure,
                guardrails=guardrails,
                benefit_costs=ctx.costs,
                objective=goal,
                starts=starts,
                seed=seed,
                draws=draws,
            )
        except (GuardrailsError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        record = None
        if not no_record:
            record = record_run(
                wh,
                opt.forecast,
                price_scenario(opt),
                ctx.model,
                as_of=ctx.as_of,
                costs=ctx.costs,
            )
    if as_json:
        emit_json(
            {
                **opt.to_dict(),
                "forecast": opt.forecast.to_json(),
                "run_id": record.run_id if record else None,
            }
        )
        return
    _print(opt)
    if record is not None:
        err(f"recorded run {record.run_id} (reproduce: imis-tier simulate replay {record.run_id})")


def _print(opt: Any) -> None:
    click.echo(f"Proposed prices (maximise {opt.objective}; guardrails: {opt.guardrails_source})")
    click.echo(f"{'tier':<10}{'current':>12}{'proposed':>12}{'change':>10}")
    for code, new in opt.prices.items():
        old = opt.current_prices[code]
        pct = float((new - old) / old) if old else 0.0
        click.echo(f"{code:<10}{old:>12,.2f}{new:>12,.2f}{pct:>10.1%}")
    f = opt.forecast
    table = f.table().set_index("metric")
    click.echo("")
    click.echo(
        f"Forecast, next renewal cycle ({f.meta.get('members')} members, {f.draws} draws, "
        f"{f.level:.0%} intervals)"
    )
    click.echo(f"{'':<22}{'status quo':>14}{'proposal':>14}{'change':>14}  interval")
    shown = ["net_revenue", "dues_revenue", "lapse_rate", "members_end"]
    shown += [m for m in table.index if m.startswith("count.")]
    for m in shown:
        row = table.loc[m]
        fmt = "{:.1%}" if m.endswith("rate") else "{:,.0f}"
        label = m.replace("count.", "members ").replace("_", " ")
        cells = "".join(f"{fmt.format(row[c]):>14}" for c in ("status_quo", "scenario", "change"))
        interval = f"[{fmt.format(row['change_lower'])}, {fmt.format(row['change_upper'])}]"
        click.echo(f"{label:<22}{cells}  {interval}")
    click.echo("")
    binding = opt.binding
    if not binding:
        click.echo("No guardrail binds: the proposal is the unconstrained optimum.")
        return
    click.echo("Guardrails that bind:")
    for g in binding:
        click.echo(f"  - {g.description}")


__all__ = ["Context", "load_context", "model_options", "open_warehouse", "optimize"]
