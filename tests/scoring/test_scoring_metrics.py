"""Evaluation helpers against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from imis_tier.scoring import (
    brier_score,
    calibration_curve,
    compare_to_truth,
    evaluate,
    lift_table,
    log_loss,
    one_vs_rest_auc,
)

Y = ["a", "b", "a", "b"]
PROBA = pd.DataFrame({"a": [0.9, 0.2, 0.6, 0.6], "b": [0.1, 0.8, 0.4, 0.4]})


def test_auc_counts_ties_as_half() -> None:
    auc = one_vs_rest_auc(Y, PROBA)
    assert auc["a"] == pytest.approx(3.5 / 4)
    assert auc["b"] == pytest.approx(3.5 / 4)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = rng.random(500).round(1)  # many ties
    ours = one_vs_rest_auc(y, np.column_stack([1 - p, p]), [0, 1])[1]
    assert ours == pytest.approx(roc_auc_score(y, p))


def test_auc_is_nan_for_an_absent_outcome() -> None:
    proba = PROBA.assign(c=0.0)
    assert math.isnan(one_vs_rest_auc(Y, proba)["c"])


def test_log_loss_and_brier_hand_checked() -> None:
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.4)) / 4
    assert log_loss(Y, PROBA) == pytest.approx(expected)
    assert brier_score(Y, PROBA) == pytest.approx((0.02 + 0.08 + 0.32 + 0.72) / 4)
    # Arrays need their class names, in column order.
    assert log_loss(Y, PROBA.to_numpy(), ["a", "b"]) == pytest.approx(expected)


def test_calibration_curve_bins() -> None:
    curve = calibration_curve(Y, PROBA, n_bins=2)
    a = curve[curve["outcome"] == "a"].reset_index(drop=True)
    assert a["count"].tolist() == [1, 3]
    assert a.loc[0, "mean_predicted"] == pytest.approx(0.2) and a.loc[0, "observed_rate"] == 0.0
    assert a.loc[1, "mean_predicted"] == pytest.approx(0.7)
    assert a.loc[1, "observed_rate"] == pytest.approx(2 / 3)
    quantile = calibration_curve(Y, PROBA, n_bins=2, strategy="quantile")
    assert quantile.groupby("outcome")["count"].sum().tolist() == [4, 4]


def test_lift_table_hand_checked() -> None:
    p = np.linspace(1.0, 0.1, 10)
    y = np.array(["x", "o", "x", "o", "o", "o", "x", "o", "o", "o"])
    table = lift_table(y, np.column_stack([p, 1 - p]), "x", ["x", "o"], n_bins=5)
    assert table["count"].tolist() == [2] * 5
    assert table["positives"].tolist() == [1, 1, 0, 1, 0]
    assert table.loc[0, "lift"] == pytest.approx(0.5 / 0.3)
    assert table["capture"].iloc[-1] == pytest.approx(1.0)
    assert table.loc[1, "cumulative_lift"] == pytest.approx((2 / 4) / 0.3)


def test_compare_to_truth() -> None:
    same = compare_to_truth(PROBA, PROBA)
    assert same.loc["a", "pearson"] == pytest.approx(1.0)
    assert same.loc["a", "mae"] == 0.0
    off = compare_to_truth(PROBA, PROBA.assign(a=PROBA["a"] - 0.1, b=PROBA["b"] + 0.1))
    assert off.loc["b", "mae"] == pytest.approx(0.1)
    assert off.loc["a", "mean_true"] == pytest.approx(PROBA["a"].mean() - 0.1)


def test_evaluate_by_group() -> None:
    y = Y * 2
    proba = pd.concat([PROBA, PROBA], ignore_index=True)
    groups = ["basic"] * 4 + ["pro"] * 4
    report = evaluate(y, proba, groups=groups, truth=proba)
    assert report.summary["group"].tolist() == ["(all)", "basic", "pro"]
    assert report.summary["n"].tolist() == [8, 4, 4]
    assert report.summary["log_loss"].tolist() == pytest.approx([log_loss(Y, PROBA)] * 3)
    row = report.by_outcome.set_index(["group", "outcome"]).loc[("pro", "a")]
    assert row["auc"] == pytest.approx(0.875)
    assert row["prevalence"] == 0.5
    assert row["truth_mae"] == 0.0
    assert len(report.calibration) > 0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"no probability column: \['c'\]"):
        log_loss(["a", "c"], PROBA.head(2))
    with pytest.raises(ValueError, match="classes must name the 2 columns"):
        log_loss(Y, PROBA.to_numpy())
    with pytest.raises(ValueError, match="y has 3 labels but proba has 4 rows"):
        brier_score(Y[:3], PROBA)
    with pytest.raises(ValueError, match="groups has 2 values"):
        evaluate(Y, PROBA, groups=["x", "y"])
