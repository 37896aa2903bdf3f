"""Benefit value on a synthetic association, its charts, and the `value` / `benefits` commands.

The generator's benefit valuations (``imis_tier.synthetic.catalog.BENEFITS``) are read only to
check the ranking.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from imis_tier_cli.benefits import benefits
from imis_tier_cli.value import value

from imis_tier.synthetic.catalog import BENEFITS
from imis_tier.testing import filled_warehouse
from imis_tier.value.benefits import (
    benefit_catalogue,
    benefit_report,
    decision_usage,
    utilisation,
)
from imis_tier.value.charts import benefit_value_chart, cohort_chart, utilisation_chart
from imis_tier.value.cohorts import cohort_retention


@pytest.fixture(scope="module")
def stored(tmp_path_factory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("value") / "warehouse.duckdb"
    wh, assoc = filled_warehouse(members=2000, seed=3, path=path)
    return wh, assoc, path


@pytest.fixture(scope="module")
def report(stored):  # type: ignore[no-untyped-def]
    return benefit_report(stored[0])


def test_utilisation_follows_the_tier_benefit_map(stored) -> None:  # type: ignore[no-untyped-def]
    wh, assoc, _ = stored
    use = utilisation(wh, "tier")
    assert use["share"].between(0, 1).all() and use["included"].between(0, 1).all()
    std_webinars = use[(use["tier"] == "STD") & (use["benefit"] == "webinars")].set_index(
        "period_start"
    )
    moved = pd.Timestamp(assoc.events_log["benefit_move"]["date"])
    assert (std_webinars.loc[std_webinars.index < moved, "included"] == 1).all()
    assert (std_webinars.loc[std_webinars.index >= moved, "included"] == 0).all()
    # Losing the webinar library, Standard members use it less.
    before = std_webinars.loc[std_webinars.index < moved, "share"].mean()
    after = std_webinars.loc[std_webinars.index >= moved, "share"].mean()
    assert after < before


def test_mapping_overrides_change_what_counts_as_use(stored) -> None:  # type: ignore[no-untyped-def]
    wh, _, _ = stored
    base = utilisation(wh, "career_stage", period="year")
    wider = utilisation(
        wh, "career_stage", period="year", mapping={"community": ["COMMUNITY_POST", "PORTAL_LOGIN"]}
    )
    key = ["period_start", "career_stage", "benefit"]
    merged = base.merge(wider, on=key, suffixes=("", "_wide"))
    community = merged[merged["benefit"] == "community"]
    assert (community["share_wide"] >= community["share"]).all()
    assert (community["share_wide"] > community["share"]).any()
    others = merged[merged["benefit"] != "community"]
    assert np.allclose(others["share"], others["share_wide"])
    catalogue = benefit_catalogue(wh, {"journal": ["DOWNLOAD"]}).set_index("benefit")
    assert catalogue.at["journal", "sources"] == ("DOWNLOAD",)
    with pytest.raises(ValueError, match="not in the catalogue"):
        benefit_catalogue(wh, {"no_such_benefit": ["DOWNLOAD"]})


def test_associations_are_adjusted_odds_ratios_with_intervals(report) -> None:  # type: ignore[no-untyped-def]
    measured = report.associations.dropna(subset=["renew_or"])
    assert len(measured) >= 5
    assert (measured["renew_or_low"] <= measured["renew_or"]).all()
    assert (measured["renew_or"] <= measured["renew_or_high"]).all()
    assert measured["holders"].gt(0).all()
    unobservable = report.associations.set_index("benefit").loc[["journal", "leadership_forum"]]
    assert unobservable["renew_or"].isna().all()


def test_the_benefits_the_generator_made_valuable_rank_on_top(report) -> None:  # type: ignore[no-untyped-def]
    ranking = report.ranking
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    measured = ranking.dropna(subset=["value"])
    true_value = {b.code: b.value for b in BENEFITS}  # the truth's parameters: checking only
    observable = [true_value[b] for b in measured["benefit"]]
    top_two = list(measured["benefit"].iloc[:2])
    assert all(true_value[b] > float(np.median(observable)) for b in top_two), top_two
    least = min(measured["benefit"], key=lambda b: true_value[b])
    assert least not in top_two
    # Interval bounds bracket the estimate; verdicts are from the documented set.
    assert (measured["value_low"] <= measured["value"]).all() and (
        measured["value"] <= measured["value_high"]
    ).all()
    assert set(ranking["verdict"]) <= {"defines tier", "promote", "retire", "keep", "not measured"}
    assert ranking.loc[ranking["verdict"] == "not measured", "value"].isna().all()
    defining = ranking[ranking["verdict"] == "defines tier"]
    assert defining["defines"].notna().all()
    assert len(report.bundles) > 0 and report.bundles["net_value"].is_monotonic_decreasing


def test_willingness_to_pay_uses_only_history_before_as_of(stored) -> None:  # type: ignore[no-untyped-def]
    wh, _, _ = stored
    early = decision_usage(wh, as_of="2025-06-01")
    assert early["decision_date"].max() < np.datetime64("2025-06-01")
    assert len(early) < len(decision_usage(wh))


def test_charts_render(stored, report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wh, _, _ = stored
    cohorts = cohort_retention(wh, "tier")
    paths = [
        cohort_chart(cohorts, tmp_path / "cohorts.png"),
        utilisation_chart(report.trend, tmp_path / "use.svg"),
        benefit_value_chart(report.ranking, tmp_path / "value.png"),
    ]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[0].stat().st_size > 5000
    assert b"<svg" in paths[1].read_bytes()[:2000]
    assert paths[2].stat().st_size > 5000
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        cohort_chart(cohorts, tmp_path / "cohorts.pdf")


def test_cli_value_and_benefits(stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wh, _, path = stored
    runner = CliRunner()
    chart = tmp_path / "seg.png"
    result = runner.invoke(
        value,
        ["cohorts", "--warehouse", str(path), "--by", "segment", "--chart", str(chart), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["by"] == ["career_stage"] and chart.exists()
    assert {c["career_stage"] for c in data["cohorts"]} == {
        "student",
        "early",
        "mid",
        "senior",
        "executive",
    }
    assert float(data["residual_value"]) == pytest.approx(
        sum(float(c["residual_value"]) for c in data["cohorts"])
    )
    active = wh.execute(
        "SELECT party_id FROM members WHERE is_member ORDER BY party_id LIMIT 1"
    ).fetchone()[0]
    result = runner.invoke(value, ["member", "--warehouse", str(path), str(active), "--json"])
    assert result.exit_code == 0, result.output
    member = json.loads(result.stdout)
    assert member["party_id"] == str(active) and float(member["lifetime_value"]) > 0
    assert 0 <= member["payment_risk"] <= 1
    result = runner.invoke(value, ["member", "--warehouse", str(path), "nobody"])
    assert result.exit_code == 1 and "not an active member" in result.output
    result = runner.invoke(
        benefits, ["report", "--warehouse", str(path), "--tier", "STD", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ranking"][0]["rank"] == 1
    assert {row["tier"] for row in report["utilisation"]} == {"STD"}
    result = runner.invoke(benefits, ["report", "--warehouse", str(tmp_path / "missing.duckdb")])
    assert result.exit_code == 1 and "no warehouse" in result.output
