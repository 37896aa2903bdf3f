"""NestedLogit: recovery, gradients, the lambda = 1 limit and nest-shaped substitution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from imis_tier.choice import ConditionalLogit, NestedLogit, make_choice_data
from imis_tier.choice._data import arrange, feature_matrix
from imis_tier.choice.nested import _cells, _nest_of, _NestedProblem

TRUE = {"asc_1": 0.4, "asc_2": 0.1, "asc_3": -0.2, "price": -1.0, "benefit": 0.6}
NESTS = {"lapse": [0], "tiers": [1, 2, 3]}


@pytest.fixture(scope="module")
def data():
    return make_choice_data(
        5000, TRUE, seed=21, availability=0.8, nests=NESTS, lambdas={"tiers": 0.5}
    )


@pytest.fixture(scope="module")
def model(data):
    return NestedLogit(nests=NESTS).fit(data.X, data.y, data.groups, alternatives=data.alternatives)


def _problem(d, nests, lambdas_estimated):
    matrix, _ = feature_matrix(d.X)
    lookup = {alt: m for m, members in enumerate(nests.values()) for alt in members}
    nest_of_row = _nest_of(d.alternatives, lookup)
    s = arrange(matrix, d.groups, d.y, within=nest_of_row)
    cells = _cells(s, nest_of_row[s.order])
    return _NestedProblem(
        s, cells, len(nests), np.array(lambdas_estimated), np.zeros(matrix.shape[1])
    )


def test_recovers_coefficients_and_dissimilarity(model):
    truth = np.array([*TRUE.values(), 0.5])
    z = (model.coef_ - truth) / model.bse_
    assert np.all(np.abs(z) < 3), dict(zip(model.param_names_, z, strict=True))
    assert model.param_names_ == [*TRUE, "lambda.tiers"]
    assert model.lambda_["lapse"] == 1.0  # a lone alternative: held at 1, not estimated
    assert model.lambda_["tiers"] == pytest.approx(model.coef_[-1])
    assert model.converged_


def test_analytic_gradient_matches_finite_differences():
    nests = {"lapse": [0], "basic": [1, 2], "premium": [3, 4]}
    d = make_choice_data(
        400,
        {**TRUE, "asc_4": 0.3},
        n_alternatives=5,
        seed=4,
        availability=0.7,
        nests=nests,
        lambdas={"basic": 0.6, "premium": 0.4},
    )
    problem = _problem(d, nests, [1, 2])
    theta = np.array([0.2, -0.1, 0.3, 0.1, -0.8, 0.5, 0.6, 0.4])
    numeric = optimize.approx_fprime(theta, lambda t: problem.loglik(t)[0], 1e-7)
    _, grad, scores = problem.loglik(theta, scores=True)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-3)
    assert scores is not None
    np.testing.assert_allclose(scores.sum(axis=0), grad, rtol=1e-9, atol=1e-8)


def test_all_lambdas_one_is_the_conditional_logit():
    d = make_choice_data(2000, TRUE, seed=5, availability=0.8)
    cl = ConditionalLogit().fit(d.X, d.y, d.groups)
    problem = _problem(d, NESTS, [1])
    ll, _, _ = problem.loglik(np.r_[cl.coef_, 1.0])
    assert ll == pytest.approx(cl.loglik_, rel=1e-12)
    nl = NestedLogit(nests=NESTS).fit(d.X, d.y, d.groups, alternatives=d.alternatives)
    assert nl.loglik_ >= cl.loglik_ - 1e-6
    assert abs(nl.lambda_["tiers"] - 1.0) < 3 * nl.bse_[-1] + 1e-6
    np.testing.assert_allclose(nl.coef_[:5], cl.coef_, atol=3 * cl.bse_.max())


def test_probabilities_match_the_textbook_formula(data, model):
    p = model.predict_proba(data.X, data.groups, alternatives=data.alternatives)
    np.testing.assert_allclose(np.bincount(data.groups, weights=p), 1.0, atol=1e-12)
    beta, lam = model.coef_[:5], model.coef_[5]
    for g in range(6):
        rows = np.flatnonzero(data.groups == g)
        v = data.X.to_numpy()[rows] @ beta
        alts = data.alternatives[rows]
        tiers = alts != 0
        inclusive = np.log(np.sum(np.exp(v[tiers] / lam)))
        denom = np.exp(v[~tiers]).sum() + np.exp(lam * inclusive)
        expected = np.where(
            tiers, np.exp(v / lam - inclusive) * np.exp(lam * inclusive) / denom, np.exp(v) / denom
        )
        np.testing.assert_allclose(p[rows], expected, rtol=1e-10)


def test_loglik_matches_predicted_probabilities(data, model):
    p = model.predict_proba(data.X, data.groups, alternatives=data.alternatives)
    assert model.loglik_ == pytest.approx(np.log(p[data.y == 1]).sum(), rel=1e-10)


def test_price_rise_moves_members_between_tiers_more_than_out(model):
    n = 200
    rng = np.random.default_rng(0)
    X3d = rng.standard_normal((n, 4, 5))
    X3d[:, :, :3] = np.eye(4)[None, :, 1:]
    before = model.probabilities_wide(X3d)
    raised = X3d.copy()
    raised[:, 1, 3] += 0.5  # tier 1 gets dearer
    after = model.probabilities_wide(raised)
    gain = after / before - 1
    assert np.all(gain[:, 2] > gain[:, 0])  # tier-mates gain relatively more than lapse
    assert np.median(gain[:, 2] / gain[:, 0]) > 1.5
    np.testing.assert_allclose(after.sum(axis=1), 1.0)
    cl = ConditionalLogit()
    cl.coef_, cl.param_names_, cl.n_features_in_ = model.coef_[:5], list(TRUE), 5
    cl_gain = cl.probabilities_wide(raised) / cl.probabilities_wide(X3d) - 1
    np.testing.assert_allclose(cl_gain[:, 2], cl_gain[:, 0])  # IIA: equal relative gains


def test_wide_probabilities_match_long_format_with_availability(data, model):
    rng = np.random.default_rng(8)
    n = 40
    X3d = rng.standard_normal((n, 4, 5))
    X3d[:, :, :3] = np.eye(4)[None, :, 1:]
    available = rng.random((n, 4)) < 0.6
    available[:, 0] = True
    available[:, 1] = True
    wide = model.probabilities_wide(X3d, available, alternatives=[0, 1, 2, 3])
    member, alt = np.nonzero(available)
    long = model.predict_proba(X3d[member, alt], member, alternatives=alt)
    np.testing.assert_allclose(wide[member, alt], long, rtol=1e-10)
    assert (wide[~available] == 0).all()
    draws = model.sample_coefs(4, seed=0)
    assert (draws[:, -1] <= 1.0).all()
    assert model.probabilities_wide(X3d, available, coef=draws).shape == (4, n, 4)


def test_alternative_column_by_name_and_string_ids(data):
    names = np.array(["LAPSE", "BASIC", "PRO", "ELITE"])
    frame = data.X.assign(tier=names[data.alternatives])
    nests = {"lapse": ["LAPSE"], "tiers": ["BASIC", "PRO", "ELITE"]}
    m = NestedLogit(nests=nests, alternative="tier").fit(frame, data.y, data.groups)
    assert list(m.feature_names_in_) == list(TRUE)
    ref = NestedLogit(nests=NESTS).fit(data.X, data.y, data.groups, alternatives=data.alternatives)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6)
    p = m.predict_proba(frame, data.groups)
    np.testing.assert_allclose(
        p, ref.predict_proba(data.X, data.groups, alternatives=data.alternatives)
    )


@pytest.mark.parametrize(
    ("nests", "message"),
    [
        ({"a": [0, 1], "b": [1, 2, 3]}, "in two nests"),
        ({"a": [0], "b": [1, 2]}, r"alternatives \[3\] are in no nest"),
        ({"a": [0, 1, 2, 3], "b": []}, "holds no alternatives"),
        (None, "needs nests"),
    ],
)
def test_bad_nests_are_named(data, nests, message):
    with pytest.raises(ValueError, match=message):
        NestedLogit(nests=nests).fit(data.X, data.y, data.groups, alternatives=data.alternatives)


def test_missing_alternatives_are_explained(data):
    with pytest.raises(ValueError, match="needs the alternative id of each row"):
        NestedLogit(nests=NESTS).fit(data.X, data.y, data.groups)
    with pytest.raises(ValueError, match="no column 'tier'"):
        NestedLogit(nests=NESTS, alternative="tier").fit(data.X, data.y, data.groups)
    with pytest.raises(ValueError, match="one id per row"):
        NestedLogit(nests=NESTS).fit(data.X, data.y, data.groups, alternatives=[0, 1])


def test_frame_alternative_ids_from_series(data):
    m = NestedLogit(nests=NESTS).fit(
        data.X, pd.Series(data.y), pd.Series(data.groups), alternatives=pd.Series(data.alternatives)
    )
    assert m.converged_
