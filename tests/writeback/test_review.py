"""Review items against the emulator: threshold, one open item per member and reason, task trigger."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import httpx
import pandas as pd
import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator
from imis_tier.warehouse import Warehouse
from imis_tier.writeback import PENDING_REVIEW, ScoreError, journal_entries, stage_review_items

from .conftest import writes

AS_OF = date(2025, 2, 1)


def _candidates(party_ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "party_id": party_ids[:8],
            "propensity": [0.91, 0.75, 0.62, 0.5, 0.49, 0.2, 0.88, 0.05],
            "current_tier": "REG",
            "recommended_tier": "PRO",
        }
    )


def _save_task(emu: Emulator, name: str) -> None:
    """Save a task definition as an administrator would (a typed TaskDefinitionData POST)."""
    with httpx.Client(base_url=emu.base_url) as http:
        token = http.post(
            "/token",
            data={"grant_type": "password", "username": emu.username, "password": emu.password},
        ).json()["access_token"]
        body = {
            "$type": "Asi.Soa.Communications.DataContracts.TaskDefinitionData, Asi.Contracts",
            "Name": name,
            "IsActive": True,
        }
        http.post(
            "/api/TaskDefinition", json=body, headers={"Authorization": f"Bearer {token}"}
        ).raise_for_status()


def _open_items(imis: Client) -> Counter[tuple[str, str]]:
    rows = imis.entities("Tier_Review").list(Status=PENDING_REVIEW, limit=500)
    return Counter((str(r["ID"]), str(r["Reason"])) for r in rows)


def test_items_for_members_above_threshold_and_none_on_rerun(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    candidates = _candidates(party_ids)
    dry = stage_review_items(candidates, imis, warehouse, threshold=0.5, as_of=AS_OF)
    assert dry.items.counts["create"] == 4  # 0.91, 0.75, 0.62, 0.88; 0.5 itself is not above
    assert writes(emu, "Tier_Review") == []

    first = stage_review_items(
        candidates, imis, warehouse, threshold=0.5, as_of=AS_OF, apply=True, approved_by="lead"
    )
    above = {party_ids[i] for i in (0, 1, 2, 6)}
    assert _open_items(imis) == Counter({(p, "Tier review"): 1 for p in above})
    row = next(iter(imis.entities("Tier_Review").list(ID=party_ids[0])))
    assert row["Status"] == PENDING_REVIEW and row["Propensity"] == Decimal("0.91")
    assert row["RecommendedTier"] == "PRO" and row["CreatedOn"].date() == AS_OF
    assert first.items_result is not None and first.items_result.created == 4

    # a reviewer annotates one item; the rerun neither duplicates nor overwrites anything
    imis.entities("Tier_Review").update((party_ids[0], "1"), {"Notes": "call after the conference"})
    posted = [w for w in writes(emu, "Tier_Review") if w.startswith("POST")]
    assert len(posted) == 4
    second = stage_review_items(
        candidates,
        imis,
        warehouse,
        threshold=0.5,
        as_of=date(2025, 3, 1),
        apply=True,
        approved_by="lead",
    )
    assert second.items.is_empty
    assert [w for w in writes(emu, "Tier_Review") if not w.startswith("PUT")] == posted
    assert _open_items(imis) == Counter({(p, "Tier review"): 1 for p in above})
    assert (
        imis.entities("Tier_Review").get((party_ids[0], "1"))["Notes"]
        == "call after the conference"
    )


def test_a_closed_item_makes_room_for_a_new_one_with_its_real_ordinal(
    imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    member = party_ids[2]
    one = pd.DataFrame({"party_id": [member], "propensity": [0.8], "reason": ["Upgrade"]})
    first = stage_review_items(one, imis, warehouse, as_of=AS_OF, apply=True, approved_by="lead")
    assert first.items_result is not None and first.items_result.identities == [f"{member}|1"]
    imis.entities("Tier_Review").update((member, "1"), {"Status": "Approved"})

    # second reason and a new open "Upgrade": iMIS answers Ordinal 0 to each POST; the journal
    # must hold the real ordinals 2 and 3, matched to the right reason.
    two = pd.DataFrame(
        {
            "party_id": [member, member],
            "propensity": [0.8, 0.7],
            "reason": ["Upgrade", "Lapse risk"],
        }
    )
    second = stage_review_items(two, imis, warehouse, as_of=AS_OF, apply=True, approved_by="lead")
    assert second.items.counts["create"] == 2
    entries = journal_entries(warehouse, second.items.hash)
    by_key = {e.op_index: e.identity for e in entries.values()}
    assert sorted(str(i) for i in by_key.values()) == [f"{member}|2", f"{member}|3"]
    for op, identity in zip(second.items.changes, (by_key[0], by_key[1]), strict=True):
        stored = imis.entities("Tier_Review").get(tuple(str(identity).split("|")))
        assert stored["Reason"] == op.key[1] and stored["Status"] == PENDING_REVIEW
    statuses = Counter(r["Status"] for r in imis.entities("Tier_Review").list(ID=member))
    assert statuses == {"Approved": 1, PENDING_REVIEW: 2}


def test_task_runs_once_when_new_items_were_created(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    _save_task(emu, "Notify tier reviewers")
    candidates = _candidates(party_ids)
    dry = stage_review_items(candidates, imis, warehouse, task="Notify tier reviewers", as_of=AS_OF)
    assert dry.task is not None and dry.task.counts["create"] == 1
    assert emu.triggered_tasks == []

    done = stage_review_items(
        candidates,
        imis,
        warehouse,
        task="Notify tier reviewers",
        as_of=AS_OF,
        apply=True,
        approved_by="lead",
    )
    assert done.task_result is not None and done.task_result.triggered == 1
    assert [t.name for t in emu.triggered_tasks] == ["Notify tier reviewers"]

    rerun = stage_review_items(
        candidates,
        imis,
        warehouse,
        task="Notify tier reviewers",
        as_of=AS_OF,
        apply=True,
        approved_by="lead",
    )
    assert rerun.task is None and rerun.task_result is None
    assert len(emu.triggered_tasks) == 1


def test_items_can_be_activities(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    candidates = _candidates(party_ids)
    first = stage_review_items(
        candidates, imis, warehouse, source="Activity", as_of=AS_OF, apply=True, approved_by="lead"
    )
    assert first.items_result is not None and first.items_result.created == 4
    mine = [a for a in imis.entities("Activity").list(ACTIVITY_TYPE="TIER_REVIEW", limit=500)]
    assert sorted(str(a["PartyId"]) for a in mine) == sorted(party_ids[i] for i in (0, 1, 2, 6))
    assert {a["DESCRIPTION"] for a in mine} == {"Pending review: Tier review"}
    again = stage_review_items(
        candidates, imis, warehouse, source="Activity", as_of=AS_OF, apply=True, approved_by="lead"
    )
    assert again.items.is_empty


def test_nan_propensity_is_refused(
    imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    candidates = _candidates(party_ids)
    candidates.loc[3, "propensity"] = float("nan")
    with pytest.raises(
        ScoreError, match=f"member {party_ids[3]}: propensity is nan; NaN and infinite"
    ):
        stage_review_items(candidates, imis, warehouse, apply=True, approved_by="lead")
