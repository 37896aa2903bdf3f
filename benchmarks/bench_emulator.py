"""How fast the emulator serves: start-up, 100,000 parties in 500-row pages (cold and warm),
the same rows through /api/query, an incremental filter, and a month's advance.

Run: ``.venv/bin/python benchmarks/bench_emulator.py [--members 100000]``. Prints JSON figures.
The emulator runs in this process on its own thread; the client reads raw bytes (no JSON
decoding) so the figures are the server's cost plus loopback HTTP.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import httpx

from imis_tier.emulator import Emulator, EmulatorConfig


def _page_through(
    client: httpx.Client, path: str, params: dict[str, Any]
) -> tuple[int, int, float]:
    """(rows, pages, seconds) reading every page by NextOffset."""
    start = time.perf_counter()
    offset, rows, pages = 0, 0, 0
    while True:
        answer = client.get(path, params={**params, "limit": 500, "offset": offset})
        answer.raise_for_status()
        body = answer.json() if pages == 0 else None
        tail = answer.content[-160:].decode()
        pages += 1
        count = int(tail.split('"Count":', 1)[1].split(",", 1)[0])
        rows += count
        next_offset = int(tail.split('"NextOffset":', 1)[1].rstrip("}"))
        if next_offset == 0:
            break
        offset = next_offset
        del body
    return rows, pages, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    figures: dict[str, Any] = {"members": args.members}
    start = time.perf_counter()
    emu = Emulator(EmulatorConfig(members=args.members, seed=args.seed, password="bench"))
    figures["startup_s"] = round(time.perf_counter() - start, 2)
    figures["rows"] = {name: len(table) for name, table in emu.core.tables.items() if len(table)}
    with emu.running():
        token = httpx.post(
            f"{emu.base_url}/token",
            data={"grant_type": "password", "username": emu.username, "password": "bench"},
        ).json()["access_token"]
        with httpx.Client(
            base_url=emu.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as client:
            for label, path, params in [
                ("person_pages_cold", "/api/Person", {}),
                ("person_pages_warm", "/api/Person", {}),
                (
                    "query_parties",
                    "/api/query",
                    {"QueryName": "$/ImisTier/Parties", "parameter": ""},
                ),
                (
                    "query_parties_again",
                    "/api/query",
                    {"QueryName": "$/ImisTier/Parties", "parameter": ""},
                ),
                (
                    "incremental_activity_since",
                    "/api/Activity",
                    {"UpdatedOn": "gt:2026-10-01T00:00:00"},
                ),
            ]:
                rows, pages, seconds = _page_through(client, path, params)
                figures[label] = {
                    "rows": rows,
                    "pages": pages,
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(rows / seconds),
                    "ms_per_page": round(1000 * seconds / pages, 1),
                }
            start = time.perf_counter()
            done = emu.core.prewarm("CsContact")
            seconds = time.perf_counter() - start
            figures["prewarm_cscontact"] = {
                "rows": done,
                "seconds": round(seconds, 2),
                "rows_per_s": round(done / seconds),
            }
            start = time.perf_counter()
            emu.advance(1)
            figures["advance_1_month_s"] = round(time.perf_counter() - start, 2)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
