"""Churn risk by tier: one lapse model per tier, so each tier's own pain points are visible.

A single model over all members lets the biggest tier's drivers speak for everyone. Here every
tier with enough lapses in training gets its own calibrated binary lapse model (the additive
:class:`~imis_tier.scoring.propensity.PropensityModel`); tiers with too few lapses share a pooled
model that knows the tier only as a feature. :func:`churn_by_tier` then reports, per tier, the
historical lapse rate, the mean predicted risk of today's members and the features that move that
risk most, each with its direction and the *pain point*: the feature level that pushes hardest
toward lapsing and how many of the tier's members sit there ("has not used webinars in 12 months:
+4.1 points toward lapse, 58% of PREM members").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from imis_tier.scoring.drivers import _phrase  # the one phrase renderer, shared with sentences
from imis_tier.scoring.propensity import PropensityModel

LAPSE = "lapse"
STAY = "stay"
_TIER_FEATURES = ("tier", "tier_rank")  # constant within a tier's own model


@dataclass(frozen=True)
class TierChurnModels:
    """Fitted lapse models: one per tier with enough lapses, one pooled for the rest.

    Attributes:
        models: tier -> its own binary lapse model (outcomes ``lapse`` / ``stay``).
        pooled: the model for tiers not in ``models`` (``None`` when every tier has its own).
        features: the features of the per-tier models (the pooled one adds ``tier`` and
            ``tier_rank``).
        lapse_rate: training lapse rate per tier.
        n_train: training rows per tier.
    """

    models: Mapping[str, PropensityModel]
    pooled: PropensityModel | None
    features: tuple[str, ...]
    lapse_rate: Mapping[str, float]
    n_train: Mapping[str, int]

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(sorted(self.lapse_rate))

    def model_for(self, tier: str) -> PropensityModel:
        """The lapse model scoring members of ``tier``."""
        if tier in self.models:
            return self.models[tier]
        if self.pooled is None or tier not in self.lapse_rate:
            raise KeyError(f"tier {tier!r} was not in the churn models' training data")
        return self.pooled

    def predict(self, X: pd.DataFrame, tier_column: str = "tier") -> np.ndarray:
        """P(lapse) per row, each from its tier's model; NaN for a tier never seen in training."""
        out = np.full(len(X), np.nan)
        tiers = X[tier_column].astype(str).to_numpy()
        for tier in np.unique(tiers):
            if tier not in self.lapse_rate:
                continue
            rows = np.flatnonzero(tiers == tier)
            model = self.model_for(str(tier))
            proba = model.predict_proba(X.iloc[rows])
            out[rows] = proba[:, list(model.classes_).index(LAPSE)]
        return out


def fit_tier_churn(
    X: pd.DataFrame,
    outcome: Sequence[Any] | pd.Series,
    *,
    features: Sequence[str],
    tier_column: str = "tier",
    min_lapses: int = 30,
    params: Mapping[str, Any] | None = None,
) -> TierChurnModels:
    """Fit a lapse model per tier (``min_lapses`` lapses and stays at least) and a pooled one.

    Args:
        X: training rows (the panel), holding ``features`` and ``tier_column``.
        outcome: the observed outcome per row; ``"lapse"`` is churn, anything else stays.
        features: model features; the tier columns are dropped from per-tier models.
        min_lapses: fewer lapses (or stays) than this and the tier is scored by the pooled model.
        params: :class:`PropensityModel` parameters.
    """
    lapsed = np.where(np.asarray(outcome, dtype=object) == LAPSE, LAPSE, STAY)
    if len(lapsed) != len(X):
        raise ValueError(f"X has {len(X)} rows but outcome has {len(lapsed)}")
    own = [f for f in features if f not in _TIER_FEATURES]
    tiers = X[tier_column].astype(str).to_numpy()
    models: dict[str, PropensityModel] = {}
    rates: dict[str, float] = {}
    counts: dict[str, int] = {}
    pooled_rows = np.zeros(len(X), dtype=bool)
    for tier in sorted(np.unique(tiers)):
        rows = tiers == tier
        n_lapse = int((lapsed[rows] == LAPSE).sum())
        rates[str(tier)] = n_lapse / int(rows.sum())
        counts[str(tier)] = int(rows.sum())
        if min(n_lapse, int(rows.sum()) - n_lapse) >= min_lapses:
            models[str(tier)] = PropensityModel(**dict(params or {})).fit(
                X.loc[rows, own], lapsed[rows]
            )
        else:
            pooled_rows |= rows
    pooled = None
    if pooled_rows.any():
        pooled_features = [f for f in features if f in X.columns]
        if len(np.unique(lapsed)) < 2:
            raise ValueError("the training rows hold no lapse (or only lapses): nothing to learn")
        # the pooled model learns from every tier: the thin tiers borrow the others' patterns.
        pooled = PropensityModel(**dict(params or {})).fit(X[pooled_features], lapsed)
    return TierChurnModels(models, pooled, tuple(own), rates, counts)


