"""`imis-tier value`: cohort retention and lifetime value of members, from the warehouse."""

from __future__ import annotations

from typing import Any

import click

from imis_tier.warehouse import Warehouse

from ._common import emit_json, json_option, warehouse_option

_BY = {"tier": "join_tier", "join_year": "join_year", "join_year_tier": "join_year_tier"}


def _open(path: str) -> Warehouse:
    from pathlib import Path

    if not Path(path).exists():
        raise click.ClickException(
            f"no warehouse at {path}: run `imis-tier backfill` or `load-exports` first"
        )
    return Warehouse(path)


@click.group("value")
def value() -> None:
    """Member value: cohort retention (sBG / BdW), DERL and lifetime value."""


@value.command("cohorts")
@warehouse_option
@click.option(
    "--by",
    "by",
    type=click.Choice(["tier", "join_year", "join_year_tier", "segment"]),
    default="tier",
    show_default=True,
    help="How to form cohorts.",
)
@click.option(
    "--segment",
    default="career_stage",
    show_default=True,
    type=click.Choice(["career_stage", "industry", "org_size", "region"]),
    help="The member column used with --by segment.",
)
@click.option(
    "--discount-rate", default=0.1, show_default=True, type=float, help="Per renewal period."
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Valuation date (default: data horizon).",
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a survival chart (.png/.svg).",
)
@json_option
def cohorts(
    warehouse_path: str,
    by: str,
    segment: str,
    discount_rate: float,
    as_of: object,
    chart: str | None,
    as_json: bool,
) -> None:
    """Fit retention per cohort; show model, retention, DERL and residual value."""
    from imis_tier.value.cohorts import cohort_retention

    grouping = segment if by == "segment" else _BY[by]
    day = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    try:
        report = cohort_retention(
            _open(warehouse_path), grouping, as_of=day, discount_rate=discount_rate
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = report.summary()
    if chart:
        from imis_tier.value.charts import cohort_chart

        click.echo(f"chart written to {cohort_chart(report, chart)}", err=True)
    if as_json:
        emit_json(
            {
                "as_of": report.as_of,
                "by": list(report.by),
                "discount_rate": report.discount_rate,
                "residual_value": str(report.residual_value),
                "cohorts": summary.to_dict(orient="records"),
            }
        )
        return
    click.echo(
        f"cohorts by {' x '.join(report.by)} as of {report.as_of} (d = {report.discount_rate:g})"
    )
    click.echo(
        f"{'cohort':<16}{'members':>8}{'active':>8}{'model':>6}{'r1':>7}{'r5':>7}{'DERL':>7}{'residual value':>17}"
    )
    for fit in report.fits.values():
        model = fit.model
        flag = "*" if fit.pooled else ""
        click.echo(
            f"{fit.label + flag:<16}{fit.members:>8}{fit.active:>8}{model.model_name:>6}"
            f"{float(model.retention(1)):>7.3f}{float(model.retention(5)):>7.3f}"
            f"{fit.mean_derl:>7.2f}{fit.residual_value:>17,}"
        )
    click.echo(f"total residual value: {report.residual_value:,}")
    if report.skipped:
        click.echo(
            "* pooled model: "
            + "; ".join(f"{'/'.join(map(str, k))}: {v}" for k, v in report.skipped.items()),
            err=True,
        )


@value.command("member")
@warehouse_option
@click.argument("member_id")
@click.option("--discount-rate", default=0.1, show_default=True, type=float)
@json_option
def member(warehouse_path: str, member_id: str, discount_rate: float, as_json: bool) -> None:
    """Lifetime value and payment risk of one member (party id)."""
    from imis_tier.value.individual import member_value
    from imis_tier.value.payment_risk import payment_risk

    wh = _open(warehouse_path)
    try:
        result = member_value(wh, member_id, discount_rate=discount_rate)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    risk, _ = payment_risk(wh)
    risk_row: dict[Any, Any] | None = (
        risk.loc[member_id].to_dict() if member_id in risk.index else None
    )
    data = {
        "party_id": result.party_id,
        "tier": result.tier,
        "renewals": result.renewals,
        "lapse_probability": round(result.lapse_probability, 4),
        "lapse_source": result.lapse_source,
        "derl": round(result.derl, 3),
        "expected_net_dues": str(result.expected_net_dues),
        "residual_dues": str(result.residual_dues),
        "nondues_value": str(result.nondues_value),
        "lifetime_value": str(result.lifetime_value),
        "payment_risk": None if risk_row is None else round(float(risk_row["risk"]), 4),
        "payment_risk_reasons": None if risk_row is None else str(risk_row["reasons"]),
    }
    if as_json:
        emit_json(data)
        return
    for key, item in data.items():
        click.echo(f"{key:<22}{item}")
