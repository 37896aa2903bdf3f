"""Benchmark the propensity model: fit on ~2M rows, score and explain ~1M rows x 30 features.

Run:  .venv/bin/python benchmarks/bench_scoring.py [--fit-rows N] [--score-rows N] [--chunk N]

Prints wall-clock seconds for each stage. Data are synthetic (24 numeric + 6 categorical
features, 4 outcomes, 10% missing in two columns), generated from a fixed seed.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from imis_tier.scoring import EngagementScore, PropensityModel

OUTCOMES = np.array(["renew", "upgrade", "downgrade", "lapse"], dtype=object)


def make_features(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for j in range(24):
        values = rng.gamma(1.0 + j % 4, 2.0, n)
        if j in (3, 7):
            values[rng.random(n) < 0.1] = np.nan
        columns[f"num_{j:02d}"] = values
    for j in range(6):
        columns[f"cat_{j}"] = pd.Categorical(
            rng.choice([f"level_{i}" for i in range(4 + 3 * j)], n)
        )
    X = pd.DataFrame(columns)
    n0 = np.nan_to_num(X["num_03"].to_numpy(), nan=5.0)
    logits = np.column_stack(
        [
            np.zeros(n),
            -2.0 + 0.3 * X["num_00"].to_numpy() + (X["cat_0"] == "level_1").to_numpy(),
            -3.0 + 0.2 * X["num_01"].to_numpy(),
            -0.5 - 0.2 * n0 + 0.5 * (X["cat_2"] == "level_0").to_numpy(),
        ]
    )
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    draw = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    return X, OUTCOMES[np.minimum(draw, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fit-rows", type=int, default=2_000_000)
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per explanation chunk")
    args = parser.parse_args()

    t0 = time.perf_counter()
    X_fit, y_fit = make_features(args.fit_rows, seed=1)
    X_score, _ = make_features(args.score_rows, seed=2)
    print(f"data: fit {X_fit.shape}, score {X_score.shape} in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    model = PropensityModel(cv=3).fit(X_fit, y_fit)
    print(
        f"fit (3-fold cross-fitted calibration + final fit), {args.fit_rows:,} rows: {time.perf_counter() - t0:.1f} s"
    )
    del X_fit, y_fit

    t0 = time.perf_counter()
    model.predict_proba(X_score)
    predict_s = time.perf_counter() - t0
    print(f"predict_proba, {args.score_rows:,} rows: {predict_s:.2f} s")

    t0 = time.perf_counter()
    for explanation in model.iter_explain(X_score, chunk_rows=args.chunk):
        explanation.top(3)
    explain_s = time.perf_counter() - t0
    print(
        f"explain + top(3), {args.score_rows:,} rows in chunks of {args.chunk:,}: {explain_s:.2f} s"
    )
    print(f"scoring + explanations total: {predict_s + explain_s:.2f} s")

    rng = np.random.default_rng(3)
    n_rows = 5_000_000
    kinds = np.array(["event", "webinar", "login", "download", "post"], dtype=object)
    activity = pd.DataFrame(
        {
            "party_id": rng.integers(0, 1_000_000, n_rows),
            "kind": kinds[rng.integers(0, len(kinds), n_rows)],
            "date": pd.Timestamp("2024-07-01")
            - pd.to_timedelta(rng.integers(1, 900, n_rows), unit="D"),
            "units": np.ones(n_rows),
        }
    )
    t0 = time.perf_counter()
    EngagementScore().score(activity, "2024-07-01")
    print(
        f"engagement score, {n_rows:,} activity rows (~1M members): {time.perf_counter() - t0:.2f} s"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
