"""Change-set planning in isolation: value normalisation, keys, diff, hash and JSON form."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from imis_tier.writeback import ChangeSet, ChangeSetError, OpKind, Target, plan
from imis_tier.writeback import _values as v

SCORE = Target.panel("Member_Tier_Score")


@pytest.mark.parametrize(
    ("desired", "current"),
    [
        (Decimal("0.50"), 0.5),
        (0.1, Decimal("0.1")),
        (np.float64(0.25), "0.25"),
        (3, Decimal("3.0")),
        (date(2025, 1, 31), "2025-01-31T00:00:00"),
        (date(2025, 1, 31), datetime(2025, 1, 31, tzinfo=UTC)),
        (pd.Timestamp("2025-01-31"), "2025-01-31T00:00:00.000"),
        (None, ""),
        (None, "0001-01-01T00:00:00"),
        (True, "true"),
        (np.int64(40125), "40125"),
    ],
)
def test_values_equal_across_representations(desired: object, current: object) -> None:
    assert v.same(desired, current)


@pytest.mark.parametrize(
    ("desired", "current"),
    [
        (Decimal("0.5"), 0.51),
        (date(2025, 1, 31), "2025-02-01T00:00:00"),
        ("a", "b"),
        (None, 0),
        (True, False),
    ],
)
def test_different_values_differ(desired: object, current: object) -> None:
    assert not v.same(desired, current)


def test_aware_datetimes_compare_in_the_association_zone() -> None:
    chicago = ZoneInfo("America/Chicago")
    noon_utc = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
    assert v.same(noon_utc, "2025-03-01T12:00:00", chicago)
    assert not v.same(noon_utc, "2025-03-01T12:00:00", timezone(timedelta(hours=1)))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, Decimal("NaN"), np.float64("nan")])
def test_not_finite_values_are_refused(bad: object) -> None:
    with pytest.raises(v.NotFiniteError):
        v.canonical(bad)
    with pytest.raises(ChangeSetError, match=r"40125.*'PRenew'"):
        plan(SCORE, [{"ID": "40125", "PRenew": bad}], [])


def test_plan_sorts_rows_into_create_update_noop_delete() -> None:
    desired = [
        {"ID": "1", "PRenew": Decimal("0.7"), "AsOf": date(2025, 1, 31)},
        {"ID": "2", "PRenew": Decimal("0.8"), "AsOf": date(2025, 1, 31)},
        {"ID": 3, "PRenew": 0.9, "AsOf": date(2025, 1, 31)},
    ]
    current = [
        {"ID": "2", "PRenew": 0.8, "AsOf": "2025-01-31T00:00:00", "Notes": "kept"},
        {"ID": "3", "PRenew": 0.85, "AsOf": "2025-01-31T00:00:00"},
        {"ID": "4", "PRenew": 0.1, "AsOf": "2025-01-31T00:00:00"},
    ]
    cs = plan(SCORE, desired, current, delete_missing=True)
    kinds = [(op.kind, op.key) for op in cs.operations]
    assert kinds == [
        (OpKind.CREATE, ("1",)),
        (OpKind.NOOP, ("2",)),
        (OpKind.UPDATE, ("3",)),
        (OpKind.DELETE, ("4",)),
    ]
    assert cs.counts == {"create": 1, "update": 1, "noop": 1, "delete": 1}
    update = cs.operations[2]
    assert update.identity == ("3",)
    assert update.changes == {"PRenew": ({"$decimal": "0.85"}, {"$decimal": "0.9"})}
    text = cs.diff()
    assert "~ 3  update  PRenew: 0.85 -> 0.9" in text
    assert "+ 1  create" in text and "- 4  delete" in text
    assert "AsOf" not in text.splitlines()[2]  # unchanged fields are not listed on an update


def test_without_delete_missing_extra_rows_are_left_alone() -> None:
    cs = plan(SCORE, [{"ID": "1", "PRenew": 0.5}], [{"ID": "9", "PRenew": 0.5}])
    assert cs.counts["delete"] == 0


def test_field_names_match_case_insensitively_as_in_imis() -> None:
    cs = plan(SCORE, [{"ID": "1", "PRenew": 0.5}], [{"id": "1", "prenew": Decimal("0.5")}])
    assert cs.is_empty


def test_owned_fields_limit_what_is_compared_and_written() -> None:
    target = Target.panel("Member_Tier_Score", owned=("PRenew",))
    cs = plan(
        target,
        [{"ID": "1", "PRenew": 0.6, "Notes": "mine"}],
        [{"ID": "1", "PRenew": 0.5, "Notes": "x"}],
    )
    (op,) = cs.changes
    assert dict(op.values) == {"PRenew": {"$decimal": "0.6"}}


def test_create_only_leaves_existing_rows_alone() -> None:
    target = Target.multi_instance("Tier_Review", key=("ID", "Reason"))
    current = [
        {"ID": "1", "Ordinal": 4, "Reason": "upgrade", "Status": "Pending review", "Notes": "call"}
    ]
    desired: list[dict[str, object]] = [
        {"ID": "1", "Reason": "upgrade", "Status": "Pending review", "Notes": None},
        {"ID": "1", "Reason": "lapse risk", "Status": "Pending review"},
    ]
    cs = plan(target, desired, current, create_only=True)
    assert [(op.kind, op.key, op.identity) for op in cs.operations] == [
        (OpKind.NOOP, ("1", "upgrade"), ("1", "4")),
        (OpKind.CREATE, ("1", "lapse risk"), None),
    ]
    assert target.is_multi_instance and not SCORE.is_multi_instance


def test_repeated_or_missing_natural_key_is_refused() -> None:
    with pytest.raises(ChangeSetError, match="repeat the natural key 7"):
        plan(SCORE, [{"ID": "7"}, {"ID": 7}], [])
    with pytest.raises(ChangeSetError, match=r"natural key field\(s\) \['ID'\] are empty"):
        plan(SCORE, [{"ID": None, "PRenew": 1}], [])


def test_hash_is_content_only_and_json_round_trips() -> None:
    desired = [
        {
            "ID": "1",
            "PRenew": Decimal("0.7"),
            "AsOf": date(2025, 1, 31),
            "Driver1": "Went to events",
        }
    ]
    first = plan(SCORE, desired, [], context={"data_hash": "abc"})
    second = plan(SCORE, [dict(desired[0], PRenew=0.7)], [])
    assert first.hash == second.hash  # same content, other time and context
    assert plan(SCORE, [dict(desired[0], PRenew=0.71)], []).hash != first.hash
    again = ChangeSet.from_json(first.to_json())
    assert again.hash == first.hash
    assert again.context == {"data_hash": "abc"}
    wire = again.operations[0].wire_values()
    assert wire == {
        "ID": "1",
        "PRenew": Decimal("0.7"),
        "AsOf": datetime(2025, 1, 31),
        "Driver1": "Went to events",
    }


def test_a_tampered_change_set_body_is_refused() -> None:
    body = plan(SCORE, [{"ID": "1", "PRenew": 0.7}], []).to_dict()
    body["operations"][0]["values"]["PRenew"] = {"$decimal": "0.1"}
    with pytest.raises(ChangeSetError, match="does not match its content"):
        ChangeSet.from_json(body)
