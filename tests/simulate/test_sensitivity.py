"""Tornado tables and price sweeps on a synthetic conditional logit."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from imis_tier.choice import ConditionalLogit, make_choice_data
from imis_tier.simulate.guardrails import parse_guardrails
from imis_tier.simulate.optimize import (
    LogitPriceResponse,
    ModelPriceResponse,
    PriceResponse,
    expected_outcome,
    optimize_prices,
)
from imis_tier.simulate.sensitivity import (
    default_groups,
    price_sweep,
    price_sweeps,
    response_outcomes,
    tornado,
)
from imis_tier.structure import LAPSE

CODES = ("A", "B", "C")
ALTS = (*CODES, LAPSE)
COSTS = {"A": Decimal(20), "B": Decimal(50), "C": Decimal(90)}
PRICES = np.array([100.0, 200.0, 300.0])


@pytest.fixture(scope="module")
def model() -> ConditionalLogit:
    truth = {"price": -1.3, "asc_1": 1.0, "asc_2": 1.6, "asc_3": 2.2, "use_x": 0.7}
    data = make_choice_data(3000, truth, n_alternatives=4, seed=2)
    return ConditionalLogit().fit(data.X, data.y, data.groups)


@pytest.fixture(scope="module")
def design() -> np.ndarray:
    rng = np.random.default_rng(5)
    X = np.zeros((300, 4, 5))
    for j in range(3):
        X[:, j, 1 + j] = 1.0
    X[:, :3, 4] = rng.normal(0.0, 0.5, (300, 3))
    return X


def _factory(model: ConditionalLogit, X: np.ndarray):  # type: ignore[no-untyped-def]
    def make(theta: np.ndarray) -> LogitPriceResponse:
        return LogitPriceResponse.from_model(
            model,
            X,
            price_feature="price",
            price_scale=0.01,
            tier_codes=CODES,
            alternatives=ALTS,
            coef=theta,
        )

    return make


def test_default_groups_name_the_uncertain_inputs() -> None:
    names = [
        "asc.STD", "asc.PREM", "price", "price_x_student", "price_rise",
        "use.webinars", "switch_up", "switch_down", "lapse.autopay",
    ]  # fmt: skip
    groups = default_groups(names)
    assert groups["price sensitivity"] == ["price", "price_x_student"]
    assert groups["price-rise aversion"] == ["price_rise"]
    assert groups["switching cost"] == ["switch_up", "switch_down"]
    assert groups["value of webinars"] == ["use.webinars"]
    assert groups["constant STD"] == ["asc.STD"]
    assert not any("lapse.autopay" in v for v in groups.values())


def test_tornado_over_confidence_intervals(model: ConditionalLogit, design: np.ndarray) -> None:
    outcomes = response_outcomes(_factory(model, design), PRICES, COSTS)
    t = tornado(outcomes, model.coef_, model.param_names_, se=model.bse_)
    assert t.swing == "95% CI"
    frame = t.frame
    assert set(frame["metric"]) == {"net_revenue", "lapse_rate", "members"}
    assert len(frame) == 3 * 5  # price, three constants, the value term
    # The first metric's swings are in decreasing order.
    lead = frame[frame["metric"] == "net_revenue"]["swing"].to_numpy()
    assert (np.diff(lead) <= 1e-12).all()
    price = frame[(frame["input"] == "price sensitivity")].set_index("metric")
    # A more negative price coefficient (the low end) loses members and raises lapses.
    assert price.loc["members", "low_delta"] < 0 < price.loc["members", "high_delta"]
    assert price.loc["lapse_rate", "low_delta"] > 0
    # Each end is the outcome at exactly coef +- 1.96 se.
    theta = model.coef_.copy()
    theta[0] -= 1.959963984540054 * model.bse_[0]
    direct = expected_outcome(_factory(model, design)(theta), PRICES, COSTS)
    assert price.loc["members", "low"] == pytest.approx(direct.members, rel=1e-12)
    assert t.base["members"] == pytest.approx(price.loc["members", "base"])
    assert t.to_dict()["rows"][0]["input"] == t.inputs()[0]


def test_tornado_with_percentage_swings_and_groups(
    model: ConditionalLogit, design: np.ndarray
) -> None:
    outcomes = response_outcomes(_factory(model, design), PRICES, COSTS)
    groups = {"all constants": ["asc_1", "asc_2", "asc_3"], "price": ["price"]}
    t = tornado(outcomes, model.coef_, model.param_names_, pct=0.1, groups=groups)
    assert t.swing == "+/-10%"
    assert sorted(t.inputs()) == ["all constants", "price"]
    consts = t.frame[(t.frame["input"] == "all constants") & (t.frame["metric"] == "members")]
    assert float(consts["high_delta"].iloc[0]) > 0  # every tier worth more: more members stay
    with pytest.raises(ValueError, match="exactly one of se"):
        tornado(outcomes, model.coef_, model.param_names_)
    with pytest.raises(ValueError, match="no parameters"):
        tornado(outcomes, model.coef_, model.param_names_, pct=0.1, groups={"x": ["nope"]})
    with pytest.raises(ValueError, match="do not report"):
        tornado(outcomes, model.coef_, model.param_names_, pct=0.1, metrics=("profit",))


def test_price_sweep_matches_pointwise_outcomes(
    model: ConditionalLogit, design: np.ndarray
) -> None:
    response = _factory(model, design)(model.coef_)
    grid = np.linspace(50, 400, 200)
    sweep = price_sweep(response, "B", grid, PRICES, COSTS)
    assert len(sweep) == 200 and list(sweep["price"]) == list(grid)
    for k in (0, 77, 199):
        p = PRICES.copy()
        p[1] = grid[k]
        direct = expected_outcome(response, p, COSTS)
        row = sweep.iloc[k]
        assert row["net_revenue"] == pytest.approx(float(direct.net_revenue), abs=0.006)
        assert row["lapse_rate"] == pytest.approx(direct.lapse_rate, rel=1e-12)
        assert row["members_B"] == pytest.approx(direct.members_by_tier["B"], rel=1e-12)
    # Own-price demand falls, lapses rise, other tiers gain (substitution).
    assert (np.diff(sweep["members_B"]) < 0).all()
    assert (np.diff(sweep["lapse_rate"]) > 0).all()
    assert (np.diff(sweep["members_A"]) > 0).all()
    # The revenue curve peaks where the optimiser puts B with A and C held.
    frozen = parse_guardrails(
        "ordered_prices: false\ntiers:\n  A: {frozen: true}\n  C: {frozen: true}\n"
    )
    best = optimize_prices(
        response,
        dict(zip(CODES, map(Decimal, map(str, PRICES)), strict=True)),
        guardrails=frozen,
        costs=COSTS,
    )
    peak = float(sweep["price"].iloc[int(sweep["net_revenue"].argmax())])
    assert abs(peak - best.exact_prices[1]) <= grid[1] - grid[0]


def test_generic_response_sweeps_like_the_fast_one(
    model: ConditionalLogit, design: np.ndarray
) -> None:
    # Some members may not hold C, a few only A (or lapse): the fast path must honour that.
    available = np.ones((design.shape[0], 4), dtype=bool)
    available[::3, 2] = False
    available[::7, 1:3] = False
    fast = LogitPriceResponse.from_model(
        model,
        design,
        price_feature="price",
        price_scale=0.01,
        tier_codes=CODES,
        alternatives=ALTS,
        available=available,
    )

    def build(prices: np.ndarray) -> np.ndarray:
        out = design.copy()
        out[:, :3, 0] = prices / 100.0
        return out

    slow = ModelPriceResponse(
        model,
        build,
        tier_codes=CODES,
        alternatives=ALTS,
        n_members=design.shape[0],
        available=available,
    )
    a = price_sweeps(fast, PRICES, COSTS, points=20)
    b = price_sweeps(slow, PRICES, COSTS, points=20)
    assert list(a["tier"].unique()) == list(CODES)
    assert len(a) == 60
    np.testing.assert_allclose(a.drop(columns="tier"), b.drop(columns="tier"), rtol=1e-10)
    with pytest.raises(ValueError, match="no tier 'Z'"):
        price_sweep(fast, "Z", [1.0], PRICES)
    with pytest.raises(ValueError, match="span"):
        price_sweeps(fast, PRICES, span=(1.5, 0.5))


class _Through(PriceResponse):
    """Another response's probabilities through the generic (full-matrix) sweep path."""

    def __init__(self, inner: LogitPriceResponse) -> None:
        self._setup(
            inner.tier_codes, inner.alternatives, inner.price_factor, inner.n_members, None, None
        )
        self.retained_value = inner.retained_value
        self.inner = inner

    def probabilities(self, prices: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return self.inner.probabilities(prices)


def test_fast_sweep_handles_the_price_rise_kink_and_retained_value() -> None:
    rng = np.random.default_rng(3)
    n = 400
    current = rng.integers(0, 3, n)
    base = np.zeros((n, 4))
    base[:, :3] = rng.normal(2.0, 0.7, (n, 3))
    slope = np.zeros((n, 4))
    slope[:, :3] = -rng.uniform(0.005, 0.02, (n, 1))
    kink = np.zeros((n, 4))
    kink[np.arange(n), current] = -0.01
    at = np.zeros((n, 4))
    at[np.arange(n), current] = PRICES[current] * rng.uniform(0.8, 1.1, n)
    factor = np.ones((n, 4))
    factor[: n // 4, :3] = 0.8  # a segment discount
    fast = LogitPriceResponse(
        base,
        slope,
        tier_codes=CODES,
        alternatives=ALTS,
        price_factor=factor,
        kink_slope=kink,
        kink_at=at,
        smoothing=2.0,
    )
    fast.retained_value = rng.uniform(0, 100, n)
    a = price_sweeps(fast, PRICES, COSTS, points=30)
    b = price_sweeps(_Through(fast), PRICES, COSTS, points=30)
    np.testing.assert_allclose(a.drop(columns="tier"), b.drop(columns="tier"), rtol=1e-9)
    # The kink bites only above what members paid: the same curve without it below, lower above.
    no_b = kink.copy()
    no_b[:, 1] = 0.0  # the same members, without B's kink
    plain = LogitPriceResponse(
        base,
        slope,
        tier_codes=CODES,
        alternatives=ALTS,
        price_factor=factor,
        kink_slope=no_b,
        kink_at=at,
        smoothing=2.0,
    )
    plain.retained_value = fast.retained_value
    c = price_sweeps(plain, PRICES, COSTS, points=30)
    kinked, smooth = a[a["tier"] == "B"], c[c["tier"] == "B"]
    np.testing.assert_allclose(kinked["members_B"][:5], smooth["members_B"][:5], rtol=1e-9)
    assert (kinked["members_B"].to_numpy()[-5:] < smooth["members_B"].to_numpy()[-5:] - 1).all()
