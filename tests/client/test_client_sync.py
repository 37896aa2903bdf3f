"""The sync client against the running emulator: every resource and error class."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from imis_tier.client import (
    Activity,
    AuthError,
    ChangeLogEntry,
    Client,
    Entity,
    Invoice,
    NotFound,
    PermissionDenied,
    Person,
    ValidationError,
)

from .conftest import client_for


def test_parties_page_through_everything_once(imis: Client):
    parties = list(imis.parties.list(limit=37))
    ids = [p.party_id for p in parties]
    assert len(ids) == len(set(ids)) > 300 - 1
    first = imis.parties.list(limit=37).pages().__next__()
    assert first.total_count == len(ids)
    person = next(p for p in parties if isinstance(p, Person))
    assert person.last_name and person.customer_type_code
    assert person.join_date is None or person.join_date.tzinfo is not None
    assert person.updated_on is not None and person.updated_on.utcoffset() is not None


def test_page_size_is_clamped_and_requests_are_minimal(imis: Client):
    imis.authenticate()
    before = imis.request_count
    rows = list(imis.parties.list(limit=5000))
    assert imis.request_count - before == -(-len(rows) // 500)
    assert len(list(imis.parties.list(max_items=12, limit=5))) == 12


def test_get_party_and_not_found(imis: Client):
    listed = next(iter(imis.parties.list(max_items=1)))
    fetched = imis.parties.get(listed.party_id)
    assert fetched.party_id == listed.party_id and fetched.name == listed.name
    with pytest.raises(NotFound) as caught:
        imis.parties.get("99999999")
    assert caught.value.status == 404 and caught.value.path == "/api/Party/99999999"


def test_addresses_and_phones_are_typed_on_both_read_routes(imis: Client):
    listed = next(p for p in imis.parties.list(max_items=60) if isinstance(p, Person))
    fetched = imis.parties.get(listed.party_id)  # one party: the general decoding route
    for person in (listed, fetched):
        (address,) = person.addresses
        assert address.purpose == "Address" and address.is_preferred_mail
        assert address.city and address.postal_code and address.country_code
        assert address.full_address is not None and address.full_address.startswith(
            address.lines[0]
        )
        assert person.mailing_address == address
        (phone,) = person.phones
        assert phone.number and phone.phone_type == "_Phone"
    assert listed.addresses == fetched.addresses and listed.phones == fetched.phones
    # Kept among the extras as iMIS sent them, on both routes; the views decode on demand.
    for person in (listed, fetched):
        kept = person.model_extra or {}
        assert kept["Addresses"]["$type"].endswith("FullAddressDataCollection, Asi.Contracts")
        (wire,) = kept["Addresses"]["$values"]
        assert wire["Address"]["AddressLines"]["$values"] == list(listed.addresses[0].lines)
        assert kept["Phones"]["$values"][0]["Number"] == listed.phones[0].number
    assert listed.model_extra == fetched.model_extra


def test_mailing_address_prefers_the_mail_flag_and_tolerates_absence():
    def full(city: str, preferred: bool) -> dict[str, Any]:
        return {"Address": {"CityName": city}, "IsPreferredMail": preferred}

    person = Person.model_validate(
        {"PartyId": "1", "Addresses": [full("Leeds", False), full("York", True)]}
    )
    assert [a.city for a in person.addresses] == ["Leeds", "York"]
    mailing = person.mailing_address
    assert mailing is not None and mailing.city == "York" and mailing.lines == ()
    bare = Person.model_validate({"PartyId": "2"})
    assert bare.addresses == () and bare.phones == () and bare.mailing_address is None


def test_filters_in_and_ne(imis: Client):
    students = list(imis.parties.list(CustomerTypeCode="in:NM|STU"))
    assert students and {p.customer_type_code for p in students} <= {"NM", "STU"}
    others = list(imis.parties.list(CustomerTypeCode="ne:NM"))
    assert all(p.customer_type_code != "NM" for p in others)


def test_query_and_legacy_iqa_agree(imis: Client):
    rows = list(imis.query("$/Tier/Members", limit=120))
    legacy = list(imis.iqa("$/Tier/Members", limit=120))
    assert rows == legacy  # two wire formats, one meaning
    assert {"ID", "MemberType", "PaidThrough"} <= set(rows[0])
    assert all(isinstance(r["IsMember"], bool) for r in rows)


def test_query_prompt_parameters(imis: Client):
    member_type = next(
        r["MemberType"] for r in imis.query("$/Tier/Members") if r["MemberType"] != "NM"
    )
    rows = list(imis.query("$/Tier/MembersByType", parameters=[member_type]))
    assert rows and {r["MemberType"] for r in rows} == {member_type}


def test_single_instance_entity_lifecycle(imis: Client):
    party_id = next(iter(imis.parties.list(max_items=1))).party_id
    scores = imis.entities("Member_Tier_Score")
    as_of = datetime(2025, 3, 1, 12, tzinfo=UTC)
    row = scores.upsert(
        {"ID": party_id, "Engagement": Decimal("0.8125"), "RecommendedTier": "PRO", "AsOf": as_of},
        key="ID",
    )
    assert isinstance(row, Entity) and row.identity == (party_id,)
    again = scores.upsert(
        {"ID": party_id, "Engagement": Decimal("0.5"), "RecommendedTier": "PRO"}, key="ID"
    )
    assert again.identity == row.identity
    stored = scores.get(party_id)
    assert stored["Engagement"] == Decimal("0.5") and stored["AsOf"] == as_of
    assert [r.identity for r in scores.list(ID=party_id)] == [(party_id,)]
    updated = scores.update(party_id, {"Driver1": "logins"})
    assert updated["Driver1"] == "logins" and updated["RecommendedTier"] == "PRO"
    scores.delete(party_id)
    with pytest.raises(NotFound):
        scores.get(party_id)


def test_multi_instance_create_returns_the_real_ordinal(imis: Client):
    party_id = next(iter(imis.parties.list(max_items=1, offset=3))).party_id
    reviews = imis.entities("Tier_Review")
    first = reviews.create(
        {"Reason": "upgrade", "Status": "Open", "Propensity": Decimal("0.61")}, parent_id=party_id
    )
    second = reviews.create({"Reason": "downgrade", "Status": "Open"}, parent_id=party_id)
    assert first.identity[0] == second.identity[0] == party_id
    assert "0" not in (first.identity[1], second.identity[1]) and first.identity != second.identity
    assert reviews.get((party_id, second.identity[1]))["Reason"] == "downgrade"
    assert first.key == f"~{party_id}|{first.identity[1]}"
    reviews.delete(first.identity)
    with pytest.raises(NotFound):
        reviews.get(first.identity)


def test_standalone_rows_and_compound_upsert_keys(imis: Client):
    benefits = imis.entities("Tier_Benefit")
    data = {
        "TierCode": "ZZZ",
        "Benefit": "lounge",
        "EffectiveFrom": datetime(2024, 1, 1, tzinfo=UTC),
    }
    created = benefits.upsert(data, key=("TierCode", "Benefit"))
    repeated = benefits.upsert(data, key=("TierCode", "Benefit"))
    assert created.identity == repeated.identity
    assert len([r for r in benefits.list(TierCode="ZZZ")]) == 1


def test_write_errors_are_typed(imis: Client):
    party_id = next(iter(imis.parties.list(max_items=1))).party_id
    with pytest.raises(PermissionDenied) as denied:
        imis.entities("Name_Demo_ReadOnly").create({"Note": "x"}, parent_id=party_id)
    assert denied.value.status == 403 and denied.value.method == "POST"
    with pytest.raises(ValidationError) as invalid:
        imis.entities("ChangeLog").create({"Anything": "x"}, parent_id=party_id)
    assert invalid.value.messages and "OperationNotSupported" in " ".join(invalid.value.messages)
    with pytest.raises(ValidationError):
        imis.entities("Member_Tier_Score").create({"ID": party_id, "NoSuchProperty": 1})


def test_bad_credentials_are_an_auth_error(emu: Any):
    with (
        Client(emu.base_url, username=emu.username, password="wrong", use_keyring=False) as client,
        pytest.raises(AuthError) as caught,
    ):
        list(client.parties.list(max_items=1))
    assert "incorrect" in str(caught.value) and "wrong" not in str(caught.value)


def test_membership_configuration(imis: Client):
    types = imis.memberships.customer_types()
    assert "NM" in {t.code for t in types}
    items = imis.memberships.billing_items()
    assert items and all(isinstance(i.price, Decimal) for i in items)
    assert {c.name for c in imis.memberships.billing_cycles()}
    member = next(p for p in imis.parties.list(CustomerTypeCode="ne:NM") if p.paid_thru_date)
    assert imis.memberships.paid_through(member.party_id) == member.paid_thru_date


def test_finance_events_activity_and_history(imis: Client):
    invoices = list(imis.financial.invoices(max_items=20))
    assert invoices and all(
        isinstance(i, Invoice) and isinstance(i.amount, Decimal) for i in invoices
    )
    payments = list(imis.financial.payments(max_items=5))
    assert payments and all(isinstance(p.amount, Decimal) for p in payments)
    events = list(imis.events.list(max_items=3))
    assert events and imis.events.get(events[0].event_id).name == events[0].name
    registrations = list(imis.events.registrations(event_id=events[0].event_id))
    assert all(r.event_id == events[0].event_id for r in registrations)
    activities = list(imis.activities.list(max_items=50))
    assert activities and all(isinstance(a, Activity) and a.seqn is not None for a in activities)
    one = activities[0]
    assert all(a.party_id == one.party_id for a in imis.activities.list(party_id=one.party_id))
    history = list(imis.changelog.list(identity=one.party_id))
    assert all(isinstance(h, ChangeLogEntry) and h.identity == (one.party_id,) for h in history)
    assert any(c.property_name for h in history for c in h.changes) or not history


def test_activity_create(imis: Client):
    party_id = next(iter(imis.parties.list(max_items=1))).party_id
    created = imis.activities.create(
        party_id, "PORTAL_LOGIN", TRANSACTION_DATE=datetime(2025, 2, 1, tzinfo=UTC)
    )
    assert created["ACTIVITY_TYPE"] == "PORTAL_LOGIN" and created.identity


def test_incremental_reads_only_newer_rows_oldest_first(imis: Client):
    rows = list(imis.incremental("Event", since=None, limit=100))
    stamps = sorted(r.updated_on for r in rows if r.updated_on)
    middle = stamps[len(stamps) // 2]
    newer = list(imis.incremental("Event", since=middle))
    assert newer and all(r.updated_on > middle for r in newer)
    assert [r.updated_on for r in newer] == sorted(r.updated_on for r in newer)


def test_tasks_and_metadata(imis: Client, emu: Any):
    result = imis.tasks.execute_adhoc("Flag renewals", stored_procedure="my_FlagRenewals")
    assert result.task_name == "Flag renewals" and result.result is not None
    adhoc = emu.triggered_tasks[-1]
    assert (
        adhoc.operation == "TaskAdhocRequest"
        and adhoc.actions[0]["StoredProcedureName"] == "my_FlagRenewals"
    )
    imis.request(
        "POST",
        "/api/TaskDefinition",
        json={
            "$type": "Asi.Soa.Communications.DataContracts.TaskDefinitionData, Asi.Contracts",
            "Name": "Nightly tiers",
            "IsActive": True,
            "TaskType": 2,
        },
    )
    assert "Nightly tiers" in {t.name for t in imis.tasks.list()}
    ran = imis.tasks.run("Nightly tiers")
    assert (
        emu.triggered_tasks[-1].operation == "TaskRequest"
        and emu.triggered_tasks[-1].run_id == ran.result
    )
    with pytest.raises(NotFound, match="no task definition named 'Missing'"):
        imis.tasks.run("Missing")
    meta = imis.entities("Member_Tier_Score").metadata()
    assert "Engagement" in str(meta)
    assert imis.metadata.business_objects()


def test_request_escape_hatch(imis: Client):
    envelope = imis.request("GET", "/api/Party", params=[("limit", "2")])
    assert envelope["Limit"] == 2 and len(envelope["Items"]["$values"]) == 2


def test_debug_logging_shows_requests_but_no_secrets(emu: Any, caplog):
    import logging

    with caplog.at_level(logging.DEBUG), client_for(emu) as client:
        list(client.parties.list(max_items=1))
    text = caplog.text
    assert "GET /api/Party -> 200" in text and "POST /token -> 200" in text
    assert emu.password not in text
    assert client.tokens.token is not None and client.tokens.token.access_token not in text
