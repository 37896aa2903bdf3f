"""Price optimisation on synthetic conditional logits: known optimum, guardrails, gradients."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from imis_tier.choice import ConditionalLogit, make_choice_data
from imis_tier.simulate.guardrails import GuardrailsError, parse_guardrails
from imis_tier.simulate.optimize import (
    InfeasibleGuardrails,
    LogitPriceResponse,
    ModelPriceResponse,
    expected_outcome,
    optimize_prices,
)
from imis_tier.structure import LAPSE, Tier, TierStructure

CODES = ("A", "B", "C")
ALTS = (*CODES, LAPSE)  # the simulator's layout: tiers in rank order, then LAPSE
COSTS = {"A": Decimal(20), "B": Decimal(50), "C": Decimal(90)}
CURRENT = {"A": Decimal(100), "B": Decimal(200), "C": Decimal(300)}


@pytest.fixture(scope="module")
def model() -> ConditionalLogit:
    """A conditional logit fitted on simulated choices: price (in $100), constants, a value term."""
    truth = {"price": -1.3, "asc_1": 1.0, "asc_2": 1.6, "asc_3": 2.2, "value": 0.7}
    data = make_choice_data(4000, truth, n_alternatives=4, seed=1)
    return ConditionalLogit().fit(data.X, data.y, data.groups)


def _design(n: int, seed: int = 0, *, identical: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """(members, [A, B, C, LAPSE], [price, asc_1, asc_2, asc_3, value]) and member traits."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 4, 5))
    for j in range(3):
        X[:, j, 1 + j] = 1.0
    student = rng.random(n) < 0.3
    if not identical:
        # Students value the tiers less (so lapse more); everyone varies a little.
        X[:, :3, 4] = rng.normal(0.0, 0.5, (n, 3)) - 1.0 * student[:, None]
    members = pd.DataFrame({"career_stage": np.where(student, "student", "mid")})
    return X, members


def _response(model: ConditionalLogit, n: int = 600, **kw: object) -> LogitPriceResponse:
    X, members = _design(n, identical=bool(kw.pop("identical", False)))
    return LogitPriceResponse.from_model(
        model,
        X,
        price_feature="price",
        price_scale=0.01,
        tier_codes=CODES,
        alternatives=ALTS,
        members=members,
        **kw,  # type: ignore[arg-type]
    )


def _structure() -> TierStructure:
    return TierStructure(
        tuple(Tier(c, c, CURRENT[c], frozenset(), rank=i) for i, c in enumerate(CODES))
    )


def _optimum(response: LogitPriceResponse, yaml_text: str = "", **kw: object):  # type: ignore[no-untyped-def]
    g = parse_guardrails(yaml_text, source="g.yaml")
    return optimize_prices(
        response,
        CURRENT,
        guardrails=g,
        structure=_structure(),
        costs=COSTS,
        **kw,  # type: ignore[arg-type]
    )


def test_equal_markup_property_of_the_logit_monopolist(model: ConditionalLogit) -> None:
    response = _response(model, n=50, identical=True)
    # A tight tolerance: the optimiser's default stops at about 1e-5 relative in prices.
    opt = optimize_prices(response, CURRENT, costs=COSTS, structure=_structure(), tol=1e-14)
    markups = opt.exact_prices - np.array([float(COSTS[c]) for c in CODES])
    p_lapse = response.probabilities(opt.exact_prices)[0, ALTS.index(LAPSE)]
    alpha = -model.coef_[0] * 0.01  # utility per dollar
    np.testing.assert_allclose(markups, markups[0], rtol=1e-6)
    np.testing.assert_allclose(markups, 1.0 / (alpha * p_lapse), rtol=1e-6)
    assert opt.feasible_starts == opt.starts
    assert opt.proposal.net_revenue > opt.status_quo.net_revenue


