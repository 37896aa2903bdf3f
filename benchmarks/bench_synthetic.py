"""Benchmark the synthetic association generator: wall time, peak memory, rows.

Run: ``.venv/bin/python benchmarks/bench_synthetic.py --members 1000000`` (prints JSON). Targets:
1,000,000 members x 36 months in under two minutes and under 4 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from imis_tier.synthetic import generate_association


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--advance", action="store_true", help="also time advance(1) and forward(12)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    assoc = generate_association(members=args.members, seed=args.seed, months=args.months)
    generate_s = time.perf_counter() - started
    rows = {name: len(frame) for name, frame in assoc.tables.items()}
    table_mb = (
        sum(int(f.memory_usage(deep=False, index=False).sum()) for _, f in assoc.tables.items())
        / 2**20
    )
    result: dict[str, object] = {
        "members": args.members,
        "months": args.months,
        "generate_seconds": round(generate_s, 1),
        "peak_rss_mb_after_generate": round(_peak_rss_mb()),
        "tables_mb": round(table_mb),
        "rows_total": sum(rows.values()),
        "activities_per_member": round(rows["activities"] / rows["parties"], 1),
        "rows": rows,
    }
    if args.advance:
        started = time.perf_counter()
        assoc.advance(months=1)
        result["advance_1_month_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        assoc.truth.forward(assoc.structure_at(assoc.clock), months=12, seed=0)
        result["forward_12_months_seconds"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mb"] = round(_peak_rss_mb())
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
