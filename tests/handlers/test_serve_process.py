"""``imis-tier handlers serve`` as a real process against the emulator: SIGKILL mid-run, restart, no duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator, EmulatorConfig, FaultConfig
from imis_tier.warehouse import Warehouse

SECRET = "webhook-secret-for-tests"
ROWS = 24

CONFIG = """\
[imis]
base_url = "{base_url}"
username = "{username}"
password = "env:IMIS_PASSWORD"

[warehouse]
path = "{warehouse}"

[service]
timezone = "America/New_York"
port = 0
lock_stale_seconds = 30
[service.auth]
shared_secret = "env:IMIS_TIER_WEBHOOK_KEY"

[handlers.tier-review]
uses = "review-queue"
events = ["Party.Updated"]
[handlers.tier-review.settings]
source = "Tier_Review"
transitions = [
  {{ from = "Approved", to = "Notified", action = "activity", activity_type = "TIER_REVIEW" }},
]

[handlers.monitor]
schedule = "*/10 * * * *"
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    # Every request takes a little while, so a run over ROWS rows lasts seconds: long enough to kill.
    config = EmulatorConfig(members=60, seed=11, faults=FaultConfig(latency_ms=20))
    with Emulator(config).running() as emu:
        yield emu


def _connect(emu: Any) -> Client:
    return Client(emu.base_url, username=emu.username, password=emu.password)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Serve:
    """One ``imis-tier handlers serve`` process."""

    def __init__(self, config: Path, emu: Any, *extra: str) -> None:
        env = {**os.environ, "IMIS_PASSWORD": emu.password, "IMIS_TIER_WEBHOOK_KEY": SECRET}
        code = "from imis_tier_cli.handlers import handlers; handlers()"
        self.log = config.parent / f"serve-{time.monotonic_ns()}.log"
        with self.log.open(
            "w"
        ) as log:  # a file, not a pipe nobody reads (a full pipe blocks the child)
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, "serve", "--config", str(config), *extra],
                stdout=subprocess.PIPE, stderr=log, env=env, text=True,
            )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve did not start:\n{self.log.read_text()}")
        self.url = json.loads(line)["listening"]

    def post(self, events: list[dict[str, Any]]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/events", json=events, headers={"X-Imis-Tier-Key": SECRET}, timeout=10
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _states(emu: Any, parties: list[str]) -> Counter[str]:
    with _connect(emu) as imis:
        rows = {str(r.identity[0]): str(r["Status"]) for r in imis.entities("Tier_Review").list()}
    return Counter(rows[p] for p in parties)


def _activities(emu: Any) -> Counter[str]:
    with _connect(emu) as imis:
        return Counter(
            str(a.party_id)
            for a in imis.activities.list(activity_type="TIER_REVIEW")
            if "[imis-tier:tier-review:" in (a.description or "")
        )


def test_sigkill_mid_run_then_restart_completes_without_duplicates(
    emulator: Any, tmp_path: Path
) -> None:
    with _connect(emulator) as imis:
        parties = [str(p.party_id) for p in imis.parties.list(max_items=ROWS)]
        for party in parties:
            imis.entities("Tier_Review").create(
                {"ID": party, "Status": "Approved"}, parent_id=party
            )
    config = tmp_path / "imis-tier.toml"
    config.write_text(
        CONFIG.format(
            base_url=emulator.base_url, username=emulator.username, warehouse=tmp_path / "wh.duckdb"
        )
    )
    event = {"id": "evt-1", "topic": "/imis", "subject": f"Party/{parties[0]}", "eventType": "Party.Updated",
             "eventTime": "2025-03-03T12:00:00Z", "data": {"PartyId": parties[0]}, "dataVersion": "1"}  # fmt: skip

    first = Serve(config, emulator)
    try:
        assert first.post([event]).status_code == 202
        _wait(lambda: _states(emulator, parties)["Notified"] >= 3, 30, "the run to get going")
        first.kill()
    finally:
        first.stop()
    moved_before_restart = _states(emulator, parties)["Notified"]
    assert 0 < moved_before_restart < ROWS, "the kill must land mid-run"

    second = Serve(config, emulator)
    try:
        assert (
            second.post([event]).status_code == 202
        )  # iMIS delivering again: ignored as a duplicate
        _wait(lambda: _states(emulator, parties)["Notified"] == ROWS, 60, "the run to complete")
        health = httpx.get(f"{second.url}/health", timeout=10).json()
        assert health["status"] == "ok" and "tier-review" in health["handlers"]
    finally:
        second.stop()

    assert _activities(emulator) == Counter({p: 1 for p in parties})  # no duplicate writes
    with Warehouse(tmp_path / "wh.duckdb") as wh, wh.transaction() as conn:
        runs = conn.execute(
            "SELECT run_id, status, resumes FROM handler_runs WHERE handler = 'tier-review' ORDER BY started_at"
        ).fetchall()
        events = conn.execute("SELECT event_id, status FROM handler_events").fetchall()
    assert [r[1] for r in runs] == ["interrupted", "finished"]
    assert runs[1][2] == runs[0][0]  # the second run completes the killed one
    assert events == [("evt-1", "done")]


def test_a_scheduled_handler_fires_on_a_compressed_clock(emulator: Any, tmp_path: Path) -> None:
    config = tmp_path / "imis-tier.toml"
    config.write_text(
        CONFIG.format(
            base_url=emulator.base_url, username=emulator.username, warehouse=tmp_path / "wh.duckdb"
        )
    )
    # 09:58:30 New York; one real second is two minutes, so the 10:00 slot comes after ~0.75 s.
    serve = Serve(
        config, emulator, "--clock-start", "2025-03-03T09:58:30-05:00", "--clock-speed", "120"
    )
    try:

        def fired() -> bool:
            handlers = httpx.get(f"{serve.url}/health", timeout=10).json()["handlers"]
            return handlers["monitor"].get("last_run", {}).get("status") == "finished"

        _wait(fired, 20, "the 10:00 slot")
    finally:
        serve.stop()
    with Warehouse(tmp_path / "wh.duckdb") as wh, wh.transaction() as conn:
        slot = conn.execute(
            "SELECT slot FROM handler_runs WHERE handler = 'monitor' ORDER BY started_at"
        ).fetchone()
    assert slot is not None and slot[0].isoformat() == "2025-03-03T15:00:00"  # 10:00 EST in UTC
