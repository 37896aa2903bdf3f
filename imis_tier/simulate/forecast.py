"""What a simulation returns: per-draw totals for a scenario and the status quo, and their summaries.

Every figure exists once per draw (a parameter draw from the model's asymptotic covariance
combined with one multinomial outcome per member), for the scenario and for the status quo under
the *same* draws, so a change ("scenario minus status quo") has an interval of its own that is
much tighter than either figure's. Intervals are the central ``level`` quantiles over draws.

Money is ``Decimal`` (cents) in :meth:`Forecast.summary` and the JSON; tables carry floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from imis_tier.structure import LAPSE, TierStructure

FloatArray = NDArray[np.float64]

MONEY = ("dues_revenue", "nondues_revenue", "cost_to_serve", "net_revenue", "revenue_per_member")
"""Metrics measured in dollars."""


@dataclass
class Totals:
    """Additive per-draw sums of one structure's run, shape ``(draws, groups, ...)``."""

    migration: FloatArray  # (D, G, from, to): members from their tier now to their state at the end
    dues: FloatArray  # (D, G)
    nondues: FloatArray
    cost: FloatArray
    access: FloatArray  # sum of benefit access over members retained at the end
    decisions: FloatArray  # renewal decisions made over the horizon
    lapses: FloatArray

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    def collapse(self, groups: NDArray[np.intp] | None = None) -> Totals:
        """Sum over groups, keeping a groups axis of one (or the groups selected)."""
        pick = slice(None) if groups is None else groups

        def fold(a: FloatArray) -> FloatArray:
            return np.asarray(a[:, pick].sum(axis=1, keepdims=True), dtype=np.float64)

        return Totals(*(fold(getattr(self, f)) for f in self.__dataclass_fields__))


@dataclass(frozen=True)
class Estimate:
    """A figure with its interval: ``mean`` and the ``lower``/``upper`` quantiles over draws."""

    mean: Decimal | float
    lower: Decimal | float
    upper: Decimal | float

    def to_json(self) -> dict[str, str | float]:
        return {
            k: (str(v) if isinstance(v, Decimal) else float(v))
            for k, v in (("mean", self.mean), ("lower", self.lower), ("upper", self.upper))
        }


def _metrics(
    t: Totals, from_codes: tuple[str, ...], to_codes: tuple[str, ...]
) -> dict[str, FloatArray]:
    """Per-draw metric arrays (D, G) from additive totals."""
    mig = t.migration
    start = mig.sum(axis=3).sum(axis=2)
    lapsed = mig[..., -1].sum(axis=2)
    end = start - lapsed
    with np.errstate(divide="ignore", invalid="ignore"):
        out: dict[str, FloatArray] = {
            "members_start": start,
            "members_end": end,
            "churn_rate": np.where(start > 0, lapsed / start, 0.0),
            "lapse_rate": np.where(t.decisions > 0, t.lapses / t.decisions, 0.0),
            "dues_revenue": t.dues,
            "nondues_revenue": t.nondues,
            "cost_to_serve": t.cost,
            "net_revenue": t.dues + t.nondues - t.cost,
            "revenue_per_member": np.where(
                t.decisions - t.lapses > 0, (t.dues + t.nondues) / (t.decisions - t.lapses), 0.0
            ),
            "engagement": np.where(end > 0, t.access / end, 0.0),
        }
        by_tier = mig.sum(axis=2)
        for k, code in enumerate(to_codes[:-1]):
            out[f"count.{code}"] = by_tier[..., k]
            out[f"share.{code}"] = np.where(end > 0, by_tier[..., k] / end, 0.0)
    return out


