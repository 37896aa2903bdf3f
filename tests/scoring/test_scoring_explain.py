"""Explanations are exact and additive; driver sentences read from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from imis_tier.scoring import PropensityModel, describe_drivers, probability_points

from ._simulated import simulate_members


@pytest.fixture(scope="module")
def fitted() -> tuple[PropensityModel, pd.DataFrame]:
    X, y, _ = simulate_members(5000, seed=21)
    model = PropensityModel(random_state=1).fit(X.iloc[:4000], y[:4000])
    test = X.iloc[4000:4400].copy()
    test.index = pd.Index([f"m{i}" for i in range(len(test))], name="party_id")
    return model, test


def test_logit_contributions_sum_exactly_to_score(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X)
    assert exp.logit.shape == (len(X), 5, 4)
    total = exp.baseline_logit + exp.logit.sum(axis=1)
    np.testing.assert_allclose(total, model.decision_function(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.score.to_numpy(), model.decision_function(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        exp.probability.to_numpy(), model.predict_proba(X), rtol=0, atol=1e-12
    )


def test_points_sum_exactly_to_probability_change(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X)
    target = 100 * (model.predict_proba(X) - exp.baseline_probability.to_numpy())
    np.testing.assert_allclose(exp.points.sum(axis=1), target, rtol=0, atol=1e-9)
    # Probability moved toward one outcome comes from the others: per feature, points net to ~0.
    np.testing.assert_allclose(exp.points.sum(axis=2), 0.0, atol=1e-6)


def test_points_ignore_a_shift_common_to_all_logits() -> None:
    rng = np.random.default_rng(0)
    baseline = np.array([0.2, -1.0, 0.5])
    contributions = rng.normal(size=(50, 4, 3))
    shifted = contributions + rng.normal(size=(50, 4, 1))  # same amount on every class
    points = probability_points(baseline, contributions, baseline + contributions.sum(axis=1))
    again = probability_points(baseline, shifted, baseline + shifted.sum(axis=1))
    np.testing.assert_allclose(points, again, atol=1e-8)
    # Large logit moves (saturating softmax) still sum exactly.
    big = contributions * 8
    score = baseline + big.sum(axis=1)
    exact = 100 * (softmax(score, axis=1) - softmax(baseline))
    np.testing.assert_allclose(
        probability_points(baseline, big, score).sum(axis=1), exact, atol=1e-9
    )


def test_a_feature_without_effect_gets_no_points() -> None:
    baseline = np.zeros(3)
    contributions = np.zeros((2, 3, 3))
    contributions[:, 0, :] = [[1.0, -0.5, 0.0], [0.3, 0.2, -2.0]]
    points = probability_points(baseline, contributions, baseline + contributions.sum(axis=1))
    assert np.all(points[:, 1:, :] == 0.0)
    assert np.abs(points[:, 0, :]).max() > 1.0


def test_signal_features_outweigh_noise(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X)
    upgrade = exp.frame("upgrade").abs().mean()
    assert upgrade["events_12m"] > 3 * upgrade["noise"]
    assert upgrade["tier"] > 3 * upgrade["region"]


def test_tidy_contributions_table(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X.head(3))
    table = exp.contributions
    assert list(table.columns) == ["row", "outcome", "feature", "value", "logit", "points"]
    assert len(table) == 3 * 4 * 5
    sums = (
        table.groupby(["row", "outcome"], sort=False)["logit"].sum().unstack()[list(exp.outcomes)]
    )
    np.testing.assert_allclose(
        sums.loc[list(X.index[:3])].to_numpy() + exp.baseline_logit, exp.score_logit, atol=1e-9
    )
    one = table[(table["row"] == X.index[1]) & (table["feature"] == "tier")]
    assert set(one["value"]) == {X["tier"].iloc[1]}
    assert exp.baseline.index.tolist() == list(model.classes_)


def test_top_drivers_are_ranked_by_magnitude(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X.head(20))
    top = exp.top(2, "lapse")
    assert len(top) == 40
    assert (top["outcome"] == "lapse").all()
    wide = exp.frame("lapse")
    for row, group in top.groupby("row"):
        expected = wide.loc[row].abs().sort_values(ascending=False).index[:2].tolist()
        assert group.sort_values("rank")["feature"].tolist() == expected
    positive = exp.top(5, "upgrade", direction="positive")
    assert (positive["points"] > 0).all()
    default = exp.top(1)
    predicted = model.predict(X.head(20))
    assert default["outcome"].tolist() == predicted.tolist()
    with pytest.raises(KeyError, match="unknown outcome"):
        exp.top(1, "promote")


def test_numpy_rows_are_explained_too(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X.head(4).to_numpy(dtype=object))
    np.testing.assert_allclose(exp.score_logit, model.decision_function(X.head(4)), atol=1e-9)


def test_driver_sentences_use_templates_and_context(fitted: tuple) -> None:
    model, X = fitted
    rows = X.head(30)
    exp = model.explain(rows)
    context = rows.assign(current_tier=rows["tier"])
    sentences = describe_drivers(
        exp,
        context,
        templates={
            "events_12m": "attended {value:.0f} events in 12 months but is on the {current_tier} tier"
        },
        labels={"logins_90d": "portal logins (90 days)"},
        k=2,
        outcome="upgrade",
    )
    assert sentences.index.equals(rows.index)
    assert all(len(s) == 2 for s in sentences)
    top = exp.top(2, "upgrade")
    first = top[top["row"] == rows.index[0]].iloc[0]
    assert (
        sentences.iloc[0][0].endswith(f"{first['points']:+.0f} points toward upgrade")
        or abs(first["points"]) < 0.5
    )
    events_lines = [line for lines in sentences for line in lines if line.startswith("attended")]
    assert events_lines, "the events template should fire for someone"
    assert any(" events in 12 months but is on the basic tier: +" in line for line in events_lines)
    generic = [
        line
        for lines in sentences
        for line in lines
        if line.startswith("portal logins (90 days) = ")
    ]
    assert all("points toward upgrade" in line for line in generic)


def test_driver_sentence_fallback_and_outcome_labels() -> None:
    model = PropensityModel(calibration="none").fit(
        pd.DataFrame({"webinars_12m": [0.0, 0.0, 5.0, 6.0, 0.0, 7.0] * 10}),
        ["lapse", "lapse", "renew", "renew", "lapse", "renew"] * 10,
    )
    exp = model.explain(pd.DataFrame({"webinars_12m": [0.0, np.nan]}))
    sentences = describe_drivers(
        exp, labels={"webinars_12m": "webinars attended (12 months)"}, outcome="renew"
    )
    assert sentences.iloc[0][0].startswith("webinars attended (12 months) = 0: -")
    assert sentences.iloc[0][0].endswith("points toward renewal")
    assert sentences.iloc[1][0].startswith("webinars attended (12 months) = missing: ")
    callable_phrase = describe_drivers(
        exp,
        templates={"webinars_12m": lambda f: None if f["value"] != 0 else "no webinars"},
        outcome="renew",
    )
    assert callable_phrase.iloc[0][0].startswith("no webinars: ")
    assert callable_phrase.iloc[1][0].startswith("webinars_12m = missing")


def test_driver_template_errors_name_the_field(fitted: tuple) -> None:
    model, X = fitted
    exp = model.explain(X.head(3))
    with pytest.raises(ValueError, match=r"driver template for '\w+' uses field 'segment'"):
        describe_drivers(exp, templates={f: "{segment}" for f in exp.features}, k=1)
    with pytest.raises(ValueError, match="no row for 3 explained"):
        describe_drivers(exp, X.head(3).reset_index(drop=True))


def test_chunked_explanations_match_one_pass(fitted: tuple) -> None:
    model, X = fitted
    whole = model.explain(X)
    chunks = list(model.iter_explain(X, chunk_rows=150))
    assert [len(c) for c in chunks] == [150, 150, 100]
    np.testing.assert_array_equal(np.concatenate([c.points for c in chunks]), whole.points)
    assert chunks[-1].index.equals(X.index[300:])
