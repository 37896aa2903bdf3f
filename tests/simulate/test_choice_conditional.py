"""ConditionalLogit: parameter recovery, likelihood pieces, probabilities and inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from imis_tier.choice import ConditionalLogit, make_choice_data
from imis_tier.choice._data import arrange, feature_matrix
from imis_tier.choice.conditional import _ConditionalProblem

TRUE = {"asc_1": 0.5, "asc_2": -0.3, "asc_3": 0.2, "price": -1.0, "benefit": 0.7}


@pytest.fixture(scope="module")
def data():
    return make_choice_data(4000, TRUE, seed=7, availability=0.7)


@pytest.fixture(scope="module")
def model(data):
    return ConditionalLogit().fit(data.X, data.y, data.groups)


def test_recovers_true_parameters_within_three_standard_errors(model):
    truth = np.array(list(TRUE.values()))
    z = (model.coef_ - truth) / model.bse_
    assert np.all(np.abs(z) < 3), dict(zip(model.param_names_, z, strict=True))
    assert model.converged_ and model.grad_norm_ < 1e-5
    assert list(model.feature_names_in_) == list(TRUE)
    assert model.param_names_ == list(TRUE)


def test_null_loglik_is_equal_shares_over_available_alternatives(data, model):
    sizes = np.bincount(data.groups)
    assert model.loglik_null_ == pytest.approx(-np.log(sizes).sum())
    assert model.loglik_ > model.loglik_null_
    assert model.rho_squared_ == pytest.approx(1 - model.loglik_ / model.loglik_null_)
    assert model.n_situations_ == sizes.shape[0]


def test_loglik_matches_direct_sum_of_log_probabilities(data, model):
    p = model.predict_proba(data.X, data.groups)
    assert model.loglik_ == pytest.approx(np.log(p[data.y == 1]).sum(), rel=1e-10)


def test_analytic_gradient_and_hessian_match_finite_differences(data):
    matrix, _ = feature_matrix(data.X)
    problem = _ConditionalProblem(arrange(matrix, data.groups, data.y))
    theta = np.array([0.3, -0.1, 0.4, -0.7, 0.2])
    numeric = optimize.approx_fprime(theta, lambda t: problem.loglik(t)[0], 1e-6)
    np.testing.assert_allclose(problem.loglik(theta)[1], numeric, rtol=1e-4, atol=1e-3)
    hess = np.array(
        [
            optimize.approx_fprime(theta, lambda t, i=i: -problem.loglik(t)[1][i], 1e-6)
            for i in range(5)
        ]
    )
    np.testing.assert_allclose(problem.hessian(theta), hess, rtol=1e-4, atol=1e-2)


def test_scores_sum_to_gradient(data):
    matrix, _ = feature_matrix(data.X)
    problem = _ConditionalProblem(arrange(matrix, data.groups, data.y))
    theta = np.array([0.1, 0.2, -0.3, -0.5, 0.4])
    _, grad, scores = problem.loglik(theta, scores=True)
    assert scores is not None and scores.shape == (problem.n_units, 5)
    np.testing.assert_allclose(scores.sum(axis=0), grad, rtol=1e-10, atol=1e-8)


def test_probabilities_sum_to_one_within_each_situation(data, model):
    p = model.predict_proba(data.X, data.groups)
    assert p.shape == (len(data.X),) and (p > 0).all()
    np.testing.assert_allclose(np.bincount(data.groups, weights=p), 1.0, atol=1e-12)


def test_unsorted_and_relabelled_groups_give_the_same_fit_and_aligned_predictions(data, model):
    rng = np.random.default_rng(3)
    perm = rng.permutation(len(data.X))
    labels = np.array([f"renewal-{g}" for g in data.groups])[perm]
    shuffled = ConditionalLogit().fit(data.X.iloc[perm], data.y[perm], labels)
    np.testing.assert_allclose(shuffled.coef_, model.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(shuffled.bse_, model.bse_, rtol=1e-5)
    p_sorted = model.predict_proba(data.X, data.groups)
    p_shuffled = shuffled.predict_proba(data.X.iloc[perm], labels)
    np.testing.assert_allclose(p_shuffled, p_sorted[perm], rtol=1e-6)


def test_robust_standard_errors_close_to_classic_when_model_is_correct(model):
    ratio = model.bse_ / model.bse_classic_
    assert np.all((ratio > 0.9) & (ratio < 1.1)), ratio


def test_robust_standard_errors_differ_when_model_is_misspecified():
    # Heterogeneous price sensitivity fitted with a fixed coefficient: the sandwich must notice.
    d = make_choice_data(
        3000, TRUE, seed=11, random={"price": ("normal", 2.0)}, situations_per_member=1
    )
    m = ConditionalLogit().fit(d.X, d.y, d.groups)
    ratio = m.bse_ / m.bse_classic_
    assert abs(ratio[3] - 1) > 0.1, ratio


def test_summary_columns_and_z(model):
    table = model.summary()
    assert list(table.columns) == ["coef", "se", "z", "p"]
    assert list(table.index) == list(TRUE)
    np.testing.assert_allclose(table["z"], model.coef_ / model.bse_)
    assert table.loc["price", "p"] < 1e-10


def test_willingness_to_pay_ratio_and_delta_method_se(model):
    wtp = model.willingness_to_pay(["benefit"], "price")
    b, p = model.coef_[4], model.coef_[3]
    assert wtp.loc["benefit", "wtp"] == pytest.approx(b / -p)
    grad = np.array([1 / -p, b / p**2])  # d(b / -p) / d(b, p)
    cov = model.cov_[np.ix_([4, 3], [4, 3])]
    assert wtp.loc["benefit", "se"] == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-5)
    assert wtp.loc["benefit", "lower"] < wtp.loc["benefit", "wtp"] < wtp.loc["benefit", "upper"]


def test_coefficient_draws_propagate_to_probabilities(data, model):
    draws = model.sample_coefs(500, seed=1)
    assert draws.shape == (500, 5)
    np.testing.assert_allclose(
        draws.mean(axis=0), model.coef_, atol=4 * model.bse_.max() / np.sqrt(500) * 3
    )
    np.testing.assert_allclose(np.cov(draws.T), model.cov_, atol=5e-4)
    p = model.predict_proba(data.X, data.groups, coef=draws[:7])
    assert p.shape == (7, len(data.X))
    np.testing.assert_allclose(np.bincount(data.groups, weights=p[3]), 1.0, atol=1e-12)
    assert not np.allclose(p[0], p[1])
    np.testing.assert_allclose(
        model.predict_proba(data.X, data.groups, coef=model.coef_),
        model.predict_proba(data.X, data.groups),
    )
    np.testing.assert_array_equal(model.sample_coefs(3, seed=5), model.sample_coefs(3, seed=5))


def test_utilities_are_linear_index(data, model):
    np.testing.assert_allclose(model.utilities(data.X), data.X.to_numpy() @ model.coef_)
    assert model.utilities(data.X, coef=np.ones((2, 5))).shape == (2, len(data.X))


def test_wide_probabilities_match_long_format(model):
    rng = np.random.default_rng(5)
    n, J = 50, 4
    X3d = rng.standard_normal((n, J, 5))
    X3d[:, :, :3] = np.eye(J)[None, :, 1:]  # alternative constants asc_1..asc_3
    available = rng.random((n, J)) < 0.75
    available[:, :2] = True
    X3d[~available] = np.nan  # unavailable cells are never read
    wide = model.probabilities_wide(X3d, available)
    assert wide.shape == (n, J)
    assert (wide[~available] == 0).all()
    np.testing.assert_allclose(wide.sum(axis=1), 1.0)
    member, alt = np.nonzero(available)
    long = model.predict_proba(pd.DataFrame(X3d[member, alt], columns=list(TRUE)), member)
    np.testing.assert_allclose(wide[member, alt], long, rtol=1e-12)
    draws = model.sample_coefs(3, seed=2)
    stacked = model.probabilities_wide(X3d, available, coef=draws)
    assert stacked.shape == (3, n, J)
    np.testing.assert_allclose(stacked[1], model.probabilities_wide(X3d, available, coef=draws[1]))


def test_numpy_input_names_features_x0_and_has_no_feature_names(data):
    m = ConditionalLogit().fit(data.X.to_numpy(), data.y, data.groups)
    assert not hasattr(m, "feature_names_in_")
    assert m.param_names_ == ["x0", "x1", "x2", "x3", "x4"]
    assert m.willingness_to_pay("x4", "x3").shape == (1, 4)


def test_prediction_selects_columns_by_name(data, model):
    reordered = data.X[list(reversed(TRUE))].assign(extra=1.0)
    np.testing.assert_allclose(
        model.predict_proba(reordered, data.groups), model.predict_proba(data.X, data.groups)
    )
