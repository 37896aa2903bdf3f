"""Shared fixtures for the handler tests: a warehouse, a compressed clock, a small registry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imis_tier.handlers import HandlerRegistry, ManualClock, RetryPolicy, Runner
from imis_tier.warehouse import Warehouse

START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse(tmp_path / "assoc.duckdb") as wh:
        yield wh


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def runner(registry: HandlerRegistry, warehouse: Warehouse, clock: ManualClock) -> Runner:
    return Runner(
        registry,
        warehouse,
        clock=clock,
        timezone="America/New_York",
        retry=RetryPolicy(max_attempts=3, initial=10.0, jitter=0.0),
        lock_stale_after=timedelta(minutes=5),
    )
