"""Member value on a synthetic association: accuracy against the ground truth, timings, charts.

    .venv/bin/python benchmarks/bench_value_pipeline.py [--members 5000] [--seed 3] [--charts docs/charts]

Fits cohort retention on the warehouse, then checks it two ways: as of a year before the data
horizon against the renewals the warehouse then recorded (observable back-test), and as of the
horizon against a 12-month run of the hidden true behaviour (``truth.forward``, evaluation only).
Prints the errors, the benefit ranking next to the generator's true benefit values, and the time
each step takes; renders the charts linked from docs/value.md.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import pandas as pd

from imis_tier.synthetic.catalog import BENEFITS
from imis_tier.testing import filled_warehouse
from imis_tier.value.backtest import holdout_decisions, retention_backtest
from imis_tier.value.benefits import benefit_report
from imis_tier.value.charts import benefit_value_chart, cohort_chart, utilisation_chart
from imis_tier.value.cohorts import cohort_retention
from imis_tier.value.economics import tier_economics
from imis_tier.value.individual import member_values
from imis_tier.value.payment_risk import payment_risk


def _timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"  {label:<34}{time.perf_counter() - start:8.2f} s")
    return out


def _prices(wh, day=None):  # type: ignore[no-untyped-def]
    econ = tier_economics(wh, day)
    return dict(zip(econ["tier_code"], econ["price"], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--split", default="2025-11-01", help="back-test: fit as of this date")
    parser.add_argument("--charts", default=None, help="directory for the docs charts")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)

    print(f"association: {args.members} members, seed {args.seed}")
    wh, assoc = _timed("generate + load warehouse", filled_warehouse, args.members, args.seed)
    split = date.fromisoformat(args.split)
    report = _timed("cohort_retention(by=tier)", cohort_retention, wh, "tier")
    _timed("cohort_retention(by=career_stage)", cohort_retention, wh, "career_stage")
    early = _timed("cohort_retention as of split", cohort_retention, wh, "tier", as_of=split)
    values = _timed("member_values", member_values, wh, cohorts=report)
    _timed("payment_risk", payment_risk, wh)
    benefits = _timed("benefit_report", benefit_report, wh)

    print("\ncohorts (by join tier):")
    print(report.summary().drop(columns=["reason"]).round(3).to_string(index=False))
    print(f"total residual value: {report.residual_value:,}")
    mean_ltv = values.groupby("tier")["lifetime_value"].apply(lambda s: float(sum(s)) / len(s))
    print("mean lifetime value by tier:", mean_ltv.round(0).to_dict())

    print(f"\nback-test: fit as of {split}, renewals after it (observable):")
    backtest = retention_backtest(early, holdout_decisions(wh, split), _prices(wh, split))
    print(backtest.round(3).to_string(index=False))

    run = assoc.truth.forward(assoc.structure_at(assoc.clock), months=12, seed=1)  # evaluation only
    renewals = run.decisions[run.decisions["kind"] == "renewal"]
    realised = pd.DataFrame(
        {
            "party_id": renewals["party_id"].astype(str),
            "decision_date": renewals["decision_date"],
            "lapsed": renewals["to_tier"].astype(str) == "LAPSE",
            "price": renewals["price_cents"] / 100,
        }
    )
    print("\nforward: fit at the horizon, next 12 months of the true behaviour:")
    print(retention_backtest(report, realised, _prices(wh)).round(3).to_string(index=False))

    true_value = {b.code: b.value for b in BENEFITS}
    ranking = benefits.ranking.assign(true_value=benefits.ranking["benefit"].map(true_value))
    print("\nbenefit ranking (true_value: the generator's mean utility, for checking only):")
    columns = ["rank", "benefit", "cost_to_serve", "use_share", "renew_or", "value", "value_low"]
    print(
        ranking[[*columns, "value_high", "verdict", "true_value"]].round(3).to_string(index=False)
    )
    print("bundles:")
    print(benefits.bundles.round(2).to_string(index=False))

    if args.charts:
        target = Path(args.charts)
        cohort_chart(report, target / "value-cohorts.png")
        utilisation_chart(benefits.trend, target / "benefit-utilisation.png")
        benefit_value_chart(benefits.ranking, target / "benefit-value.png")
        print(f"\ncharts written to {target}")


if __name__ == "__main__":
    main()
