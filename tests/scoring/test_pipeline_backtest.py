"""The temporal back-test on the synthetic association, with its hidden ground truth."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from imis_tier.features import build_labels
from imis_tier.scoring.backtest import backtest, default_backtest_date, true_outcome_probabilities
from imis_tier.scoring.member_model import ScoringError
from imis_tier.synthetic import SyntheticAssociation
from imis_tier.warehouse import Warehouse

Filled = tuple[Warehouse, SyntheticAssociation]


def test_backtest_reports_per_outcome_and_tier_with_truth_agreement(filled: Filled) -> None:
    warehouse, association = filled
    at = default_backtest_date(warehouse)
    assert at == date(2026, 1, 1)
    report = backtest(warehouse, months=12, association=association)
    assert report.training_window[1] == at and report.members > 300
    table = report.by_outcome.set_index(["group", "outcome"])
    overall = table.loc["(all)"]
    assert set(overall.index) == {"renew", "upgrade", "downgrade", "lapse"}
    # lapses are predictable from the history; the model must beat chance on them
    assert overall.loc["lapse", "auc"] > 0.6 and overall.loc["renew", "auc"] > 0.6
    # and agree with the hidden truth the model never saw
    assert overall.loc["lapse", "truth_pearson"] > 0.25
    assert overall.loc["renew", "truth_pearson"] > 0.25
    # calibrated: mean predicted lapse within a few points of the observed rate
    assert abs(overall.loc["lapse", "mean_predicted"] - overall.loc["lapse", "prevalence"]) < 0.04
    tiers = {g for g, _ in table.index} - {"(all)"}
    assert tiers == {"STU", "EARLY", "STD", "PREM", "LEAD"}
    assert set(report.calibration["group"]) == {"(all)", *tiers}
    assert set(report.lift["outcome"]) <= {"renew", "upgrade", "downgrade", "lapse"}
    churn = report.churn.set_index("tier")
    assert churn.loc["(all)", "n"] == report.members and churn.loc["(all)", "auc_tier_model"] > 0.55
    text = report.to_text()
    assert "r(true)" in text and "churn by tier" in text
    assert report.to_dict()["by_outcome"][0]["group"] == "(all)"


def test_true_probabilities_map_tiers_by_rank(filled: Filled) -> None:
    warehouse, association = filled
    labels = build_labels(warehouse, date(2026, 1, 1)).head(200)
    truth = true_outcome_probabilities(association, labels)
    known = labels["from_tier"].isin(
        [t.code for t in association.structure_at(date(2026, 1, 1)).tiers]
    )
    np.testing.assert_allclose(truth[known.to_numpy()].sum(axis=1), 1.0, atol=1e-9)
    # the top tier cannot upgrade, the bottom one cannot downgrade
    assert (truth.loc[(labels["from_tier"] == "LEAD").to_numpy(), "upgrade"] == 0).all()
    assert (truth.loc[(labels["from_tier"] == "STU").to_numpy(), "downgrade"] == 0).all()
    assert isinstance(truth, pd.DataFrame) and list(truth.columns) == [
        "renew", "upgrade", "downgrade", "lapse",
    ]  # fmt: skip


def test_a_backtest_date_without_outcomes_is_a_clear_error(filled: Filled) -> None:
    warehouse, _ = filled
    with pytest.raises(ScoringError, match="no renewal decisions settled"):
        backtest(warehouse, date(2024, 6, 1), months=12)
