"""Every fault knob of the emulator, met by the sync and async clients."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from imis_tier.client import Limits, RetryPolicy, ServerError, TransportError

from .conftest import async_client_for, client_for


def _ids(rows: list[Any]) -> list[str]:
    return [r.party_id for r in rows]


def test_rate_limit_429_honours_retry_after_and_logs_the_wait(emu, faults, caplog):
    from imis_tier.emulator import FaultConfig

    with client_for(emu) as imis:
        expected = _ids(list(imis.parties.list(limit=50)))
        faults(FaultConfig(rate_limit_per_s=4, retry_after_s=1, seed=3))
        with caplog.at_level(logging.WARNING, logger="imis_tier.client"):
            started = time.monotonic()
            got = _ids(list(imis.parties.list(limit=50)))
    assert got == expected
    assert "429" in caplog.text and "retrying in 1.00s" in caplog.text
    assert time.monotonic() - started >= 1.0  # it really waited for Retry-After


def test_server_errors_and_drops_are_retried_for_reads(emu, faults):
    from imis_tier.emulator import FaultConfig

    with client_for(emu) as imis:
        expected = _ids(list(imis.parties.list(limit=25)))
        faults(FaultConfig(error_rate=0.25, drop_rate=0.15, seed=5))
        assert _ids(list(imis.parties.list(limit=25))) == expected


def test_writes_are_not_repeated_after_a_server_error(emu, faults):
    from imis_tier.emulator import FaultConfig

    with client_for(emu) as imis:
        party_id = next(iter(imis.parties.list(max_items=1))).party_id
        imis.authenticate()
        faults(FaultConfig(error_rate=1.0, seed=1))
        before = imis.request_count
        with pytest.raises(ServerError) as caught:
            imis.entities("Tier_Review").create({"Reason": "x"}, parent_id=party_id)
        assert imis.request_count - before == 1 and caught.value.status == 500
        before = imis.request_count
        with pytest.raises(ServerError):
            imis.parties.get(party_id)
        assert imis.request_count - before == 6  # GET: max_attempts tries


def test_dropped_connections_become_transport_errors(emu, faults):
    from imis_tier.emulator import FaultConfig

    with client_for(emu, retry=RetryPolicy(max_attempts=2, initial_backoff=0.01)) as imis:
        imis.authenticate()
        faults(FaultConfig(drop_rate=1.0, seed=1))
        with pytest.raises(TransportError) as caught:
            imis.parties.get("1")
    assert (
        caught.value.status is None
        and caught.value.method == "GET"
        and caught.value.path == "/api/Party/1"
    )


def test_token_expiry_mid_iteration_refreshes(emu, faults):
    from imis_tier.emulator import FaultConfig

    faults(FaultConfig(token_lifetime_s=0.5, latency_ms=40, seed=2))
    with client_for(emu) as imis:
        rows = _ids(list(imis.parties.list(limit=20)))
        assert len(rows) == len(set(rows)) >= 299
        assert imis.tokens.fetches >= 2


def test_a_401_fetches_a_new_token_once(imis):
    imis.tokens.accept({"access_token": "revoked-or-expired", "expires_in": 3600})
    assert imis.parties.get(next(iter(imis.parties.list(max_items=1))).party_id)
    assert imis.tokens.token is not None and imis.tokens.token.access_token != "revoked-or-expired"


def test_concurrent_callers_share_one_token_request(emu, faults):
    from imis_tier.emulator import FaultConfig

    faults(FaultConfig(latency_ms=50))
    with client_for(emu, limits=Limits(max_in_flight=4)) as imis:
        threads = [
            threading.Thread(target=lambda: list(imis.parties.list(max_items=3))) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert imis.tokens.fetches == 1


def test_concurrency_limit_and_rate_limiter(emu, faults):
    from imis_tier.emulator import FaultConfig

    faults(FaultConfig(latency_ms=200))

    async def five(limits: Limits) -> float:
        async with async_client_for(emu, limits=limits) as imis:
            await imis.authenticate()
            started = time.monotonic()
            await asyncio.gather(*(imis.parties.get("1") for _ in range(5)), return_exceptions=True)
            return time.monotonic() - started

    assert asyncio.run(five(Limits())) >= 1.0  # one in flight by default: five in a row
    assert asyncio.run(five(Limits(max_in_flight=5))) < 0.9
    faults(FaultConfig())
    assert asyncio.run(five(Limits(max_in_flight=5, requests_per_second=10))) >= 0.4


async def test_async_client_survives_faults(emu, faults):
    from imis_tier.emulator import FaultConfig

    async with async_client_for(emu) as imis:
        expected = [p.party_id async for p in imis.parties.list(limit=40)]
        faults(
            FaultConfig(
                error_rate=0.2,
                drop_rate=0.1,
                rate_limit_per_s=30,
                retry_after_s=1,
                token_lifetime_s=1,
                seed=9,
            )
        )
        got = [p.party_id async for p in imis.parties.list(limit=40)]
    assert got == expected


async def test_async_concurrent_tasks_share_one_token(emu):
    async with async_client_for(emu, limits=Limits(max_in_flight=3)) as imis:
        await asyncio.gather(*(imis.parties.list(max_items=2).to_list() for _ in range(6)))
        assert imis.tokens.fetches == 1
