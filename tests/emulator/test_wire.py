"""The emulator's own Json.NET encoder, and every built-in entity as served."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from imis_tier.emulator import _wire as w

from ._helpers import attributes, client_for, items


def test_wrapped_values_follow_json_net() -> None:
    doc = w.property_collection(
        [
            ("S", "text"),
            ("I", 3),
            ("L", 2**40),
            ("D", Decimal("7.50")),
            ("F", 0.25),
            ("B", True),
            ("T", datetime(2024, 11, 2)),
            ("N", None),
            ("Bin", b"\x00\x01"),
        ]
    )
    values = {p["Name"]: p.get("Value", "<absent>") for p in json.loads(w.dumps(doc))["$values"]}
    assert values == {
        "S": "text",
        "I": {"$type": "System.Int32", "$value": 3},
        "L": {"$type": "System.Int64", "$value": 2**40},
        "D": {"$type": "System.Decimal", "$value": 7.5},
        "F": {"$type": "System.Double", "$value": 0.25},
        "B": {"$type": "System.Boolean", "$value": True},
        "T": "2024-11-02T00:00:00",
        "N": "<absent>",
        "Bin": {"$type": "System.Byte[], mscorlib", "$value": "AAE="},
    }
    assert b'"$value":7.50' in w.dumps(doc)  # decimals keep their digits, no float round trip


def test_typed_contracts_omit_nulls_and_dates_are_zoneless() -> None:
    raw = w.dumps(
        w.typed(
            "X, Y", {"A": None, "B": datetime(2025, 3, 1, 14, 5, 6, 250000), "C": Decimal("-0.10")}
        )
    )
    assert raw == b'{"$type":"X, Y","B":"2025-03-01T14:05:06.250","C":-0.10}'


def test_paged_envelope_without_reserialising_items() -> None:
    raw = w.paged("T, A", [b'{"a":1}', b'{"a":2}'], offset=0, limit=2, total=3)
    body = json.loads(raw)
    assert body["Items"]["$values"] == [{"a": 1}, {"a": 2}]
    assert (body["HasNext"], body["NextOffset"]) == (True, 2)
    assert json.loads(w.paged("T, A", [], 0, 100, 0))["Items"]["$values"] == []


ENTITIES = [
    ("Party", "Asi.Soa.Membership.DataContracts.PartyData", "PartyId"),
    ("Person", "Asi.Soa.Membership.DataContracts.PersonData", "PartyId"),
    ("Organization", "Asi.Soa.Membership.DataContracts.OrganizationData", "PartyId"),
    ("CsContact", "Asi.Soa.Core.DataContracts.GenericEntityData", None),
    ("ChangeLog", "Asi.Soa.Core.DataContracts.ChangeLogData", "ChangeLogId"),
    ("LegacyCustomerType", "Asi.Soa.Membership.DataContracts.CustomerTypeData", "CustomerTypeCode"),
    ("LegacyBillingCycle", "Asi.Soa.Membership.DataContracts.BillingCycleData", "Name"),
    ("LegacyBillingItem", "Asi.Soa.Membership.DataContracts.BillingItemData", "ItemCode"),
    ("Invoice", "Asi.Soa.Commerce.DataContracts.InvoiceSummaryData", "InvoiceId"),
    ("Payment", "Asi.Soa.Commerce.DataContracts.PaymentSummaryData", "PaymentId"),
    ("Receipt", "Asi.Soa.Commerce.DataContracts.ReceiptData", "ReceiptId"),
    ("Event", "Asi.Soa.Events.DataContracts.EventData", "EventId"),
    (
        "EventRegistration",
        "Asi.Soa.Events.DataContracts.EventRegistrationData",
        "EventRegistrationId",
    ),
    ("Activity", "Asi.Soa.Core.DataContracts.GenericEntityData", None),
    (
        "CommunicationLog",
        "Asi.Soa.Communications.DataContracts.CommunicationLogData",
        "CommunicationLogId",
    ),
    ("GroupMember", "Asi.Soa.Membership.DataContracts.GroupMemberData", "GroupMemberId"),
    (
        "CertificationProgramRegistration",
        "Asi.Soa.Certification.DataContracts.CertificationProgramRegistrationData",
        "CertificationProgramRegistrationId",
    ),
    ("Tier_Benefit", "Asi.Soa.Core.DataContracts.GenericEntityData", None),
    ("Tier_BenefitCatalog", "Asi.Soa.Core.DataContracts.GenericEntityData", None),
]


@pytest.mark.parametrize(("entity", "item_type", "key"), ENTITIES)
def test_every_entity_lists_gets_and_filters_on_updatedon(
    api: httpx.Client, entity: str, item_type: str, key: str | None
) -> None:
    body = api.get(f"/api/{entity}", params={"limit": 3}).json()
    assert body["$type"].startswith("Asi.Soa.Core.DataContracts.PagedResult`1[[")
    assert (
        item_type.rsplit(".", 1)[-1].replace("Person", "Party") in body["$type"]
        or entity == "Person"
    )
    assert body["TotalCount"] > 0
    first = body["Items"]["$values"][0]
    ident = first[key] if key else "~" + "|".join(first["Identity"]["IdentityElements"]["$values"])
    if entity in ("Tier_Benefit", "Tier_BenefitCatalog"):
        ident = first["Identity"]["IdentityElements"]["$values"][0]
    assert api.get(f"/api/{entity}/{ident}").json() == first
    assert (
        api.get(f"/api/{entity}", params={"UpdatedOn": "gt:1900-01-01", "limit": 1}).json()[
            "TotalCount"
        ]
        == body["TotalCount"]
    )
    assert api.get(f"/api/metadata/{entity}").status_code == 200


def test_no_date_for_never_set_member_dates(api: httpx.Client) -> None:
    org = items(api.get("/api/Organization", params={"limit": 1}))[0]
    assert attributes(org)["JoinDate"] == "0001-01-01T00:00:00"
    assert "PersonName" not in org and org["OrganizationName"]


def test_prewarm_encodes_ahead_with_identical_bytes(make_imis_emulator: Any) -> None:
    warm = make_imis_emulator(members=60, seed=5, months=12, prewarm=("Party",))
    cold = make_imis_emulator(members=60, seed=5, months=12)
    assert warm.wait_prewarmed(timeout=30)
    table = warm.core.tables["Party"]
    assert len(table.encoded) == len(table)
    assert not cold.core.tables["Party"].encoded
    with client_for(warm) as a, client_for(cold) as b:
        for path in ("/api/Party", "/api/Person", "/api/Organization"):
            assert (
                a.get(path, params={"limit": 500}).json()
                == b.get(path, params={"limit": 500}).json()
            )