@dataclass
class Forecast:
    """A scenario against the status quo, over ``horizon`` yearly renewal cycles.

    ``scenario`` and ``status_quo`` hold the per-draw :class:`Totals`; ``groups`` labels the
    groups (a DataFrame with the ``by`` columns, one row per group; one row and no columns when
    ``by`` is empty). ``from_codes`` are the tiers members hold now; ``to_codes`` /
    ``status_quo_codes`` the alternatives (tiers then LAPSE) of each structure.
    """

    name: str
    structure: TierStructure
    status_quo_structure: TierStructure
    scenario: Totals
    status_quo: Totals
    groups: pd.DataFrame
    from_codes: tuple[str, ...]
    to_codes: tuple[str, ...]
    status_quo_codes: tuple[str, ...]
    draws: int
    horizon: int
    seed: int
    by: tuple[str, ...]
    level: float = 0.9
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ figures

    def _per_draw(self, group: int | None) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
        sel = None if group is None else np.array([group])
        a = _metrics(self.scenario.collapse(sel), self.from_codes, self.to_codes)
        b = _metrics(self.status_quo.collapse(sel), self.from_codes, self.status_quo_codes)
        return {k: v[:, 0] for k, v in a.items()}, {k: v[:, 0] for k, v in b.items()}

    def per_draw(self, group: int | None = None) -> pd.DataFrame:
        """Every metric per draw (rows) for the scenario, the status quo and the change."""
        a, b = self._per_draw(group)
        cols: dict[str, FloatArray] = {}
        for k in a:
            cols[f"scenario.{k}"] = a[k]
            base = b.get(k, np.zeros_like(a[k]))
            cols[f"status_quo.{k}"] = base
            cols[f"change.{k}"] = a[k] - base
        return pd.DataFrame(cols)

    def table(self, by_group: bool = False) -> pd.DataFrame:
        """Mean and interval of every metric: scenario, status quo and change.

        One row per metric (``by_group=False``) or per group and metric.
        """
        q = ((1 - self.level) / 2, 1 - (1 - self.level) / 2)
        frames = []
        targets: list[int | None] = list(range(len(self.groups))) if by_group else [None]
        for g in targets:
            draws = self.per_draw(g)
            rows = []
            metrics = sorted({c.split(".", 1)[1] for c in draws.columns}, key=_metric_order)
            for m in metrics:
                row: dict[str, Any] = {"metric": m}
                for side in ("scenario", "status_quo", "change"):
                    x = draws[f"{side}.{m}"].to_numpy()
                    row[side] = float(x.mean())
                    row[f"{side}_lower"], row[f"{side}_upper"] = (
                        float(v) for v in np.quantile(x, q)
                    )
                rows.append(row)
            frame = pd.DataFrame(rows)
            if g is not None:
                for c in self.groups.columns:
                    frame.insert(0, c, self.groups.iloc[g][c])
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> dict[str, dict[str, Estimate]]:
        """``{"scenario"|"status_quo"|"change": {metric: Estimate}}``; money as ``Decimal``."""
        table = self.table()
        out: dict[str, dict[str, Estimate]] = {}
        for side in ("scenario", "status_quo", "change"):
            out[side] = {}
            for _, row in table.iterrows():
                vals = [row[side], row[f"{side}_lower"], row[f"{side}_upper"]]
                if row["metric"] in MONEY:
                    out[side][row["metric"]] = Estimate(*(_cents(v) for v in vals))
                else:
                    out[side][row["metric"]] = Estimate(*(round(float(v), 6) for v in vals))
        return out

    def migration(self, side: str = "scenario") -> pd.DataFrame:
        """Mean members moving from each current tier (rows) to each alternative (columns)."""
        totals = self.scenario if side == "scenario" else self.status_quo
        codes = self.to_codes if side == "scenario" else self.status_quo_codes
        mean = totals.migration.sum(axis=1).mean(axis=0)
        return pd.DataFrame(
            mean, index=pd.Index(self.from_codes, name="from"), columns=pd.Index(codes, name="to")
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (money as strings of cents), per group too when ``by`` was given."""
        out: dict[str, Any] = {
            "name": self.name,
            "draws": self.draws,
            "horizon": self.horizon,
            "seed": self.seed,
            "by": list(self.by),
            "level": self.level,
            "summary": {
                side: {m: e.to_json() for m, e in metrics.items()}
                for side, metrics in self.summary().items()
            },
            "migration": {
                f: {t: round(float(v), 4) for t, v in row.items()}
                for f, row in self.migration().iterrows()
            },
            **self.meta,
        }
        if self.by:
            out["by_group"] = json_records(self.table(by_group=True))
        return out


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for rec in frame.to_dict(orient="records"):
        records.append(
            {
                str(k): (
                    round(v, 6) if isinstance(v, float) else str(v) if not isinstance(v, int) else v
                )
                for k, v in rec.items()
            }
        )
    return records


def _cents(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"))


_ORDER = (
    "members_start", "members_end", "churn_rate", "lapse_rate", "dues_revenue", "nondues_revenue",
    "cost_to_serve", "net_revenue", "revenue_per_member", "engagement",
)  # fmt: skip


def _metric_order(name: str) -> tuple[int, str]:
    return (_ORDER.index(name), "") if name in _ORDER else (len(_ORDER), name)


__all__ = ["LAPSE", "MONEY", "Estimate", "Forecast", "Totals"]
