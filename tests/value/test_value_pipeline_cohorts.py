"""Cohort retention, individual lifetime value and payment risk on a synthetic association.

The ground truth (``assoc.truth``) is read only to check forecasts, never as a model input.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from imis_tier.testing import filled_warehouse
from imis_tier.value import fit_sbg_cohorts
from imis_tier.value._truncated import Spells, fit_sbg_truncated
from imis_tier.value.backtest import holdout_decisions, retention_backtest
from imis_tier.value.cohorts import cohort_retention, fit_retention, life_table, member_durations
from imis_tier.value.economics import tier_economics
from imis_tier.value.individual import member_value, member_values
from imis_tier.value.payment_risk import invoice_history, payment_risk

SPLIT = date(2025, 11, 1)


@pytest.fixture(scope="module")
def filled():  # type: ignore[no-untyped-def]
    return filled_warehouse(members=2000, seed=3)


@pytest.fixture(scope="module")
def report(filled):  # type: ignore[no-untyped-def]
    wh, _ = filled
    return cohort_retention(wh, "tier")


def _prices(wh, day=None):  # type: ignore[no-untyped-def]
    econ = tier_economics(wh, day)
    return dict(zip(econ["tier_code"], econ["price"], strict=True))


# ------------------------------------------------------------------ the truncated likelihood


def test_truncated_fit_equals_right_censored_cohort_fit_without_truncation() -> None:
    table = [
        [1000, 631, 468, 382, 326, 289, 262, 241],
        [800, 500, 380, None, None, None, None, None],
    ]
    entry, exit_, lapsed = [], [], []
    for row in table:
        counts = [c for c in row if c is not None]
        for t in range(1, len(counts)):
            n = counts[t - 1] - counts[t]
            entry += [0] * n
            exit_ += [t] * n
            lapsed += [True] * n
        entry += [0] * counts[-1]
        exit_ += [len(counts) - 1] * counts[-1]
        lapsed += [False] * counts[-1]
    spells = Spells.from_members(np.array(entry), np.array(exit_), np.array(lapsed))
    ours, reference = fit_sbg_truncated(spells), fit_sbg_cohorts(table)
    assert ours.alpha == pytest.approx(reference.alpha, rel=1e-4)
    assert ours.beta == pytest.approx(reference.beta, rel=1e-4)
    assert ours.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-6)


def test_left_truncation_removes_the_survivor_bias() -> None:
    rng = np.random.default_rng(0)
    alpha, beta, n = 0.8, 2.0, 60_000
    theta = rng.beta(alpha, beta, n)
    lifetime = rng.geometric(theta)  # the renewal opportunity of the lapse
    entry = rng.integers(0, 8, n)  # renewals made before observation began
    seen = lifetime > entry  # those who lapsed earlier never appear in the data
    entry, lifetime = entry[seen], lifetime[seen]
    stop = entry + 3  # observed for three renewal opportunities
    lapsed = lifetime <= stop
    exit_ = np.where(lapsed, lifetime, stop)
    fitted = fit_sbg_truncated(Spells.from_members(entry, exit_, lapsed))
    naive = fit_sbg_truncated(Spells.from_members(np.zeros_like(entry), exit_ - entry, lapsed))
    truth_r1 = beta / (alpha + beta)
    assert fitted.retention(1) == pytest.approx(truth_r1, abs=0.03)
    assert fitted.alpha == pytest.approx(alpha, rel=0.15)
    # Ignoring the truncation makes new members look far more loyal than they are.
    assert naive.retention(1) > truth_r1 + 0.1


# ------------------------------------------------------------------------- from the warehouse


def test_durations_are_consistent_and_as_of_sees_no_future(filled) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    now = member_durations(wh)
    assert (now["entry"] <= now["renewals"]).all()
    assert (now.loc[now["lapsed"], "renewals"] > now.loc[now["lapsed"], "entry"]).all()
    assert now.loc[now["lapsed"], "tier"].isna().all()
    # The first lapse of each member in the observable log is the lapse counted here.
    lapsers = set(
        wh.execute("SELECT DISTINCT party_id FROM renewal_decisions WHERE outcome = 'lapse'").df()[
            "party_id"
        ]
    )
    settled = set(now.loc[now["lapsed"], "party_id"])
    assert settled <= lapsers and len(settled) >= 0.9 * len(lapsers)
    before = member_durations(wh, SPLIT).set_index("party_id")
    later = now.set_index("party_id").loc[before.index]
    assert (before["renewals"] <= later["renewals"]).all()
    assert not (before["lapsed"] & ~later["lapsed"]).any()
    assert (
        pd.to_datetime(now["join_date"]).max()
        > pd.Timestamp(SPLIT)
        > pd.to_datetime(before["join_date"]).max()
    )


def test_life_table_counts_and_kaplan_meier(filled) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    durations = member_durations(wh)
    table = life_table(durations, "tier")
    for tier, g in table.groupby("join_tier"):
        assert (np.diff(g["survival"]) <= 1e-12).all()
        members = durations[durations["join_tier"] == tier]
        assert g["lapsed"].sum() == members["lapsed"].sum()
        t1 = g[g["t"] == 1].iloc[0]
        assert (
            t1["at_risk"]
            == (members["entry"] == 0).sum()
            - ((members["entry"] == 0) & (members["renewals"] == 0)).sum()
        )
        assert t1["survival"] == pytest.approx(1 - t1["lapsed"] / t1["at_risk"])


def test_cohort_report_values_members_in_decimal(report) -> None:  # type: ignore[no-untyped-def]
    summary = report.summary()
    assert set(summary["join_tier"]) == {"STU", "EARLY", "STD", "PREM", "LEAD"}
    assert all(isinstance(v, Decimal) for v in summary["residual_value"])
    assert report.residual_value == sum(summary["residual_value"])
    by = summary.set_index("join_tier")
    # Students lapse most, premium members least: the generator's behaviour, seen in the fits.
    assert by.at["STU", "retention_1"] < by.at["STD", "retention_1"] < by.at["PREM", "retention_1"]
    assert by.at["STU", "mean_derl"] < by.at["PREM", "mean_derl"]
    projection = report.projection(5)
    assert (
        projection.groupby("cohort")["expected_active"].apply(lambda s: s.is_monotonic_decreasing)
    ).all()
    fit = report.fits[("STD",)]
    assert projection[projection["cohort"] == "STD"]["expected_active"].iloc[0] == pytest.approx(
        fit.active
    )


def test_model_choice_prefers_the_bdw_only_when_it_earns_it(filled) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    choice = fit_retention(member_durations(wh))
    assert choice.bdw is not None
    better = choice.p_value < 0.05 and choice.bdw.aic < choice.sbg.aic
    assert choice.name == ("BdW" if better else "sBG")
    assert choice.bdw.log_likelihood >= choice.sbg.log_likelihood - 1e-6


def test_projection_backtest_on_held_out_renewals(filled) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    fitted = cohort_retention(wh, "tier", as_of=SPLIT)
    result = retention_backtest(fitted, holdout_decisions(wh, SPLIT), _prices(wh, SPLIT)).set_index(
        "cohort"
    )
    assert result.at["all", "decisions"] > 500
    assert abs(result.at["all", "lapse_error"]) < 0.15
    assert abs(result.at["all", "dues_error"]) < 0.06


def test_projection_against_the_ground_truth_forward_run(filled, report) -> None:  # type: ignore[no-untyped-def]
    wh, assoc = filled
    run = assoc.truth.forward(assoc.structure_at(assoc.clock), months=12, seed=1)  # evaluation only
    renewals = run.decisions[run.decisions["kind"] == "renewal"]
    realised = pd.DataFrame(
        {
            "party_id": renewals["party_id"].astype(str),
            "decision_date": renewals["decision_date"],
            "lapsed": renewals["to_tier"].astype(str) == "LAPSE",
            "price": renewals["price_cents"] / 100,
        }
    )
    result = retention_backtest(report, realised, _prices(wh)).set_index("cohort")
    assert abs(result.at["all", "lapse_error"]) < 0.2
    assert abs(result.at["all", "dues_error"]) < 0.06


# ---------------------------------------------------------------------- individual value


def test_member_values_reduce_to_cohort_derl_without_scores(filled, report) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    values = member_values(wh, cohorts=report)
    active = report.durations[~report.durations["lapsed"]].set_index("party_id")
    for party in values.index[:50]:
        fit = report.fits[(active.at[party, "join_tier"],)]
        assert values.at[party, "derl"] == pytest.approx(
            float(fit.model.derl(0.1, int(active.at[party, "renewals"]))), rel=1e-9
        )
    row = values.iloc[0]
    assert isinstance(row["lifetime_value"], Decimal)
    assert row["lifetime_value"] == row["residual_dues"] + row["nondues_value"]
    assert (values["lapse_source"] == "cohort").all()
    mean = values.groupby("tier")["lifetime_value"].apply(lambda s: float(sum(s)) / len(s))
    assert mean["STU"] < mean["STD"] < mean["PREM"] < mean["LEAD"]


def test_scores_move_individual_value(filled, report) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    base = member_values(wh, cohorts=report)
    std = base[base["tier"] == "STD"].index[:20]
    sure = pd.DataFrame({"lapse": 0.0, "upgrade": 0.0, "downgrade": 0.0}, index=std)
    upgrading = pd.DataFrame({"lapse": 0.0, "upgrade": 1.0, "downgrade": 0.0}, index=std)
    doomed = pd.DataFrame({"lapse": 1.0}, index=std)
    a = member_values(wh, cohorts=report, outcome_probabilities=sure).loc[std]
    b = member_values(wh, cohorts=report, outcome_probabilities=upgrading).loc[std]
    c = member_values(wh, cohorts=report, outcome_probabilities=doomed).loc[std]
    assert (a["lapse_source"] == "score").all()
    assert (a["derl"] > base.loc[std, "derl"]).all()
    assert (b["expected_price"] == Decimal("595.00")).all()
    assert (b["residual_dues"] > a["residual_dues"]).all()
    assert (c["residual_dues"] == Decimal("0.00")).all()
    single = member_value(wh, std[0], cohorts=report, outcome_probabilities=sure)
    assert single.lifetime_value == a.at[std[0], "lifetime_value"]
    with pytest.raises(KeyError, match="not an active member"):
        member_value(wh, "no-such-party", cohorts=report)


# ------------------------------------------------------------------------- payment risk


def test_payment_features_only_look_back(filled) -> None:  # type: ignore[no-untyped-def]
    wh, _ = filled
    history = invoice_history(wh)
    first = history.groupby("party_id").head(1)
    assert (
        (
            first[
                ["prior_invoices", "prior_late_share", "prior_failed", "prior_days_late", "autopay"]
            ]
            == 0
        )
        .all()
        .all()
    )
    second = history.groupby("party_id").nth(1)
    firsts = history.groupby("party_id").head(1).set_index("party_id")
    late_first = firsts.loc[second["party_id"], "problem"].fillna(0).to_numpy()
    # A member whose first invoice was paid late shows it on her second, not before.
    assert (second["prior_late_share"].to_numpy() <= late_first + 1e-12).all()


def test_payment_risk_is_calibrated_and_tracks_true_laxity(filled) -> None:  # type: ignore[no-untyped-def]
    wh, assoc = filled
    scores, model = payment_risk(wh)
    calibration = model.calibration_
    predicted = float(np.average(calibration["predicted"], weights=calibration["n"]))
    observed = float(np.average(calibration["observed"], weights=calibration["n"]))
    assert abs(predicted - observed) < 0.05
    assert calibration["observed"].iloc[-3:].mean() > calibration["observed"].iloc[:3].mean()
    assert scores["risk"].between(0, 1).all()
    assert scores["reasons"].str.len().gt(0).all()
    latent = assoc.truth.latent()  # evaluation only
    laxity = latent.set_index(latent.index.astype(str))["laxity"].reindex(scores.index)
    assert scores["risk"].corr(laxity, method="spearman") > 0.15
