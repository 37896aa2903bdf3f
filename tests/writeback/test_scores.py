"""Score write-back against the running emulator: dry run, apply, idempotence, crash and resume."""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator
from imis_tier.warehouse import Warehouse
from imis_tier.writeback import (
    ApprovalRequired,
    ScoreError,
    apply,
    journal_entries,
    staged_change_sets,
    write_scores,
)

from .conftest import make_scores, writes


def _rows_per_member(imis: Client) -> Counter[str]:
    return Counter(str(row["ID"]) for row in imis.entities("Member_Tier_Score").list(limit=500))


def test_dry_run_writes_nothing_to_imis(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    outcome = write_scores(make_scores(party_ids), imis, warehouse)
    assert not outcome.applied
    assert outcome.change_set.counts["create"] == len(party_ids)
    assert writes(emu, "Member_Tier_Score") == []
    assert sum(_rows_per_member(imis).values()) == 0
    # the dry run is staged for review, not applied
    (staged,) = staged_change_sets(warehouse)
    assert (staged.change_set_hash, staged.status) == (outcome.change_set.hash, "staged")
    assert "+ " + party_ids[0] in outcome.change_set.diff()


def test_apply_writes_one_row_per_member_and_a_rerun_changes_nothing(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    scores = make_scores(party_ids)
    first = write_scores(scores, imis, warehouse, apply=True, approved_by="a.reviewer")
    assert first.result is not None and first.result.created == len(party_ids)
    assert _rows_per_member(imis) == Counter(dict.fromkeys(party_ids, 1))
    stored = imis.entities("Member_Tier_Score").get(party_ids[3])
    assert stored["PRenew"] == Decimal("0.603")
    assert stored["Engagement"] == Decimal("43.37")  # rounded to 2 places before sending
    assert stored["ModelRef"] == "propensity-1.0.0" and stored["Driver3"] is None

    again = write_scores(scores, imis, warehouse)
    assert again.change_set.is_empty
    assert again.change_set.counts["noop"] == len(party_ids)

    # a changed score updates only that member, and the diff says what changes
    changed = make_scores(party_ids)
    changed.loc[changed["party_id"] == party_ids[0], "p_renew"] = 0.35
    before = len(writes(emu, "Member_Tier_Score"))
    third = write_scores(changed, imis, warehouse, apply=True, approved_by="a.reviewer")
    assert third.change_set.counts == {
        "create": 0,
        "update": 1,
        "delete": 0,
        "noop": len(party_ids) - 1,
    }
    assert f"~ {party_ids[0]}  update  PRenew: 0.6 -> 0.35" in third.change_set.diff()
    assert len(writes(emu, "Member_Tier_Score")) == before + 1
    assert imis.entities("Member_Tier_Score").get(party_ids[0])["PRenew"] == Decimal("0.35")
    assert write_scores(changed, imis, warehouse).change_set.is_empty


def test_applying_needs_an_approver(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    change_set = write_scores(make_scores(party_ids), imis, warehouse).change_set
    for nobody in ("", "   "):
        with pytest.raises(ApprovalRequired, match="not approved"):
            apply(change_set, imis, warehouse, approved_by=nobody)
    assert writes(emu, "Member_Tier_Score") == []


@pytest.mark.parametrize(
    ("column", "bad"), [("p_lapse", math.nan), ("engagement", math.inf), ("p_renew", None)]
)
def test_nan_and_missing_scores_are_refused_naming_member_and_field(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str], column: str, bad: Any
) -> None:
    scores = make_scores(party_ids)
    scores[column] = scores[column].astype(object)
    scores.loc[5, column] = bad
    with pytest.raises(ScoreError, match=rf"member {party_ids[5]}: {column} is"):
        write_scores(scores, imis, warehouse, apply=True, approved_by="a.reviewer")
    assert writes(emu, "Member_Tier_Score") == []


def test_out_of_range_and_repeated_members_are_refused(
    imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    with pytest.raises(ScoreError, match=r"p_upgrade is 1\.2000, outside"):
        write_scores(make_scores(party_ids, p_upgrade=1.2), imis, warehouse)
    with pytest.raises(ScoreError, match=f"member {party_ids[0]} has more than one score row"):
        write_scores(make_scores([party_ids[0], party_ids[0]]), imis, warehouse)
    with pytest.raises(ScoreError, match=r"missing column\(s\) \['p_lapse'\]"):
        write_scores(make_scores(party_ids).drop(columns="p_lapse"), imis, warehouse)


class _CrashAfter:
    """The real client, but the k-th create is sent and then the process "dies" (raises).

    That is the worst moment for a crash: iMIS has the row, the journal still says pending.
    """

    def __init__(self, client: Client, k: int) -> None:
        self._client, self._left = client, k

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def entities(self, name: str) -> Any:
        real = self._client.entities(name)
        crash = self

        class _Source:
            def __getattr__(self, attr: str) -> Any:
                return getattr(real, attr)

            def create(self, *args: Any, **kwargs: Any) -> Any:
                answer = real.create(*args, **kwargs)
                crash._left -= 1
                if crash._left == 0:
                    raise KeyboardInterrupt("killed after the request reached iMIS")
                return answer

        return _Source()


def test_crash_mid_apply_then_resume_gives_exactly_one_row_per_member(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    change_set = write_scores(make_scores(party_ids), imis, warehouse).change_set
    # batches of 10: the second batch was marked pending, its first 6 confirmed done
    with pytest.raises(KeyboardInterrupt):
        apply(
            change_set,
            _CrashAfter(imis, k=7 + 10),
            warehouse,
            approved_by="a.reviewer",
            batch_size=10,
        )
    statuses = Counter(e.status for e in journal_entries(warehouse, change_set.hash).values())
    assert statuses == {"done": 16, "pending": 4, "planned": len(party_ids) - 20}
    assert sum(_rows_per_member(imis).values()) == 17

    result = apply(change_set, imis, warehouse, approved_by="a.reviewer", batch_size=10)
    # the one pending create that reached iMIS is found by natural key, not sent again
    assert (result.resumed, result.found_existing, result.created) == (16, 1, len(party_ids) - 17)
    assert _rows_per_member(imis) == Counter(dict.fromkeys(party_ids, 1))
    assert len(writes(emu, "Member_Tier_Score")) == len(party_ids)  # nothing was sent twice
    assert {e.status for e in journal_entries(warehouse, change_set.hash).values()} == {"done"}
    assert write_scores(make_scores(party_ids), imis, warehouse).change_set.is_empty
    # applying a finished change set again is a no-op
    repeat = apply(change_set, imis, warehouse, approved_by="a.reviewer")
    assert repeat.resumed == len(party_ids) and repeat.created == 0


def test_crash_then_recompute_resumes_through_natural_keys(
    emu: Emulator, imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    scores = make_scores(party_ids)
    with pytest.raises(KeyboardInterrupt):
        write_scores(
            scores, _CrashAfter(imis, k=4), warehouse, apply=True, approved_by="a.reviewer"
        )
    second = write_scores(scores, imis, warehouse, apply=True, approved_by="a.reviewer")
    assert second.change_set.counts["create"] == len(party_ids) - 4
    assert _rows_per_member(imis) == Counter(dict.fromkeys(party_ids, 1))
    statuses = {s.change_set_hash: s.status for s in staged_change_sets(warehouse)}
    assert statuses[second.change_set.hash] == "applied"
    assert sorted(statuses.values()) == ["applied", "superseded"]
