"""MixedLogit: recovery of taste variation, gradients, the zero-variance limit, prediction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from imis_tier.choice import ConditionalLogit, MixedLogit, make_choice_data
from imis_tier.choice._data import arrange, feature_matrix
from imis_tier.choice.conditional import _ConditionalProblem
from imis_tier.choice.mixed import _MixedProblem, _Spec, halton_normal

TRUE = {"asc_1": 0.5, "asc_2": -0.3, "asc_3": 0.2, "price": -1.0, "benefit": 0.7}


@pytest.fixture(scope="module")
def panel_data():
    return make_choice_data(
        4000, TRUE, seed=31, random={"price": ("normal", 0.8)}, situations_per_member=4
    )


@pytest.fixture(scope="module")
def model(panel_data):
    d = panel_data
    return MixedLogit(random="price", n_draws=100, seed=1).fit(d.X, d.y, d.groups, panel=d.members)


def test_recovers_mean_and_spread_of_a_normal_coefficient(model):
    est = model.coef_.copy()
    est[-1] = abs(est[-1])  # the sign of a scale is not identified
    truth = np.array([*TRUE.values(), 0.8])
    z = (est - truth) / model.bse_
    assert np.all(np.abs(z) < 3), dict(zip(model.param_names_, z, strict=True))
    assert model.param_names_ == [*TRUE, "sd.price"]
    assert model.n_situations_ == 1000  # units are members with a panel
    assert model.converged_


def test_recovers_a_negative_lognormal_price_coefficient():
    truth = {**TRUE, "price": -0.2}  # mu of log(-price)
    d = make_choice_data(
        3000, truth, seed=32, random={"price": ("neg_lognormal", 0.5)}, situations_per_member=3
    )
    m = MixedLogit(random={"price": "neg_lognormal"}, n_draws=100).fit(
        d.X, d.y, d.groups, panel=d.members
    )
    est = m.coef_.copy()
    est[-1] = abs(est[-1])
    z = (est - np.array([*truth.values(), 0.5])) / m.bse_
    assert np.all(np.abs(z) < 3), dict(zip(m.param_names_, z, strict=True))
    assert m.param_names_[3] == "mu.price" and m.param_names_[-1] == "sigma.price"
    assert m.mean_coef_[3] == pytest.approx(-np.exp(m.coef_[3] + m.coef_[-1] ** 2 / 2))
    wtp = m.willingness_to_pay("benefit", "price")
    assert wtp.loc["benefit", "wtp"] == pytest.approx(m.mean_coef_[4] / -m.mean_coef_[3])


@pytest.mark.parametrize("panel", [False, True])
def test_analytic_gradient_matches_finite_differences(panel):
    d = make_choice_data(300, TRUE, seed=33, availability=0.8, situations_per_member=3)
    matrix, _ = feature_matrix(d.X)
    s = arrange(matrix, d.groups, d.y, panel=d.members if panel else None)
    spec = _Spec(index=np.array([3, 4]), kinds=("neg_lognormal", "normal"))
    n_units = 100 if panel else 300
    problem = _MixedProblem(s, spec, halton_normal(n_units, 20, 2, seed=0), np.zeros(7))
    theta = np.array([0.3, -0.2, 0.1, -0.5, 0.6, 0.4, 0.7])
    numeric = optimize.approx_fprime(theta, lambda t: problem.loglik(t)[0], 1e-7)
    _, grad, scores = problem.loglik(theta, scores=True)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-3)
    assert scores is not None and scores.shape == (n_units, 7)
    np.testing.assert_allclose(scores.sum(axis=0), grad, rtol=1e-9, atol=1e-8)


def test_chunking_does_not_change_the_likelihood(monkeypatch):
    d = make_choice_data(500, TRUE, seed=34, situations_per_member=5)
    matrix, _ = feature_matrix(d.X)
    s = arrange(matrix, d.groups, d.y, panel=d.members)
    spec = _Spec(index=np.array([3]), kinds=("normal",))
    draws = halton_normal(100, 30, 1, seed=0)
    theta = np.array([0.3, -0.2, 0.1, -0.9, 0.6, 0.5])
    whole = _MixedProblem(s, spec, draws, theta).loglik(theta, scores=True)
    monkeypatch.setattr("imis_tier.choice.mixed._CHUNK_CELLS", 300)
    chunked_problem = _MixedProblem(s, spec, draws, theta)
    assert len(chunked_problem.chunks) > 5
    chunked = chunked_problem.loglik(theta, scores=True)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-10)
    np.testing.assert_allclose(chunked[2], whole[2], rtol=1e-10, atol=1e-12)


def test_zero_variance_is_the_conditional_logit():
    d = make_choice_data(2000, TRUE, seed=35)
    cl = ConditionalLogit().fit(d.X, d.y, d.groups)
    matrix, _ = feature_matrix(d.X)
    s = arrange(matrix, d.groups, d.y)
    spec = _Spec(index=np.array([3]), kinds=("normal",))
    problem = _MixedProblem(s, spec, halton_normal(2000, 10, 1, seed=0), np.zeros(6))
    ll, grad, _ = problem.loglik(np.r_[cl.coef_, 0.0])
    assert ll == pytest.approx(cl.loglik_, rel=1e-12)
    np.testing.assert_allclose(grad[:5], _ConditionalProblem(s).loglik(cl.coef_)[1], atol=1e-8)
    mixed = MixedLogit(random="price", n_draws=50).fit(d.X, d.y, d.groups)
    assert mixed.loglik_ == pytest.approx(cl.loglik_, abs=2.0)
    assert abs(mixed.coef_[-1]) < 0.35
    np.testing.assert_allclose(mixed.coef_[:5], cl.coef_, atol=2 * cl.bse_.max())


def test_same_seed_same_estimates(panel_data):
    d = panel_data
    subset = d.members < 200
    args = (d.X[subset], d.y[subset], d.groups[subset])
    a = MixedLogit(random="price", n_draws=30, seed=4).fit(*args, panel=d.members[subset])
    b = MixedLogit(random="price", n_draws=30, seed=4).fit(*args, panel=d.members[subset])
    c = MixedLogit(random="price", n_draws=30, seed=5).fit(*args, panel=d.members[subset])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def test_probabilities_sum_to_one_and_wide_matches_long(model):
    rng = np.random.default_rng(2)
    n, J = 30, 4
    X3d = rng.standard_normal((n, J, 5))
    X3d[:, :, :3] = np.eye(J)[None, :, 1:]
    available = rng.random((n, J)) < 0.7
    available[:, :2] = True
    wide = model.probabilities_wide(X3d, available)
    np.testing.assert_allclose(wide.sum(axis=1), 1.0)
    assert (wide[~available] == 0).all()
    member, alt = np.nonzero(available)
    long = model.predict_proba(X3d[member, alt], member)
    np.testing.assert_allclose(wide[member, alt], long, rtol=1e-10)
    # Taste variation flattens choices relative to the logit at the mean coefficients.
    at_mean = ConditionalLogit()
    at_mean.coef_, at_mean.param_names_, at_mean.n_features_in_ = model.mean_coef_, list(TRUE), 5
    assert (
        np.abs(wide - 0.25).mean()
        < np.abs(at_mean.probabilities_wide(X3d, available) - 0.25).mean()
    )
    draws = model.sample_coefs(2, seed=3)
    assert model.probabilities_wide(X3d, available, coef=draws).shape == (2, n, J)
    assert model.predict_proba(X3d[member, alt], member, coef=draws).shape == (2, member.shape[0])


def test_bad_specifications_are_named(panel_data):
    d = panel_data
    with pytest.raises(ValueError, match=r"random feature\(s\) \['cost'\] are not among"):
        MixedLogit(random="cost").fit(d.X, d.y, d.groups)
    with pytest.raises(ValueError, match="unknown distribution"):
        MixedLogit(random="price", distribution="uniform").fit(d.X, d.y, d.groups)
    with pytest.raises(ValueError, match="n_draws must be at least 1"):
        MixedLogit(random="price", n_draws=0).fit(d.X, d.y, d.groups)
    with pytest.raises(ValueError, match="at least one random feature"):
        MixedLogit().fit(d.X, d.y, d.groups)
    shifted = d.members.copy()
    shifted[1] += 1  # row 1 is in situation 0 with row 0
    with pytest.raises(ValueError, match="panel must be constant within each choice situation"):
        MixedLogit(random="price").fit(d.X, d.y, d.groups, panel=shifted)


def test_halton_draws_can_be_made_chunk_by_chunk(monkeypatch):
    whole = halton_normal(50, 20, 2, seed=9)
    np.testing.assert_array_equal(halton_normal(15, 20, 2, seed=9, first_unit=30), whole[30:45])
    monkeypatch.setattr("imis_tier.choice.mixed._HALTON_BLOCK", 64)
    np.testing.assert_array_equal(halton_normal(50, 20, 2, seed=9), whole)
    assert abs(whole.mean()) < 0.05 and abs(whole.std() - 1) < 0.05


def test_wide_prediction_is_the_same_in_small_chunks(model, monkeypatch):
    rng = np.random.default_rng(6)
    X3d = rng.standard_normal((25, 4, 5))
    X3d[:, :, :3] = np.eye(4)[None, :, 1:]
    whole = model.probabilities_wide(X3d)
    long_whole = model.predict_proba(X3d.reshape(100, 5), np.repeat(np.arange(25), 4))
    monkeypatch.setattr("imis_tier.choice.mixed._CHUNK_CELLS", 500)
    np.testing.assert_allclose(model.probabilities_wide(X3d), whole, rtol=1e-12)
    long_chunked = model.predict_proba(X3d.reshape(100, 5), np.repeat(np.arange(25), 4))
    np.testing.assert_allclose(long_chunked, long_whole, rtol=1e-12)
    np.testing.assert_allclose(long_whole.reshape(25, 4), whole, rtol=1e-10)
