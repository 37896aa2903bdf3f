"""Query pages parsed into learned row structs give exactly the rows of the general route."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imis_tier.client import Client, WireCodec, _decode, _query_wire
from imis_tier.client._paging import envelope_items

from .conftest import async_client_for

CHICAGO = ZoneInfo("America/Chicago")
_ROW = "System.Dynamic.ExpandoObject, System.Core"


def _body(rows: list[dict[str, Any]], offset: int = 0) -> bytes:
    return orjson.dumps(
        {
            "$type": "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
            "Items": {"$type": "System.Collections.Generic.List`1", "$values": rows},
            "Offset": offset,
            "Limit": 500,
            "Count": len(rows),
            "TotalCount": 10_000,
            "HasNext": True,
            "NextOffset": offset + len(rows),
        }
    )


def _row(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "$type": _ROW,
        "ID": str(40_000 + n),
        "Email": f"member.{n}@example.org",
        "MemberType": "REG",
        "IsMember": True,
        "JoinDate": f"20{10 + n % 15:02d}-0{1 + n % 9}-01T00:00:00",
        "BirthYear": 1960 + n % 40,
        "Balance": n + 0.25,
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}  # ``...`` leaves a member out


def _general(codec: WireCodec, body: bytes) -> list[dict[str, Any]]:
    return codec.decode_flat_rows(envelope_items(orjson.loads(body)))


def _typed(rows: list[dict[str, Any]]) -> list[list[tuple[str, type, Any]]]:
    """Rows with each value's type, so an int is not taken for an equal Decimal or bool."""
    return [sorted((k, type(v), v) for k, v in row.items()) for row in rows]


def _read(pages: _query_wire.QueryPages, codec: WireCodec, body: bytes) -> tuple[bool, Any]:
    rows = envelope_items(pages(body))
    return _query_wire.is_wire(rows[0]), _decode.query_rows(codec)(rows)


def test_first_page_is_learned_and_later_pages_take_the_struct_route() -> None:
    codec, pages = WireCodec(CHICAGO), _query_wire.QueryPages()
    first, second = _body([_row(n) for n in range(5)]), _body([_row(n) for n in range(5, 9)], 5)
    assert _read(pages, codec, first)[0] is False
    wired, rows = _read(pages, codec, second)
    assert wired is True
    assert _typed(rows) == _typed(_general(codec, second))
    assert rows[0]["JoinDate"].tzinfo is CHICAGO
    assert rows[0]["Balance"] == Decimal("5.25") and type(rows[0]["BirthYear"]) is int
    assert "$type" not in rows[0]


def test_a_page_that_does_not_fit_takes_the_general_route_and_widens_the_columns() -> None:
    codec, pages = WireCodec(CHICAGO), _query_wire.QueryPages()
    _read(pages, codec, _body([_row(n) for n in range(3)]))
    misfits = {
        "a new column": _row(3, Region="midwest"),
        "a date where values were short": _row(3, MemberType="2025-01-01T00:00:00"),
        "a fraction where numbers were whole": _row(3, BirthYear=1970.5),
        "a string where numbers were": _row(3, BirthYear="unknown"),
        "another $type": _row(3, **{"$type": "Something.Else, X"}),
    }
    for what, misfit in misfits.items():
        body = _body([_row(4), misfit])
        wired, rows = _read(pages, codec, body)
        assert wired is False, what
        assert _typed(rows) == _typed(_general(codec, body)), what
        again = _body([misfit, _row(5)])
        wired, rows = _read(pages, codec, again)
        if what != "another $type":  # learned: the same shape now fits
            assert wired is True, what
        assert _typed(rows) == _typed(_general(codec, again)), what


def test_rows_holding_wrapped_values_always_take_the_general_route() -> None:
    codec, pages = WireCodec(CHICAGO), _query_wire.QueryPages()
    wrapped = {"$type": "System.Decimal", "$value": 12.5}
    for n in range(3):
        body = _body([_row(n, Balance=wrapped), _row(n + 1)])
        wired, rows = _read(pages, codec, body)
        assert wired is False
        assert rows[0]["Balance"] == Decimal("12.5")


