"""The demo's simulation stage: fit the tier-choice model and forecast an example scenario."""

from __future__ import annotations

from typing import Any

import click

from imis_tier.features import build_panel
from imis_tier.simulate import (
    TierChoiceModel,
    benefit_costs,
    current_structure,
    data_date,
    parse_scenario,
    record_run,
    simulate,
)

from .demo import stage
from .simulate import _print_table

EXAMPLE = """\
name: Standard to $375
description: Raise the Standard tier by $30 a year; nothing else changes.
changes:
  - set_price: {tier: STD, price: "375.00"}
"""


@stage("Forecasting an example scenario: Standard from $345 to $375")
def _simulate(client: Any, warehouse: Any, emu: Any) -> None:
    model = TierChoiceModel("conditional").fit(warehouse)
    as_of = data_date(warehouse)
    scenario = parse_scenario(EXAMPLE, source="demo scenario")
    costs = benefit_costs(warehouse)
    forecast = simulate(scenario, build_panel(warehouse, as_of), model,
                        status_quo=current_structure(warehouse), draws=200, seed=0, costs=costs)
    record = record_run(warehouse, forecast, scenario, model, as_of=as_of, costs=costs)
    _print_table(forecast)
    click.echo(f"  recorded as {record.run_id}: `imis-tier simulate replay {record.run_id}` reproduces it")