@dataclass(frozen=True)
class ChurnReport:
    """The result of :func:`churn_by_tier`.

    Attributes:
        summary: one row per tier: ``tier, members, lapse_rate, mean_risk, high_risk_share,
            model`` (``own`` or ``pooled``). ``high_risk_share`` is the share of members whose
            risk is at least twice the tier's training lapse rate.
        drivers: the top drivers per tier: ``tier, rank, feature, importance, direction,
            pain_point, pain_points, pain_share``. ``importance`` is the mean absolute
            contribution in probability points; ``pain_point`` the level pushing hardest toward
            lapse, worded, with its mean points and the share of the tier's members at it.
    """

    summary: pd.DataFrame
    drivers: pd.DataFrame

    def to_text(self, top: int = 3) -> str:
        """A short plain-text report."""
        lines = []
        for row in self.summary.itertuples(index=False):
            lines.append(
                f"{row.tier}: {row.members} members, lapse rate {row.lapse_rate:.1%} "
                f"(training), mean risk {row.mean_risk:.1%}, {row.high_risk_share:.0%} at "
                f"twice the usual risk [{row.model} model]"
            )
            drivers = self.drivers[self.drivers["tier"] == row.tier].head(top)
            for d in drivers.itertuples(index=False):
                pain = (
                    f"; pain point: {d.pain_point} ({d.pain_points:+.1f} points, "
                    f"{d.pain_share:.0%} of members)"
                    if isinstance(d.pain_point, str)
                    else ""
                )
                lines.append(f"    {d.rank}. {d.feature} ({d.direction}){pain}")
        return "\n".join(lines)


def churn_by_tier(
    models: TierChurnModels,
    X: pd.DataFrame,
    *,
    tier_column: str = "tier",
    top: int = 5,
    templates: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> ChurnReport:
    """Lapse risk of the members in ``X`` by tier, with each tier's strongest drivers.

    Args:
        models: from :func:`fit_tier_churn`.
        X: the members to report on (e.g. today's panel).
        top: drivers listed per tier.
        templates: phrase templates per feature for the pain points (as for
            :func:`~imis_tier.scoring.drivers.describe_drivers`).
        labels: readable feature names for the generic phrase.
    """
    templates = dict(templates or {})
    labels = dict(labels or {})
    summary, drivers = [], []
    tiers = X[tier_column].astype(str)
    for tier in sorted(tiers.unique()):
        if tier not in models.lapse_rate:
            continue
        rows = X[(tiers == tier).to_numpy()]
        model = models.model_for(tier)
        explanation = model.explain(rows)
        k = list(explanation.outcomes).index(LAPSE)
        risk = explanation.probability[LAPSE].to_numpy()
        rate = models.lapse_rate[tier]
        summary.append(
            {
                "tier": tier,
                "members": len(rows),
                "lapse_rate": rate,
                "mean_risk": float(risk.mean()),
                "high_risk_share": float((risk >= 2 * rate).mean()) if rate > 0 else 0.0,
                "model": "own" if tier in models.models else "pooled",
            }
        )
        points = explanation.points[:, :, k]
        importance = np.abs(points).mean(axis=0)
        order = [j for j in np.argsort(-importance, kind="stable") if importance[j] > 0][:top]
        for rank, j in enumerate(order, start=1):
            feature = explanation.features[j]
            values = explanation.values.iloc[:, j]
            drivers.append(
                {
                    "tier": tier,
                    "rank": rank,
                    "feature": feature,
                    "importance": float(importance[j]),
                    "direction": _direction(values, points[:, j]),
                    **_pain_point(
                        values,
                        points[:, j],
                        model.encodings_[j].codes(values),
                        feature,
                        tier,
                        templates.get(feature),
                        labels,
                    ),
                }
            )
    columns = ["tier", "rank", "feature", "importance", "direction"]
    return ChurnReport(
        summary=pd.DataFrame(
            summary,
            columns=["tier", "members", "lapse_rate", "mean_risk", "high_risk_share", "model"],
        ),
        drivers=pd.DataFrame(
            drivers, columns=[*columns, "pain_point", "pain_points", "pain_share"]
        ),
    )


def _direction(values: pd.Series, points: np.ndarray) -> str:
    """How the feature moves lapse risk: with its value (numeric) or which category raises it."""
    numeric = pd.to_numeric(values, errors="coerce") if values.dtype != bool else None
    if numeric is not None and numeric.notna().sum() >= 3 and numeric.nunique() > 1:
        ok = numeric.notna().to_numpy()
        if np.ptp(points[ok]) > 0:
            rho = float(spearmanr(numeric[ok], points[ok]).statistic)
            if rho > 0.1:
                return "higher raises risk"
            if rho < -0.1:
                return "lower raises risk"
        return "non-monotone"
    frame = pd.DataFrame({"v": values.astype(str).to_numpy(), "p": points})
    worst = frame.groupby("v")["p"].mean().idxmax()
    return f"{worst} raises risk"


def _pain_point(
    values: pd.Series,
    points: np.ndarray,
    levels: np.ndarray,
    feature: str,
    tier: str,
    template: Any,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The model level (bin or category) with the largest mean push toward lapse, worded."""
    frame = pd.DataFrame({"k": levels, "p": points})
    by = frame.groupby("k")["p"].agg(["mean", "size"])
    best = int(by["mean"].idxmax())  # type: ignore[call-overload]
    mean = float(by["mean"].loc[best])
    if mean <= 0:
        return {"pain_point": None, "pain_points": 0.0, "pain_share": 0.0}
    at = values[levels == best]
    numeric = pd.to_numeric(at, errors="coerce") if at.dtype != bool else None
    if numeric is not None and numeric.notna().any():
        value: Any = float(numeric.median())  # a bin's typical member, not its edge
    else:
        value = at.iloc[0]
    fields = {
        "value": value,
        "feature": feature,
        "label": labels.get(feature, feature),
        "points": mean,
        "logit": float("nan"),
        "outcome": LAPSE,
        "tier": tier,
    }
    return {
        "pain_point": _phrase(template, fields),
        "pain_points": mean,
        "pain_share": float(by["size"].loc[best]) / len(levels),
    }
