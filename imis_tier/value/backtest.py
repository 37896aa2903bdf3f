"""Checking cohort projections against what members then did.

:func:`retention_backtest` compares each member's projected probability of renewing at a
renewal decision with the decision's outcome, grouped by cohort: predicted and realised lapses
and dues revenue, and their errors. The realised decisions can come from the warehouse itself
(fit as of an earlier date, compare with the decisions after it: :func:`holdout_decisions`), or
from any other record with the same columns, such as a simulation of the future.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from imis_tier.value.cohorts import CohortReport
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS

_YEAR_DAYS = 365.25


def holdout_decisions(warehouse: Warehouse, after: date, until: date | None = None) -> pd.DataFrame:
    """Settled renewal decisions dated on or after ``after`` (and before ``until``).

    Columns: ``party_id``, ``decision_date``, ``lapsed``, ``price`` (dues paid: the offered price,
    0 for a lapse).
    """
    frame = warehouse.connection.execute(
        f"""
        SELECT party_id, decision_date, outcome = 'lapse' AS lapsed,
               CASE WHEN outcome = 'lapse' THEN 0 ELSE price_offered END::DOUBLE AS price
        FROM renewal_decisions
        WHERE outcome IS NOT NULL AND decision_date >= $after
          AND ($until IS NULL OR decision_date < $until)
          AND decision_date + INTERVAL {DECISION_WINDOW_DAYS[1]} DAY
              <= (SELECT max(updated_on) FROM raw_parties)
        ORDER BY party_id, decision_date
        """,
        {"after": after, "until": until},
    ).df()
    return frame


def retention_backtest(
    report: CohortReport, decisions: pd.DataFrame, prices: Mapping[str, object]
) -> pd.DataFrame:
    """Predicted vs realised lapses and dues per cohort, over each member's *first* decision.

    ``decisions`` has ``party_id``, ``decision_date``, ``lapsed`` and ``price`` (dues paid on the
    decision). Only members active in ``report`` (as of its date) are scored. A decision's
    renewal opportunity is the years since joining, so the prediction is
    ``1 - S(t) / S(t - 1)``, conditioned on being active at ``t - 1``. Predicted dues = each
    member's renewal probability x her tier's list price on the report date (``prices``, e.g.
    from :func:`imis_tier.value.economics.tier_economics`). Returns one row
    per cohort plus ``all``: ``decisions``, ``predicted_lapses``, ``lapses``, ``lapse_error``
    (relative), ``predicted_dues``, ``dues``, ``dues_error`` (relative).
    """
    active = report.durations[~report.durations["lapsed"] & report.durations["tier"].notna()]
    first = decisions.copy()
    first["party_id"] = first["party_id"].astype(str)
    first = first.sort_values("decision_date").groupby("party_id", as_index=False).first()
    keep = list(dict.fromkeys(["party_id", "join_date", "renewals", "tier", *report.by]))
    state = active[keep].assign(party_id=active["party_id"].astype(str))
    merged = first.merge(state, on="party_id")
    if merged.empty:
        raise ValueError("no decision belongs to a member active at the report's date")
    days = (pd.to_datetime(merged["decision_date"]) - pd.to_datetime(merged["join_date"])).dt.days
    merged["t"] = np.maximum(np.rint(days / _YEAR_DAYS), merged["renewals"] + 1).astype(int)
    p_lapse = np.empty(len(merged))
    for key, group in merged.groupby(list(report.by), observed=True, sort=False):
        model = report.fits[key if isinstance(key, tuple) else (key,)].model
        at = merged.index.get_indexer(group.index)
        p_lapse[at] = 1.0 - np.atleast_1d(model.retention(group["t"].to_numpy()))
    merged["p_lapse"] = p_lapse
    price = merged["tier"].map({k: float(str(v)) for k, v in prices.items()}).fillna(0.0)
    merged["predicted_dues"] = (1.0 - p_lapse) * price.to_numpy(dtype=float)
    merged["cohort"] = merged[list(report.by)].astype(str).agg(" / ".join, axis=1)
    rows = []
    for name, g in [*merged.groupby("cohort", sort=True), ("all", merged)]:
        lapses = float(g["lapsed"].sum())
        predicted = float(g["p_lapse"].sum())
        dues = float(g["price"].sum())
        predicted_dues = float(g["predicted_dues"].sum())
        rows.append(
            {
                "cohort": name,
                "decisions": len(g),
                "predicted_lapses": predicted,
                "lapses": lapses,
                "lapse_error": (predicted - lapses) / lapses if lapses else np.nan,
                "predicted_dues": predicted_dues,
                "dues": dues,
                "dues_error": (predicted_dues - dues) / dues if dues else np.nan,
            }
        )
    return pd.DataFrame(rows)
