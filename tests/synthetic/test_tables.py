"""The observable tables: contract, types, history shape, and no hidden truth."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from imis_tier.synthetic import COLUMNS, NON_MEMBER, SyntheticAssociation, generate_association

_HIDDEN = {"alpha", "habit", "laxity", "engagement", "mu", "value", "use", "probability", "utility"}


def test_tables_meet_the_contract(assoc: SyntheticAssociation) -> None:
    assoc.tables.validate()
    for name, frame in assoc.tables.items():
        assert len(frame), f"table {name} is empty"
        assert set(frame.columns) == set(COLUMNS[name]), name


def test_no_truth_leaks_into_tables(assoc: SyntheticAssociation) -> None:
    for name, frame in assoc.tables.items():
        leaked = {c for c in frame.columns if c in _HIDDEN or c.startswith("p_")}
        assert not leaked, f"{name} exposes {leaked}"


def test_ids_are_int64_and_dates_naive_datetime(assoc: SyntheticAssociation) -> None:
    t = assoc.tables
    for frame, column in [
        (t.parties, "party_id"),
        (t.invoices, "invoice_id"),
        (t.payments, "payment_id"),
        (t.activities, "seqn"),
        (t.communications, "log_id"),
        (t.certifications, "registration_id"),
    ]:
        assert frame[column].dtype == np.int64
        assert frame[column].is_unique
    for name, frame in t.items():
        for column in frame.columns:
            if column.endswith(("_date", "_on", "_from", "_to")):
                assert frame[column].dtype == "datetime64[ns]", (name, column)


def test_every_reference_points_at_a_party(assoc: SyntheticAssociation) -> None:
    ids = set(assoc.tables.parties["party_id"])
    for name, frame in assoc.tables.items():
        if "party_id" in frame.columns and name != "parties":
            assert set(frame["party_id"]) <= ids, name
    assert set(assoc.tables.payments["invoice_id"]) <= set(assoc.tables.invoices["invoice_id"])


def test_history_covers_the_requested_months() -> None:
    a = generate_association(members=300, seed=3, months=12, end=date(2025, 3, 1))
    assert a.clock == date(2025, 3, 1)
    months = a.tables.activities["transaction_date"].dt.to_period("M")
    assert months.min() == pd.Period("2024-03") and months.max() == pd.Period("2025-02")
    assert months.nunique() == 12
    for frame, column in [(a.tables.invoices, "invoice_date"), (a.tables.payments, "payment_date")]:
        assert frame[column].min() >= pd.Timestamp("2024-03-01")
        assert frame[column].max() < pd.Timestamp("2025-03-01")
    joined = a.tables.parties["join_date"]
    assert (joined < pd.Timestamp("2024-03-01")).any() and (
        joined >= pd.Timestamp("2024-03-01")
    ).any()


def test_changelog_explains_every_current_member_type(assoc: SyntheticAssociation) -> None:
    t = assoc.tables
    last = (
        t.member_type_history.sort_values("change_date", kind="stable").groupby("party_id").tail(1)
    )
    current = t.parties.set_index("party_id")["customer_type_code"].astype(str)
    assert (
        last.set_index("party_id")["new_value"].astype(str) == current.loc[last["party_id"]]
    ).all()
    assert set(last["party_id"]) == set(t.parties["party_id"])


def test_lapsed_contacts_are_inactive_non_members(assoc: SyntheticAssociation) -> None:
    p = assoc.tables.parties
    lapsed = p[p["customer_type_code"] == NON_MEMBER]
    assert len(lapsed) > 20
    assert (lapsed["status"] == "I").all()
    assert (p.loc[p["status"] == "A", "customer_type_code"] != NON_MEMBER).all()
    assert (lapsed["paid_thru_date"] < pd.Timestamp(assoc.clock)).all()
    # a lapse is recorded at the end of the grace period, some 60 days after paid-thru
    changes = assoc.tables.member_type_history
    to_nm = changes[changes["new_value"] == NON_MEMBER].drop_duplicates("party_id", keep="last")
    merged = to_nm.merge(lapsed, on="party_id")
    gap = (merged["change_date"] - merged["paid_thru_date"]).dt.days
    assert gap.between(55, 65).all()


def test_renewal_billing_looks_like_imis(assoc: SyntheticAssociation) -> None:
    inv = assoc.tables.invoices
    dues = inv[(inv["kind"] == "DUES") & (inv["due_date"] > inv["invoice_date"])]
    lead = (dues["due_date"] - dues["invoice_date"]).dt.days
    assert lead.between(24, 30).all()  # billed in the first days of the paid-thru month
    assert set(dues["status"].astype(str)) == {"Paid", "Open", "Cancelled"}
    paid = inv[inv["status"] == "Paid"]
    assert (paid["balance_cents"] == 0).all()
    open_ = inv[inv["status"] == "Open"]
    assert (open_["balance_cents"] == open_["amount_cents"]).all()
    pay = assoc.tables.payments
    assert set(pay["method"].astype(str)) == {"CreditCard", "ACH", "Check", "Autopay"}
    assert (pay["status"] == "Failed").any()
    late = pay.merge(dues, on="invoice_id")
    assert (late["payment_date"] > late["due_date"]).any(), "some members pay in the grace period"
    assert set(inv["kind"].astype(str)) >= {"DUES", "EVENT", "COURSE", "PRODUCT", "DONATION"}


def test_activity_volume_and_kinds(assoc: SyntheticAssociation) -> None:
    act = assoc.tables.activities
    per_member = len(act) / len(assoc.tables.parties)
    assert 40 <= per_member <= 110
    assert set(act["activity_type"].astype(str)) == {
        "PORTAL_LOGIN",
        "DOWNLOAD",
        "WEBINAR",
        "COMMUNITY_POST",
        "CERT_PROGRESS",
        "VOLUNTEER",
        "MENTORING",
        "GIFT",
    }
    gifts = act[act["activity_type"] == "GIFT"]
    donations = assoc.tables.invoices[assoc.tables.invoices["kind"] == "DONATION"]
    assert len(gifts) == len(donations)
    regs = assoc.tables.event_registrations
    assert set(regs["event_id"]) <= set(assoc.tables.events["event_id"])
    assert (regs.loc[regs["status"] == 0, "attended"] == False).all()  # noqa: E712
    comms = assoc.tables.communications
    assert (comms["clicked"] <= comms["opened"]).all()


def test_engagement_shows_in_observable_behaviour(assoc: SyntheticAssociation) -> None:
    latent = assoc.truth.latent()
    logins = assoc.tables.activities.groupby("party_id").size().reindex(latent.index, fill_value=0)
    assert np.corrcoef(latent["engagement_mean"], np.log1p(logins))[0, 1] > 0.3
