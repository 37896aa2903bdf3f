"""Shared, cached inputs for the simulation-engine tests (built once per test session)."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import pandas as pd

from imis_tier.features import build_panel
from imis_tier.simulate import (
    ChoiceDataset,
    TierChoiceModel,
    benefit_costs,
    choice_dataset,
    current_structure,
    data_date,
)
from imis_tier.structure import TierStructure
from imis_tier.testing import filled_warehouse
from imis_tier.warehouse import Warehouse


@functools.cache
def world() -> tuple[Warehouse, Any]:
    return filled_warehouse(members=2000, seed=3)


@functools.cache
def dataset() -> ChoiceDataset:
    return choice_dataset(world()[0])


@functools.cache
def model() -> TierChoiceModel:
    return TierChoiceModel("conditional").fit_dataset(dataset())


@functools.cache
def status_quo() -> TierStructure:
    return current_structure(world()[0])


@functools.cache
def _panel() -> pd.DataFrame:
    return build_panel(world()[0], data_date(world()[0]))


def panel() -> pd.DataFrame:
    return _panel().copy()


def today() -> date:
    return data_date(world()[0])


def costs() -> dict[str, Any]:
    return benefit_costs(world()[0])
