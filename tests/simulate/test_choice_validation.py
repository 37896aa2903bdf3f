"""Choice models: clear errors on bad input, sklearn conventions, persistence, diagnostics."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from imis_tier.choice import ConditionalLogit, MixedLogit, NestedLogit, make_choice_data

TRUE = {"asc_1": 0.5, "asc_2": -0.3, "price": -1.0, "benefit": 0.7}
NESTS = {"lapse": [0], "tiers": [1, 2]}


@pytest.fixture(scope="module")
def data():
    return make_choice_data(600, TRUE, n_alternatives=3, seed=41, situations_per_member=2)


def _fit_kwargs(model, d):
    if isinstance(model, NestedLogit):
        return {"alternatives": d.alternatives}
    if isinstance(model, MixedLogit):
        return {"panel": d.members}
    return {}


def _predict_kwargs(model, d):
    return {"alternatives": d.alternatives} if isinstance(model, NestedLogit) else {}


MODELS = [
    ConditionalLogit(tol=1e-7),
    NestedLogit(nests=NESTS, tol=1e-7),
    MixedLogit(random="price", n_draws=20, seed=3),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda X, y, g: (X, np.where(g == 5, 0, y), g),
            r"1 choice situation\(s\) have no chosen row.*\[5\]",
        ),
        (lambda X, y, g: (X, np.where(g == 7, 1, y), g), r"more than one chosen row: groups \[7\]"),
        (
            lambda X, y, g: (X.assign(price=X["price"].where(X.index != 4)), y, g),
            r"NaN or infinite.*'price' at row 4",
        ),
        (lambda X, y, g: (X, np.where(np.arange(len(y)) == 2, 2, y), g), "y must be 0/1.*row 2"),
        (lambda X, y, g: (X, y[:-1], g), "y must be 1-D with one entry per row"),
        (lambda X, y, g: (X, y, g[:-1]), "groups must be 1-D with one entry per row"),
        (lambda X, y, g: (X.assign(member_age=1.0), y, g), r"\['member_age'\] never vary"),
        (lambda X, y, g: (X.assign(segment="a"), y, g), r"\['segment'\] are not numeric"),
        (lambda X, y, g: (X.iloc[:0], y[:0], g[:0]), "X has no rows"),
        (lambda X, y, g: (X.to_numpy()[:, 0], y, g), "X must be 2-D"),
    ],
)
def test_bad_input_raises_a_named_error(data, mutate, message):
    X, y, g = mutate(data.X, data.y, data.groups)
    with pytest.raises(ValueError, match=message):
        ConditionalLogit().fit(X, y, g)


def test_single_alternative_situation_is_refused(data):
    keep = ~((data.groups == 3) & (data.y == 0))
    with pytest.raises(ValueError, match=r"single alternative.*groups \[3\]"):
        ConditionalLogit().fit(data.X[keep], data.y[keep], data.groups[keep])


def test_missing_group_id_is_refused(data):
    groups = data.groups.astype(float)
    groups[9] = np.nan
    with pytest.raises(ValueError, match="groups has missing values, the first at row 9"):
        ConditionalLogit().fit(data.X, data.y, groups)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_unfitted_model_refuses_to_predict(model, data):
    with pytest.raises(NotFittedError):
        model.predict_proba(data.X, data.groups, **_predict_kwargs(model, data))
    with pytest.raises(NotFittedError):
        model.summary()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_clone_params_and_joblib_round_trip(model, data, tmp_path):
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    twin.set_params(max_iter=77)
    assert twin.max_iter == 77 and model.max_iter != 77
    fitted = clone(model).fit(data.X, data.y, data.groups, **_fit_kwargs(model, data))
    assert fitted.converged_
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    kwargs = _predict_kwargs(model, data)
    np.testing.assert_array_equal(
        loaded.predict_proba(data.X, data.groups, **kwargs),
        fitted.predict_proba(data.X, data.groups, **kwargs),
    )
    pd.testing.assert_frame_equal(loaded.summary(), fitted.summary())
    assert path.stat().st_size < 100_000  # no training data kept on the estimator


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_prediction_input_is_checked_against_the_fit(model, data):
    fitted = clone(model).fit(data.X, data.y, data.groups, **_fit_kwargs(model, data))
    kwargs = _predict_kwargs(model, data)
    with pytest.raises(
        ValueError, match=r"missing the columns the model was fitted on: \['benefit'\]"
    ):
        fitted.predict_proba(data.X.drop(columns="benefit"), data.groups, **kwargs)
    with pytest.raises(ValueError, match="X has 3 features, the model was fitted on 4"):
        fitted.predict_proba(data.X.to_numpy()[:, :3], data.groups, **kwargs)
    n_params = fitted.coef_.shape[0]
    with pytest.raises(ValueError, match=rf"coef must have shape \({n_params},\)"):
        fitted.predict_proba(data.X, data.groups, coef=np.zeros(n_params + 1), **kwargs)
    with pytest.raises(ValueError, match=r"X3d must have shape \(n_members, n_alternatives, 4\)"):
        fitted.probabilities_wide(np.zeros((5, 3, 2)))
    with pytest.raises(
        ValueError, match=r"1 member\(s\) have no available alternative, the first at index 2"
    ):
        available = np.ones((4, 3), dtype=bool)
        available[2] = False
        fitted.probabilities_wide(np.zeros((4, 3, 4)), available)
    with pytest.raises(ValueError, match=r"unknown feature\(s\) \['fee'\]"):
        fitted.willingness_to_pay("benefit", "fee")


def test_non_convergence_warns_and_is_flagged(data):
    with pytest.warns(
        ConvergenceWarning, match=r"ConditionalLogit did not converge after 1 iterations"
    ):
        m = ConditionalLogit(max_iter=1).fit(data.X, data.y, data.groups)
    assert not m.converged_ and m.n_iter_ == 1 and m.grad_norm_ > 1e-3


def test_bad_optimizer_settings_are_refused(data):
    with pytest.raises(ValueError, match="max_iter must be at least 1"):
        ConditionalLogit(max_iter=0).fit(data.X, data.y, data.groups)
    with pytest.raises(ValueError, match="tol must be positive"):
        ConditionalLogit(tol=0).fit(data.X, data.y, data.groups)


def test_collinear_features_warn_about_identification(data):
    X = data.X.assign(price_again=data.X["price"] * 2)
    with pytest.warns(RuntimeWarning, match="Hessian is not positive definite"):
        m = ConditionalLogit().fit(X, data.y, data.groups)
    # The likelihood is still maximised: only the split between the twins is arbitrary.
    assert m.coef_[2] + 2 * m.coef_[4] == pytest.approx(
        ConditionalLogit().fit(data.X, data.y, data.groups).coef_[2], rel=1e-4
    )
