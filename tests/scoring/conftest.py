"""Session fixtures for the scoring-pipeline tests: one synthetic warehouse, one scoring run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from imis_tier.scoring.pipeline import ScoreRun, score_members, store_scores
from imis_tier.scoring.registry import ModelRegistry
from imis_tier.synthetic import SyntheticAssociation
from imis_tier.testing import filled_warehouse
from imis_tier.warehouse import Warehouse

SCORE_DATE = date(2026, 10, 1)
"""The synthetic association's clock is 2026-11-01: score a month before it."""


@pytest.fixture(scope="session")
def filled() -> Iterator[tuple[Warehouse, SyntheticAssociation]]:
    """2,000 synthetic members loaded through the export route (about 4 s)."""
    warehouse, association = filled_warehouse(members=2000, seed=3)
    yield warehouse, association
    warehouse.close()


@pytest.fixture(scope="session")
def scoring_registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def scored(
    filled: tuple[Warehouse, SyntheticAssociation], scoring_registry: ModelRegistry
) -> ScoreRun:
    """One stored scoring run on SCORE_DATE (fits and registers the model, 12 training months)."""
    warehouse, _ = filled
    run = score_members(warehouse, SCORE_DATE, registry=scoring_registry, months=12)
    store_scores(warehouse, run)
    return run


@pytest.fixture(scope="session")
def warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small warehouse file for CLI tests (1,000 members)."""
    path = tmp_path_factory.mktemp("cli") / "warehouse.duckdb"
    warehouse, _ = filled_warehouse(members=1000, seed=5, path=path)
    warehouse.close()
    return path
