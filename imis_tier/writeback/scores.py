"""Score write-back: one row per member in a custom iMIS source (``Member_Tier_Score``).

Scores are rounded to a fixed number of places before comparing and sending (a probability that
moved in its tenth decimal is not a change worth a write), validated (no NaN, no infinity, no
probability outside [0, 1], one row per member), and written as an idempotent upsert keyed by
``ID``.
"""

from __future__ import annotations

import hashlib
import json
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
from imis_tier.writeback.changeset import ChangeSet, compute_change_set
from imis_tier.writeback.target import Target

SCORE_FIELDS: dict[str, str] = {
    "party_id": "ID",
    "engagement": "Engagement",
    "p_renew": "PRenew",
    "p_upgrade": "PUpgrade",
    "p_downgrade": "PDowngrade",
    "p_lapse": "PLapse",
    "driver_1": "Driver1",
    "driver_2": "Driver2",
    "driver_3": "Driver3",
    "model_ref": "ModelRef",
    "as_of": "AsOf",
}
"""Score column -> iMIS property of the score source (override with ``fields=``)."""

PROBABILITIES = ("p_renew", "p_upgrade", "p_downgrade", "p_lapse")
_REQUIRED = ("party_id", "engagement", *PROBABILITIES, "model_ref", "as_of")
_TEXT = ("driver_1", "driver_2", "driver_3", "model_ref")
DECIMALS: dict[str, int] = {"engagement": 2, **{p: 4 for p in PROBABILITIES}}
"""Places each number is rounded to before it is compared or written."""


class ScoreError(ValueError):
    """A score row that must not reach iMIS (NaN, out of range, repeated member, missing column)."""


@dataclass(frozen=True)
class WritebackOutcome:
    """A computed change set and, when it was applied, what applying it did."""

    change_set: ChangeSet
    result: ApplyResult | None = None

    @property
    def applied(self) -> bool:
        return self.result is not None


def _member(row: Mapping[str, Any]) -> str:
    value = row.get("party_id")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _number(row: Mapping[str, Any], column: str, places: int | None) -> Decimal:
    value = row[column]
    if value is None or value is pd.NA or value is pd.NaT:
        raise ScoreError(
            f"member {_member(row)}: {column} is missing; every score must be a number"
        )
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ScoreError(f"member {_member(row)}: {column} is {value!r}, not a number") from exc
    if not math.isfinite(number):
        raise ScoreError(
            f"member {_member(row)}: {column} is {value!r}; NaN and infinite scores are never written to iMIS"
        )
    exact = Decimal(repr(number)) if not isinstance(value, Decimal) else value
    if places is None:
        return exact
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _text(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _as_of(row: Mapping[str, Any]) -> date:
    value = row["as_of"]
    if value is None or value is pd.NaT or value is pd.NA:
        raise ScoreError(f"member {_member(row)}: as_of is missing")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ScoreError(f"member {_member(row)}: as_of {value!r} is not a date") from exc


def score_rows(
    scores_df: pd.DataFrame,
    *,
    fields: Mapping[str, str] | None = None,
    decimals: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The desired iMIS rows for ``scores_df``, validated and rounded, ordered by member."""
    names = {**SCORE_FIELDS, **(fields or {})}
    places = {**DECIMALS, **(decimals or {})}
    missing = [c for c in _REQUIRED if c not in scores_df.columns]
    if missing:
        raise ScoreError(
            f"scores are missing column(s) {missing}; expected {list(_REQUIRED)} (+ driver_1..3)"
        )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in scores_df.to_dict("records"):
        record = {str(k): v for k, v in raw.items()}
        member = _member(record)
        if member in ("", "None", "nan"):
            raise ScoreError(f"a score row has no party_id: {record!r}")
        if member in seen:
            raise ScoreError(
                f"member {member} has more than one score row; write one row per member"
            )
        seen.add(member)
        out: dict[str, Any] = {names["party_id"]: member}
        for column in ("engagement", *PROBABILITIES):
            value = _number(record, column, places.get(column))
            if column in PROBABILITIES and not Decimal(0) <= value <= Decimal(1):
                raise ScoreError(f"member {member}: {column} is {value}, outside [0, 1]")
            out[names[column]] = value
        for column in _TEXT:
            out[names[column]] = _text(record, column)
        out[names["as_of"]] = _as_of(record)
        rows.append(out)
    rows.sort(key=lambda r: (len(r[names["party_id"]]), r[names["party_id"]]))
    return rows


def data_hash(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of rows in canonical JSON: the audit trail's fingerprint of the inputs."""
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_scores(
    scores_df: pd.DataFrame,
    client: Any,
    warehouse: Warehouse,
    source: str = "Member_Tier_Score",
    apply: bool = False,
    *,
    approved_by: str | None = None,
    fields: Mapping[str, str] | None = None,
    decimals: Mapping[str, int] | None = None,
    tz: tzinfo | None = None,
    context: Mapping[str, Any] | None = None,
) -> WritebackOutcome:
    """Write one score row per member into ``source`` as an idempotent upsert keyed by ``ID``.

    ``scores_df`` has ``party_id``, ``engagement``, ``p_renew``, ``p_upgrade``, ``p_downgrade``,
    ``p_lapse``, ``driver_1..3``, ``model_ref`` and ``as_of``. A dry run (the default) computes and
    stages the change set and writes nothing to iMIS; ``apply=True`` is the approval: it writes,
    as ``approved_by`` (default: the configured actor or OS user), and records an audit entry.
    NaN or infinite scores raise :class:`ScoreError` naming the member and field.
    """
    rows = score_rows(scores_df, fields=fields, decimals=decimals)
    names = {**SCORE_FIELDS, **(fields or {})}
    as_of = sorted({r[names["as_of"]].isoformat() for r in rows})
    info: dict[str, Any] = {
        "kind": "scores",
        "data_hash": data_hash(rows),
        "members": len(rows),
        "as_of": as_of[-1] if as_of else None,
        "model_versions": {"model_ref": sorted({str(r[names["model_ref"]]) for r in rows})},
        **dict(context or {}),
    }
    if "run_id" in scores_df.columns and len(scores_df):
        info.setdefault("run_id", str(scores_df["run_id"].iloc[0]))
    target = Target.panel(source, owned=tuple(names[c] for c in SCORE_FIELDS if c != "party_id"))
    change_set = compute_change_set(target, rows, client, tz=tz or client_tz(client), context=info)
    journal.stage(warehouse, change_set)
    if not apply:
        return WritebackOutcome(change_set)
    result = apply_change_set(
        change_set,
        client,
        warehouse,
        approved_by=approved_by or default_actor(),
        tz=tz or client_tz(client),
    )
    return WritebackOutcome(change_set, result)
