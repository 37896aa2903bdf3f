"""Simulation engine figures: one scenario over 1,000,000 members x 6 alternatives x 200 draws,
and fitting each tier-choice model on 100,000 renewal decisions.

    .venv/bin/python benchmarks/bench_simulate.py [--members 1000000] [--draws 200]
        [--decisions 100000] [--kinds conditional,nested,mixed | none] [--serial-members 50000]

Members are bootstrapped from a 2,000-member synthetic association's panel (the engine's cost
depends on counts, not on who the members are); decisions are its renewal history tiled.
Peak memory is the process's maximum resident set size. The load average is printed with
each figure: the machine is shared, and the figures are only comparable at similar loads.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from imis_tier.features import build_panel
from imis_tier.simulate import (
    TierChoiceModel,
    benefit_costs,
    choice_dataset,
    current_structure,
    data_date,
    parse_scenario,
    simulate,
)
from imis_tier.testing import filled_warehouse


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--decisions", type=int, default=100_000)
    ap.add_argument("--kinds", default="conditional,nested,mixed", help="or 'none'")
    ap.add_argument("--serial-members", type=int, default=50_000, help="0 to skip")
    args = ap.parse_args()

    wh, _ = filled_warehouse(members=2000, seed=3)
    data = choice_dataset(wh)
    model = TierChoiceModel("conditional").fit_dataset(data)
    panel = build_panel(wh, data_date(wh))
    rng = np.random.default_rng(0)
    big = panel.iloc[rng.integers(0, len(panel), args.members)].reset_index(drop=True)
    big["party_id"] = np.arange(len(big))
    scenario = parse_scenario(
        "name: bench\nchanges:\n  - set_price: {tier: STD, price: '375.00'}\n"
    )
    print(f"before simulate: peak RSS {_rss_gb():.2f} GB; {_load()}")
    t = time.perf_counter()
    f = simulate(scenario, big, model, status_quo=current_structure(wh), draws=args.draws,
                 costs=benefit_costs(wh))  # fmt: skip
    elapsed = time.perf_counter() - t
    churn = f.table().set_index("metric").loc["churn_rate"]
    print(
        f"simulate: {args.members:,} members x {len(f.to_codes)} alternatives x {args.draws} draws "
        f"(scenario + status quo): {elapsed:.1f} s, peak RSS {_rss_gb():.2f} GB; "
        f"churn change {churn['change']:+.4f}; {_load()}"
    )
    if args.serial_members:
        few = big.iloc[: args.serial_members]
        t = time.perf_counter()
        simulate(scenario, few, model, status_quo=current_structure(wh), draws=args.draws,
                 costs=benefit_costs(wh), n_jobs=1)  # fmt: skip
        print(
            f"simulate, one worker: {len(few):,} members x {args.draws} draws: "
            f"{time.perf_counter() - t:.2f} s; {_load()}"
        )
    if args.kinds == "none":
        return

    reps = max(1, args.decisions // data.n_decisions)
    n_sit = int(data.situation.max()) + 1
    tiled = replace(
        data,
        X=pd.concat([data.X] * reps, ignore_index=True),
        chosen=np.tile(data.chosen, reps),
        situation=np.concatenate([data.situation + k * n_sit for k in range(reps)]),
        alternative=np.tile(data.alternative, reps),
        party_id=np.concatenate([data.party_id + k * 10**7 for k in range(reps)]),
        decisions=pd.concat([data.decisions] * reps, ignore_index=True),
    )
    for kind in args.kinds.split(","):
        t = time.perf_counter()
        m = TierChoiceModel(kind, mixed_draws=20).fit_dataset(tiled)
        print(
            f"fit {kind}: {tiled.n_decisions:,} decisions ({len(tiled.X):,} rows): "
            f"{time.perf_counter() - t:.1f} s, {m.estimator_.n_iter_} iterations, "
            f"peak RSS {_rss_gb():.2f} GB"
        )


if __name__ == "__main__":
    main()