def test_analytic_gradient_matches_finite_differences(model: ConditionalLogit) -> None:
    X, members = _design(200, seed=4)
    fast = LogitPriceResponse.from_model(
        model, X, price_feature="price", price_scale=0.01, tier_codes=CODES, alternatives=ALTS
    )

    def design(prices: np.ndarray) -> np.ndarray:
        out = X.copy()
        out[:, :3, 0] = prices / 100.0
        return out

    slow = ModelPriceResponse(
        model, design, tier_codes=CODES, alternatives=ALTS, n_members=200, members=members
    )
    p = np.array([120.0, 180.0, 320.0])
    np.testing.assert_allclose(fast.probabilities(p), slow.probabilities(p), atol=1e-12)
    np.testing.assert_allclose(fast.jacobian(p), slow.jacobian(p), atol=1e-8)
    # Both reach the same optimum (the slow one through finite-difference gradients).
    a = optimize_prices(fast, CURRENT, costs=COSTS, starts=2)
    b = optimize_prices(slow, CURRENT, costs=COSTS, starts=2)
    np.testing.assert_allclose(a.exact_prices, b.exact_prices, rtol=1e-4)


def test_unconstrained_optimum_satisfies_first_order_conditions(model: ConditionalLogit) -> None:
    response = _response(model)
    opt = optimize_prices(response, CURRENT, costs=COSTS)
    p = opt.exact_prices
    for j in range(3):
        h = np.zeros(3)
        h[j] = 0.01
        up = float(expected_outcome(response, p + h, COSTS).net_revenue)
        down = float(expected_outcome(response, p - h, COSTS).net_revenue)
        assert abs(up - down) <= 0.02  # flat to the cent over a two-cent move
    assert not opt.binding


def test_ceiling_frozen_and_max_move_hold_and_bind(model: ConditionalLogit) -> None:
    response = _response(model)
    free = optimize_prices(response, CURRENT, costs=COSTS)
    assert free.prices["A"] > Decimal(115)
    opt = _optimum(
        response,
        "tiers:\n  A: {ceiling: 115}\n  B: {frozen: true}\n  C: {max_change_pct: 5}\n",
    )
    assert opt.prices["A"] == Decimal("115.00")
    assert opt.prices["B"] == Decimal("200.00")
    assert Decimal(285) <= opt.prices["C"] <= Decimal(315)
    binding = {g.name for g in opt.binding}
    assert {"ceiling:A", "frozen:B"} <= binding
    assert opt.proposal.net_revenue <= free.proposal.net_revenue


def test_ordered_prices_and_minimum_gap(model: ConditionalLogit) -> None:
    response = _response(model)
    # Costs that make the unconstrained optimum put B below A.
    costs = {"A": Decimal(150), "B": Decimal(0), "C": Decimal(90)}
    free = optimize_prices(response, CURRENT, costs=costs)
    assert free.prices["B"] < free.prices["A"]
    g = parse_guardrails(
        "ordered_prices: true\ntiers:\n  B: {min_gap_below: 25}\n", source="g.yaml"
    )
    opt = optimize_prices(response, CURRENT, guardrails=g, structure=_structure(), costs=costs)
    assert float(opt.prices["B"] - opt.prices["A"]) == pytest.approx(25.0, abs=0.011)
    assert "gap:A<B" in {r.name for r in opt.binding}
    assert opt.prices["C"] >= opt.prices["B"]


def test_lapse_rate_rise_is_capped(model: ConditionalLogit) -> None:
    response = _response(model)
    free = optimize_prices(response, CURRENT, costs=COSTS)
    rise = free.proposal.lapse_rate - free.status_quo.lapse_rate
    assert rise > 0.02
    opt = _optimum(response, "max_lapse_rate_rise: 0.01\n")
    assert opt.proposal.lapse_rate - opt.status_quo.lapse_rate == pytest.approx(0.01, abs=2e-5)
    assert "lapse_rate_rise" in {r.name for r in opt.binding}
    assert free.proposal.net_revenue > opt.proposal.net_revenue > opt.status_quo.net_revenue


