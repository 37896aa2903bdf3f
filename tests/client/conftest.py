"""Fixtures: one running emulator per test session, and clients bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from imis_tier.client import AsyncClient, Client, RetryPolicy


@pytest.fixture(scope="session")
def emu() -> Iterator[Any]:
    from imis_tier.emulator import Emulator, EmulatorConfig, FaultConfig

    with Emulator(EmulatorConfig(members=300, seed=1)).running() as emulator:
        emulator.set_faults(FaultConfig())
        yield emulator


@pytest.fixture
def faults(emu: Any) -> Iterator[Any]:
    """Set faults on the shared emulator for one test; they are switched off afterwards."""
    from imis_tier.emulator import FaultConfig

    yield emu.set_faults
    emu.set_faults(FaultConfig())


FAST_RETRY = RetryPolicy(
    max_attempts=6, initial_backoff=0.01, max_backoff=0.05, max_retry_after=2.0
)


def client_for(emu: Any, **options: Any) -> Client:
    options.setdefault("retry", FAST_RETRY)
    return Client(
        emu.base_url, username=emu.username, password=emu.password, use_keyring=False, **options
    )


def async_client_for(emu: Any, **options: Any) -> AsyncClient:
    options.setdefault("retry", FAST_RETRY)
    return AsyncClient(
        emu.base_url, username=emu.username, password=emu.password, use_keyring=False, **options
    )


@pytest.fixture
def imis(emu: Any) -> Iterator[Client]:
    with client_for(emu) as client:
        yield client
