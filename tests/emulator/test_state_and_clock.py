"""The state file (restart keeps writes) and the clock (advance under the structure in force)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest

from imis_tier.emulator import Emulator, EmulatorConfig

from ._helpers import client_for, items, props


def _score(pid: str, tier: str) -> dict[str, object]:
    return {
        "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
        "EntityTypeName": "Member_Tier_Score",
        "Properties": {
            "$type": "c",
            "$values": [
                {"$type": "p", "Name": "ID", "Value": pid},
                {"$type": "p", "Name": "RecommendedTier", "Value": tier},
            ],
        },
    }


def test_state_file_keeps_writes_across_restart(
    tmp_path: Path, make_imis_emulator: Callable[..., Emulator]
) -> None:
    state = tmp_path / "state.jsonl"
    first = make_imis_emulator(members=80, seed=3, months=12, state_file=state, password="pw")
    with client_for(first) as api:
        pid = items(api.get("/api/Person", params={"limit": 2}))[1]["PartyId"]
        assert api.post("/api/Member_Tier_Score", json=_score(pid, "PREM")).status_code == 201
        assert (
            api.post(
                "/api/Member_Tier_Score",
                json=_score(
                    items(api.get("/api/Person", params={"limit": 1}))[0]["PartyId"], "STD"
                ),
            ).status_code
            == 201
        )
        assert (
            api.delete(
                f"/api/Member_Tier_Score/{items(api.get('/api/Person', params={'limit': 1}))[0]['PartyId']}"
            ).status_code
            == 200
        )
        item = api.get("/api/LegacyBillingItem/DUES-PREM").json()
        item["Price"]["Amount"] = 615
        assert api.put("/api/LegacyBillingItem/DUES-PREM", json=item).status_code == 200
    first.advance(1)
    activities = first.core.tables["Activity"].frame().shape[0]
    first.stop()

    second = make_imis_emulator(members=80, seed=3, months=12, state_file=state, password="pw")
    with client_for(second) as api:
        rows = items(api.get("/api/Member_Tier_Score"))
        assert [(props(r)["ID"], props(r)["RecommendedTier"]) for r in rows] == [(pid, "PREM")]
        assert api.get("/api/LegacyBillingItem/DUES-PREM").json()["Price"]["Amount"] == 615
    assert second.clock == first.clock
    assert second.core.tables["Activity"].frame().shape[0] == activities
    with pytest.raises(ValueError, match="seed"):
        Emulator(EmulatorConfig(members=80, seed=4, months=12, state_file=state))


def test_advance_adds_stamped_rows_and_moves_clock(
    fresh: Emulator, fresh_api: httpx.Client
) -> None:
    start = fresh.clock
    before = fresh_api.get("/api/Activity", params={"limit": 1}).json()["TotalCount"]
    r = httpx.post(f"{fresh.base_url}/_emulator/advance", json={"months": 1})
    assert r.status_code == 200 and r.json()["clock"] == "2026-12-01"
    assert fresh.clock == date(2026, 12, 1) != start
    fresh_rows = fresh_api.get(
        "/api/Activity", params={"UpdatedOn": f"ge:{start.isoformat()}", "limit": 500}
    ).json()
    assert fresh_rows["TotalCount"] > 0
    assert (
        fresh_api.get("/api/Activity", params={"limit": 1}).json()["TotalCount"]
        == before + fresh_rows["TotalCount"]
    )
    stamps = [props(a)["UpdatedOn"] for a in fresh_rows["Items"]["$values"]]
    assert all("2026-11-01" <= s < "2026-12-02" for s in stamps)
    assert fresh.advance(2) == date(2027, 2, 1)
    assert httpx.get(f"{fresh.base_url}/_emulator/clock").json() == {"clock": "2027-02-01"}


def test_advance_uses_structure_written_through_the_api(
    fresh: Emulator, fresh_api: httpx.Client
) -> None:
    item = fresh_api.get("/api/LegacyBillingItem/DUES-PREM").json()
    item["Price"]["Amount"] = 1995
    assert fresh_api.put("/api/LegacyBillingItem/DUES-PREM", json=item).status_code == 200
    benefit = {
        "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
        "Properties": {
            "$type": "c",
            "$values": [
                {"$type": "p", "Name": "TierCode", "Value": "STU"},
                {"$type": "p", "Name": "Benefit", "Value": "leadership_forum"},
                {"$type": "p", "Name": "EffectiveFrom", "Value": "2026-01-01T00:00:00"},
            ],
        },
    }
    assert fresh_api.post("/api/Tier_Benefit", json=benefit).status_code == 201
    structure = fresh.structure_in_force()
    assert str(structure.tier("PREM").price) == "1995.00"
    assert "leadership_forum" in structure.tier("STU").benefits
    seen: list[object] = []
    original = fresh.core.association.advance

    def spy(months: int = 1, structure: object = None) -> object:
        seen.append(structure)
        return original(months=months, structure=structure)  # type: ignore[arg-type]

    fresh.core.association.advance = spy  # type: ignore[method-assign,assignment]
    fresh.advance(1)
    assert seen == [structure]
    shown = httpx.get(f"{fresh.base_url}/_emulator/structure").json()
    assert {t["code"]: t["price"] for t in shown["tiers"]}["PREM"] == "1995.00"


def test_writes_after_advance_stay_visible_to_incremental_reads(
    fresh: Emulator, fresh_api: httpx.Client
) -> None:
    pid = items(fresh_api.get("/api/Person", params={"limit": 1}))[0]["PartyId"]
    created = fresh_api.post("/api/Member_Tier_Score", json=_score(pid, "STD")).json()
    stamp = props(created)["UpdatedOn"]
    fresh.advance(1)
    newer = fresh_api.get("/api/Activity", params={"UpdatedOn": f"gt:{stamp}", "limit": 1}).json()
    assert newer["TotalCount"] > 0  # the month's rows are stamped after the earlier write