def test_missing_members_stay_missing_and_explicit_nulls_stay_null() -> None:
    codec, pages = WireCodec(CHICAGO), _query_wire.QueryPages()
    _read(pages, codec, _body([_row(0, Email=None), _row(1, JoinDate=...)]))
    body = _body([_row(2, JoinDate=..., Email=None), _row(3, Balance=..., MemberType=None)])
    wired, rows = _read(pages, codec, body)
    assert wired is True
    assert "JoinDate" not in rows[0] and rows[0]["Email"] is None
    assert "Balance" not in rows[1] and rows[1]["MemberType"] is None
    assert _typed(rows) == _typed(_general(codec, body))


def test_no_date_and_long_text_columns_decode_as_the_general_route_does() -> None:
    codec, pages = WireCodec(CHICAGO), _query_wire.QueryPages()
    _read(pages, codec, _body([_row(0, Note="a note that is long enough to be a date")]))
    body = _body(
        [
            _row(1, JoinDate="0001-01-01T00:00:00", Note="2024-06-30T12:30:00.123"),
            _row(2, Note="no date here at all, just text"),
        ]
    )
    wired, rows = _read(pages, codec, body)
    assert wired is True
    assert rows[0]["JoinDate"] is None
    assert rows[0]["Note"].microsecond == 123_000 and rows[1]["Note"].startswith("no date")
    assert _typed(rows) == _typed(_general(codec, body))


_KINDS = {
    "short": st.text(max_size=18),
    "text": st.text(min_size=0, max_size=40),
    "date": st.datetimes().map(lambda d: d.replace(microsecond=0).isoformat()),
    "int": st.integers(-(2**40), 2**40),
    "bool": st.booleans(),
    "money": st.decimals(-(10**6), 10**6, places=2).map(float),
    "mixed": st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=25), st.booleans()),
}


@st.composite
def _pages(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    columns = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=12).filter(lambda k: k != "$type"),
            st.sampled_from(sorted(_KINDS)),
            min_size=1,
            max_size=6,
        )
    )
    pages = []
    for _ in range(draw(st.integers(2, 4))):
        rows = []
        for _ in range(draw(st.integers(1, 6))):
            row: dict[str, Any] = {"$type": _ROW}
            for key, kind in columns.items():
                present = draw(st.sampled_from(("value", "value", "value", "null", "missing")))
                if present == "value":
                    row[key] = draw(_KINDS[kind])
                elif present == "null":
                    row[key] = None
            rows.append(row)
        pages.append(rows)
    return pages


@settings(max_examples=150, deadline=None)
@given(_pages())
def test_random_pages_read_the_same_by_either_route(pages: list[list[dict[str, Any]]]) -> None:
    codec, parser = WireCodec(CHICAGO), _query_wire.QueryPages()
    for n, rows in enumerate(pages):
        body = _body(rows, offset=n * 10)
        _, decoded = _read(parser, codec, body)
        assert _typed(decoded) == _typed(_general(WireCodec(CHICAGO), body))


def _expected(imis: Client, name: str, size: int, total: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for offset in range(0, total, size):
        envelope = imis.request(
            "GET", "/api/query", params={"QueryName": name, "limit": size, "offset": offset}
        )
        rows += imis.codec.decode_flat_rows(envelope_items(envelope))
    return rows


def test_a_query_through_the_client_reads_every_row_as_the_general_route(
    imis: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    build_rows = _query_wire.build_rows

    def counted(codec: WireCodec, rows: list[Any]) -> list[dict[str, Any]]:
        built.append(len(rows))
        return build_rows(codec, rows)

    monkeypatch.setattr(_query_wire, "build_rows", counted)
    rows = imis.query("$/Tier/Members", limit=60).to_list()
    assert len(rows) == 300
    assert built == [60, 60, 60, 60]  # the first page is learned from, the others are structs
    assert _typed(rows) == _typed(_expected(imis, "$/Tier/Members", 60, 300))


async def test_the_async_client_reads_the_same_rows(emu: Any, imis: Client) -> None:
    async with async_client_for(emu) as client:
        rows = await client.query("$/Tier/Members", limit=60).to_list()
    assert _typed(rows) == _typed(_expected(imis, "$/Tier/Members", 60, 300))
