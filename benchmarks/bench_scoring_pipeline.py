"""Benchmark the member-scoring pipeline end to end on a synthetic association.

Run:  .venv/bin/python benchmarks/bench_scoring_pipeline.py [--members 100000] [--score-rows 1000000]

1. generate ``--members`` synthetic members and load them through the IQA-export route;
2. build the training panel (``--months`` monthly as-of dates, labels settled by T) and fit the
   MemberScoringModel, T = 9 months before the data end (the back-test date);
3. score the members holding a tier at T and compare with what they did and with the hidden
   ground-truth probabilities (AUC, Pearson r, MAE per outcome);
4. resample the T panel (rows drawn with replacement, new party ids) to ``--score-rows`` members
   and time scoring + per-member explanations + three driver sentences each.

Prints seconds per stage and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from imis_tier.features import build_labels, build_panel
from imis_tier.scoring.backtest import default_backtest_date, true_outcome_probabilities
from imis_tier.scoring.member_model import OUTCOMES, MemberScoringModel, score_panel
from imis_tier.scoring.metrics import evaluate
from imis_tier.scoring.pipeline import engagement_table, training_panel
from imis_tier.testing import filled_warehouse


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()

    t = time.perf_counter()
    warehouse, association = filled_warehouse(members=args.members, seed=args.seed)
    print(f"generate + load {args.members:,} members: {time.perf_counter() - t:.1f} s", flush=True)

    at = default_backtest_date(warehouse)
    t = time.perf_counter()
    train = training_panel(warehouse, at, months=args.months)
    print(
        f"training panel ({len(train.as_of_dates)} as-of dates, {len(train.X):,} rows): "
        f"{time.perf_counter() - t:.1f} s",
        flush=True,
    )
    t = time.perf_counter()
    model = MemberScoringModel().fit(train.X, train.y)
    print(f"fit (propensity + per-tier churn): {time.perf_counter() - t:.1f} s", flush=True)

    panel = build_panel(warehouse, at)
    labels = build_labels(warehouse, at)
    labelled = panel[panel["party_id"].isin(labels["party_id"])].reset_index(drop=True)
    scored = score_panel(model, labelled, explain=False).scores
    frame = scored.merge(
        labels[["party_id", "outcome", "from_tier", "decision_date"]], on="party_id"
    )
    truth = true_outcome_probabilities(association, frame)
    proba = frame[[f"p_{o}" for o in OUTCOMES]].set_axis(list(OUTCOMES), axis=1)
    report = evaluate(frame["outcome"], proba, truth=truth).by_outcome
    print(f"back-test at {at} on {len(frame):,} members' next renewal:")
    for row in report.itertuples(index=False):
        print(
            f"  {row.outcome:<10} rate {row.prevalence:6.2%}  AUC {row.auc:.3f}  "
            f"r(true) {row.truth_pearson:.3f}  MAE(true) {row.truth_mae:.4f}"
        )

    engaged = engagement_table(warehouse, panel, at)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(panel), args.score_rows)
    big = panel.iloc[rows].reset_index(drop=True)
    big["party_id"] = [f"R{i}" for i in range(len(big))]
    big_engagement = engaged.iloc[rows].set_axis(big["party_id"].to_numpy())
    del warehouse
    t = time.perf_counter()
    out = score_panel(model, big, engagement=big_engagement, chunk_rows=args.chunk)
    seconds = time.perf_counter() - t
    assert len(out.scores) + len(out.unscorable) == args.score_rows
    print(
        f"score + explain + 3 driver sentences, {args.score_rows:,} members: {seconds:.1f} s "
        f"({args.score_rows / seconds:,.0f} members/s)"
    )
    print(f"peak resident memory (whole process): {_peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
