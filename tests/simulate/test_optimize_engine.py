"""Optimisation, sweeps and tornados on the real tier-choice model, and their commands.

The model, panel and structure are the engine tests' cached ones (``_sim_world``); the commands
read a warehouse file holding the same association and get the model through ``--model`` so they
do not refit it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import _sim_world
import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from imis_tier_cli.optimize import optimize
from imis_tier_cli.simulate_analysis import sensitivity, sweep

from imis_tier.simulate import TierChoiceModel, list_runs
from imis_tier.simulate.design import Members
from imis_tier.simulate.guardrails import load_guardrails
from imis_tier.simulate.optimize import (
    choice_model_response,
    optimize_structure,
    price_scenario,
)
from imis_tier.simulate.sensitivity import structure_sweeps, structure_tornado
from imis_tier.structure import LAPSE, TierStructure
from imis_tier.testing import filled_warehouse

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guardrails.yaml"


@dataclass
class World:
    path: Path
    model_path: Path
    model: TierChoiceModel
    structure: TierStructure
    panel: pd.DataFrame
    costs: dict[str, Decimal]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("optimize")
    path = root / "warehouse.duckdb"
    wh, _ = filled_warehouse(members=2000, seed=3, path=path)  # the same association, on disk
    wh.close()  # the commands open the file themselves
    out = World(
        path=path,
        model_path=root / "model.joblib",
        model=_sim_world.model(),
        structure=_sim_world.status_quo(),
        panel=_sim_world.panel(),
        costs=_sim_world.costs(),
    )
    joblib.dump(out.model, out.model_path)
    return out


def _members(world: World) -> Members:
    ranks = {t.code: t.rank for t in world.structure.tiers}
    return Members.from_panel(world.panel, world.model.spec_.usage_benefits, ranks)


def test_price_response_reproduces_the_model(world: World) -> None:
    members = _members(world)
    response = choice_model_response(world.model, members, world.structure)
    assert response.alternatives == (*world.structure.codes, LAPSE)
    p0 = np.array([float(t.price) for t in world.structure.tiers])
    for prices in (p0 * 1.08, p0 * 0.93, p0 * np.array([0.8, 1.1, 1.05, 0.9, 1.2])):
        priced = world.structure
        for code, p in zip(world.structure.codes, prices, strict=True):
            priced = priced.with_price(code, Decimal(f"{p:.2f}"))
        expected, codes = world.model.probabilities(members, priced)
        assert codes == response.alternatives
        # The model scores in float32 and bills whole cents.
        np.testing.assert_allclose(response.probabilities(prices), expected[0], atol=2e-5)
    # Analytic gradients agree with differences of the probabilities.
    p = p0 * 1.08
    jac = response.jacobian(p)
    for j in range(len(p)):
        h = np.zeros_like(p)
        h[j] = 0.01
        fd = (response.probabilities(p + h) - response.probabilities(p - h)) / 0.02
        np.testing.assert_allclose(jac[:, :, j], fd, atol=1e-7)


def test_optimised_prices_honour_the_example_guardrails(world: World) -> None:
    g = load_guardrails(EXAMPLE)
    opt = optimize_structure(
        world.model,
        world.panel,
        world.structure,
        guardrails=g,
        benefit_costs=world.costs,
        draws=40,
        starts=4,
    )
    p, now = opt.prices, opt.current_prices
    assert p["LEAD"] == now["LEAD"]  # frozen
    for code in ("STU", "EARLY", "PREM"):
        assert abs(p[code] - now[code]) <= now[code] * Decimal("0.15") + Decimal("0.01")
    assert Decimal(300) <= p["STD"] and abs(p["STD"] - now["STD"]) <= now["STD"] / 10 + Decimal(
        "0.01"
    )
    codes = world.structure.codes
    for lower, upper in itertools.pairwise(codes):
        gap = Decimal(150) if upper == "PREM" else Decimal(50)
        assert p[upper] - p[lower] >= gap - Decimal("0.01")
    rise = opt.proposal.lapse_rate - opt.status_quo.lapse_rate
    assert rise <= 0.01 + 1e-4
    students = opt.proposal.segments["students"]
    assert students["effective_price"] <= 110 + 0.01
    assert (
        students["lapse_rate"] <= opt.status_quo.segments["students"]["lapse_rate"] + 0.005 + 1e-4
    )
    assert opt.proposal.segments["early career"]["lapse_rate"] <= 0.35 + 1e-4
    assert opt.proposal.net_revenue >= opt.status_quo.net_revenue
    assert "frozen:LEAD" in {r.name for r in opt.binding}
    # The forecast simulates exactly the proposal against today's structure.
    forecast = opt.forecast
    assert forecast.draws == 40
    assert {t.code: t.price for t in forecast.structure.tiers} == dict(p)
    table = forecast.table().set_index("metric")
    assert table.loc["net_revenue", "scenario_lower"] <= table.loc["net_revenue", "scenario"]
    # Expected and simulated net revenue agree within the simulation's interval, roughly.
    assert float(opt.proposal.net_revenue) == pytest.approx(
        table.loc["net_revenue", "scenario"], rel=0.05
    )
    scenario = price_scenario(opt)
    assert {c.set_price.tier for c in scenario.changes if c.set_price} == {
        c for c in codes if p[c] != now[c]
    }
    assert "binding: " in scenario.description and "frozen:LEAD" in scenario.description


def test_tornado_and_sweeps_on_the_model(world: World) -> None:
    t = structure_tornado(world.model, world.panel, world.structure, benefit_costs=world.costs)
    inputs = t.inputs()
    assert "price sensitivity" in inputs and "switching cost" in inputs
    assert any(i.startswith("value of ") for i in inputs)
    assert not any(i.startswith("lapse.") for i in inputs)
    price = t.frame[(t.frame["input"] == "price sensitivity") & (t.frame["metric"] == "members")]
    assert float(price["low_delta"].iloc[0]) < 0 < float(price["high_delta"].iloc[0])

    sweeps = structure_sweeps(
        world.model, world.panel, world.structure, benefit_costs=world.costs, points=200
    )
    assert len(sweeps) == 200 * len(world.structure.codes)
    std = sweeps[sweeps["tier"] == "STD"]
    assert (np.diff(std["members_STD"].to_numpy()) < 0).all()
    assert std["price"].min() == pytest.approx(345 * 0.5)
    assert std["price"].max() == pytest.approx(345 * 1.5)
    with pytest.raises(ValueError, match="no tier"):
        structure_sweeps(world.model, world.panel, world.structure, tiers=["GOLD"])


def _invoke(command: Any, args: list[str]) -> Any:
    result = CliRunner().invoke(command, args)
    return result


def test_optimize_prices_command(world: World) -> None:
    base = ["--warehouse", str(world.path), "--model", str(world.model_path)]
    result = _invoke(
        optimize,
        ["prices", "--guardrails", str(EXAMPLE), *base, "--draws", "20", "--starts", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["prices"]) == set(world.structure.codes)
    assert "frozen:LEAD" in data["binding"]
    assert data["forecast"]["draws"] == 20
    assert data["run_id"]
    from imis_tier.warehouse import Warehouse

    with Warehouse(world.path) as wh:
        runs = {r.run_id: r for r in list_runs(wh)}
    assert data["run_id"] in runs
    assert runs[data["run_id"]].name == "optimised prices (net_revenue)"

    text = _invoke(
        optimize,
        ["prices", "--guardrails", str(EXAMPLE), *base, "--draws", "10", "--starts", "1",
         "--no-record", "--objective", "lifetime_value"],
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    assert "maximise lifetime_value" in text.stdout
    assert "Guardrails that bind:" in text.stdout
    assert "LEAD price frozen at $995.00" in text.stdout
    assert "members STD" in text.stdout


def test_optimize_prices_reports_bad_guardrails(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_change_pct: 15\ntiers:\n  GOLD: {ceiling: 100}\n", encoding="utf-8")
    args = ["prices", "--guardrails", str(bad), "--warehouse", str(world.path)]
    result = _invoke(optimize, [*args, "--model", str(world.model_path), "--draws", "5"])
    assert result.exit_code == 1
    assert f"{bad}:3: tiers.GOLD: no tier 'GOLD'" in result.output


def test_sweep_and_sensitivity_commands(world: World, tmp_path: Path) -> None:
    base = ["--warehouse", str(world.path), "--model", str(world.model_path)]
    result = _invoke(sweep, [*base, "--tier", "STD", "--points", "25", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["tiers"]) == ["STD"]
    assert len(data["tiers"]["STD"]["curve"]["price"]) == 25
    csv = tmp_path / "sweep.csv"
    text = _invoke(sweep, [*base, "--points", "20", "--csv", str(csv)])
    assert text.exit_code == 0, text.output
    assert len(pd.read_csv(csv)) == 20 * len(world.structure.codes)
    assert "best" in text.stdout

    tornado = _invoke(sensitivity, [*base, "--pct", "0.1"])
    assert tornado.exit_code == 0, tornado.output
    assert "(+/-10% swings)" in tornado.stdout
    assert "price sensitivity" in tornado.stdout
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: STD up\nchanges:\n  - set_price: {tier: STD, price: '380.00'}\n", encoding="utf-8"
    )
    as_json = _invoke(sensitivity, [str(scenario), *base, "--json"])
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.stdout)
    assert payload["structure"] == "STD up" and payload["swing"] == "95% CI"
