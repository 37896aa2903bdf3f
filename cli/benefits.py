"""`imis-tier benefits`: how benefits are used, what they are worth, which to keep."""

from __future__ import annotations

import math
from pathlib import Path

import click

from imis_tier.warehouse import Warehouse

from ._common import emit_json, json_option, warehouse_option


@click.group("benefits")
def benefits() -> None:
    """Benefit value: utilisation, adjusted renewal association, willingness to pay."""


def _clean(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


@benefits.command("report")
@warehouse_option
@click.option("--tier", default=None, help="Only utilisation for this tier.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the benefit value chart (.png/.svg); a utilisation chart goes beside it.",
)
@json_option
def report(warehouse_path: str, tier: str | None, chart: str | None, as_json: bool) -> None:
    """Rank benefits: value per holder, cost to serve, utilisation and a verdict."""
    from imis_tier.value.benefits import benefit_report

    if not Path(warehouse_path).exists():
        raise click.ClickException(
            f"no warehouse at {warehouse_path}: run `imis-tier backfill` first"
        )
    try:
        result = benefit_report(Warehouse(warehouse_path))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    trend = result.trend
    if tier is not None:
        if tier not in set(trend["tier"]):
            raise click.ClickException(
                f"no tier {tier!r}; tiers: {', '.join(sorted(set(trend['tier'])))}"
            )
        trend = trend[trend["tier"] == tier]
    if chart:
        from imis_tier.value.charts import benefit_value_chart, utilisation_chart

        target = benefit_value_chart(result.ranking, chart)
        usage = utilisation_chart(
            trend, target.with_name(target.stem + "-utilisation" + target.suffix)
        )
        click.echo(f"charts written to {target} and {usage}", err=True)
    columns = [
        "rank",
        "benefit",
        "cost_to_serve",
        "use_share",
        "renew_or",
        "renew_or_low",
        "renew_or_high",
        "value",
        "value_low",
        "value_high",
        "verdict",
        "defines",
    ]
    if as_json:
        emit_json(
            {
                "ranking": [
                    {k: _clean(v) for k, v in row.items()}
                    for row in result.ranking[columns].to_dict(orient="records")
                ],
                "utilisation": [
                    {k: _clean(v) for k, v in row.items()}
                    for row in trend.to_dict(orient="records")
                ],
                "bundles": result.bundles.to_dict(orient="records"),
            }
        )
        return
    click.echo(
        f"{'#':>2} {'benefit':<24}{'cost':>7}{'use':>6}{'renew OR (95%)':>22}{'value $ (95%)':>26}  verdict"
    )
    for r in result.ranking.to_dict("records"):
        odds = (
            "-"
            if math.isnan(r["renew_or"])
            else f"{r['renew_or']:.2f} ({r['renew_or_low']:.2f}-{r['renew_or_high']:.2f})"
        )
        worth = (
            "-"
            if math.isnan(r["value"])
            else f"{r['value']:.0f} ({r['value_low']:.0f} to {r['value_high']:.0f})"
        )
        use = "-" if math.isnan(r["use_share"]) else f"{r['use_share']:.2f}"
        verdict = r["verdict"] + (f" {r['defines']}" if isinstance(r["defines"], str) else "")
        click.echo(
            f"{r['rank']:>2} {r['benefit']:<24}{r['cost_to_serve']:>7.0f}{use:>6}{odds:>22}"
            f"{worth:>26}  {verdict}"
        )
    if len(result.bundles):
        click.echo("candidate bundles for a new tier:")
        for b in result.bundles.to_dict("records"):
            click.echo(
                f"  {b['bundle']:<44} value {b['value']:>7.0f}  cost {b['cost_to_serve']:>5.0f}"
                f"  co-use {b['co_use']:.2f}"
            )
