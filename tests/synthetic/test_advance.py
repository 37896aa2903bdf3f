"""Moving the clock: a month of new rows, changed parties stamped in it, structures honoured."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from imis_tier.structure import Tier
from imis_tier.synthetic import COLUMNS, generate_association


def test_advance_adds_one_month_of_rows() -> None:
    a = generate_association(members=600, seed=7)
    sizes = {name: len(frame) for name, frame in a.tables.items()}
    delta = a.advance(months=1)
    assert a.clock == date(2026, 12, 1)
    month = (pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-30"))
    for name, frame in delta.items():
        assert set(frame.columns) == set(COLUMNS[name]), name
        if "updated_on" in frame.columns and len(frame):
            assert frame["updated_on"].between(*month).all(), name
    assert len(delta.activities) > 0 and len(delta.parties) > 0
    for name in (
        "activities",
        "payments",
        "communications",
        "member_type_history",
        "event_registrations",
    ):
        assert len(a.tables.__getattribute__(name)) == sizes[name] + len(getattr(delta, name)), name
    assert a.tables.activities["seqn"].is_unique and a.tables.payments["payment_id"].is_unique
    changed = a.tables.parties.set_index("party_id").loc[delta.parties["party_id"]]
    pd.testing.assert_frame_equal(changed.reset_index(), delta.parties.reset_index(drop=True))
    a.tables.validate()


def test_advance_continues_the_same_world_deterministically() -> None:
    one = generate_association(members=400, seed=9)
    two = generate_association(members=400, seed=9)
    pd.testing.assert_frame_equal(one.advance(2).activities, two.advance(2).activities)


def test_structure_passed_to_advance_is_used_and_recorded() -> None:
    calm = generate_association(members=1500, seed=8)
    shock = generate_association(members=1500, seed=8)
    current = calm.structure_at(calm.clock)
    dear = current
    for tier in current.tiers:
        dear = dear.with_price(tier.code, tier.price * 3)
    calm.advance(months=3)
    delta = shock.advance(months=3, structure=dear)
    assert shock.structure_at(date(2026, 12, 15)) == dear
    assert set(delta.prices["price_cents"]) == {int(t.price * 100) for t in dear.tiers}
    start = pd.Timestamp("2026-11-01")

    def lapses(assoc: object) -> int:
        log = assoc.truth.renewal_decisions  # type: ignore[attr-defined]
        return int(((log["decision_date"] >= start) & (log["to_tier"] == "LAPSE")).sum())

    assert lapses(shock) > 2 * lapses(calm)
    billed = shock.tables.invoices
    new_std = billed[
        (billed["invoice_date"] >= start)
        & (billed["kind"] == "DUES")
        & (billed["tier_code"] == "STD")
    ]
    assert set(new_std["amount_cents"]) == {int(Decimal("345.00") * 300)}


def test_advance_rejects_nonpositive_months() -> None:
    a = generate_association(members=100, seed=0)
    with pytest.raises(ValueError, match="months"):
        a.advance(0)


def test_new_tier_written_through_the_api_appears_in_the_tables() -> None:
    a = generate_association(members=800, seed=11)
    basic = Tier("BASIC", "Basic", Decimal("150.00"), frozenset({"journal", "community"}), 0)
    delta = a.advance(months=2, structure=a.structure_at(a.clock).with_tier(basic))
    assert delta.tiers["code"].tolist() == ["BASIC"]
    assert "BASIC" in set(a.tables.tiers["code"])
    assert set(delta.tier_benefits.loc[delta.tier_benefits["tier_code"] == "BASIC", "benefit"]) == {
        "journal",
        "community",
    }
    joined = delta.member_type_history
    assert (joined["new_value"].astype(str) == "BASIC").any()
    a.tables.validate()
