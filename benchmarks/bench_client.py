"""Extraction speed of the iMIS client against the emulator (running in a separate process).

Extracts every party (``/api/Party``) and every row of an ``/api/query`` query at each emulated
latency: imis-tier's ``Client`` (on its default urllib3-backed transport, and on httpx's own
transport for comparison), a plain httpx loop (the floor: no decoding beyond
JSON), and the ``imis-projectweekend`` package (100-row pages; it has no ``/api/query`` support,
so its query figure is the legacy ``/api/iqa`` route). Prints wall time, requests, rows/s and
client CPU per 1,000 rows; the client CPU is this process's CPU time, the server runs elsewhere.
CPU time on a shared virtual machine varies by ±30 % between identical runs and drifts by up to
2x over an hour, so ``--repeat N`` runs every measurement N times and prints the median run, with
the fastest and slowest CPU figures beside it. Each method runs in a process of its own, so no
library pays for another's imports, garbage or cache misses, and the methods take turns (one
run each, round after round, each after a full garbage collection), so a drift in the machine's
speed reaches all of them alike.

    .venv/bin/python benchmarks/bench_client.py --members 100000 --latency 0 50 --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx
import orjson

# Imported here, not inside the measured call: importing the SDK (pydantic models) costs ~0.5 s
# of CPU, which would otherwise be charged to the first extraction measured.
from imis_tier.client import Client

QUERY = "$/Tier/Members"


def _serve(members: int, latency_ms: int, legacy: bool, conn: Connection) -> None:
    from imis_tier.emulator import Emulator, EmulatorConfig, FaultConfig

    with Emulator(EmulatorConfig(members=members, seed=1)).running() as emu:
        # Warm the server's caches first (the legacy /api/iqa pages too when imis-projectweekend
        # is measured), so no method pays for a cold start.
        for target in ("parties", "query"):
            _plain(emu.base_url, emu.username, emu.password, target)
        if legacy:
            _weekend(emu.base_url, emu.username, emu.password, "query")
        emu.set_faults(FaultConfig(latency_ms=latency_ms, seed=1))
        conn.send((emu.base_url, emu.username, emu.password))
        conn.recv()  # serve until the parent says stop


@dataclass
class Result:
    method: str
    latency_ms: int
    target: str
    rows: int
    requests: int
    wall_s: float
    cpu_s: float

    @property
    def cpu_per_k(self) -> float:
        return self.cpu_s / max(self.rows, 1) * 1000 * 1000

    def line(self, spread: list[Result] | None = None) -> str:
        cpu = f"{self.cpu_per_k:.1f}"
        if spread and len(spread) > 1:
            low, high = min(r.cpu_per_k for r in spread), max(r.cpu_per_k for r in spread)
            cpu += f" ({low:.1f}-{high:.1f})"
        return (
            f"| {self.target} | {self.latency_ms} | {self.method} | {self.rows:,} | {self.requests} | "
            f"{self.wall_s:.2f} | {self.rows / self.wall_s:,.0f} | {cpu} |"
        )


def _measure(method: str, latency: int, target: str, server: tuple[str, str, str]) -> Result:
    wall, cpu = time.perf_counter(), time.process_time()
    rows, requests = METHODS[method](*server, target)
    return Result(
        method,
        latency,
        target,
        rows,
        requests,
        time.perf_counter() - wall,
        time.process_time() - cpu,
    )


# ------------------------------------------------------------------ imis-tier
def _ours(
    base: str, user: str, password: str, target: str, transport: httpx.BaseTransport | None = None
) -> tuple[int, int]:
    with Client(
        base, username=user, password=password, use_keyring=False, transport=transport
    ) as imis:
        pager = imis.parties.list() if target == "parties" else imis.query(QUERY)
        rows = sum(1 for _ in pager)
        return rows, imis.request_count


# Built once per process, before any measurement, as the client builds its own: loading CA
# certificates costs tens of milliseconds, which a transport made in the measured call would pay.
_TLS = httpx.create_ssl_context()


def _ours_on_httpcore(base: str, user: str, password: str, target: str) -> tuple[int, int]:
    """The same client on httpx's own transport (httpcore over h11) instead of urllib3's."""
    return _ours(base, user, password, target, httpx.HTTPTransport(verify=_TLS))


# ------------------------------------------------------------ plain httpx floor
def _plain_pages(http: httpx.Client, url: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    offset = 0
    while True:
        data = orjson.loads(
            http.get(url, params={**params, "limit": 500, "offset": offset}).content
        )
        yield data["Items"]["$values"]
        if not data["HasNext"] or not data["NextOffset"]:
            return
        offset = data["NextOffset"]


def _plain(base: str, user: str, password: str, target: str) -> tuple[int, int]:
    with httpx.Client(timeout=60) as http:
        token = http.post(
            f"{base}/token", data={"grant_type": "password", "username": user, "password": password}
        )
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        url, params = (
            (f"{base}/api/Party", {})
            if target == "parties"
            else (f"{base}/api/query", {"QueryName": QUERY})
        )
        rows = requests = 0
        for page in _plain_pages(http, url, params):
            rows += len(page)
            requests += 1
        return rows, requests + 1


# ------------------------------------------------------------ imis-projectweekend
def _weekend(base: str, user: str, password: str, target: str) -> tuple[int, int]:
    import imis.api
    import imis.manager
    import requests

    sys.setrecursionlimit(100_000)  # its IQA pager recurses once per 100-row page
    calls = {"n": 0}
    get, post = requests.get, requests.post

    def counted_get(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return get(*args, **kwargs)

    def counted_post(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return post(*args, **kwargs)

    requests.get, requests.post = counted_get, counted_post
    try:
        client = imis.api.Client(base, user, password)
        rows = 0
        if target == "parties":
            manager = imis.manager.BasicManager(client)
            offset = 0
            while True:
                data = manager.fetch_raw_data("Party", offset=offset)
                rows += len(data["Items"]["$values"])
                if not data["HasNext"]:
                    break
                offset = data["NextOffset"]
        else:
            rows = sum(1 for _ in client.iqa(QUERY, None))
        return rows, calls["n"]
    finally:
        requests.get, requests.post = get, post


METHODS: dict[str, Callable[[str, str, str, str], tuple[int, int]]] = {
    "imis-tier Client": _ours,
    "imis-tier Client, httpx transport": _ours_on_httpcore,
    "plain httpx": _plain,
    "imis-projectweekend": _weekend,
}


def _runs(
    method: str, latency: int, target: str, server: tuple[str, str, str], conn: Connection
) -> None:
    """Run one method each time the parent asks, until it says stop."""
    while conn.recv() == "run":
        gc.collect()  # start each run without the previous run's garbage
        conn.send(_measure(method, latency, target, server))


def _measure_in_turn(
    ctx: Any,
    methods: list[str],
    latency: int,
    target: str,
    server: tuple[str, str, str],
    repeat: int,
) -> dict[str, list[Result]]:
    """``repeat`` runs of each method, each method in a process of its own (another library's
    imports and garbage, a bigger heap to collect, must not be charged to the method measured),
    the methods taking turns one run at a time."""
    workers = {}
    for method in methods:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_runs, args=(method, latency, target, server, child))
        process.start()
        workers[method] = (process, parent)
    results: dict[str, list[Result]] = {method: [] for method in methods}
    try:
        for _ in range(repeat):
            for method, (_, conn) in workers.items():
                conn.send("run")
                results[method].append(conn.recv())
    finally:
        for process, conn in workers.values():
            conn.send("stop")
            process.join(timeout=60)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--latency", type=int, nargs="+", default=[0, 50])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument(
        "--targets", nargs="+", default=["parties", "query"], choices=["parties", "query"]
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (median shown)")
    args = parser.parse_args(argv)

    print(
        "| extract | latency ms | method | rows | requests | wall s | rows/s | "
        "client CPU ms/1,000 rows (range) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ctx = multiprocessing.get_context("spawn")
    for latency in args.latency:
        parent, child = ctx.Pipe()
        legacy = "imis-projectweekend" in args.methods
        server = ctx.Process(
            target=_serve, args=(args.members, latency, legacy, child), daemon=True
        )
        started = time.perf_counter()
        server.start()
        base, user, password = parent.recv()
        print(
            f"<!-- emulator with {args.members:,} members ready in {time.perf_counter() - started:.1f} s -->",
            file=sys.stderr,
        )
        try:
            for target in args.targets:
                runs = _measure_in_turn(
                    ctx, args.methods, latency, target, (base, user, password), args.repeat
                )
                for results in runs.values():
                    median = sorted(results, key=lambda r: r.cpu_s)[len(results) // 2]
                    print(median.line(results), flush=True)
        finally:
            parent.send("stop")
            server.join(timeout=30)
            if server.is_alive():
                server.terminate()


if __name__ == "__main__":
    main()
