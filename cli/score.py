"""`imis-tier score`: score members, explain one member, back-test the scores.

``imis-tier score --as-of 2026-10-01`` fits a model if none suits, scores every member, stores the
scores in the warehouse (table ``scores``) and prints the top upgrade and lapse candidates. Writing
them into iMIS is `imis-tier writeback scores` (dry run unless ``--apply``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from imis_tier.warehouse import Warehouse

from ._common import emit_json, err, json_option, warehouse_option


def _registry_option(func: Any) -> Any:
    return click.option(
        "--registry", "registry_path", type=click.Path(file_okay=False), default=None,
        help="Model registry directory (default: models/ beside the warehouse).",
    )(func)  # fmt: skip


def _registry(registry_path: str | None, warehouse: Warehouse) -> Any:
    from imis_tier.scoring.pipeline import default_registry
    from imis_tier.scoring.registry import ModelRegistry

    return ModelRegistry(registry_path) if registry_path else default_registry(warehouse)


def _date(value: Any) -> date | None:
    return value.date() if value is not None else None


def _open(warehouse_path: str) -> Warehouse:
    from pathlib import Path

    if not Path(warehouse_path).is_file():
        raise click.ClickException(
            f"no warehouse at {warehouse_path}: run `imis-tier backfill` or `load-exports` first"
        )
    return Warehouse(warehouse_path)


@click.group(invoke_without_command=True)
@warehouse_option
@_registry_option
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Scoring date (default: the day after the warehouse data end).")  # fmt: skip
@click.option("--tier", default=None, help="Score only the members of this tier.")
@click.option("--refit", is_flag=True, help="Fit a new model even if a registered one suits.")
@click.option("--months", default=24, show_default=True, help="Training months before --as-of.")
@click.option("--top", "top_n", default=10, show_default=True, help="Candidates listed per list.")
@json_option
@click.pass_context
def score(
    ctx: click.Context,
    warehouse_path: str,
    registry_path: str | None,
    as_of: Any,
    tier: str | None,
    refit: bool,
    months: int,
    top_n: int,
    as_json: bool,
) -> None:
    """Score every member: propensity to renew/upgrade/downgrade/lapse, churn risk, engagement."""
    ctx.ensure_object(dict)
    ctx.obj.update(warehouse_path=warehouse_path, registry_path=registry_path)
    if ctx.invoked_subcommand is not None:
        return
    from imis_tier.scoring.pipeline import ScoringError, score_members, store_scores

    with _open(warehouse_path) as warehouse:
        try:
            if not as_json:
                err("scoring members (fits a model first if none is registered) ...")
            run = score_members(
                warehouse, _date(as_of), tier=tier, registry=_registry(registry_path, warehouse),
                refit=refit, months=months,
            )  # fmt: skip
        except ScoringError as exc:
            raise click.ClickException(str(exc)) from exc
        store_scores(warehouse, run)
    upgrade, lapse = run.top("upgrade", top_n), run.top("lapse", top_n)
    if as_json:
        emit_json(
            {
                "run_id": run.run_id,
                "as_of": run.as_of.isoformat(),
                "model_ref": run.model_ref,
                "trained": run.trained,
                "scored": len(run.scores),
                "unscorable": run.unscorable.to_dict("records"),
                "warnings": list(run.warnings),
                "mean": {c: float(run.scores[c].mean()) for c in _NUMBERS},
                "top_upgrade": upgrade.to_dict("records"),
                "top_lapse": lapse.to_dict("records"),
            }
        )
        return
    click.echo(
        f"run {run.run_id}: {len(run.scores):,} members scored as of {run.as_of} with "
        f"{run.model_ref}{' (newly fitted)' if run.trained else ''}"
    )
    for warning in run.warnings:
        err(f"warning: {warning}")
    if len(run.unscorable):
        reasons = run.unscorable["reason"].value_counts()
        err(
            f"{len(run.unscorable)} unscorable: "
            + "; ".join(f"{n} x {r}" for r, n in reasons.items())
        )
    for title, frame, column in (("upgrade", upgrade, "p_upgrade"), ("lapse", lapse, "p_lapse")):
        click.echo(f"\ntop {title} candidates:")
        for row in frame.itertuples(index=False):
            click.echo(
                f"  {row.party_id:<10} {row.tier:<6} {getattr(row, column):>6.1%}  "
                f"engagement {row.engagement:>3.0f}  {row.driver_1}"
            )
    err(f"\nwrite them into iMIS with: imis-tier writeback scores --run-id {run.run_id}")


_NUMBERS = ("p_renew", "p_upgrade", "p_downgrade", "p_lapse", "churn_risk", "engagement")


@score.command("explain")
@click.argument("member_id")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Explain as of this date (default: the member's latest stored score).")  # fmt: skip
@click.option("--model", "model_ref", default=None, help="name@version (default: the run's model).")
@click.option("-k", "k", default=5, show_default=True, help="Drivers per outcome.")
@json_option
@click.pass_context
def explain_command(
    ctx: click.Context, member_id: str, as_of: Any, model_ref: str | None, k: int, as_json: bool
) -> None:
    """Why MEMBER_ID got their scores: each outcome's strongest drivers, in plain words."""
    from imis_tier.scoring.pipeline import ScoringError, explain_member

    with _open(ctx.obj["warehouse_path"]) as warehouse:
        try:
            explained = explain_member(
                warehouse, member_id, _date(as_of),
                registry=_registry(ctx.obj["registry_path"], warehouse), model_ref=model_ref, k=k,
            )  # fmt: skip
        except (ScoringError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json(
            {
                "party_id": explained.party_id,
                "as_of": explained.as_of.isoformat(),
                "model_ref": explained.model_ref,
                "tier": explained.tier,
                "probability": explained.probability.to_dict(),
                "baseline_probability": explained.baseline_probability.to_dict(),
                "churn_risk": explained.churn_risk,
                "engagement": explained.engagement,
                "drivers": dict(explained.drivers),
                "contributions": explained.contributions.to_dict("records"),
            }
        )
        return
    click.echo(explained.to_text())


@score.command("evaluate")
@click.option("--at", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Back-test date (default: 9 months before the data end).")  # fmt: skip
@click.option("--months", default=24, show_default=True, help="Training months before --at.")
@click.option("--truth-members", type=int, default=None,
              help="Synthetic data only: regenerate the association (members) to compare with its "
                   "true probabilities.")  # fmt: skip
@click.option("--truth-seed", type=int, default=None, help="Seed of that synthetic association.")
@json_option
@click.pass_context
def evaluate_command(
    ctx: click.Context,
    at: Any,
    months: int,
    truth_members: int | None,
    truth_seed: int | None,
    as_json: bool,
) -> None:
    """Temporal back-test: train before a past date, score it, compare with what members did."""
    from imis_tier.features import data_horizon
    from imis_tier.scoring.backtest import backtest
    from imis_tier.scoring.pipeline import ScoringError

    association = None
    with _open(ctx.obj["warehouse_path"]) as warehouse:
        if (truth_members is None) != (truth_seed is None):
            raise click.UsageError("--truth-members and --truth-seed go together")
        if truth_members is not None and truth_seed is not None:
            from imis_tier.synthetic import generate_association

            association = generate_association(members=truth_members, seed=truth_seed)
            horizon = data_horizon(warehouse)
            if horizon is None or (association.clock - horizon).days > 3:
                raise click.ClickException(
                    f"the synthetic association ends {association.clock}, the warehouse data end "
                    f"{horizon}: they are not the same association"
                )
        try:
            report = backtest(warehouse, _date(at), months=months, association=association)
        except ScoringError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(report.to_text())
