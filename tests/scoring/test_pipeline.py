"""The member-scoring pipeline on a synthetic warehouse: no leakage, no NaN, faithful drivers."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from imis_tier.features import build_panel
from imis_tier.scoring import describe_drivers
from imis_tier.scoring.churn import churn_by_tier
from imis_tier.scoring.drivers_config import FEATURE_LABELS, driver_templates
from imis_tier.scoring.member_model import (
    OUTCOMES,
    ScoringError,
    driver_sentences,
    prepare_panel,
    score_panel,
)
from imis_tier.scoring.pipeline import (
    SCORE_TABLE_COLUMNS,
    ScoreRun,
    engagement_table,
    explain_member,
    latest_scores,
    load_or_fit,
    score_members,
    training_panel,
)
from imis_tier.scoring.registry import ModelRegistry
from imis_tier.synthetic import SyntheticAssociation
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS

from .conftest import SCORE_DATE

Filled = tuple[Warehouse, SyntheticAssociation]
PROBS = [f"p_{o}" for o in OUTCOMES]


def test_training_labels_are_settled_before_the_scoring_date(filled: Filled) -> None:
    warehouse, _ = filled
    panel = training_panel(warehouse, SCORE_DATE, months=12)
    assert max(panel.as_of_dates) < SCORE_DATE and panel.horizon == SCORE_DATE
    assert set(panel.y) <= set(OUTCOMES) and len(panel.X) == len(panel.y) > 1000
    # every training label's decision window closed on or before the scoring date
    decisions = warehouse.query_df(
        "SELECT party_id, decision_date FROM renewal_decisions WHERE outcome IS NOT NULL"
    )
    rows = panel.X[["party_id", "as_of"]].assign(outcome=panel.y.to_numpy())
    merged = rows.merge(decisions, on="party_id")
    merged = merged[
        pd.to_datetime(merged["decision_date"]) - timedelta(days=DECISION_WINDOW_DAYS[0])
        >= merged["as_of"]
    ]
    first = merged.groupby(["party_id", "as_of"])["decision_date"].min()
    settled = pd.to_datetime(first) + timedelta(days=DECISION_WINDOW_DAYS[1])
    assert (settled <= pd.Timestamp(SCORE_DATE)).all()
    # a later scoring date sees more settled renewals, never fewer
    later = training_panel(warehouse, date(2026, 11, 1), months=13)
    assert len(later.X) > len(panel.X)


def test_a_scoring_run_scores_every_member_without_nan(filled: Filled, scored: ScoreRun) -> None:
    warehouse, _ = filled
    holders = build_panel(warehouse, SCORE_DATE)
    assert len(scored.scores) + len(scored.unscorable) == len(holders) == scored.members_read
    scores = scored.scores
    assert list(scores.columns) == list(SCORE_TABLE_COLUMNS)
    numbers = scores[[*PROBS, "churn_risk", "engagement"]].to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    np.testing.assert_allclose(scores[PROBS].sum(axis=1), 1.0, atol=1e-9)
    assert scores["churn_risk"].between(0, 1).all() and scores["engagement"].between(0, 100).all()
    assert scores["engagement_pct_tier"].between(0, 100).all()
    assert (scores["model_ref"] == str(scored.card.ref)).all()
    assert scores[["driver_1", "driver_2", "driver_3"]].notna().all().all()
    assert scores["driver_1"].str.contains(r": [+-]\d+(?:\.\d)? points toward ").all()
    # the drivers explain the outcome recorded beside them
    label = {"renew": "renewal"}
    assert all(
        s.endswith(f"toward {label.get(o, o)}")
        for s, o in zip(scores["driver_1"], scores["driver_outcome"], strict=True)
    )
    # the model predicts on average about what members do (calibrated on the training history)
    assert abs(scores["p_lapse"].mean() - 0.13) < 0.06


def test_stored_scores_are_what_the_writeback_cli_reads(filled: Filled, scored: ScoreRun) -> None:
    from imis_tier_cli.writeback import _latest_scores

    warehouse, _ = filled
    stored = latest_scores(warehouse, scored.run_id)
    assert len(stored) == len(scored.scores)
    run_id, frame = _latest_scores(warehouse, scored.run_id)
    assert run_id == scored.run_id and len(frame) == len(scored.scores)
    assert frame["model_ref"].eq(scored.model_ref).all()
    one = scored.scores.set_index("party_id").loc[frame["party_id"].iloc[0]]
    assert frame["p_lapse"].iloc[0] == pytest.approx(one["p_lapse"])


def test_the_registered_model_is_reused_and_never_leaks(
    filled: Filled, scored: ScoreRun, scoring_registry: ModelRegistry
) -> None:
    warehouse, _ = filled
    assert scored.trained and scored.card.training_window == (date(2025, 10, 1), SCORE_DATE)
    assert scored.card.metrics["training_rows"] > 1000
    _, card, trained = load_or_fit(warehouse, SCORE_DATE, registry=scoring_registry)
    assert not trained and card.ref == scored.card.ref
    # a model that learned from renewals settled up to SCORE_DATE cannot score an earlier date
    with pytest.raises(ScoringError, match="leak the future"):
        load_or_fit(warehouse, date(2026, 6, 1), registry=scoring_registry, model_ref=str(card.ref))


def test_explanations_add_up_to_the_stored_scores(
    filled: Filled, scored: ScoreRun, scoring_registry: ModelRegistry
) -> None:
    warehouse, _ = filled
    member = scored.top("upgrade", 1)["party_id"].iloc[0]
    explained = explain_member(warehouse, member, registry=scoring_registry)
    stored = scored.scores.set_index("party_id").loc[member]
    table = explained.contributions
    for outcome in OUTCOMES:
        logit_sum = explained.baseline_logit[outcome] + table[f"logit_{outcome}"].sum()
        assert logit_sum == pytest.approx(explained.logit[outcome], abs=1e-9)
        points = table[f"points_{outcome}"].sum()
        moved = 100 * (explained.probability[outcome] - explained.baseline_probability[outcome])
        assert points == pytest.approx(moved, abs=1e-9)
        assert explained.probability[outcome] == pytest.approx(stored[f"p_{outcome}"], abs=1e-12)
    assert explained.churn_risk == pytest.approx(stored["churn_risk"])
    # the stored driver sentences are the strongest of the explained outcome
    assert explained.drivers[stored["driver_outcome"]][:3] == [
        stored["driver_1"], stored["driver_2"], stored["driver_3"],
    ]  # fmt: skip
    assert member in explained.to_text()


def test_fast_driver_sentences_match_describe_drivers(
    filled: Filled, scored: ScoreRun, scoring_registry: ModelRegistry
) -> None:
    warehouse, _ = filled
    model, _, _ = load_or_fit(
        warehouse, SCORE_DATE, registry=scoring_registry, model_ref=scored.model_ref
    )
    ready, _, _ = prepare_panel(model, build_panel(warehouse, SCORE_DATE))
    sample = ready.iloc[:300]
    explanation = model.propensity_.explain(sample[list(model.features_)])
    templates = driver_templates(list(model.features_))
    for j, outcome in enumerate(explanation.outcomes):
        fast = driver_sentences(
            explanation, np.full(len(sample), j), sample["tier"].to_numpy(), templates, k=3
        )
        slow = describe_drivers(
            explanation, sample[["tier"]], templates=templates, labels=FEATURE_LABELS,
            k=3, outcome=outcome,
        )  # fmt: skip
        assert [list(row) for row in fast] == list(slow)


def test_bad_input_is_reported_never_scored_as_nan(
    filled: Filled, scored: ScoreRun, scoring_registry: ModelRegistry
) -> None:
    warehouse, _ = filled
    model, _, _ = load_or_fit(
        warehouse, SCORE_DATE, registry=scoring_registry, model_ref=scored.model_ref
    )
    panel = build_panel(warehouse, SCORE_DATE).iloc[:40].copy()
    panel["tier"] = panel["tier"].astype(object)
    panel.loc[0, "tier"] = "GOLD"  # a tier the model never saw
    panel.loc[1, "dues_paid_count"] = 0  # no history
    panel.loc[2, ["price_paid", "mean_days_late", "days_to_renewal"]] = np.nan  # gaps: imputed
    panel = panel.drop(columns=["webinars_12m"])  # a feature missing from the panel
    out = score_panel(model, panel)
    reasons = out.unscorable.set_index("party_id")["reason"]
    assert "tier GOLD was not in the model's training data" in reasons[panel.loc[0, "party_id"]]
    assert "no paid dues" in reasons[panel.loc[1, "party_id"]]
    assert len(out.scores) == 38 and panel.loc[2, "party_id"] in set(out.scores["party_id"])
    assert np.isfinite(out.scores[[*PROBS, "churn_risk"]].to_numpy(dtype=float)).all()
    assert any("webinars_12m" in w for w in out.warnings)
    with pytest.raises(ScoringError, match="tier 'GOLD'"):
        score_members(
            warehouse, SCORE_DATE, tier="GOLD", registry=scoring_registry,
            model_ref=scored.model_ref,
        )  # fmt: skip


def test_engagement_is_zero_without_activity_and_ranked_within_tier(filled: Filled) -> None:
    warehouse, _ = filled
    panel = build_panel(warehouse, SCORE_DATE)
    table = engagement_table(warehouse, panel, SCORE_DATE)
    assert len(table) == len(panel) and table["engagement"].between(0, 100).all()
    silent = panel.loc[panel["activity_90d"].isna() & panel["logins_90d"].isna(), "party_id"]
    events = set(
        warehouse.query_df(
            "SELECT DISTINCT party_id FROM engagement_events WHERE event_date < ? AND "
            "event_date >= ? - INTERVAL 731 DAY",
            [SCORE_DATE, SCORE_DATE],
        )["party_id"]
    )
    for member in silent:
        if member not in events:
            assert table.loc[member, "engagement"] == 0
    by_tier = table.join(panel.set_index("party_id")["tier"]).groupby("tier")
    # mid-rank percentiles average 50 within every tier
    np.testing.assert_allclose(by_tier["engagement_pct_tier"].mean(), 50.0, atol=1e-9)


def test_churn_by_tier_names_each_tiers_own_drivers(
    filled: Filled, scored: ScoreRun, scoring_registry: ModelRegistry
) -> None:
    warehouse, _ = filled
    model, _, _ = load_or_fit(
        warehouse, SCORE_DATE, registry=scoring_registry, model_ref=scored.model_ref
    )
    ready, _, _ = prepare_panel(model, build_panel(warehouse, SCORE_DATE))
    report = churn_by_tier(
        model.churn_, ready, templates=driver_templates(list(model.features_)), top=3
    )
    summary = report.summary.set_index("tier")
    assert set(summary.index) == set(ready["tier"].astype(str))
    assert summary.loc["STD", "model"] == "own"  # enough lapses for its own model
    assert summary.loc["STU", "lapse_rate"] > summary.loc["PREM", "lapse_rate"]
    stored = scored.scores.groupby("tier")["churn_risk"].mean()
    np.testing.assert_allclose(summary["mean_risk"], stored.loc[summary.index], rtol=1e-9)
    drivers = report.drivers
    assert (drivers.groupby("tier")["rank"].max() <= 3).all()
    assert drivers["direction"].str.contains("raises risk|non-monotone").all()
    assert drivers["pain_point"].dropna().str.len().gt(0).all()
    assert "pain point" in report.to_text()
