"""True choice probabilities: well-formed, eligibility-aware, price-sensitive, tied to history."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from imis_tier.structure import Eligibility, Tier
from imis_tier.synthetic import PRICE_CHANGE_DATE, SyntheticAssociation, default_structure


def _members(assoc: SyntheticAssociation) -> pd.Series:
    p = assoc.tables.parties
    return p.loc[p["status"] == "A", "party_id"]


def test_probabilities_sum_to_one(assoc: SyntheticAssociation) -> None:
    probs = assoc.truth.choice_probabilities(_members(assoc), assoc.structure_at(assoc.clock))
    assert list(probs.columns) == ["STU", "EARLY", "STD", "PREM", "LEAD", "LAPSE"]
    assert probs.index.name == "party_id"
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert (probs >= 0).all().all()


def test_ineligible_tiers_get_zero(assoc: SyntheticAssociation) -> None:
    ids = _members(assoc)
    probs = assoc.truth.choice_probabilities(ids, default_structure())
    stage = assoc.tables.parties.set_index("party_id").loc[ids, "career_stage"].astype(str)
    assert (probs.loc[stage.index[stage != "student"], "STU"] == 0).all()
    assert (probs.loc[stage.index[~stage.isin(["student", "early"])], "EARLY"] == 0).all()
    assert (probs.loc[stage.index[~stage.isin(["senior", "executive"])], "LEAD"] == 0).all()
    assert (probs.loc[stage.index[stage == "executive"], "LEAD"] > 0).all()


def test_higher_price_lowers_true_share(assoc: SyntheticAssociation) -> None:
    ids = _members(assoc)
    base = default_structure()
    dear = base.with_price("PREM", Decimal("795.00"))
    p0 = assoc.truth.choice_probabilities(ids, base)
    p1 = assoc.truth.choice_probabilities(ids, dear)
    assert p1["PREM"].mean() < p0["PREM"].mean() - 0.01
    assert (p1["PREM"] <= p0["PREM"] + 1e-12).all()
    assert p1["STD"].mean() > p0["STD"].mean()


def test_new_tiers_and_unknown_codes_are_scored(assoc: SyntheticAssociation) -> None:
    basic = Tier(
        "BASIC", "Basic", Decimal("150.00"), frozenset({"journal", "community"}), 0, Eligibility()
    )
    probs = assoc.truth.choice_probabilities(_members(assoc), default_structure().with_tier(basic))
    assert "BASIC" in probs.columns and probs["BASIC"].mean() > 0.01
    # scoring a hypothetical tier leaves the observable world alone
    assert "BASIC" not in set(assoc.tables.tiers["code"])
    assert (
        assoc.truth.forward(default_structure().with_tier(basic), months=1).counts.get("BASIC", 0)
        >= 0
    )
    assert "BASIC" not in set(assoc.tables.tiers["code"])
    with pytest.raises(KeyError, match="unknown party ids"):
        assoc.truth.choice_probabilities([1], default_structure())


def test_historical_as_of_reproduces_logged_probabilities(assoc: SyntheticAssociation) -> None:
    log = assoc.truth.renewal_decisions
    after = log[log["decision_date"] >= pd.Timestamp(PRICE_CHANGE_DATE)].drop_duplicates("party_id")
    first = after[after["decision_date"] < pd.Timestamp("2025-07-01")]
    structure = assoc.structure_at(PRICE_CHANGE_DATE)
    probs = assoc.truth.choice_probabilities(first["party_id"], structure, as_of=PRICE_CHANGE_DATE)
    logged = first.set_index("party_id")[[f"p_{c}" for c in structure.codes] + ["p_LAPSE"]]
    np.testing.assert_allclose(probs.to_numpy(), logged.to_numpy(), atol=1e-9)


def test_decision_log_matches_the_tables(assoc: SyntheticAssociation) -> None:
    log = assoc.truth.decisions
    assert set(log["kind"].astype(str)) == {"renewal", "join", "reinstate"}
    renewals = log[log["kind"] == "renewal"]
    pcols = [c for c in log.columns if c.startswith("p_")]
    np.testing.assert_allclose(renewals[pcols].fillna(0).sum(axis=1), 1.0, atol=1e-9)
    settled = renewals[
        renewals["decision_date"] < pd.Timestamp(assoc.clock) - pd.Timedelta(days=70)
    ]
    lapsed = settled.loc[settled["to_tier"] == "LAPSE", "party_id"]
    changes = assoc.tables.member_type_history
    assert set(lapsed) <= set(changes.loc[changes["new_value"] == "NM", "party_id"])
    # realised lapse frequency agrees with the mean true probability
    assert abs((settled["to_tier"] == "LAPSE").mean() - settled["p_LAPSE"].mean()) < 0.03
