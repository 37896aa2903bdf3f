"""PropensityModel: learning, inputs, calibration, imbalance and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from imis_tier.scoring import PropensityModel, log_loss, one_vs_rest_auc

from ._simulated import OUTCOMES, simulate_members


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    X, y, truth = simulate_members(10_000, seed=11)
    return {
        "X_train": X.iloc[:6000],
        "y_train": y[:6000],
        "X_test": X.iloc[6000:].reset_index(drop=True),
        "y_test": y[6000:],
        "truth_test": truth.iloc[6000:].reset_index(drop=True),
    }


@pytest.fixture(scope="module")
def model(data: dict) -> PropensityModel:
    return PropensityModel(random_state=3).fit(data["X_train"], data["y_train"])


def test_fit_returns_self_and_learns_classes(data: dict) -> None:
    est = PropensityModel(calibration="none")
    assert est.fit(data["X_train"], data["y_train"]) is est
    assert list(est.classes_) == sorted(OUTCOMES)
    assert est.features_ == ("events_12m", "logins_90d", "tier", "region", "noise")
    assert [e.kind for e in est.encodings_] == [
        "numeric",
        "numeric",
        "categorical",
        "categorical",
        "numeric",
    ]


def test_recovers_known_ranking(model: PropensityModel, data: dict) -> None:
    proba = model.predict_frame(data["X_test"])
    truth = data["truth_test"]
    auc = one_vs_rest_auc(data["y_test"], proba)
    oracle = one_vs_rest_auc(data["y_test"], truth)
    assert oracle["upgrade"] > 0.75  # the simulated signal is strong enough to matter
    for outcome in OUTCOMES:
        assert auc[outcome] > oracle[outcome] - 0.025, (outcome, auc[outcome], oracle[outcome])
    for outcome in OUTCOMES:
        rho = spearmanr(proba[outcome], truth[outcome]).statistic
        assert rho > 0.85, (outcome, rho)
    # Probabilities are honest: mean prediction close to the true mean for every outcome.
    assert np.abs(proba[list(OUTCOMES)].mean() - truth.mean()).max() < 0.02


def test_predict_matches_argmax_and_probabilities_sum_to_one(
    model: PropensityModel, data: dict
) -> None:
    proba = model.predict_proba(data["X_test"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert (model.predict(data["X_test"]) == model.classes_[proba.argmax(axis=1)]).all()


def test_numpy_and_pandas_inputs_agree(data: dict) -> None:
    numeric = data["X_train"][["events_12m", "logins_90d", "noise"]]
    from_pandas = PropensityModel(calibration="none").fit(numeric, data["y_train"])
    from_numpy = PropensityModel(calibration="none").fit(numeric.to_numpy(), data["y_train"])
    test = data["X_test"][["events_12m", "logins_90d", "noise"]]
    np.testing.assert_allclose(
        from_pandas.predict_proba(test), from_numpy.predict_proba(test.to_numpy())
    )
    assert from_numpy.features_ == ("x0", "x1", "x2")

    # A numpy object array mixes numbers (with None) and strings: columns are typed one by one.
    mixed = data["X_train"][["events_12m", "tier"]].to_numpy(dtype=object)
    mixed[0, 0] = None
    est = PropensityModel(calibration="none").fit(mixed, data["y_train"])
    assert [e.kind for e in est.encodings_] == ["numeric", "categorical"]


def test_missing_and_unseen_categories(model: PropensityModel, data: dict) -> None:
    base = data["X_test"].iloc[[0]]
    rows = pd.concat([base] * 4, ignore_index=True)
    rows["region"] = rows["region"].astype(object)
    rows.loc[1, "region"] = "atlantis"  # never seen in training
    rows.loc[2, "region"] = "moon"  # never seen either: same "unknown" level
    rows.loc[3, "region"] = None
    rows["tier"] = ["basic", "basic", "basic", np.nan]
    rows["logins_90d"] = [10.0, 10.0, 10.0, np.nan]
    proba = model.predict_proba(rows)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[1], proba[2])

    # Missing logins carry signal in the simulation (lapse rises): the model learned it.
    known = data["X_test"].copy()
    unknown = known.copy()
    unknown["logins_90d"] = np.nan
    lapse = list(model.classes_).index("lapse")
    assert (
        model.predict_proba(unknown)[:, lapse].mean() > model.predict_proba(known)[:, lapse].mean()
    )


def test_extra_columns_are_ignored_and_order_does_not_matter(
    model: PropensityModel, data: dict
) -> None:
    X = data["X_test"].head(50)
    shuffled = X[list(reversed(X.columns))].assign(party_id=np.arange(50))
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(shuffled))


def test_calibration_improves_held_out_log_loss(model: PropensityModel, data: dict) -> None:
    # Balanced class weights inflate rare outcomes; the cross-fitted temperature + offsets undo it.
    raw = PropensityModel(calibration="none").fit(data["X_train"], data["y_train"])
    calibrated = model
    loss_raw = log_loss(data["y_test"], raw.predict_proba(data["X_test"]), raw.classes_)
    loss_cal = log_loss(
        data["y_test"], calibrated.predict_proba(data["X_test"]), calibrated.classes_
    )
    assert loss_cal < loss_raw - 0.01


def test_rare_class_gets_calibrated_probabilities() -> None:
    rng = np.random.default_rng(5)
    n = 12_000
    X = pd.DataFrame({"score": rng.normal(size=n), "segment": rng.choice(["a", "b", "c"], n)})
    logit = -4.2 + 1.0 * X["score"].to_numpy() + 0.5 * (X["segment"] == "a").to_numpy()
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "lapse", "renew")
    train, test = slice(0, 8000), slice(8000, None)
    observed = (y[test] == "lapse").mean()
    assert 0.01 < observed < 0.06

    uncal = PropensityModel(calibration="none").fit(X.iloc[train], y[train])
    cal = PropensityModel().fit(X.iloc[train], y[train])
    k = list(cal.classes_).index("lapse")
    p_uncal = uncal.predict_proba(X.iloc[test])[:, k]
    p_cal = cal.predict_proba(X.iloc[test])[:, k]
    assert p_uncal.mean() > 3 * observed  # reweighting alone is dishonest
    assert abs(p_cal.mean() - observed) < 0.35 * observed
    # Honest across the range too: the top-decile rate matches its mean prediction.
    top = p_cal >= np.quantile(p_cal, 0.9)
    assert abs(p_cal[top].mean() - (y[test][top] == "lapse").mean()) < 0.05


def test_sklearn_conventions(data: dict) -> None:
    est = PropensityModel(n_bins=6, C=0.5)
    assert est.get_params()["n_bins"] == 6
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "classes_")
    with pytest.raises(NotFittedError):
        copy.predict_proba(data["X_test"])


def test_integer_labels_and_binary_outcomes(data: dict) -> None:
    y = (data["y_train"] == "lapse").astype(int)
    est = PropensityModel().fit(data["X_train"], y)
    assert list(est.classes_) == [0, 1]
    proba = est.predict_proba(data["X_test"])
    assert proba.shape == (len(data["X_test"]), 2)
    auc = one_vs_rest_auc((data["y_test"] == "lapse").astype(int), proba, [0, 1])
    assert auc[1] > 0.7


def test_fit_is_reproducible(data: dict) -> None:
    X, y = data["X_train"].iloc[:2000], data["y_train"][:2000]
    a = PropensityModel(random_state=7).fit(X, y)
    b = PropensityModel(random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(data["X_test"]), b.predict_proba(data["X_test"]))


def test_shape_function_reflects_learned_effect(model: PropensityModel) -> None:
    shape = model.shape_function("events_12m")
    # More events, more upgrades: the top level's upgrade term beats the bottom level's.
    assert shape["upgrade"].iloc[-2] > shape["upgrade"].iloc[0] + 1.0
    with pytest.raises(KeyError, match="unknown feature"):
        model.shape_function("nope")


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (pd.DataFrame({"a": []}), [], "no rows"),
        (pd.DataFrame(index=range(3)), ["a", "b", "a"], "no feature columns"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), ["renew"] * 3, "single class"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), ["renew", "lapse"], "3 rows but y has 2"),
        (np.array([1.0, 2.0]), ["renew", "lapse"], "2-dimensional"),
        (pd.DataFrame({"a": [1.0, 2.0]}), ["renew", None], "missing labels"),
    ],
)
def test_bad_training_input(X: object, y: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PropensityModel(calibration="none").fit(X, y)


def test_bad_scoring_input(model: PropensityModel, data: dict) -> None:
    with pytest.raises(ValueError, match=r"missing 1 feature column\(s\).*'tier'"):
        model.predict_proba(data["X_test"].drop(columns=["tier"]))
    with pytest.raises(ValueError, match="X has 3 columns but the model was fitted on 5"):
        model.predict_proba(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no rows"):
        model.predict_proba(data["X_test"].iloc[:0])
    with pytest.raises(ValueError, match="numeric in training"):
        model.predict_proba(data["X_test"].head(3).assign(events_12m=["x", "y", "z"]))


def test_bad_parameters(data: dict) -> None:
    with pytest.raises(ValueError, match="cv must be at least 2"):
        PropensityModel(cv=1).fit(data["X_train"], data["y_train"])
    with pytest.raises(ValueError, match="class_weight has no weight"):
        PropensityModel(class_weight={"renew": 1.0}).fit(data["X_train"], data["y_train"])
    with pytest.raises(ValueError, match="single example"):
        PropensityModel().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), ["a", "a", "b"])


def test_sample_weight_zero_drops_rows(data: dict) -> None:
    X = data["X_train"][["tier", "region"]]
    y = data["y_train"]
    weights = np.r_[np.ones(3000), np.zeros(3000)]
    weighted = PropensityModel(calibration="none", class_weight=None, tol=1e-8).fit(
        X, y, sample_weight=weights
    )
    subset = PropensityModel(calibration="none", class_weight=None, tol=1e-8).fit(
        X.iloc[:3000], y[:3000]
    )
    np.testing.assert_allclose(
        weighted.predict_proba(data["X_test"]), subset.predict_proba(data["X_test"]), atol=1e-4
    )
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        PropensityModel().fit(X, y, sample_weight=np.ones(3))
