"""Custom business objects / panel sources: CRUD, identities, the ordinal-0 quirk, 403/409."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from imis_tier.emulator import Emulator

from ._helpers import items, props

GED = "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"


def _body(source: str, values: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    def wrap(v: Any) -> Any:
        if isinstance(v, bool):
            return {"$type": "System.Boolean", "$value": v}
        if isinstance(v, float):
            return {"$type": "System.Decimal", "$value": v}
        return v

    body: dict[str, Any] = {
        "$type": GED,
        "EntityTypeName": source,
        "Properties": {
            "$type": "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                    "Name": k,
                    "Value": wrap(v),
                }
                for k, v in values.items()
            ],
        },
    }
    if parent:
        body["PrimaryParentEntityTypeName"] = "Party"
        body["PrimaryParentIdentity"] = {
            "$type": "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts",
            "EntityTypeName": "Party",
            "IdentityElements": {
                "$type": "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib",
                "$values": [parent],
            },
        }
    return body


def _party(api: httpx.Client, n: int = 0) -> str:
    return str(items(api.get("/api/Person", params={"limit": 5}))[n]["PartyId"])


def test_single_instance_crud(fresh_api: httpx.Client) -> None:
    pid = _party(fresh_api)
    created = fresh_api.post(
        "/api/Member_Tier_Score",
        json=_body("Member_Tier_Score", {"ID": pid, "Engagement": 0.75, "RecommendedTier": "PREM"}),
    )
    assert created.status_code == 201, created.text
    assert created.json()["Identity"]["IdentityElements"]["$values"] == [pid]
    got = fresh_api.get(f"/api/Member_Tier_Score/{pid}").json()
    assert props(got)["Engagement"] == 0.75
    assert got["Properties"]["$values"][1] == {
        "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
        "Name": "Engagement",
        "Value": {"$type": "System.Decimal", "$value": 0.75},
    }
    assert (
        "Value" not in {p["Name"]: p for p in got["Properties"]["$values"]}["Driver1"]
    )  # null omitted
    assert [
        props(r)["ID"] for r in items(fresh_api.get("/api/Member_Tier_Score", params={"ID": pid}))
    ] == [pid]
    dup = fresh_api.post("/api/Member_Tier_Score", json=_body("Member_Tier_Score", {"ID": pid}))
    assert dup.status_code == 409
    put = fresh_api.put(
        f"/api/Member_Tier_Score/{pid}",
        json=_body("Member_Tier_Score", {"ID": pid, "RecommendedTier": "LEAD"}),
    )
    assert put.status_code == 200
    after = props(fresh_api.get(f"/api/Member_Tier_Score/{pid}").json())
    assert (
        after["RecommendedTier"] == "LEAD" and after["Engagement"] is None
    )  # PUT replaces the whole row
    deleted = fresh_api.delete(f"/api/Member_Tier_Score/{pid}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert fresh_api.get(f"/api/Member_Tier_Score/{pid}").status_code == 404


def test_multi_instance_post_answers_ordinal_zero_but_stores_real_one(
    fresh_api: httpx.Client,
) -> None:
    pid = _party(fresh_api, 1)
    ordinals = []
    for reason in ("upgrade", "lapse-risk"):
        r = fresh_api.post(
            "/api/Tier_Review",
            json=_body("Tier_Review", {"Reason": reason, "Status": "Pending review"}, parent=pid),
        )
        assert r.status_code == 201, r.text
        assert r.json()["Identity"]["IdentityElements"]["$values"] == [pid, "0"]
        assert props(r.json())["Ordinal"] == 0
    rows = items(fresh_api.get("/api/Tier_Review", params={"ID": pid, "OrderBy": "Ordinal"}))
    ordinals = [props(r)["Ordinal"] for r in rows]
    assert ordinals == [1, 2]
    for ident in (f"~{pid}|2", f"~{pid}%7C2", f"{pid}|2"):
        got = fresh_api.get(f"/api/Tier_Review/{ident}")
        assert got.status_code == 200 and props(got.json())["Reason"] == "lapse-risk"
    put = fresh_api.put(
        f"/api/Tier_Review/~{pid}|1",
        json=_body(
            "Tier_Review", {"ID": pid, "Ordinal": 1, "Reason": "upgrade", "Status": "Approved"}
        ),
    )
    assert put.status_code == 200 and props(put.json())["Status"] == "Approved"
    wrong = fresh_api.get(f"/api/Tier_Review/{pid}")
    assert wrong.status_code == 400 and "ArgumentFault" in wrong.json()["Message"]
    assert fresh_api.delete(f"/api/Tier_Review/~{pid}|1").status_code == 200
    assert [
        props(r)["Ordinal"] for r in items(fresh_api.get("/api/Tier_Review", params={"ID": pid}))
    ] == [2]


def test_standalone_source_and_unknown_property(fresh_api: httpx.Client) -> None:
    rows = items(fresh_api.get("/api/Tier_Benefit", params={"TierCode": "PREM", "limit": 500}))
    assert rows and all("PrimaryParentIdentity" not in r for r in rows)
    r = fresh_api.post(
        "/api/Tier_Benefit",
        json=_body(
            "Tier_Benefit",
            {"TierCode": "STU", "Benefit": "webinars", "EffectiveFrom": "2026-11-01T00:00:00"},
        ),
    )
    assert r.status_code == 201
    ordinal = r.json()["Identity"]["IdentityElements"]["$values"][0]
    assert int(ordinal) == max(
        int(x["Identity"]["IdentityElements"]["$values"][0])
        for x in items(fresh_api.get("/api/Tier_Benefit", params={"limit": 500}))
    )
    bad = fresh_api.post(
        "/api/Tier_Benefit", json=_body("Tier_Benefit", {"TierCode": "STU", "Colour": "red"})
    )
    assert bad.status_code == 400 and "Colour" in bad.json()["Message"]


def test_read_only_source_answers_403(fresh_api: httpx.Client) -> None:
    pid = _party(fresh_api)
    r = fresh_api.post(
        "/api/Name_Demo_ReadOnly", json=_body("Name_Demo_ReadOnly", {"ID": pid, "Note": "x"})
    )
    assert r.status_code == 403


def test_sources_defined_by_api_and_admin_endpoint(
    fresh: Emulator, fresh_api: httpx.Client
) -> None:
    fresh.define_source(
        "Cert_Hours",
        {"Hours": "Decimal", "Verified": "Boolean", "EarnedOn": "DateTime"},
        multi_instance=True,
    )
    answer = httpx.post(
        f"{fresh.base_url}/_emulator/sources",
        json={"name": "Volunteer_Log", "properties": {"Hours": "Double"}},
    )
    assert answer.status_code == 200
    pid = _party(fresh_api)
    r = fresh_api.post(
        "/api/cert_hours",
        json=_body(
            "Cert_Hours",
            {"ID": pid, "Hours": 7.5, "Verified": True, "EarnedOn": "2024-11-02T00:00:00"},
        ),
    )
    assert r.status_code == 201
    row = items(fresh_api.get("/api/Cert_Hours", params={"ID": pid}))[0]
    by_name = {p["Name"]: p.get("Value") for p in row["Properties"]["$values"]}
    assert by_name["Verified"] == {"$type": "System.Boolean", "$value": True}
    assert by_name["EarnedOn"] == "2024-11-02T00:00:00"
    names = {
        d["EntityTypeName"]
        for d in items(fresh_api.get("/api/BOEntityDefinition", params={"limit": 500}))
    }
    assert {
        "Cert_Hours",
        "Volunteer_Log",
        "Member_Tier_Score",
        "Tier_Review",
        "Tier_Benefit",
        "CsContact",
        "Activity",
    } <= names
    meta = fresh_api.get("/api/metadata/Cert_Hours").json()
    assert [(p["Name"], p["PropertyTypeName"]) for p in meta["Properties"]["$values"]][:3] == [
        ("ID", "String"),
        ("Ordinal", "Int32"),
        ("Hours", "Decimal"),
    ]


def test_body_without_type_is_400_and_parent_must_exist(fresh_api: httpx.Client) -> None:
    body = _body("Member_Tier_Score", {"ID": _party(fresh_api)})
    del body["$type"]
    r = fresh_api.post("/api/Member_Tier_Score", json=body)
    assert r.status_code == 400 and "$type" in r.json()["Message"]
    r = fresh_api.post(
        "/api/Member_Tier_Score", json=_body("Member_Tier_Score", {"ID": "999999999"})
    )
    assert r.status_code == 400 and "999999999" in r.json()["Message"]


@pytest.mark.parametrize("verb", ["PUT", "DELETE"])
def test_missing_row_is_404(fresh_api: httpx.Client, verb: str) -> None:
    r = fresh_api.request(
        verb, "/api/Member_Tier_Score/123", json=_body("Member_Tier_Score", {"ID": "123"})
    )
    assert r.status_code == 404
