"""Fixtures for the emulator's own tests: the plugin's fixtures plus logged-in httpx clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from imis_tier.emulator import Emulator
from imis_tier.emulator.pytest_plugin import imis_emulator, make_imis_emulator

from ._helpers import client_for

__all__ = ["imis_emulator", "make_imis_emulator"]


@pytest.fixture
def api(imis_emulator: Emulator) -> Iterator[httpx.Client]:
    """A logged-in client on the shared session emulator (read-only tests)."""
    with client_for(imis_emulator) as client:
        yield client


@pytest.fixture
def fresh(make_imis_emulator: Callable[..., Emulator]) -> Emulator:
    """A private small emulator for tests that write."""
    return make_imis_emulator(members=100, seed=7, months=12)


@pytest.fixture
def fresh_api(fresh: Emulator) -> Iterator[httpx.Client]:
    with client_for(fresh) as client:
        yield client
