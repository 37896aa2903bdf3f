"""Benchmark price sweeps, tornados and price optimisation.

Part 1 (synthetic, any size): a conditional logit with price, five tier constants, a member-
specific value term and the price-rise kink on the current tier, for ``--members`` members with
5 tiers + LAPSE. Times a 200-point sweep of one tier, sweeps of all five, one optimisation under
guardrails (ordered prices, gaps, a 15% max move, a lapse-rise cap, a protected segment) and a
tornado over the six parameters.

Part 2 (``--model``): the same on the real tier-choice model fitted on a synthetic association
loaded into a warehouse (``--association`` members; fitting is not timed).

    python benchmarks/bench_sweep.py                           # 10k, 100k, 1M members
    python benchmarks/bench_sweep.py --members 100000 --model
"""

from __future__ import annotations

import argparse
import resource
import time
from decimal import Decimal

import numpy as np
import pandas as pd

CODES = ("STU", "EARLY", "STD", "PREM", "LEAD")
PRICES = np.array([95.0, 195.0, 345.0, 595.0, 995.0])
COSTS = {"STU": 65.0, "EARLY": 115.0, "STD": 150.0, "PREM": 265.0, "LEAD": 385.0}
GUARDRAILS = """
min_gap: 50
max_change_pct: 15
max_lapse_rate_rise: 0.01
tiers:
  LEAD: {frozen: true}
protected_segments:
  - name: students
    where: {career_stage: [student]}
    max_lapse_rate_rise: 0.005
"""


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _synthetic(n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    from imis_tier.simulate.optimize import LogitPriceResponse
    from imis_tier.structure import LAPSE

    rng = np.random.default_rng(seed)
    alpha = np.exp(rng.normal(np.log(0.9), 0.4, n))  # utility per $100, heterogeneous
    asc = np.array([1.4, 2.4, 3.6, 4.8, 6.5])
    value = rng.normal(0.0, 0.6, (n, 5))
    stage = rng.choice(["student", "early", "mid", "senior"], size=n, p=[0.1, 0.2, 0.5, 0.2])
    current = rng.integers(0, 5, n)
    base = np.zeros((n, 6))
    base[:, :5] = asc + value
    base[np.arange(n), current] += 2.0  # habit on the current tier
    slope = np.zeros((n, 6))
    slope[:, :5] = -alpha[:, None] / 100.0
    kink = np.zeros((n, 6))
    kink[np.arange(n), current] = -0.5 * alpha / 100.0  # a rise hurts more than a level
    at = np.zeros((n, 6))
    at[np.arange(n), current] = PRICES[current]
    return LogitPriceResponse(
        base,
        slope,
        tier_codes=CODES,
        alternatives=(*CODES, LAPSE),
        kink_slope=kink,
        kink_at=at,
        members=pd.DataFrame({"career_stage": stage}),
    )


def bench_synthetic(n: int) -> dict[str, float]:
    from imis_tier.simulate.guardrails import parse_guardrails
    from imis_tier.simulate.optimize import optimize_prices
    from imis_tier.simulate.sensitivity import price_sweep, price_sweeps

    response, t_build = _timed(lambda: _synthetic(n))
    grid = np.linspace(0.5, 1.5, 200) * PRICES[2]
    _, t_one = _timed(lambda: price_sweep(response, "STD", grid, PRICES, COSTS))
    _, t_all = _timed(lambda: price_sweeps(response, PRICES, COSTS, points=200))
    g = parse_guardrails(GUARDRAILS)
    current = {c: Decimal(str(p)) for c, p in zip(CODES, PRICES, strict=True)}
    opt, t_opt = _timed(
        lambda: optimize_prices(response, current, guardrails=g, costs=COSTS, starts=4)
    )
    return {
        "members": n,
        "build_s": t_build,
        "sweep_1x200_s": t_one,
        "sweep_5x200_s": t_all,
        "optimize_s": t_opt,
        "binding": len(opt.binding),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bench_model(members: int) -> dict[str, float]:
    from imis_tier.features import build_panel
    from imis_tier.simulate import TierChoiceModel, benefit_costs, current_structure, data_date
    from imis_tier.simulate.guardrails import parse_guardrails
    from imis_tier.simulate.optimize import optimize_structure
    from imis_tier.simulate.sensitivity import structure_sweeps, structure_tornado
    from imis_tier.testing import filled_warehouse

    wh, _ = filled_warehouse(members=members, seed=3)
    model = TierChoiceModel().fit(wh)
    structure, costs = current_structure(wh), benefit_costs(wh)
    panel = build_panel(wh, data_date(wh))
    _, t_sweep = _timed(
        lambda: structure_sweeps(model, panel, structure, benefit_costs=costs, points=200)
    )
    _, t_tornado = _timed(lambda: structure_tornado(model, panel, structure, benefit_costs=costs))
    g = parse_guardrails(GUARDRAILS)
    _, t_opt = _timed(
        lambda: optimize_structure(
            model, panel, structure, guardrails=g, benefit_costs=costs, draws=0
        )
    )
    _, t_full = _timed(
        lambda: optimize_structure(
            model, panel, structure, guardrails=g, benefit_costs=costs, draws=200
        )
    )
    return {
        "association": members,
        "panel_members": len(panel),
        "sweep_5x200_s": t_sweep,
        "tornado_s": t_tornado,
        "optimize_s": t_opt,
        "optimize_and_forecast_200_draws_s": t_full,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--model", action="store_true", help="also run part 2 (real model)")
    parser.add_argument("--association", type=int, default=5000)
    args = parser.parse_args()
    for n in args.members:
        row = bench_synthetic(n)
        print(
            " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        )
    if args.model:
        row = bench_model(args.association)
        print(
            " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        )


if __name__ == "__main__":
    main()
