"""The PagedResult envelope and iMIS's paging quirks, over real HTTP."""

from __future__ import annotations

import httpx

from imis_tier.emulator import Emulator

from ._helpers import items

PARTY_LIST = "System.Collections.Generic.List`1[[Asi.Soa.Membership.DataContracts.PartyData, Asi.Contracts]], mscorlib"


def test_envelope_fields_and_types(api: httpx.Client) -> None:
    body = api.get("/api/Party", params={"limit": 10, "offset": 20}).json()
    assert body["$type"] == (
        "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Membership.DataContracts.PartyData, "
        "Asi.Contracts]], Asi.Contracts"
    )
    assert body["Items"]["$type"] == PARTY_LIST
    assert list(body)[-7:] == [
        "Offset",
        "Limit",
        "Count",
        "TotalCount",
        "NextPageLink",
        "HasNext",
        "NextOffset",
    ]
    assert (body["Offset"], body["Limit"], body["Count"]) == (20, 10, 10)
    assert body["NextPageLink"] is None and body["HasNext"] is True and body["NextOffset"] == 30
    kinds = {
        item["$type"].split(",")[0].rsplit(".", 1)[-1]
        for item in api.get("/api/Party", params={"limit": 500, "offset": 500}).json()["Items"][
            "$values"
        ]
    }
    assert "OrganizationData" in kinds  # Party lists persons and organizations


def test_last_page_has_next_offset_zero(api: httpx.Client) -> None:
    total = api.get("/api/Person", params={"limit": 1}).json()["TotalCount"]
    last = (total - 1) // 100 * 100
    body = api.get("/api/Person", params={"offset": last}).json()
    assert body["HasNext"] is False and body["NextOffset"] == 0
    assert body["Count"] == total - last


def test_default_limit_is_100_and_clamp_is_500(api: httpx.Client) -> None:
    assert api.get("/api/Person").json()["Limit"] == 100
    clamped = api.get("/api/Person", params={"limit": 5000}).json()
    assert clamped["Limit"] == 500 and clamped["Count"] == 500


def test_offset_snaps_down_to_page_boundary(api: httpx.Client) -> None:
    snapped = api.get("/api/Person", params={"offset": 2, "limit": 100}).json()
    first = api.get("/api/Person", params={"offset": 0, "limit": 100}).json()
    assert snapped["Offset"] == 0
    assert [p["PartyId"] for p in snapped["Items"]["$values"]] == [
        p["PartyId"] for p in first["Items"]["$values"]
    ]
    assert api.get("/api/Person", params={"offset": 250, "limit": 100}).json()["Offset"] == 200


def test_limit_offset_names_are_case_insensitive(api: httpx.Client) -> None:
    body = api.get("/api/Person?LIMIT=7&Offset=14").json()
    assert (body["Limit"], body["Offset"], body["Count"]) == (7, 14, 7)


def test_paging_by_next_offset_sees_every_row_once(api: httpx.Client) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        body = api.get(
            "/api/Activity",
            params={"ACTIVITY_TYPE": "in:DOWNLOAD|WEBINAR", "limit": 500, "offset": offset},
        ).json()
        seen.extend(
            e["Identity"]["IdentityElements"]["$values"][0] for e in body["Items"]["$values"]
        )
        if not body["HasNext"]:
            break
        offset = body["NextOffset"]
    assert len(seen) == len(set(seen)) == body["TotalCount"] > 1000


def test_entity_path_is_case_insensitive(api: httpx.Client) -> None:
    assert (
        items(api.get("/api/party", params={"limit": 1}))[0]["PartyId"]
        == items(api.get("/api/PARTY", params={"limit": 1}))[0]["PartyId"]
    )


def test_get_by_id_and_changelog(imis_emulator: Emulator, api: httpx.Client) -> None:
    person = items(api.get("/api/Person", params={"limit": 1}))[0]
    one = api.get(f"/api/Party/{person['PartyId']}").json()
    assert one == person
    log = items(
        api.get(
            "/api/ChangeLog",
            params={
                "IdentityEntityTypeName": "Party",
                "IdentityIdentityElement": person["PartyId"],
            },
        )
    )
    assert log and all(
        e["Identity"]["IdentityElements"]["$values"] == [person["PartyId"]] for e in log
    )
    assert {c["PropertyName"] for e in log for c in e["Changes"]["$values"]} == {"Name.MEMBER_TYPE"}
    assert items(api.get(f"/api/Party/{person['PartyId']}/changelog")) == log
