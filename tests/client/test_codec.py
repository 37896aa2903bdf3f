"""The wire codec: $type/$values/$value, zone-less dates, omitted nulls, GenericEntityData."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imis_tier.client import Entity, WireCodec
from imis_tier.client._codec import dumps, identity_key

CHICAGO = ZoneInfo("America/Chicago")
codec = WireCodec(CHICAGO)

# The GenericEntityData example of imis-api.md §3, verbatim.
CERT_HOURS = {
    "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
    "EntityTypeName": "Cert_Hours",
    "PrimaryParentEntityTypeName": "Party",
    "Identity": {
        "$type": "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts",
        "EntityTypeName": "Cert_Hours",
        "IdentityElements": {
            "$type": "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib",
            "$values": ["40125", "3"],
        },
    },
    "PrimaryParentIdentity": {
        "$type": "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts",
        "EntityTypeName": "Party",
        "IdentityElements": {
            "$type": "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib",
            "$values": ["40125"],
        },
    },
    "Properties": {
        "$type": "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts",
        "$values": [
            {
                "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                "Name": "ID",
                "Value": "40125",
            },
            {
                "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                "Name": "SEQN",
                "Value": {"$type": "System.Int32", "$value": 3},
            },
            {
                "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                "Name": "Hours",
                "Value": {"$type": "System.Decimal", "$value": 7.5},
            },
            {
                "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                "Name": "Verified",
                "Value": {"$type": "System.Boolean", "$value": True},
            },
            {
                "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                "Name": "EarnedOn",
                "Value": "2024-11-02T00:00:00",
            },
            {
                "$type": "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts",
                "Name": "Notes",
            },
        ],
    },
}


def test_generic_entity_data_decodes_to_typed_properties():
    entity = codec.decode_entity(orjson.loads(orjson.dumps(CERT_HOURS)))
    assert entity.entity_type == "Cert_Hours"
    assert entity.identity == ("40125", "3")
    assert entity.key == "~40125|3"
    assert entity.parent_type == "Party" and entity.parent_identity == ("40125",)
    assert entity.properties == {
        "ID": "40125",
        "SEQN": 3,
        "Hours": Decimal("7.5"),
        "Verified": True,
        "EarnedOn": datetime(2024, 11, 2, tzinfo=CHICAGO),
        "Notes": None,
    }
    assert isinstance(entity["Hours"], Decimal) and entity["EarnedOn"].tzinfo is CHICAGO


def test_encode_entity_writes_the_documented_shape():
    entity = Entity(
        "Cert_Hours",
        {"ID": "40125", "Hours": Decimal("7.50"), "Notes": None},
        ("40125", "3"),
        "Party",
        ("40125",),
    )
    wire = orjson.loads(dumps(codec.encode_entity(entity)))
    assert wire["$type"] == CERT_HOURS["$type"]
    assert wire["Identity"]["IdentityElements"]["$values"] == ["40125", "3"]
    props = {p["Name"]: p for p in wire["Properties"]["$values"]}
    assert props["Hours"]["Value"] == {"$type": "System.Decimal", "$value": 7.5}
    assert "Value" not in props["Notes"]  # nulls are omitted, not sent as null
    assert b'"$value":7.50' in dumps(codec.encode_entity(entity))  # exact digits on the wire


def test_dates_are_local_time_of_the_association():
    assert codec.parse_date("2025-07-01T09:30:00") == datetime(2025, 7, 1, 9, 30, tzinfo=CHICAGO)
    assert codec.parse_date("0001-01-01T00:00:00") is None
    assert codec.parse_date("2025-07-01T09:30:00.1234567").microsecond == 123456
    assert codec.format_date(datetime(2025, 7, 1, 14, 30, tzinfo=UTC)) == "2025-07-01T09:30:00"
    assert codec.format_date(date(2025, 1, 2)) == "2025-01-02T00:00:00"
    with pytest.raises(ValueError, match="naive datetime"):
        codec.format_date(datetime(2025, 1, 1))


def test_decode_unwraps_collections_values_and_bytes():
    wire = {
        "$type": "X",
        "List": {"$type": "List", "$values": [1, {"$type": "System.Int64", "$value": 2}]},
        "Raw": {"$type": "System.Byte[], mscorlib", "$value": "aGk="},
        "Double": {"$type": "System.Double", "$value": 0.5},
        "Money": 12.25,
        "Identity": {
            "$type": "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts",
            "IdentityElements": {"$values": ["7"]},
        },
    }
    assert codec.decode(wire) == {
        "List": [1, 2],
        "Raw": b"hi",
        "Double": 0.5,
        "Money": Decimal("12.25"),
        "Identity": ("7",),
    }


def test_flat_query_rows_decode_fast_path_like_the_general_one():
    row = {
        "$type": "System.Dynamic.ExpandoObject, System.Core",
        "ID": "40125",
        "PaidThrough": "2025-12-31T00:00:00",
        "IsActive": True,
        "Dues": 250.0,
        "Name": "Ada",
    }
    assert codec.decode_flat_row(row) == codec.decode(row)
    assert codec.decode_flat_row(row)["PaidThrough"] == datetime(2025, 12, 31, tzinfo=CHICAGO)


def test_identity_keys():
    assert identity_key(("40125",)) == "40125"
    assert identity_key(("40125", "3")) == "~40125|3"
    with pytest.raises(ValueError):
        identity_key(())


def test_unsendable_values_name_the_type():
    with pytest.raises(TypeError, match="complex"):
        codec.encode_value(1j)


# ---------------------------------------------------------------- round trips
_names = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12
)
_not_date_text = st.text(max_size=30).filter(lambda s: "T" not in s[10:11] or len(s) < 19)
_aware = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, CHICAGO, timezone(timedelta(hours=5, minutes=30))]),
)


def _unambiguous(moment: datetime) -> bool:
    # The fall-back hour happens twice in local time; a zone-less wire cannot tell which.
    local = moment.astimezone(CHICAGO)
    return local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset()


_aware = _aware.filter(_unambiguous)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    # JSON numbers are read as doubles: decimals are exact to 15 significant digits, which
    # covers any amount iMIS stores (money with 4 places below 100 billion)
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**10), max_value=10**10
    ),
    st.floats(allow_nan=False, allow_infinity=False),
    _not_date_text,
    st.binary(max_size=20),
    _aware,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(_names, _values, max_size=8),
    st.lists(st.integers(0, 10**6).map(str), min_size=1, max_size=2),
)
def test_generic_entity_round_trip(properties, identity):
    entity = Entity("Thing", properties, tuple(identity), "Party", (identity[0],))
    back = codec.decode_entity(orjson.loads(dumps(codec.encode_entity(entity))))
    assert back == entity
    for name, value in properties.items():
        if isinstance(value, datetime):
            assert back[name].tzinfo is CHICAGO  # same instant, shown in the association's zone


@settings(max_examples=200, deadline=None)
@given(_aware)
def test_dates_round_trip_through_local_time(moment):
    assert codec.parse_date(codec.format_date(moment)) == moment


def test_column_wise_query_decoding_equals_row_wise() -> None:
    import copy

    same_shape = [
        {"ID": "1", "Paid": "2025-12-31T00:00:00", "Note": "ratio 3:1", "Amount": 12.5, "On": True},
        {"ID": "2", "Paid": "0001-01-01T00:00:00", "Note": "plain", "Amount": 3, "On": False},
        {"ID": "3", "Paid": "2024-02-29T08:30:00", "Note": "at 10:30", "Amount": 0.1, "On": True},
    ]
    mixed = [*same_shape, {"ID": "4", "Other": "2025-01-01T00:00:00"}]
    for rows in (same_shape, mixed):
        expected = [codec.decode_flat_row(r) for r in copy.deepcopy(rows)]
        assert codec.decode_flat_rows(copy.deepcopy(rows)) == expected
    decoded = codec.decode_flat_rows(copy.deepcopy(same_shape))
    assert decoded[0]["Note"] == "ratio 3:1" and decoded[0]["Paid"].tzinfo is CHICAGO


def test_codec_time_zone_is_fixed_once_dates_are_cached() -> None:
    with pytest.raises(AttributeError):
        codec.tz = UTC  # type: ignore[misc]


def test_a_column_of_new_dates_is_read_as_each_value_alone_would_be() -> None:
    column = [
        "2025-12-31T00:00:00",
        "2025-12-31T00:00:00",  # repeated within the column
        "2024-03-10T02:30:00.5",
        "2025-06-01T12:00:00Z",
        "2025-06-01T14:00:00+02:00",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00.000",
        "at 10:30",
        "2025-01-01T00:00:00 and more",
        None,
    ]
    fresh = WireCodec(CHICAGO)
    expected = [v if v is None else WireCodec(CHICAGO).text(v) for v in column]
    assert fresh.scalar_column(column) == expected
    assert fresh.scalar_column(column) == expected  # now from the cache
    assert expected[5] is None and expected[3] == expected[4]


def test_a_date_shaped_string_that_is_no_date_is_named_in_a_column_too() -> None:
    with pytest.raises(ValueError, match="2025-02-30T00:00:00"):
        WireCodec(CHICAGO).scalar_column(["2025-01-01T00:00:00", "2025-02-30T00:00:00"])
