"""``imis-tier simulate sweep`` and ``imis-tier simulate sensitivity``: price curves and tornados."""

from __future__ import annotations

from typing import Any

import click
from imis_tier_cli._common import emit_json, json_option, warehouse_option
from imis_tier_cli.optimize import load_context, model_options, open_warehouse


@click.command("sweep")
@warehouse_option
@model_options
@click.option("--tier", "tiers", multiple=True, help="Tier to sweep (repeatable; default: all).")
@click.option("--points", default=200, show_default=True, type=click.IntRange(2, 10_000))
@click.option(
    "--span",
    nargs=2,
    type=float,
    default=(0.5, 1.5),
    show_default=True,
    help="Low and high multiples of today's price.",
)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Write every point to a CSV file.")  # fmt: skip
@click.option("--chart", type=click.Path(dir_okay=False), default=None, help="Write a PNG chart.")
@json_option
def sweep(
    warehouse_path: str,
    kind: str,
    model_path: str | None,
    tiers: tuple[str, ...],
    points: int,
    span: tuple[float, float],
    csv_path: str | None,
    chart: str | None,
    as_json: bool,
) -> None:
    """Expected net revenue, members and lapse rate as each tier's price moves, the others held."""
    from imis_tier.simulate.sensitivity import structure_sweeps

    with open_warehouse(warehouse_path) as wh:
        ctx = load_context(wh, kind, model_path)
        try:
            frame = structure_sweeps(
                ctx.model,
                ctx.panel,
                ctx.structure,
                benefit_costs=ctx.costs,
                points=points,
                span=span,
                tiers=tiers or None,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    if csv_path:
        frame.to_csv(csv_path, index=False)
    if chart:
        _sweep_chart(frame, ctx.structure, chart)
    current = {t.code: float(t.price) for t in ctx.structure.tiers}
    best = {
        str(code): group.iloc[int(group["net_revenue"].to_numpy().argmax())]
        for code, group in frame.groupby("tier")
    }
    if as_json:
        emit_json(
            {
                "points": points,
                "span": list(span),
                "tiers": {
                    code: {
                        "current_price": current[code],
                        "best_price": float(row["price"]),
                        "best_net_revenue": float(row["net_revenue"]),
                        "curve": frame[frame["tier"] == code].drop(columns="tier").to_dict("list"),
                    }
                    for code, row in best.items()
                },
            }
        )
        return
    click.echo(f"{'tier':<8}{'now':>10}{'best':>10}{'net revenue':>16}{'lapse':>8}{'members':>10}")
    for code in ctx.structure.codes:
        if code not in best:
            continue
        row = best[code]
        click.echo(
            f"{code:<8}{current[code]:>10,.2f}{row['price']:>10,.2f}{row['net_revenue']:>16,.0f}"
            f"{row['lapse_rate']:>8.1%}{row['members']:>10,.0f}"
        )
    click.echo("(best: the swept price with the highest expected net revenue, other prices held)")


@click.command("sensitivity")
@click.argument("scenario_path", metavar="[SCENARIO]", required=False, type=click.Path(exists=True))
@warehouse_option
@model_options
@click.option("--pct", type=float, default=None,
              help="Swing each input by this share (0.1 = 10%) instead of its confidence interval.")  # fmt: skip
@click.option("--level", type=float, default=0.95, show_default=True,
              help="Confidence level of the swings.")  # fmt: skip
@json_option
def sensitivity(
    scenario_path: str | None,
    warehouse_path: str,
    kind: str,
    model_path: str | None,
    pct: float | None,
    level: float,
    as_json: bool,
) -> None:
    """Tornado: how much net revenue, lapse rate and members hang on each uncertain model input."""
    from imis_tier.simulate import ScenarioError, load_scenario
    from imis_tier.simulate.sensitivity import structure_tornado

    with open_warehouse(warehouse_path) as wh:
        ctx = load_context(wh, kind, model_path)
        structure, like, name = ctx.structure, None, "current structure"
        if scenario_path:
            try:
                sc = load_scenario(scenario_path)
                structure = sc.apply(sc.base_structure(ctx.structure))
            except ScenarioError as exc:
                raise click.ClickException(str(exc)) from None
            like, name = sc.constants_like, sc.name
        try:
            result = structure_tornado(
                ctx.model,
                ctx.panel,
                structure,
                benefit_costs=ctx.costs,
                status_quo=ctx.structure,
                like=like,
                pct=pct,
                level=level,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json({"structure": name, **result.to_dict()})
        return
    _print_tornado(result, name)


def _print_tornado(result: Any, name: str) -> None:
    base = result.base
    click.echo(
        f"Tornado for {name} ({result.swing} swings): net revenue ${base['net_revenue']:,.0f}, "
        f"lapse {base['lapse_rate']:.1%}, members {base['members']:,.0f}"
    )
    click.echo(f"{'input':<34}{'net revenue low..high':>28}{'lapse low..high':>22}")
    frame = result.frame.set_index(["input", "metric"])
    for label in result.inputs():
        rev, lapse = frame.loc[(label, "net_revenue")], frame.loc[(label, "lapse_rate")]
        money = f"{rev['low_delta']:+,.0f} .. {rev['high_delta']:+,.0f}"
        rate = f"{lapse['low_delta']:+.2%} .. {lapse['high_delta']:+.2%}"
        click.echo(f"{label[:33]:<34}{money:>28}{rate:>22}")


def _sweep_chart(frame: Any, structure: Any, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for code, group in frame.groupby("tier", sort=False):
        now = float(structure.tier(code).price)
        rel = group["price"] / now
        axes[0].plot(rel, group["net_revenue"] / 1000.0, label=code)
        axes[1].plot(rel, group["lapse_rate"] * 100.0, label=code)
    axes[0].set_ylabel("expected net revenue ($k)")
    axes[1].set_ylabel("expected lapse rate (%)")
    for ax in axes:
        ax.set_xlabel("price / today's price")
        ax.axvline(1.0, color="grey", linewidth=0.8)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["sensitivity", "sweep"]
