"""The simulation engine's hot loops (imis_tier.simulate._kernels) against plain references."""

import copy

import numpy as np
import pytest
from _sim_world import costs, model, panel, status_quo

from imis_tier.simulate import Members, parse_scenario, simulate
from imis_tier.simulate._kernels import UtilityCache, sample

RISE = parse_scenario("name: rise\nchanges:\n  - set_price: {tier: STD, price: '445.00'}\n")


def _members(n: int = 300) -> Members:
    ranks = {t.code: t.rank for t in status_quo().tiers}
    return Members.from_panel(panel().iloc[:n], model().spec_.usage_benefits, ranks)


def test_exp_weights_are_the_model_probabilities() -> None:
    m = model()
    alts = m.layout(_members(), status_quo())
    coefs = m.sample_coefs(7, seed=1)
    weights = UtilityCache(coefs).weights(alts.X, alts.available)
    assert weights is not None
    n = alts.available.shape[0]
    w = np.stack([np.zeros((n, 7)) if x is None else x for x in weights] + [np.ones((n, 7))], 1)
    fast = w / w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fast, m.wide(alts, coefs), rtol=2e-4, atol=1e-6)
    assert (fast[~alts.available] == 0).all()


def test_the_cache_shares_what_a_scenario_leaves_unchanged() -> None:
    m = model()
    members = _members()
    cache = UtilityCache(m.sample_coefs(5))
    base = m.layout(members, status_quo())
    risen = m.layout(members, RISE.apply(status_quo()))
    a = cache.weights(base.X, base.available)
    b = cache.weights(risen.X, risen.available)
    again = cache.weights(base.X, base.available)
    assert a is not None and b is not None and again is not None
    std = base.codes.index("STD")
    for j in range(len(a)):
        assert (a[j] is b[j]) == (j != std)
        assert a[j] is again[j]


def test_sampling_matches_cumulative_probabilities_and_never_picks_a_closed_tier() -> None:
    rng = np.random.default_rng(4)
    n, D = 400, 50
    w = [rng.random((n, D), dtype=np.float32) * 3 for _ in range(4)]
    w[0][:100] = 0  # closed to the first 100 members
    weights = [w[0], None, w[2], w[3]]  # tier 1 closed to everyone
    u = rng.random((n, D), dtype=np.float32)
    u[:5] = 0.0
    pick = sample(weights, None, u)
    p = np.stack([w[0], np.zeros((n, D)), w[2], w[3], np.ones((n, D))], 1).astype(np.float64)
    cum = np.cumsum(p, axis=1) / p.sum(axis=1, keepdims=True)
    ref = (cum[:, :-1, :] <= u[:, None, :]).sum(axis=1)
    clear = (np.abs(cum - u[:, None, :]) > 1e-5).all(axis=1)
    assert clear.mean() > 0.98  # u == 0 rows on a closed tier are ties
    np.testing.assert_array_equal(pick[clear], ref[clear])
    assert (pick != 1).all()
    assert (pick[:100] != 0).all()
    assert np.bincount(pick.ravel(), minlength=5)[4] > 0


def test_utilities_too_large_for_float32_fall_back_to_the_stable_softmax() -> None:
    steep = copy.deepcopy(model())
    steep.estimator_.coef_ = np.asarray(steep.estimator_.coef_) * 60.0
    alts = steep.layout(_members(), status_quo())
    assert UtilityCache(steep.coef_[None, :]).weights(alts.X, alts.available) is None
    f = simulate(status_quo(), panel(), steep, status_quo=status_quo(), draws=1, costs=costs())
    table = f.table().set_index("metric")
    assert np.isfinite(table["scenario"]).all()
    assert (table["change"].abs() < 1e-9).all()


def test_discounted_dues_add_up_per_segment() -> None:
    disc = parse_scenario(
        "name: d\nchanges:\n"
        "  - segment_discount: {field: career_stage, values: [early], percent: 20, tiers: [STD]}\n"
    )
    f = simulate(
        disc, panel(), model(), status_quo=status_quo(), draws=6, by=["career_stage"],
        costs=costs(),
    )  # fmt: skip
    g = int(np.flatnonzero(f.groups["career_stage"] == "early")[0])
    draws = f.per_draw(g)
    price = {t.code: float(t.price) for t in f.structure.tiers}
    price["STD"] *= 0.8
    expected = sum(draws[f"scenario.count.{c}"] * p for c, p in price.items())
    np.testing.assert_allclose(draws["scenario.dues_revenue"], expected, rtol=1e-9)
    assert draws["change.dues_revenue"].mean() < 0
    with pytest.raises(AssertionError):  # the discount is not the list price
        np.testing.assert_allclose(
            draws["scenario.dues_revenue"],
            sum(draws[f"scenario.count.{c}"] * float(t.price) for c, t in
                ((t.code, t) for t in f.structure.tiers)),
            rtol=1e-9,
        )  # fmt: skip
