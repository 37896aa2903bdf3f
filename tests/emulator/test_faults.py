"""Fault knobs: latency + jitter, 429 with Retry-After, 5xx share, dropped connections; seeded."""

from __future__ import annotations

import time

import httpx
import pytest

from imis_tier.emulator import Emulator, FaultConfig
from imis_tier.emulator._faults import FaultInjector


def _statuses(client: httpx.Client, n: int) -> list[int]:
    out = []
    for _ in range(n):
        try:
            out.append(client.get("/api/Party", params={"limit": 1}).status_code)
        except httpx.TransportError:
            out.append(0)
    return out


def test_latency_with_jitter(fresh: Emulator, fresh_api: httpx.Client) -> None:
    fresh.set_faults(FaultConfig(latency_ms=60, jitter_ms=20, seed=1))
    timings = []
    for _ in range(6):
        start = time.perf_counter()
        assert fresh_api.get("/api/Party", params={"limit": 1}).status_code == 200
        timings.append(time.perf_counter() - start)
    assert min(timings) >= 0.039 and max(timings) < 1.0
    assert max(timings) - min(timings) > 0.002  # jitter varies the delay


def test_rate_limit_answers_429_with_retry_after(fresh: Emulator, fresh_api: httpx.Client) -> None:
    fresh.set_faults(FaultConfig(rate_limit_per_s=3, retry_after_s=2))
    answers = [fresh_api.get("/api/Party", params={"limit": 1}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].headers["Retry-After"] == "2"
    assert answers[3].json()["$type"] == "System.Web.Http.HttpError, System.Web.Http"
    time.sleep(1.05)
    assert fresh_api.get("/api/Party", params={"limit": 1}).status_code == 200
    assert [r.fault for r in fresh.request_log[-3:-1]] == ["rate_limit", "rate_limit"]


def test_error_rate_is_seeded_and_reproducible(fresh: Emulator, fresh_api: httpx.Client) -> None:
    fresh.set_faults(FaultConfig(error_rate=0.3, seed=5))
    first = _statuses(fresh_api, 40)
    fresh.set_faults(FaultConfig(error_rate=0.3, seed=5))
    second = _statuses(fresh_api, 40)
    assert first == second
    assert set(first) == {200, 500} and 4 <= first.count(500) <= 20
    fresh.set_faults(FaultConfig(error_rate=0.3, seed=6))
    assert _statuses(fresh_api, 40) != first


def test_dropped_connections_close_without_answer(fresh: Emulator, fresh_api: httpx.Client) -> None:
    fresh.set_faults(FaultConfig(drop_rate=0.5, seed=2))
    statuses = _statuses(fresh_api, 20)
    assert 0 in statuses and 200 in statuses
    assert {r.status for r in fresh.request_log if r.fault == "drop"} == {0}
    fresh.set_faults(FaultConfig())
    assert _statuses(fresh_api, 3) == [200, 200, 200]  # the client reconnects


def test_faults_via_admin_endpoint(fresh: Emulator) -> None:
    r = httpx.put(f"{fresh.base_url}/_emulator/faults", json={"error_rate": 1.0, "seed": 3})
    assert r.status_code == 200 and r.json()["error_rate"] == 1.0
    assert (
        httpx.post(
            f"{fresh.base_url}/token",
            data={"grant_type": "password", "username": fresh.username, "password": fresh.password},
        ).status_code
        == 500
    )
    assert (
        httpx.get(f"{fresh.base_url}/_emulator/clock").status_code == 200
    )  # admin is never faulted
    bad = httpx.put(f"{fresh.base_url}/_emulator/faults", json={"error_rate": 2})
    assert bad.status_code == 400 and "error_rate" in bad.json()["Message"]
    assert httpx.put(f"{fresh.base_url}/_emulator/faults", json={"nonsense": 1}).status_code == 400


def test_fault_decisions_are_independent_of_other_knobs() -> None:
    a = FaultInjector(FaultConfig(error_rate=0.5, seed=9))
    b = FaultInjector(FaultConfig(error_rate=0.5, latency_ms=10, jitter_ms=5, seed=9))
    assert [a.decide().error for _ in range(50)] == [b.decide().error for _ in range(50)]


@pytest.mark.parametrize(
    "bad",
    [
        {"error_rate": -0.1},
        {"drop_rate": 1.5},
        {"latency_ms": -1},
        {"rate_limit_per_s": 0},
        {"token_lifetime_s": 0},
    ],
)
def test_fault_config_validation(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        FaultConfig(**bad)  # type: ignore[arg-type]
