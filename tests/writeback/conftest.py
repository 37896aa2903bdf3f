"""Fixtures for write-back tests: a private emulator per test (tests write), a client, a warehouse."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator
from imis_tier.emulator.pytest_plugin import make_imis_emulator
from imis_tier.warehouse import Warehouse

__all__ = ["make_imis_emulator"]


@pytest.fixture
def emu(make_imis_emulator: Callable[..., Emulator]) -> Emulator:
    """A small private emulator: every test writes, so none shares iMIS state."""
    return make_imis_emulator(members=60, seed=11, months=12)


@pytest.fixture
def imis(emu: Emulator) -> Iterator[Client]:
    with Client(emu.base_url, username=emu.username, password=emu.password) as client:
        yield client


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    with Warehouse(":memory:") as wh:
        yield wh


@pytest.fixture
def party_ids(imis: Client) -> list[str]:
    return sorted(
        (str(p.party_id) for p in imis.parties.list(max_items=25)), key=lambda s: (len(s), s)
    )


def make_scores(party_ids: list[str], **overrides: Any) -> pd.DataFrame:
    """A scores frame as the scoring layer hands it over (floats, one row per member)."""
    n = len(party_ids)
    frame = pd.DataFrame(
        {
            "party_id": party_ids,
            "engagement": [40.0 + i * 1.123456 for i in range(n)],
            "p_renew": [0.6 + i * 0.001 for i in range(n)],
            "p_upgrade": [0.2] * n,
            "p_downgrade": [0.1 - i * 0.001 for i in range(n)],
            "p_lapse": [0.1] * n,
            "driver_1": ["Attended 3 events this year"] * n,
            "driver_2": ["Opens most renewal emails"] * n,
            "driver_3": [None] * n,
            "model_ref": ["propensity-1.0.0"] * n,
            "as_of": [date(2025, 1, 31)] * n,
        }
    )
    for column, value in overrides.items():
        frame[column] = value
    return frame


def writes(emu: Emulator, path: str) -> list[str]:
    """The write requests (method path) the emulator answered for ``path``."""
    # the emulator logs a request just after sending its answer: let the last entry land.
    time.sleep(0.05)
    return [
        f"{r.method} {r.path}"
        for r in emu.request_log
        if r.method in ("POST", "PUT", "DELETE") and f"/api/{path}".lower() in r.path.lower()
    ]
