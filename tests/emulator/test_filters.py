"""Every filter operator (aliases and capitalised forms), AND, OrderBy, bad filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from ._helpers import attributes, items, props


def _all(api: httpx.Client, entity: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = api.get(f"/api/{entity}", params={**params, "limit": 500, "offset": offset}).json()
        assert "Items" in body, body
        out.extend(body["Items"]["$values"])
        if not body["HasNext"]:
            return out
        offset = body["NextOffset"]


@pytest.fixture(scope="module")
def people(imis_emulator: Any) -> list[dict[str, Any]]:
    from ._helpers import client_for

    with client_for(imis_emulator) as api:
        return _all(api, "Person")


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["PartyId"] for r in rows}


def _where(people: list[dict[str, Any]], test: Any) -> set[str]:
    return {p["PartyId"] for p in people if test(p)}


def _type(p: dict[str, Any]) -> str:
    return str(attributes(p)["CustomerTypeCode"])


def _paid(p: dict[str, Any]) -> str:
    return str(attributes(p)["PaidThruDate"])


CASES = [
    ("CustomerTypeCode", "{op}:STD", ["eq", "==", "Eq", "EQ"], lambda p: _type(p) == "STD"),
    ("CustomerTypeCode", "STD", [""], lambda p: _type(p) == "STD"),
    ("CustomerTypeCode", "{op}:STD", ["ne", "!=", "Ne"], lambda p: _type(p) != "STD"),
    (
        "PaidThruDate",
        "{op}:2025-06-01",
        ["gt", ">", "Gt"],
        lambda p: _paid(p) > "2025-06-01T00:00:00",
    ),
    (
        "PaidThruDate",
        "{op}:2025-06-01T00:00:00",
        ["ge", ">="],
        lambda p: _paid(p) >= "2025-06-01T00:00:00",
    ),
    (
        "PaidThruDate",
        "{op}:2025-06-01",
        ["lt", "<", "Lt"],
        lambda p: "0001" < _paid(p) < "2025-06-01T00:00:00",
    ),
    (
        "PaidThruDate",
        "{op}:2025-06-01",
        ["le", "<="],
        lambda p: "0001" < _paid(p) <= "2025-06-01T00:00:00",
    ),
    (
        "LastName",
        "{op}:an",
        ["contains", "Contains"],
        lambda p: "an" in p["PersonName"]["LastName"].lower(),
    ),
    (
        "LastName",
        "{op}:an",
        ["notContain", "!contain", "NotContain"],
        lambda p: "an" not in p["PersonName"]["LastName"].lower(),
    ),
    (
        "FirstName",
        "{op}:a",
        ["startsWith", "StartsWith"],
        lambda p: p["PersonName"]["FirstName"].lower().startswith("a"),
    ),
    (
        "FirstName",
        "{op}:a",
        ["endsWith", "EndsWith"],
        lambda p: p["PersonName"]["FirstName"].lower().endswith("a"),
    ),
    (
        "BirthYear",
        "{op}:1970|1979",
        ["between", "Between"],
        lambda p: 1970 <= attributes(p)["BirthYear"] <= 1979,
    ),
    ("CustomerTypeCode", "{op}:STU|PREM", ["in", "In"], lambda p: _type(p) in ("STU", "PREM")),
    ("Autopay", "{op}", ["isTrue", "true", "IsTrue"], lambda p: attributes(p)["Autopay"] is True),
    (
        "Autopay",
        "{op}",
        ["isFalse", "false", "IsFalse"],
        lambda p: attributes(p)["Autopay"] is not True,
    ),
]


@pytest.mark.parametrize(("prop", "template", "ops", "expected"), CASES)
def test_operator_and_aliases(
    api: httpx.Client,
    people: list[dict[str, Any]],
    prop: str,
    template: str,
    ops: list[str],
    expected: Any,
) -> None:
    want = _where(people, expected)
    assert want, "the case must select something to be meaningful"
    for op in ops:
        got = _ids(_all(api, "Person", **{prop: template.format(op=op)}))
        assert got == want, f"{prop}={template.format(op=op)}"


def test_is_empty_and_not_empty(api: httpx.Client) -> None:
    parties = _all(api, "Party")
    persons = {p["PartyId"] for p in parties if "PersonName" in p}
    for op in ("isEmpty", "empty", "IsEmpty"):
        assert _ids(_all(api, "Party", FirstName=op)) == {p["PartyId"] for p in parties} - persons
    for op in ("notEmpty", "!empty", "NotEmpty"):
        assert _ids(_all(api, "Party", firstname=f"{op}:")) == persons


def test_filters_and_together_and_names_are_case_insensitive(
    api: httpx.Client, people: list[dict[str, Any]]
) -> None:
    want = _where(
        people, lambda p: _type(p) in ("STD", "PREM") and p["Status"]["PartyStatusId"] == "A"
    )
    got = _ids(_all(api, "Person", customertypecode="in:STD|PREM", STATUS="eq:A"))
    assert got == want and want


def test_incremental_updatedon_filter(api: httpx.Client) -> None:
    rows = _all(api, "Activity", UpdatedOn="gt:2026-06-01T00:00:00")
    assert rows
    assert all(props(r)["UpdatedOn"] > "2026-06-01T00:00:00" for r in rows)
    assert len(rows) < api.get("/api/Activity", params={"limit": 1}).json()["TotalCount"]


def test_filter_on_business_object_properties(api: httpx.Client) -> None:
    rows = _all(api, "Activity", ACTIVITY_TYPE="MENTORING", units="ge:1")
    assert rows and {props(r)["ACTIVITY_TYPE"] for r in rows} == {"MENTORING"}
    assert all(props(r)["UNITS"] >= 1 for r in rows)
    one = _all(api, "EventRegistration", limit=1)[0]
    both = _all(api, "EventRegistration", EventId=one["EventId"], PartyId=one["PartyId"])
    assert [r["EventRegistrationId"] for r in both] == [f"{one['EventId']}-{one['PartyId']}"]


def test_order_by_ascending_and_descending(api: httpx.Client) -> None:
    up = [
        p["PersonName"]["LastName"].lower()
        for p in items(api.get("/api/Person", params={"OrderBy": "LastName", "limit": 500}))
    ]
    down = [
        p["PersonName"]["LastName"].lower()
        for p in items(
            api.get("/api/Person", params={"orderby": "lastname:Descending", "limit": 500})
        )
    ]
    assert up == sorted(up) and down == sorted(down, reverse=True)
    dates = [
        datetime.fromisoformat(props(a)["TRANSACTION_DATE"])
        for a in items(
            api.get(
                "/api/Activity", params={"OrderBy": "TRANSACTION_DATE:Descending", "limit": 300}
            )
        )
    ]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"NoSuchProperty": "x"}, "NoSuchProperty"),
        ({"LastName": "sortof:x"}, "sortof"),
        ({"BirthYear": "gt:abc"}, "BirthYear"),
        ({"BirthYear": "between:1970"}, "between"),
        ({"OrderBy": "Nope:Descending"}, "Nope"),
        ({"UpdatedOn": "gt:yesterday"}, "UpdatedOn"),
    ],
)
def test_bad_filters_are_400_naming_the_culprit(
    api: httpx.Client, params: dict[str, str], named: str
) -> None:
    r = api.get("/api/Person", params=params)
    assert r.status_code == 400
    assert r.json()["$type"] == "System.Web.Http.HttpError, System.Web.Http"
    assert named in r.json()["Message"]
