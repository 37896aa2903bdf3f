"""Simulation: scenarios, the tier-choice model, forecasts and back-tests.

::

    from imis_tier.simulate import TierChoiceModel, current_structure, load_scenario, simulate
    from imis_tier.features import build_panel

    model = TierChoiceModel("conditional").fit(warehouse)
    status_quo = current_structure(warehouse)
    forecast = simulate(load_scenario("std-price-rise.yaml"), build_panel(warehouse, today),
                        model, status_quo=status_quo, draws=200, by=["career_stage"])
    forecast.table()            # scenario, status quo and change, with 90% intervals

See ``docs/scenarios.md``.
"""

from imis_tier.simulate.backtest import BacktestResult, backtest_change, compare_with_truth
from imis_tier.simulate.choice_data import ChoiceDataset, choice_dataset
from imis_tier.simulate.design import DesignSpec, Members, design
from imis_tier.simulate.engine import simulate
from imis_tier.simulate.forecast import Estimate, Forecast, Totals
from imis_tier.simulate.model import TierChoiceModel
from imis_tier.simulate.runs import RunRecord, list_runs, load_run, record_run, reproduce_run
from imis_tier.simulate.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_template,
    structure_to_dict,
)
from imis_tier.simulate.structure_io import (
    benefit_costs,
    current_structure,
    data_date,
    structure_at,
)

__all__ = [
    "BacktestResult",
    "ChoiceDataset",
    "DesignSpec",
    "Estimate",
    "Forecast",
    "Members",
    "RunRecord",
    "Scenario",
    "ScenarioError",
    "TierChoiceModel",
    "Totals",
    "backtest_change",
    "benefit_costs",
    "choice_dataset",
    "compare_with_truth",
    "current_structure",
    "data_date",
    "design",
    "list_runs",
    "load_run",
    "load_scenario",
    "parse_scenario",
    "record_run",
    "reproduce_run",
    "scenario_template",
    "simulate",
    "structure_at",
    "structure_to_dict",
]
