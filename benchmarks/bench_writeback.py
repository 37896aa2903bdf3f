"""Write-back throughput against the emulator: plan, apply (journaled), and the idempotent rerun.

Run: ``.venv/bin/python benchmarks/bench_writeback.py [--members 2000]``. Prints one line per phase.
The journal commits twice per operation (pending, done) into a DuckDB file, as in production.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from imis_tier.client import Client
from imis_tier.emulator import Emulator, EmulatorConfig
from imis_tier.warehouse import Warehouse
from imis_tier.writeback import stage_review_items, write_scores


def _scores(ids: list[str], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([6, 1, 1, 2], size=len(ids))
    return pd.DataFrame(
        {
            "party_id": ids, "engagement": rng.uniform(0, 100, len(ids)),
            "p_renew": p[:, 0], "p_upgrade": p[:, 1], "p_downgrade": p[:, 2], "p_lapse": p[:, 3],
            "driver_1": "Attended events", "driver_2": "Opens renewal emails", "driver_3": None,
            "model_ref": "bench-1", "as_of": date(2025, 1, 31),
        }
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args()
    with (
        Emulator(EmulatorConfig(members=args.members, seed=3, months=12)).running() as emu,
        Client(emu.base_url, username=emu.username, password=emu.password) as imis,
        tempfile.TemporaryDirectory() as tmp,
        Warehouse(Path(tmp) / "wh.duckdb") as wh,
    ):
        ids = [str(p.party_id) for p in imis.parties.list(limit=500)]
        n = len(ids)

        def timed(label: str, fn: object) -> object:
            start = time.perf_counter()
            out = fn()  # type: ignore[operator]
            took = time.perf_counter() - start
            print(f"{label:<44} {took:7.2f} s   {n / took:9.0f} rows/s")
            return out

        timed(
            "plan scores (empty source, dry run)", lambda: write_scores(_scores(ids, 1), imis, wh)
        )
        timed(
            "apply scores (create, journaled)",
            lambda: write_scores(_scores(ids, 1), imis, wh, apply=True, approved_by="bench"),
        )
        timed("rerun: plan finds zero changes", lambda: write_scores(_scores(ids, 1), imis, wh))
        timed(
            "apply new scores (update all)",
            lambda: write_scores(_scores(ids, 2), imis, wh, apply=True, approved_by="bench"),
        )
        cand = pd.DataFrame(
            {"party_id": ids, "propensity": np.random.default_rng(4).uniform(size=n)}
        )
        timed(
            "review items (multi-instance, ~half of rows)",
            lambda: stage_review_items(cand, imis, wh, apply=True, approved_by="bench"),
        )
        print(f"members {n}")


if __name__ == "__main__":
    main()
