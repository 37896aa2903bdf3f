"""The known price change and benefit move: in events_log, in the tables, in behaviour."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from imis_tier.synthetic import (
    BENEFIT_MOVE_DATE,
    PRICE_CHANGE_DATE,
    SyntheticAssociation,
    default_structure,
    generate_association,
)


def test_events_log_records_both_changes(assoc: SyntheticAssociation) -> None:
    log = assoc.events_log
    assert log["price_change"] == {
        "date": PRICE_CHANGE_DATE,
        "tier": "STD",
        "old": Decimal("325.00"),
        "new": Decimal("345.00"),
    }
    assert log["benefit_move"] == {
        "date": BENEFIT_MOVE_DATE,
        "benefit": "webinars",
        "from": "STD",
        "to": "PREM",
    }


def test_structure_at_follows_history(assoc: SyntheticAssociation) -> None:
    before = assoc.structure_at(PRICE_CHANGE_DATE - timedelta(days=1))
    assert before == default_structure()
    assert assoc.structure_at(PRICE_CHANGE_DATE).tier("STD").price == Decimal("345.00")
    assert (
        "webinars" in assoc.structure_at(BENEFIT_MOVE_DATE - timedelta(days=1)).tier("STD").benefits
    )
    after = assoc.structure_at(BENEFIT_MOVE_DATE)
    assert (
        "webinars" not in after.tier("STD").benefits and "webinars" in after.tier("PREM").benefits
    )


def test_prices_table_has_the_change(assoc: SyntheticAssociation) -> None:
    std = assoc.tables.prices[assoc.tables.prices["tier_code"] == "STD"].sort_values(
        "effective_from"
    )
    assert std["price_cents"].tolist() == [32500, 34500]
    assert std["effective_from"].iloc[1] == pd.Timestamp(PRICE_CHANGE_DATE)


def test_tier_benefits_table_has_the_move(assoc: SyntheticAssociation) -> None:
    tb = assoc.tables.tier_benefits
    std = tb[(tb["tier_code"] == "STD") & (tb["benefit"] == "webinars")]
    assert len(std) == 1 and std["effective_to"].iloc[0] == pd.Timestamp(BENEFIT_MOVE_DATE)
    prem = tb[(tb["tier_code"] == "PREM") & (tb["benefit"] == "webinars")]
    assert prem["effective_to"].isna().all()


def test_dues_billed_at_the_price_in_force(assoc: SyntheticAssociation) -> None:
    inv = assoc.tables.invoices
    std = inv[(inv["kind"] == "DUES") & (inv["tier_code"] == "STD")]
    before = std[std["invoice_date"] < pd.Timestamp(PRICE_CHANGE_DATE)]
    after = std[std["invoice_date"] >= pd.Timestamp(PRICE_CHANGE_DATE)]
    assert set(before["amount_cents"]) == {32500} and set(after["amount_cents"]) == {34500}


def test_changes_outside_the_window_are_not_logged() -> None:
    early = generate_association(members=200, seed=0, months=6, end=date(2024, 12, 1))
    assert early.events_log == {}
    assert set(early.tables.prices["price_cents"][early.tables.prices["tier_code"] == "STD"]) == {
        32500
    }


def test_std_members_use_webinars_less_after_the_move() -> None:
    a = generate_association(members=3000, seed=5)
    act = a.tables.activities
    web = act[act["activity_type"] == "WEBINAR"]
    std_ids = a.truth.decisions.query("to_tier == 'STD'")["party_id"].unique()
    web = web[web["party_id"].isin(std_ids)]
    per_month = web.groupby(web["transaction_date"].dt.to_period("M")).size()
    before = per_month[per_month.index < pd.Period(BENEFIT_MOVE_DATE, "M")].iloc[-6:].mean()
    after = per_month[per_month.index >= pd.Period(BENEFIT_MOVE_DATE, "M")].iloc[3:9].mean()
    assert after < 0.7 * before


def test_changes_raise_true_lapse_risk(assoc: SyntheticAssociation) -> None:
    p = assoc.tables.parties
    std = p.loc[(p["status"] == "A") & (p["customer_type_code"] == "STD"), "party_id"]
    base = default_structure()
    priced = base.with_price("STD", Decimal("345.00"))
    moved = priced.with_benefit_moved("webinars", "STD", "PREM")
    lapse = [
        assoc.truth.choice_probabilities(std, s)["LAPSE"].mean() for s in (base, priced, moved)
    ]
    assert lapse[0] < lapse[1] < lapse[2]
    assert np.isfinite(lapse).all()
