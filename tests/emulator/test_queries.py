"""/api/query (ExpandoObject rows) and legacy /api/iqa (GenericEntityData rows) over named queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pandas as pd
import pytest

from imis_tier.emulator import Emulator, Prompt
from imis_tier.emulator._core import _PageCache
from imis_tier.extracts import EXTRACTS

from ._helpers import items, props

EXPANDO = "System.Dynamic.ExpandoObject, System.Core"


def _query(
    api: httpx.Client, name: str, *parameters: str, endpoint: str = "query", **extra: Any
) -> httpx.Response:
    params: list[tuple[str, Any]] = [
        ("QueryName", name),
        *[("parameter", p) for p in parameters],
        *extra.items(),
    ]
    return api.get(f"/api/{endpoint}", params=params)


def test_query_rows_are_flat_expando_objects(api: httpx.Client) -> None:
    body = _query(api, "$/Tier/Members", "", limit=5).json()
    assert body["$type"] == "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts"
    assert (
        body["Items"]["$type"]
        == "System.Collections.Generic.List`1[[System.Object, mscorlib]], mscorlib"
    )
    row = body["Items"]["$values"][0]
    assert row["$type"] == EXPANDO
    assert (
        isinstance(row["ID"], str)
        and isinstance(row["IsMember"], bool)
        and isinstance(row["BirthYear"], int)
    )
    assert row["JoinDate"].count(":") == 2 and "+" not in row["JoinDate"]
    assert (body["Count"], body["Limit"]) == (5, 5) and body["TotalCount"] > 5


def test_every_extraction_query_is_served_with_its_aliases(api: httpx.Client) -> None:
    for extract in EXTRACTS:
        body = _query(api, extract.query, "", limit=3).json()
        assert body["TotalCount"] > 0, extract.query
        row = body["Items"]["$values"][0]
        required = {c.alias for c in extract.columns if c.required}
        assert required <= set(row), (extract.query, required - set(row))
        assert set(row) - {"$type"} <= {c.alias for c in extract.columns}


def test_since_parameter_filters_updated_on(api: httpx.Client) -> None:
    everything = _query(api, "$/ImisTier/Activities", "", limit=1).json()["TotalCount"]
    since = _query(api, "$/ImisTier/Activities", "2026-06-01T00:00:00", limit=500).json()
    assert 0 < since["TotalCount"] < everything
    assert all(r["UpdatedOn"] > "2026-06-01T00:00:00" for r in since["Items"]["$values"])


def test_money_is_exact_decimal_on_the_wire(api: httpx.Client) -> None:
    raw = _query(api, "$/ImisTier/BillingItems", "").text
    assert '"Price":345.00' in raw  # STD after the price change, cents kept
    body = _query(api, "$/ImisTier/BillingItems", "").json()
    assert {r["TierCode"]: Decimal(str(r["Price"])) for r in body["Items"]["$values"]}[
        "STD"
    ] == Decimal("345")


def test_member_features_as_of_uses_history_before_the_date(api: httpx.Client) -> None:
    now = {r["ID"]: r for r in items(_query(api, "$/Tier/MemberFeatures", "", limit=500))}
    then = {
        r["ID"]: r for r in items(_query(api, "$/Tier/MemberFeatures", "2024-01-01", limit=500))
    }
    assert len(then) < len(now)  # fewer had joined by then
    assert all(r["JoinDate"] < "2024-01-01" for r in then.values())
    assert {r["AsOf"] for r in then.values()} == {"2024-01-01T00:00:00"}
    assert sum(r["Logins12m"] for r in now.values()) > 0
    bad = _query(api, "$/Tier/MemberFeatures", "not-a-date")
    assert bad.status_code == 400 and "not-a-date" in bad.json()["Message"]


def test_iqa_rows_are_generic_entities_with_result_row_first(api: httpx.Client) -> None:
    body = _query(api, "$/Tier/Members", "", endpoint="iqa", limit=3, offset=3).json()
    rows = body["Items"]["$values"]
    assert rows[0]["$type"] == "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"
    assert rows[0]["EntityTypeName"].isdigit()
    assert [r["Properties"]["$values"][0]["Name"] for r in rows] == ["ResultRow"] * 3
    assert [props(r)["ResultRow"] for r in rows] == ["4", "5", "6"]
    by_name = {p["Name"]: p.get("Value") for p in rows[0]["Properties"]["$values"]}
    assert by_name["IsMember"]["$type"] == "System.Boolean"
    assert by_name["BirthYear"] == {
        "$type": "System.Int32",
        "$value": by_name["BirthYear"]["$value"],
    }


def test_iqa_positional_parameters_with_eq_prefix_and_aliases(api: httpx.Client) -> None:
    plain = _query(api, "$/Tier/MembersByType", "STD", endpoint="iqa", limit=500).json()
    prefixed = _query(api, "$/Tier/MembersByType", "eq:STD", endpoint="iqa", limit=500).json()
    assert plain["TotalCount"] == prefixed["TotalCount"] > 0
    assert {props(r)["MemberType"] for r in plain["Items"]["$values"]} == {"STD"}
    by_path = api.get(
        "/api/iqa", params={"QueryPath": "$/Tier/MembersByType", "parameter": "STD"}
    ).json()
    assert by_path["TotalCount"] == plain["TotalCount"]


@pytest.mark.parametrize("endpoint", ["iqa", "query"])
def test_wrong_parameter_count_is_400(api: httpx.Client, endpoint: str) -> None:
    r = _query(api, "$/Tier/MembersByType", "STD", "extra", endpoint=endpoint)
    assert (
        r.status_code == 400
        and "In IQA query, parameters must be Parameter Equal" in r.json()["Message"]
    )
    missing = _query(api, "$/Tier/MembersByType", endpoint=endpoint)
    assert missing.status_code == 400 and "required" in missing.json()["Message"]
    assert _query(api, "$/No/Such", endpoint=endpoint).status_code == 404


def test_find_by_path_returns_prompts_and_version_key(api: httpx.Client) -> None:
    request: dict[str, Any] = {
        "$type": "Asi.Soa.Core.DataContracts.GenericExecuteRequest, Asi.Contracts",
        "EntityTypeName": "QueryDefinition",
        "OperationName": "FindByPath",
        "Parameters": {
            "$type": "System.Collections.ObjectModel.Collection`1[[System.Object, mscorlib]], mscorlib",
            "$values": [{"$type": "System.String", "$value": "$/Tier/MembersByType"}],
        },
        "ParameterTypeName": {
            "$type": "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib",
            "$values": ["System.String"],
        },
        "UseJson": False,
    }
    r = api.post("/api/QueryDefinition/_execute", json=request)
    assert r.status_code == 200
    result = r.json()["Result"]
    assert r.json()["$type"] == "Asi.Soa.Core.DataContracts.GenericExecuteResult, Asi.Contracts"
    prompts = result["Parameters"]["$values"]
    assert [
        (p["Prompt"], p["PropertyName"], p["Comparison"], p["IsRequired"]) for p in prompts
    ] == [("Member type", "CustomerTypeCode", "Equal", True)]
    by_key = api.get(
        "/api/iqa",
        params={"QueryDocumentVersionKey": result["DocumentVersionKey"], "parameter": "PREM"},
    ).json()
    assert by_key["TotalCount"] > 0
    request["Parameters"]["$values"] = [{"$type": "System.String", "$value": "$/Missing"}]
    assert api.post("/api/QueryDefinition/_execute", json=request).status_code == 404


def test_user_defined_queries(fresh: Emulator, fresh_api: httpx.Client) -> None:
    fresh.define_query(
        "$/My/Logins",
        entity="Activity",
        columns={"Who": "PartyId", "When": "TRANSACTION_DATE"},
        prompts=[Prompt("Type", "ACTIVITY_TYPE", "eq", required=True)],
    )
    rows = items(_query(fresh_api, "$/My/Logins", "PORTAL_LOGIN", limit=500))
    assert rows and set(rows[0]) == {"$type", "Who", "When"}

    def tiers(_tables: Any, params: Any) -> pd.DataFrame:
        return pd.DataFrame(
            {"Code": ["A", "B"], "Price": [Decimal("1.50"), Decimal("2.00")], "Flag": [True, False]}
        )

    fresh.define_query("$/My/Computed", compute=tiers)
    raw = _query(fresh_api, "$/My/Computed").text
    assert '"Price":1.50' in raw and '"Flag":true' in raw
    fresh.define_query("$/My/Logins", entity="Activity", columns={"Who": "PartyId"})
    assert set(items(_query(fresh_api, "$/My/Logins", limit=5))[0]) == {"$type", "Who"}  # redefined
    answer = httpx.post(
        f"{fresh.base_url}/_emulator/queries",
        json={"path": "$/My/Admin", "entity": "Person", "columns": {"ID": "PartyId"}},
    )
    assert answer.status_code == 200
    assert _query(fresh_api, "$/My/Admin", limit=1).json()["TotalCount"] > 0


def test_query_page_cache_keeps_the_recently_used_pages_within_its_byte_budget() -> None:
    cache = _PageCache(budget=10)
    cache.put(("page", "a", 0), (1, b"aaaa"))
    cache.put(("page", "b", 0), (1, b"bbbb"))
    assert cache.get(("page", "a", 0)) == (1, b"aaaa")  # now the most recently used
    cache.put(("page", "c", 0), (1, b"cccc"))  # 12 bytes: the least recently used (b) goes
    assert cache.get(("page", "b", 0)) is None
    assert cache.get(("page", "a", 0)) == (1, b"aaaa")
    cache.put(("page", "a", 0), (2, b"AAAAAA"))  # replaced: 4 + 6 bytes, within the budget
    assert cache.get(("page", "c", 0)) == (1, b"cccc")
    assert cache.get(("page", "a", 0)) == (2, b"AAAAAA")
    cache.put(("page", "d", 0), (1, b"d"))  # 11 bytes: c, now the least recently used, goes
    assert cache.get(("page", "c", 0)) is None
    cache.drop(lambda key: key[1] == "a")
    assert cache.get(("page", "a", 0)) is None
    cache.put(("page", "big", 0), (1, b"x" * 50))  # larger than the budget: kept alone
    assert cache.get(("page", "big", 0)) == (1, b"x" * 50)
