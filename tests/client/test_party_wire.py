"""Party pages parsed straight into wire structs give exactly the models of the general route."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from imis_tier.client import Client, Organization, Party, Person, WireCodec, _decode, _party_wire
from imis_tier.client._gc import gc_paused
from imis_tier.client._paging import envelope_items
from imis_tier.client.models import _DEFERRED, _EXTRA_SLOT, build

CHICAGO = ZoneInfo("America/Chicago")
_NS = "Asi.Soa.Membership.DataContracts"
_PROP = "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts"


def _prop(name: str, value: Any = None, *, omit: bool = False) -> dict[str, Any]:
    prop: dict[str, Any] = {"$type": _PROP, "Name": name}
    if not omit:
        prop["Value"] = value
    return prop


def _person(**changes: Any) -> dict[str, Any]:
    party: dict[str, Any] = {
        "$type": f"{_NS}.PersonData, Asi.Contracts",
        "PartyId": "40125",
        "Id": "40125",
        "UniformId": "ed01cd8b-261a-5292-9edb-6f4c68ba37a2",
        "Name": "Ada Lovelace",
        "PersonName": {
            "$type": f"{_NS}.PersonNameData, Asi.Contracts",
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "FullName": "Ada Lovelace",
        },
        "PrimaryOrganization": {
            "$type": f"{_NS}.PrimaryOrganizationInformationData, Asi.Contracts",
            "Name": "Analytical Society",
        },
        "Emails": {
            "$type": f"{_NS}.EmailDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{_NS}.EmailData, Asi.Contracts",
                    "Address": "w@x.org",
                    "EmailType": "Work",
                },
                {
                    "$type": f"{_NS}.EmailData, Asi.Contracts",
                    "Address": "ada@x.org",
                    "EmailType": "_Primary",
                    "IsPrimary": True,
                },
            ],
        },
        "Status": {
            "$type": f"{_NS}.PartyStatusData, Asi.Contracts",
            "PartyStatusId": "A",
            "Name": "Active",
        },
        "UpdateInformation": {
            "$type": "Asi.Soa.Core.DataContracts.EntityUpdateInformationData, Asi.Contracts",
            "CreatedOn": "2017-12-18T00:00:00",
            "UpdatedOn": "2025-11-27T09:30:00",
        },
        "AdditionalAttributes": {
            "$type": "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts",
            "$values": [
                _prop("CustomerTypeCode", "PREM"),
                _prop("IsMember", {"$type": "System.Boolean", "$value": True}),
                _prop("JoinDate", "2017-12-18T00:00:00"),
                _prop("PaidThruDate", "0001-01-01T00:00:00"),
                _prop("BirthYear", {"$type": "System.Int32", "$value": 1977}),
                _prop("Dues", 345.5),
                _prop("Chapter", {"$type": "System.Int32", "$value": 7}),
                _prop("Region"),
                _prop("Notes", omit=True),
            ],
        },
    }
    for key, value in changes.items():
        if value is None:
            party.pop(key, None)
        else:
            party[key] = value
    return party


def _organization() -> dict[str, Any]:
    party = _person(PersonName=None, PrimaryOrganization=None, Name="Analytical Society")
    party["$type"] = f"{_NS}.OrganizationData, Asi.Contracts"
    party["OrganizationName"] = "Analytical Society"
    return party


def _page(*parties: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "$type": "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
            "Items": {"$type": "System.Collections.Generic.List", "$values": list(parties)},
            "Offset": 0,
            "Limit": 500,
            "Count": len(parties),
            "TotalCount": len(parties),
            "HasNext": False,
            "NextOffset": 0,
        }
    )


def _both_routes(body: bytes) -> tuple[list[Party], list[Party], dict[str, Any]]:
    codec = WireCodec(CHICAGO)
    envelope = _party_wire.parse_page(body)
    fast = _decode.parties(codec)(envelope_items(envelope))
    general = _decode.parties(WireCodec(CHICAGO))(orjson.loads(body)["Items"]["$values"])
    return fast, general, envelope


def _assert_same(fast: list[Party], general: list[Party]) -> None:
    assert len(fast) == len(general)
    for one, other in zip(fast, general, strict=True):
        assert type(one) is type(other)
        assert one.__dict__ == other.__dict__
        assert one.model_fields_set == other.model_fields_set
        assert one.model_extra == other.model_extra
        assert one.model_dump() == other.model_dump()


def test_typed_route_reads_a_person_and_an_organization_like_the_general_route() -> None:
    fast, general, envelope = _both_routes(_page(_person(), _organization()))
    assert all(_party_wire.is_wire(row) for row in envelope_items(envelope))
    _assert_same(fast, general)
    person, organization = fast
    assert isinstance(person, Person) and isinstance(organization, Organization)
    assert person.email == "ada@x.org"  # the primary one, not the first
    assert person.customer_type_code == "PREM" and person.is_member is True
    assert person.join_date is not None and person.join_date.tzinfo is CHICAGO
    assert person.paid_thru_date is None  # iMIS's no-date
    assert person.chapter == "7"  # a str field given an int
    assert person.updated_on is not None and person.updated_on.hour == 9
    assert person.model_extra is not None
    assert str(person.model_extra["Dues"]) == "345.5"
    assert person.model_extra["Region"] is None and person.model_extra["Notes"] is None
    assert person.model_extra["PersonName"]["FullName"] == "Ada Lovelace"
    assert person.model_extra["StatusDetail"]["Name"] == "Active"
    assert organization.organization_name == "Analytical Society"


def _unusual(shape: str) -> dict[str, Any]:
    """A person of an unusual shape (still one the typed structs describe)."""
    party = _person()
    values = party["AdditionalAttributes"]["$values"]
    if shape == "no primary email":
        party["Emails"]["$values"][1].pop("IsPrimary")
    elif shape == "one email":
        party["Emails"]["$values"].pop(0)
    elif shape == "no emails":
        party["Emails"]["$values"] = []
    elif shape == "emails without values":
        party["Emails"].pop("$values")
    elif shape == "emails values null":
        party["Emails"]["$values"] = None
    elif shape == "no emails member":
        party.pop("Emails")
    elif shape == "no organization":
        party.pop("PrimaryOrganization")
    elif shape == "party id from id":
        party.pop("PartyId")
    elif shape == "attribute named like a member":
        values.append(_prop("Name", "Overridden"))
    elif shape == "attribute repeated":
        values.append(_prop("Region", "west"))
        values.append(_prop("Region", "east"))
    elif shape == "attribute aliasing a field":
        values.append(_prop("customer_type_code", "STU"))
    elif shape == "attributes in another order":
        values.reverse()
    elif shape == "attribute of mixed types":
        values.append(_prop("Level", {"$type": "System.Int64", "$value": 2**40}))
    elif shape == "date-shaped id":
        party["UniformId"] = "2025-01-01T00:00:00"
    elif shape == "date-shaped name":
        party["Name"] = "2025-01-01T00:00:00.123"
    elif shape == "other member present":
        party["Addresses"] = {"$type": "X", "$values": [{"City": "Chicago", "Lat": 41.8}]}
        party["BirthDate"] = "1815-12-10T00:00:00"
    elif shape == "explicit nulls in parts":
        party["PersonName"]["FirstName"] = None
        party["UpdateInformation"]["UpdatedOn"] = None
    elif shape == "part with unknown member and type":
        party["PersonName"]["$type"] = "Asi.Soa.Membership.DataContracts.PersonNameData, Asi.V2"
        party["PersonName"]["Pronouns"] = "she/her"
    elif shape == "part values of other types":
        party["PersonName"]["FirstName"] = 7
        party["Status"]["PartyStatusId"] = True
    elif shape == "no status":
        party.pop("Status")
    elif shape == "no attributes":
        party.pop("AdditionalAttributes")
    elif shape == "null part":
        party["PrimaryOrganization"] = None
    elif shape == "part as a string":
        party["Status"] = "A"
    elif shape == "date-shaped text as a part":
        party["Addresses"] = "2025-01-01T00:00:00"  # kept as received, not read as a date
    return party


_SHAPES = [
    "no primary email",
    "one email",
    "no emails",
    "emails without values",
    "emails values null",
    "no emails member",
    "no organization",
    "party id from id",
    "attribute named like a member",
    "attribute repeated",
    "attribute aliasing a field",
    "attributes in another order",
    "attribute of mixed types",
    "date-shaped id",
    "date-shaped name",
    "other member present",
    "explicit nulls in parts",
    "part with unknown member and type",
    "part values of other types",
    "no status",
    "no attributes",
    "null part",
    "part as a string",
    "date-shaped text as a part",
]


@pytest.mark.parametrize("shape", _SHAPES)
def test_unusual_shapes_give_the_same_models_either_way(shape: str) -> None:
    fast, general, envelope = _both_routes(_page(_unusual(shape), _organization()))
    assert all(_party_wire.is_wire(row) for row in envelope_items(envelope))
    _assert_same(fast, general)


@pytest.mark.parametrize(
    ("shape", "left"),
    [
        ("one email", []),
        ("no primary email", []),
        ("no emails", []),
        ("no emails member", []),
        ("no organization", []),
        ("attributes in another order", []),
        ("other member present", []),
        ("explicit nulls in parts", []),
        ("part with unknown member and type", []),
        ("part values of other types", []),
        ("no attributes", []),
        ("attribute repeated", [1]),
        ("attribute named like a member", [1]),
        ("date-shaped id", [0, 1]),
        ("no status", [1]),
        ("null part", [0, 1, 2]),  # a part its view cannot read: the page goes the general way
        ("part as a string", [0, 1, 2]),
    ],
)
def test_the_page_builder_takes_the_common_shapes_and_leaves_the_rest(
    shape: str, left: list[int]
) -> None:
    """Rows are left to the general route a shape at a time: a date-shaped id sends the usual
    person of the same shape there too."""
    envelope = _party_wire.parse_page(_page(_person(), _unusual(shape), _organization()))
    models, leftover = _party_wire.build_page(WireCodec(CHICAGO), envelope_items(envelope))
    assert leftover == left
    assert all((model is None) == (i in left) for i, model in enumerate(models))


@pytest.mark.parametrize("shape", ["usual", "organization", *_SHAPES])
def test_a_page_of_one_shape_is_told_in_one_pass_as_row_by_row(shape: str) -> None:
    one = _person() if shape == "usual" else _organization() if shape == "organization" else None
    party = one if one is not None else _unusual(shape)
    rows = envelope_items(_party_wire.parse_page(_page(party, copy.deepcopy(party))))
    if shape in ("null part", "part as a string"):
        with pytest.raises(msgspec.ValidationError):  # the page goes the general way
            _party_wire._columns(rows)
        return
    columns = _party_wire._columns(rows)
    per_row = _party_wire._shapes(columns, len(rows))
    assert _party_wire._page_shape(columns, len(rows)) == per_row[0] == per_row[1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["usual", "organization", *_SHAPES]), max_size=40))
def test_a_page_of_mixed_shapes_gives_the_models_in_order(shapes: list[str]) -> None:
    """Rows of one shape are built together; the page keeps its order whatever the mix."""
    parties = []
    for number, shape in enumerate(shapes):
        party = (
            _person()
            if shape == "usual"
            else _organization()
            if shape == "organization"
            else _unusual(shape)
        )
        party["Id"] = str(50000 + number)
        parties.append(party)
    fast, general, envelope = _both_routes(_page(*parties))
    assert all(_party_wire.is_wire(row) for row in envelope_items(envelope))
    _assert_same(fast, general)
    assert [party.id for party in fast] == [p["Id"] for p in parties]


@pytest.mark.parametrize(
    "change",
    ["unknown member", "unknown type name", "unknown scalar type", "list as a value", "int id"],
)
def test_pages_the_structs_do_not_describe_are_read_the_general_way(change: str) -> None:
    party = _person()
    if change == "unknown member":
        party["LoyaltyTier"] = {"$type": "Custom.Tier, Custom", "Level": 3}
    elif change == "unknown type name":
        party["$type"] = "Asi.Soa.Membership.DataContracts.PersonData, Asi.V2"
    elif change == "unknown scalar type":
        party["AdditionalAttributes"]["$values"].append(
            _prop("Key", {"$type": "System.Guid", "$value": "a-b"})
        )
    elif change == "list as a value":
        party["AdditionalAttributes"]["$values"].append(_prop("Tags", ["a", "b"]))
    elif change == "int id":
        party["PartyId"] = 40125
    fast, general, envelope = _both_routes(_page(party))
    assert not _party_wire.is_wire(envelope_items(envelope)[0])
    _assert_same(fast, general)
    if change == "unknown member":
        assert fast[0].model_extra is not None
        assert fast[0].model_extra["LoyaltyTier"] == {"Level": 3}  # kept, not dropped


def test_a_body_that_is_not_json_raises_as_before() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        _party_wire.parse_page(b"<html>gateway timeout</html>")


def test_emulator_parties_read_the_same_either_way(emu: Any) -> None:
    with Client(
        emu.base_url, username=emu.username, password=emu.password, use_keyring=False
    ) as imis:
        raw = imis.request("GET", "/api/Party", params={"limit": 500})
        fast = imis.parties.list().to_list()
    general = _decode.parties(WireCodec(fast[0].join_date.tzinfo))(raw["Items"]["$values"])  # type: ignore[union-attr]
    assert len(fast) == raw["TotalCount"] and {type(p) for p in fast} == {Person, Organization}
    _assert_same(fast, general[: len(fast)])


def test_build_takes_the_first_of_two_keys_for_one_field_and_converts_types() -> None:
    person = build(Person, {"PartyId": 7, "party_id": "8", "IsMember": "yes", "Extra": [1]})
    assert person.party_id == "7" and person.is_member is True
    assert person.model_extra == {"Extra": [1]}
    again = build(Person, {"PartyId": "9", "IsMember": False})
    assert again.party_id == "9" and again.is_member is False and again.model_extra == {}
    missing = build(Person, {"Name": "x"})
    assert "party_id" not in missing.__dict__ and missing.model_fields_set == {"name"}


def test_gc_pauses_nest_and_restore_what_was_there() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_overlapping_pauses_in_threads_switch_the_collector_back_on_once() -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gc_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(5)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the worker's pause is still on
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_parse_page_leaves_the_body_untouched() -> None:
    body = _page(_person())
    before = copy.copy(body)
    _party_wire.parse_page(body)
    assert body == before


def _with_contacts() -> bytes:
    address = {
        "$type": f"{_NS}.FullAddressData, Asi.Contracts",
        "Address": {
            "$type": f"{_NS}.AddressData, Asi.Contracts",
            "AddressLines": {"$type": f"{_NS}.AddressLineDataCollection", "$values": ["1 Elm"]},
            "CityName": "Leeds",
            "Latitude": 53.8,  # a fraction: kept as received, not made a Decimal
        },
        "IsPreferredMail": True,
    }
    phone = {"$type": f"{_NS}.PhoneData, Asi.Contracts", "Number": "0113", "PhoneType": "_Phone"}
    return _page(
        _person(
            Addresses={"$type": f"{_NS}.FullAddressDataCollection", "$values": [address]},
            Phones={"$type": f"{_NS}.PhoneDataCollection", "$values": [phone]},
        )
    )


_READERS = {
    "model_extra": lambda p: p.model_extra,
    "attribute": lambda p: {"Addresses": p.Addresses, "Phones": p.Phones},
    "model_dump": lambda p: p.model_dump(),
    "model_dump_json": lambda p: orjson.loads(p.model_dump_json()),
    "nested in a dump": lambda p: TypeAdapter(list[Person]).dump_python([p])[0],
    "pickle": lambda p: pickle.loads(pickle.dumps(p)).model_extra,
    "deepcopy": lambda p: copy.deepcopy(p).model_extra,
    "model_copy": lambda p: p.model_copy(update={"name": "x"}).model_extra,
    "repr": lambda p: "'CityName': 'Leeds'" in repr(p) and "Raw" not in repr(p),
    "typed views": lambda p: (p.addresses, p.phones),
}


@pytest.mark.parametrize("reader", list(_READERS))
def test_composite_parts_wait_as_json_text_until_anything_reads_the_extras(reader: str) -> None:
    (fast,), (general,), _ = _both_routes(_with_contacts())
    waiting = _EXTRA_SLOT.__get__(fast)
    assert set(_DEFERRED) <= set(waiting)  # every part: name, emails, status, addresses...
    assert all(type(waiting[key]) is msgspec.Raw for key in _DEFERRED)
    assert fast.first_name == "Ada" and fast.email == "ada@x.org"  # read without decoding them
    assert type(_EXTRA_SLOT.__get__(fast)["PersonName"]) is msgspec.Raw
    assert _READERS[reader](fast) == _READERS[reader](general)
    assert fast == general  # and nothing is left as text afterwards
    assert not any(type(value) is msgspec.Raw for value in _EXTRA_SLOT.__get__(fast).values())
    (address,) = fast.addresses
    assert address.city == "Leeds" and address.lines == ("1 Elm",) and address.is_preferred_mail
    assert fast.model_extra["Addresses"]["$values"][0]["Address"]["Latitude"] == 53.8  # type: ignore[index]
