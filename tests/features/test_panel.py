"""The member panel: as-of correct, and equal to values recomputed independently from raw data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from imis_tier.features import build_labels, build_monthly_panel, build_panel
from imis_tier.synthetic import SyntheticAssociation
from imis_tier.testing import load_association
from imis_tier.warehouse import Warehouse, canonical

AS_OF = date(2025, 9, 1)


def test_one_row_per_member_holding_a_tier(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, association = filled
    panel = build_panel(warehouse, AS_OF)
    assert panel["party_id"].is_unique
    # independently: the member type in force on AS_OF from the ChangeLog
    history = association.tables.member_type_history.sort_values("change_date")
    before = history[history["change_date"] < pd.Timestamp(AS_OF)]
    current = before.groupby("party_id")["new_value"].last()
    holders = current[current != "NM"]
    assert set(panel["party_id"]) == set(holders.index.astype(str))
    tiers = panel.set_index("party_id")["tier"]
    assert (tiers == holders.rename(index=str).reindex(tiers.index)).all()


def test_activity_counts_match_raw_rows(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, association = filled
    panel = build_panel(warehouse, AS_OF).set_index("party_id")
    acts = association.tables.activities
    day = pd.Timestamp(AS_OF)
    for feature, kind, days in (("logins_90d", "PORTAL_LOGIN", 90), ("downloads_12m", "DOWNLOAD", 365),
                                ("posts_12m", "COMMUNITY_POST", 365)):
        window = acts[(acts["activity_type"] == kind) & (acts["transaction_date"] < day)
                      & (acts["transaction_date"] >= day - pd.Timedelta(days=days))]
        expected = window.groupby(window["party_id"].astype(str))["units"].sum()
        got = panel[feature].fillna(0)
        np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).fillna(0).to_numpy(), err_msg=feature)


def test_price_paid_is_the_last_settled_dues_invoice(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, association = filled
    panel = build_panel(warehouse, AS_OF).set_index("party_id")
    inv = association.tables.invoices
    pay = association.tables.payments
    day = pd.Timestamp(AS_OF)
    settled = pay[(pay["payment_date"] < day) & (pay["status"] != "Failed")]
    paid = settled.groupby("invoice_id")["payment_date"].max()
    dues = inv[(inv["kind"] == "DUES") & (inv["due_date"] < day) & inv["invoice_id"].isin(paid.index)]
    last = dues.sort_values("invoice_date").groupby(dues["party_id"].astype(str))["amount_cents"].last() / 100
    got = panel["price_paid"].dropna()
    np.testing.assert_allclose(got.to_numpy(), last.reindex(got.index).to_numpy())


def test_nothing_after_as_of_leaks_in(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, association = filled
    reference = build_panel(warehouse, AS_OF)
    # A second warehouse whose future is rewritten: every dated row on or after AS_OF is
    # shifted and scrambled. The panel as of AS_OF must not change at all.
    tables = association.tables
    cut = pd.Timestamp(AS_OF)
    future_acts = tables.activities["transaction_date"] >= cut
    tables_changed = type(tables)(**dict(tables.items()))
    acts = tables.activities.copy()
    acts.loc[future_acts, "units"] = acts.loc[future_acts, "units"] * 7 + 3
    tables_changed.activities = acts
    inv = tables.invoices.copy()
    future_inv = inv["invoice_date"] >= cut
    inv.loc[future_inv, "amount_cents"] = inv.loc[future_inv, "amount_cents"] * 2
    tables_changed.invoices = inv

    class _Changed:
        def __init__(self, base: SyntheticAssociation) -> None:
            self.tables, self.clock = tables_changed, base.clock

    other = load_association(_Changed(association), Warehouse())  # type: ignore[arg-type]
    changed = build_panel(other, AS_OF)
    pd.testing.assert_frame_equal(reference, changed)


def test_labels_follow_the_truth_and_never_precede_their_window(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, association = filled
    labels = build_labels(warehouse, AS_OF)
    assert set(labels["outcome"]) <= {"renew", "upgrade", "downgrade", "lapse"}
    assert (pd.to_datetime(labels["decision_date"]) - pd.Timestamp(AS_OF)).dt.days.min() >= 75
    truth = association.truth.renewal_decisions
    truth = truth.assign(party_id=truth["party_id"].astype(str))
    merged = labels.merge(truth, on=["party_id", "decision_date"], suffixes=("", "_truth"))
    assert len(merged) == len(labels)
    lapsed = merged["to_tier_truth"] == "LAPSE"
    assert ((merged["outcome"] == "lapse") == lapsed).all()


def test_monthly_panel_stacks_labelled_months(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, _ = filled
    stacked = build_monthly_panel(warehouse, date(2024, 6, 1), date(2024, 8, 1))
    assert sorted(stacked["as_of"].dt.month.unique()) == [6, 7, 8]
    assert stacked["outcome"].notna().all()
    assert not stacked.duplicated(["party_id", "as_of"]).any()


def test_canonical_refresh_is_idempotent(filled: tuple[Warehouse, SyntheticAssociation]) -> None:
    warehouse, _ = filled
    before = warehouse.query_df("SELECT * FROM renewal_decisions ORDER BY party_id, decision_date")
    canonical.refresh(warehouse)
    after = warehouse.query_df("SELECT * FROM renewal_decisions ORDER BY party_id, decision_date")
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("as_of", ["2024-03-01", date(2026, 1, 1)])
def test_as_of_accepts_strings_and_dates(filled: tuple[Warehouse, SyntheticAssociation], as_of: object) -> None:
    warehouse, _ = filled
    panel = build_panel(warehouse, as_of)  # type: ignore[arg-type]
    assert len(panel) > 0 and panel["as_of"].nunique() == 1
