"""Parties carry an address and a phone, as iMIS's PartyData does, and a posted one is kept."""

from __future__ import annotations

from typing import Any

import httpx

from ._helpers import attributes, items

_NS = "Asi.Soa.Membership.DataContracts"


def _values(collection: dict[str, Any]) -> list[Any]:
    assert set(collection) == {"$type", "$values"}
    return list(collection["$values"])


def test_a_person_has_one_preferred_address_and_a_phone(api: httpx.Client) -> None:
    people = items(api.get("/api/Person", params={"limit": 50}))
    assert people and all("Addresses" in p and "Phones" in p for p in people)
    for person in people:
        (full,) = _values(person["Addresses"])
        assert full["$type"] == f"{_NS}.FullAddressData, Asi.Contracts"
        assert full["AddressPurpose"] == "Address" and full["IsPreferredMail"] is True
        address = full["Address"]
        assert address["$type"] == f"{_NS}.AddressData, Asi.Contracts"
        (line,) = _values(address["AddressLines"])
        assert line and address["CityName"] and address["PostalCode"]
        assert address["CountryCode"] in {"US", "CA", "GB", "AU", "IE"}
        assert address["FullAddress"].startswith(line)
        (phone,) = _values(person["Phones"])
        assert phone["$type"] == f"{_NS}.PhoneData, Asi.Contracts" and phone["Number"]
        assert full["Phone"] == phone["Number"]
    # The address follows the contact's region; outside the US there is no US state.
    for person in people:
        region = attributes(person)["Region"]
        country = _values(person["Addresses"])[0]["Address"]["CountryCode"]
        assert (country == "US") == (region != "international")


def test_the_same_party_gets_the_same_address_every_time(api: httpx.Client) -> None:
    pid = items(api.get("/api/Person", params={"limit": 1}))[0]["PartyId"]
    once, again = (api.get(f"/api/Person/{pid}").json() for _ in range(2))
    assert once["Addresses"] == again["Addresses"] and once["Phones"] == again["Phones"]


def test_parties_filter_by_city(api: httpx.Client) -> None:
    found = items(api.get("/api/Person", params={"City": "Boston", "limit": 20}))
    assert found
    assert {_values(p["Addresses"])[0]["Address"]["CityName"] for p in found} == {"Boston"}


def test_a_posted_address_and_phone_are_kept(fresh_api: httpx.Client) -> None:
    body: dict[str, Any] = {
        "$type": f"{_NS}.PersonData, Asi.Contracts",
        "PersonName": {
            "$type": f"{_NS}.PersonNameData, Asi.Contracts",
            "FirstName": "Grace",
            "LastName": "Hopper",
        },
        "Addresses": {
            "$type": f"{_NS}.FullAddressDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{_NS}.FullAddressData, Asi.Contracts",
                    "AddressPurpose": "Address",
                    "Address": {
                        "$type": f"{_NS}.AddressData, Asi.Contracts",
                        "AddressLines": {"$type": "x", "$values": ["1 Navy Yard"]},
                        "CityName": "Arlington",
                        "CountrySubEntityCode": "VA",
                        "PostalCode": "22202",
                        "CountryCode": "US",
                    },
                }
            ],
        },
        "Phones": {"$type": "y", "$values": [{"$type": "z", "Number": "+1 703 555 0100"}]},
    }
    created = fresh_api.post("/api/Person", json=body)
    assert created.status_code == 201, created.text
    read = fresh_api.get(f"/api/Person/{created.json()['PartyId']}").json()
    address = _values(read["Addresses"])[0]["Address"]
    assert _values(address["AddressLines"]) == ["1 Navy Yard"]
    place = (address["CityName"], address["CountrySubEntityCode"], address["PostalCode"])
    assert place == ("Arlington", "VA", "22202")
    assert address["CountryName"] == "United States"
    assert _values(read["Phones"])[0]["Number"] == "+1 703 555 0100"
