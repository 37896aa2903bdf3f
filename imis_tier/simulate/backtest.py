"""Back-tests: fit before a known change, simulate it, and compare with what then happened.

:func:`backtest_change` takes a change date (the association's price change or benefit move),
fits the tier-choice model on the renewals settled before it, simulates the structure in force
from that date for the members who then faced a renewal in the following year, and compares the
forecast with their actual decisions: lapse rate, tier shares after the decision, and net dues
revenue (dues of those who renewed, at list price). :func:`compare_with_truth` does the same
against a synthetic association's ground-truth forward run (evaluation only: the truth is never
an input to fitting or simulation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.features import build_panel
from imis_tier.simulate.choice_data import settled_decisions
from imis_tier.simulate.engine import simulate
from imis_tier.simulate.model import TierChoiceModel
from imis_tier.simulate.structure_io import benefit_costs, structure_at
from imis_tier.structure import LAPSE, TierStructure
from imis_tier.warehouse import Warehouse


@dataclass(frozen=True)
class BacktestResult:
    """Forecast against outcome for one change: figures and their errors."""

    label: str
    change_date: date
    decisions: int
    forecast: dict[str, Any]
    actual: dict[str, Any]
    errors: dict[str, float] = field(default_factory=dict)

    def passes(
        self, lapse_pp: float = 2.0, share_pp: float = 2.0, revenue_pct: float = 3.0
    ) -> bool:
        """Whether the errors are within the targets (points, points, percent)."""
        return (
            abs(self.errors["lapse_rate_pp"]) <= lapse_pp
            and self.errors["max_share_pp"] <= share_pp
            and abs(self.errors["dues_revenue_pct"]) <= revenue_pct
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "change_date": str(self.change_date),
            "decisions": self.decisions,
            "forecast": self.forecast,
            "actual": self.actual,
            "errors": self.errors,
        }


def _figures(to: pd.Series, dues: float) -> dict[str, Any]:
    kept = to[to != LAPSE]
    shares = (kept.value_counts() / max(len(kept), 1)).to_dict()
    return {
        "lapse_rate": float((to == LAPSE).mean()),
        "shares": {str(k): float(v) for k, v in sorted(shares.items())},
        "dues_revenue": float(dues),
    }


def _errors(forecast: dict[str, Any], actual: dict[str, Any]) -> dict[str, float]:
    codes = set(forecast["shares"]) | set(actual["shares"])
    share_pp = {
        c: 100 * (forecast["shares"].get(c, 0.0) - actual["shares"].get(c, 0.0)) for c in codes
    }
    return {
        "lapse_rate_pp": 100 * (forecast["lapse_rate"] - actual["lapse_rate"]),
        "max_share_pp": max(abs(v) for v in share_pp.values()) if share_pp else 0.0,
        "dues_revenue_pct": 100 * (forecast["dues_revenue"] / actual["dues_revenue"] - 1)
        if actual["dues_revenue"]
        else float("nan"),
        **{f"share_pp.{c}": v for c, v in sorted(share_pp.items())},
    }


def backtest_change(
    warehouse: Warehouse,
    change_date: date,
    *,
    label: str = "change",
    kind: str = "conditional",
    draws: int = 100,
    seed: int = 0,
    price_rise: bool = False,
) -> BacktestResult:
    """Fit on renewals before ``change_date``, forecast the next year's renewals, compare.

    ``kind`` and ``price_rise`` are the :class:`TierChoiceModel`'s.
    """
    model = TierChoiceModel(kind, price_rise=price_rise).fit(warehouse, end=change_date)
    after = structure_at(warehouse, change_date)
    before = structure_at(warehouse, change_date - timedelta(days=1))
    panel = build_panel(warehouse, change_date)
    # The first settled decision of each panel member in the year after the change.
    outcome = settled_decisions(warehouse, start=change_date, end=change_date + timedelta(days=365))
    outcome = outcome.sort_values("decision_date").drop_duplicates("party_id")
    panel = panel[panel["party_id"].astype("int64").isin(outcome["party_id"].astype("int64"))]
    outcome = outcome[outcome["party_id"].astype("int64").isin(panel["party_id"].astype("int64"))]
    forecast = simulate(
        after, panel, model, status_quo=before, draws=draws, seed=seed,
        costs=benefit_costs(warehouse), name=label,
    )  # fmt: skip
    predicted = _forecast_figures(forecast.migration(), after)
    to = outcome["to_tier"].astype(str)
    renewed = outcome[to != LAPSE]
    prices = {t.code: float(t.price) for t in after.tiers}
    actual = _figures(to, float(renewed["to_tier"].map(prices).fillna(0).sum()))
    return BacktestResult(
        label, change_date, len(outcome), predicted, actual, _errors(predicted, actual)
    )


def _forecast_figures(migration: pd.DataFrame, structure: TierStructure) -> dict[str, Any]:
    """Lapse rate, shares and dues from a mean migration matrix."""
    to_counts = migration.sum(axis=0)
    total = float(to_counts.sum())
    kept = to_counts.drop(LAPSE)
    prices = np.array([float(structure.tier(c).price) for c in kept.index])
    return {
        "lapse_rate": float(to_counts[LAPSE] / total) if total else 0.0,
        "shares": {str(c): float(v / kept.sum()) for c, v in sorted(kept.items())},
        "dues_revenue": float((kept.to_numpy() * prices).sum()),
    }


def compare_with_truth(
    warehouse: Warehouse,
    truth: Any,
    structure: TierStructure,
    model: TierChoiceModel,
    status_quo: TierStructure,
    *,
    as_of: date,
    label: str = "scenario",
    draws: int = 100,
    seed: int = 0,
) -> BacktestResult:
    """Forecast ``structure`` from ``as_of`` and compare with ``truth.forward`` over 12 months.

    Only renewal decisions of members in the panel count on both sides (the forecast does not
    model joins). ``truth`` is a synthetic association's ground truth, read for comparison only.
    """
    panel = build_panel(warehouse, as_of)
    run = truth.forward(structure, months=12, seed=seed)
    d = run.decisions
    d = d[(d["kind"] == "renewal") & d["party_id"].isin(panel["party_id"].astype("int64"))]
    d = d.sort_values("decision_date").drop_duplicates("party_id")
    panel = panel[panel["party_id"].astype("int64").isin(d["party_id"])]
    forecast = simulate(
        structure, panel, model, status_quo=status_quo, draws=draws, seed=seed,
        costs=benefit_costs(warehouse), name=label,
    )  # fmt: skip
    predicted = _forecast_figures(forecast.migration(), structure)
    to = d["to_tier"].astype(str)
    actual = _figures(to, float(d.loc[to != LAPSE, "price_cents"].sum()) / 100.0)
    return BacktestResult(label, as_of, len(d), predicted, actual, _errors(predicted, actual))


def known_changes(warehouse: Warehouse) -> list[tuple[str, date]]:
    """Dated structure changes the warehouse shows: price changes and benefit moves.

    A tier's price row that starts after its first one is a price change; a tier-benefit row
    that ends, or starts after the map's first date, is a benefit change.
    """
    found: dict[date, list[str]] = {}
    for code, when in warehouse.fetchall(
        "SELECT tier_code, effective_from FROM (SELECT *, row_number() OVER "
        "(PARTITION BY tier_code ORDER BY effective_from) AS n FROM tier_prices) WHERE n > 1"
    ):
        found.setdefault(_as_date(when), []).append(f"price {code}")
    first = warehouse.fetchone("SELECT min(effective_from) FROM raw_tier_benefits")
    start = _as_date(first[0]) if first and first[0] is not None else None
    for code, benefit, when in warehouse.fetchall(
        "SELECT tier_code, benefit, effective_to FROM raw_tier_benefits WHERE effective_to IS NOT NULL "
        "UNION ALL SELECT tier_code, benefit, effective_from FROM raw_tier_benefits WHERE effective_from > ?",
        [start],
    ):
        found.setdefault(_as_date(when), []).append(f"benefit {benefit} {code}")
    return [(", ".join(sorted(set(v))), d) for d, v in sorted(found.items())]


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value
