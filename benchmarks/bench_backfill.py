"""Benchmark a full backfill through the REST API (issue target: 100,000 members at 0 ms latency).

The emulator runs in its own process (``imis-tier emulator serve``), so the figures are the
client side's: wall time, rows per second, requests, and the peak memory of the process that
runs the backfill into a DuckDB file.

    .venv/bin/python benchmarks/bench_backfill.py --members 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from imis_tier.client import Client
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.sync import backfill


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--path", default="benchmarks/out/backfill.duckdb")
    args = parser.parse_args()
    port, password = _free_port(), "bench-password"
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "imis_tier_cli.main", "emulator", "serve", "--members", str(args.members),
               "--seed", str(args.seed), "--port", str(port), "--password", password,
               "--latency-ms", str(args.latency_ms)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{base_url}/_emulator/info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 600:
                raise SystemExit("the emulator did not start")
            time.sleep(0.5)
        ready_s = time.perf_counter() - started
        path = Path(args.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        before = len(httpx.get(f"{base_url}/_emulator/requests", timeout=30).json())
        cpu0 = time.process_time()
        started = time.perf_counter()
        with Client(base_url, username="api.sync", password=password, use_keyring=False) as client, Warehouse(path) as wh:
            result = backfill(client, wh)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        requests = len(httpx.get(f"{base_url}/_emulator/requests", timeout=30).json()) - before
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({
        "members": args.members, "latency_ms": args.latency_ms, "emulator_ready_s": round(ready_s, 1),
        "rows": result.total_rows, "requests": requests, "wall_s": round(wall, 1),
        "rows_per_s": round(result.total_rows / wall), "client_cpu_s": round(cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows_by_entity": result.rows,
    }, indent=2))


if __name__ == "__main__":
    main()
