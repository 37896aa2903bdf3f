"""Review items: a person approves before any outreach happens.

Members whose propensity is above a threshold get a review item in iMIS with status
``"Pending review"``: a row of a multi-instance panel source (``Tier_Review``, the default) or an
Activity of type ``TIER_REVIEW``. Optionally an iMIS task (say, one that alerts staff) runs once
when new items were created. Items are keyed by member and reason among the *open* items, so a
rerun adds nothing while an item waits, and a reviewer's edits to an item are never overwritten.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

from imis_tier.warehouse import Warehouse
from imis_tier.writeback import journal
from imis_tier.writeback._source import client_tz
from imis_tier.writeback.apply import ApplyResult
from imis_tier.writeback.apply import apply as apply_change_set
from imis_tier.writeback.audit import default_actor
from imis_tier.writeback.changeset import ChangeSet, compute_change_set, task_change_set
from imis_tier.writeback.scores import ScoreError, data_hash
from imis_tier.writeback.target import Target

PENDING_REVIEW = "Pending review"
ACTIVITY_TYPE = "TIER_REVIEW"


@dataclass(frozen=True)
class ReviewOutcome:
    """The review items' change set and, when a task was named, the task trigger's change set."""

    items: ChangeSet
    task: ChangeSet | None = None
    items_result: ApplyResult | None = None
    task_result: ApplyResult | None = None

    @property
    def applied(self) -> bool:
        return self.items_result is not None


def review_target(source: str, *, status: str = PENDING_REVIEW) -> Target:
    """Where review items live: a multi-instance panel source, or ``"Activity"``."""
    if source.casefold() == "activity":
        # Activities have no status field: the description carries "<status>: <reason>".
        return Target.activity(
            key=("PartyId", "ACTIVITY_TYPE", "DESCRIPTION"), scope={"ACTIVITY_TYPE": ACTIVITY_TYPE}
        )
    return Target.multi_instance(
        source,
        key=("ID", "Reason"),
        scope={"Status": status},
        owned=("Reason", "Status", "CurrentTier", "RecommendedTier", "Propensity", "CreatedOn"),
    )


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _party(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def review_rows(
    candidates_df: pd.DataFrame,
    target: Target,
    *,
    threshold: float,
    score_column: str = "propensity",
    reason: str = "Tier review",
    status: str = PENDING_REVIEW,
    created_on: date,
) -> list[dict[str, Any]]:
    """The review rows for candidates whose ``score_column`` is above ``threshold``."""
    missing = [c for c in ("party_id", score_column) if c not in candidates_df.columns]
    if missing:
        raise ScoreError(f"review candidates are missing column(s) {missing}")
    rows: list[dict[str, Any]] = []
    for raw in candidates_df.to_dict("records"):
        score = raw[score_column]  # before cleaning: a NaN must be reported as NaN, not as missing
        record = {str(k): _clean(v) for k, v in raw.items()}
        member = _party(record["party_id"])
        try:
            number = float(score) if _clean(score) is not None else math.nan
        except (TypeError, ValueError) as exc:
            raise ScoreError(f"member {member}: {score_column} is {score!r}, not a number") from exc
        if not math.isfinite(number):
            raise ScoreError(
                f"member {member}: {score_column} is {score!r}; NaN and infinite values are never written to iMIS"
            )
        if number <= threshold:
            continue
        why = str(record.get("reason") or reason)
        propensity = Decimal(repr(number)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
        if target.name == "Activity":
            rows.append(
                {
                    "PartyId": member,
                    "ACTIVITY_TYPE": ACTIVITY_TYPE,
                    "DESCRIPTION": f"{status}: {why}",
                    "TRANSACTION_DATE": created_on,
                    "UNITS": float(propensity),
                }
            )
            continue
        rows.append(
            {
                "ID": member,
                "Reason": why,
                "Status": status,
                "CurrentTier": record.get("current_tier"),
                "RecommendedTier": record.get("recommended_tier"),
                "Propensity": propensity,
                "CreatedOn": created_on,
            }
        )
    return rows


def stage_review_items(
    candidates_df: pd.DataFrame,
    client: Any,
    warehouse: Warehouse,
    threshold: float = 0.5,
    source: str = "Tier_Review",
    task: str | None = None,
    apply: bool = False,
    *,
    score_column: str = "propensity",
    reason: str = "Tier review",
    status: str = PENDING_REVIEW,
    as_of: date | datetime | None = None,
    approved_by: str | None = None,
    tz: tzinfo | None = None,
    context: Mapping[str, Any] | None = None,
) -> ReviewOutcome:
    """Create one open review item per member and reason for candidates above ``threshold``.

    ``candidates_df`` has ``party_id`` and ``score_column`` (plus optional ``reason``,
    ``current_tier``, ``recommended_tier``). A dry run (the default) computes and stages the change
    sets only. With ``apply=True`` the items are written as ``approved_by`` (default: the
    configured actor or OS user) and, when ``task`` names a saved iMIS task and new items were
    created, that task is run once through ``TaskDefinition/_execute``.
    """
    zone = tz or client_tz(client)
    if isinstance(as_of, datetime):
        created_on = (as_of.astimezone(zone) if as_of.tzinfo else as_of).date()
    else:
        created_on = as_of or datetime.now(zone).date()
    target = review_target(source, status=status)
    rows = review_rows(
        candidates_df, target, threshold=threshold, score_column=score_column, reason=reason,
        status=status, created_on=created_on,
    )  # fmt: skip
    info = {
        "kind": "review_items",
        "data_hash": data_hash(rows),
        "threshold": threshold,
        "candidates": len(candidates_df),
        "as_of": created_on.isoformat(),
        **dict(context or {}),
    }
    items = compute_change_set(target, rows, client, tz=zone, create_only=True, context=info)
    journal.stage(warehouse, items)
    trigger = None
    if task and items.counts["create"]:
        trigger = task_change_set(
            task, items.hash, context={"kind": "review_task", "review_change_set": items.hash}
        )
        journal.stage(warehouse, trigger)
    if not apply:
        return ReviewOutcome(items, trigger)
    actor = approved_by or default_actor()
    items_result = apply_change_set(items, client, warehouse, approved_by=actor, tz=zone)
    task_result = None
    if trigger is not None:
        task_result = apply_change_set(trigger, client, warehouse, approved_by=actor, tz=zone)
    return ReviewOutcome(items, trigger, items_result, task_result)
