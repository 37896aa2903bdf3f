"""Benchmark the tier-choice estimators on synthetic renewal decisions.

Fits ConditionalLogit, NestedLogit and MixedLogit on ``--situations`` decisions with 6
alternatives (lapse + 5 tiers) and 10 attributes (5 alternative constants, price, 4 benefit
features) and prints wall time, iterations, log-likelihood and peak RSS. Each model runs in its
own process so its peak memory is its own.

    python benchmarks/bench_choice.py                       # 100,000 decisions, all models
    python benchmarks/bench_choice.py --situations 20000 --draws 50 --models mixed
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

COEF = {
    "asc_1": 0.8,
    "asc_2": 0.5,
    "asc_3": 0.2,
    "asc_4": -0.1,
    "asc_5": -0.4,
    "price": -1.0,
    "events": 0.6,
    "journal": 0.3,
    "certification": 0.5,
    "community": 0.2,
}
NESTS = {"lapse": [0], "tiers": [1, 2, 3, 4, 5]}


def _run_one(model: str, n: int, draws: int) -> dict[str, object]:
    from imis_tier.choice import (
        ConditionalLogit,
        MixedLogit,
        NestedLogit,
        make_choice_data,
    )

    if model == "conditional":
        d = make_choice_data(n, COEF, n_alternatives=6, seed=1, availability=0.8)
        est = ConditionalLogit()
        fit = lambda: est.fit(d.X, d.y, d.groups)  # noqa: E731
    elif model == "nested":
        d = make_choice_data(
            n, COEF, n_alternatives=6, seed=1, availability=0.8, nests=NESTS, lambdas={"tiers": 0.5}
        )
        est = NestedLogit(nests=NESTS)
        fit = lambda: est.fit(d.X, d.y, d.groups, alternatives=d.alternatives)  # noqa: E731
    else:
        d = make_choice_data(
            n,
            COEF,
            n_alternatives=6,
            seed=1,
            availability=0.8,
            random={"price": ("normal", 0.8)},
            situations_per_member=4,
        )
        est = MixedLogit(random="price", n_draws=draws, seed=0)
        fit = lambda: est.fit(d.X, d.y, d.groups, panel=d.members)  # noqa: E731
    data_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fit()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return {
        "model": model,
        "situations": n,
        "rows": len(d.X),
        "draws": draws if model == "mixed" else None,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "n_iter": est.n_iter_,
        "converged": est.converged_,
        "loglik": round(est.loglik_, 1),
        "data_rss_mb": round(data_rss, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--situations", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=200, help="Halton draws per member (mixed)")
    parser.add_argument("--models", default="conditional,nested,mixed")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(_run_one(args.only, args.situations, args.draws)))
        return
    print(
        f"{'model':<12}{'situations':>11}{'rows':>9}{'draws':>7}{'wall s':>9}{'cpu s':>8}{'iter':>6}{'conv':>6}{'data RSS MB':>13}{'peak RSS MB':>13}"
    )
    for model in args.models.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--only",
                model,
                "--situations",
                str(args.situations),
                "--draws",
                str(args.draws),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['model']:<12}{r['situations']:>11,}{r['rows']:>9,}{r['draws'] or '-':>7}"
            f"{r['wall_s']:>9.2f}{r['cpu_s']:>8.2f}{r['n_iter']:>6}{'yes' if r['converged'] else 'NO':>6}{r['data_rss_mb']:>13.1f}{r['peak_rss_mb']:>13.1f}"
        )


if __name__ == "__main__":
    main()