def test_protected_segment_price_and_lapse_limits(model: ConditionalLogit) -> None:
    response = _response(model)
    free = optimize_prices(response, CURRENT, costs=COSTS, guardrails=None)
    g_text = (
        "protected_segments:\n"
        "  - name: students\n"
        "    where: {career_stage: [student]}\n"
        "    max_effective_price: 150\n"
    )
    g = parse_guardrails(g_text, source="g.yaml")
    seg_free = expected_outcome(
        response, free.exact_prices, COSTS, segments={"students": _students(response)}
    )
    assert seg_free.segments["students"]["effective_price"] > 150
    opt = optimize_prices(response, CURRENT, guardrails=g, costs=COSTS)
    assert opt.proposal.segments["students"]["effective_price"] == pytest.approx(150, abs=0.02)
    assert [r.name for r in opt.binding] == ["students:effective_price"]

    rise_text = g_text.replace("max_effective_price: 150", "max_lapse_rate_rise: 0.0")
    opt = optimize_prices(response, CURRENT, guardrails=parse_guardrails(rise_text), costs=COSTS)
    stu_now = opt.status_quo.segments["students"]["lapse_rate"]
    assert opt.proposal.segments["students"]["lapse_rate"] <= stu_now + 1e-5
    assert opt.proposal.net_revenue > opt.status_quo.net_revenue


def _students(response: LogitPriceResponse) -> np.ndarray:
    assert response.members is not None
    return (response.members["career_stage"] == "student").to_numpy()


def test_lifetime_value_objective_trades_price_for_retention(model: ConditionalLogit) -> None:
    response = _response(model)
    revenue = optimize_prices(response, CURRENT, costs=COSTS, objective="net_revenue")
    ltv = optimize_prices(response, CURRENT, costs=COSTS, objective="lifetime_value")
    assert ltv.objective == "lifetime_value"
    assert all(ltv.prices[c] < revenue.prices[c] for c in CODES)
    assert ltv.proposal.lapse_rate < revenue.proposal.lapse_rate
    assert ltv.proposal.lifetime_value >= revenue.proposal.lifetime_value
    assert revenue.proposal.net_revenue >= ltv.proposal.net_revenue


def test_infeasible_guardrails_are_reported(model: ConditionalLogit) -> None:
    response = _response(model)
    text = "min_gap: 10\ntiers:\n  A: {floor: 250}\n  B: {ceiling: 240}\n"
    with pytest.raises(InfeasibleGuardrails, match=r"g\.yaml: no prices satisfy every guardrail"):
        _optimum(response, text)


def test_segment_fields_must_exist_and_match_members(model: ConditionalLogit) -> None:
    response = _response(model)
    text = "protected_segments:\n  - name: x\n    where: {region: [EU]}\n    max_lapse_rate: 0.3\n"
    with pytest.raises(GuardrailsError, match=r"g\.yaml:3: protected_segments\[0\]\.where\.region"):
        _optimum(response, text)
    text = text.replace("region: [EU]", "career_stage: [retired]")
    with pytest.raises(GuardrailsError, match="matches no member"):
        _optimum(response, text)


def test_results_are_reproducible_and_serialisable(model: ConditionalLogit) -> None:
    response = _response(model)
    a = _optimum(response, "max_lapse_rate_rise: 0.02\n", seed=7)
    b = _optimum(response, "max_lapse_rate_rise: 0.02\n", seed=7)
    assert a.prices == b.prices
    data = a.to_dict()
    assert data["binding"] == ["lapse_rate_rise"]
    assert set(data["proposal"]["members_by_tier"]) == set(CODES)
    assert Decimal(data["gain"]) > 0
    proposed = a.structure(_structure())
    assert proposed.tier("A").price == a.prices["A"]
