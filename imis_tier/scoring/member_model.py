"""The member-scoring model: next-renewal propensities, per-tier churn risk, driver sentences.

:class:`MemberScoringModel` bundles what one scoring run needs into one registry entry (one
``model_ref``): the calibrated multinomial :class:`~imis_tier.scoring.propensity.PropensityModel`
(renew / upgrade / downgrade / lapse), the per-tier lapse models of
:mod:`imis_tier.scoring.churn`, and the facts of its training (tiers, outcome rates).

:func:`score_panel` is pure: panel in, scores out. It never returns a NaN probability. A member is
*unscorable*, listed with a reason instead of scored, when their tier was not in the training data
(its upgrade and downgrade room are unknown to the model) or when they have no paid dues before the
as-of date (nothing to score on). Gaps the model was trained to handle are imputed, as documented:
a missing numeric value (no payment yet, no activity on record) is its own learned level, activity
counts of a member with no activity are zero, and a feature column absent from the panel is
scored as missing for everyone (with a warning in the result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.scoring.churn import fit_tier_churn
from imis_tier.scoring.drivers import DEFAULT_OUTCOME_LABELS, _phrase
from imis_tier.scoring.drivers_config import (
    FEATURE_LABELS,
    add_derived_features,
    driver_templates,
    model_features,
)
from imis_tier.scoring.explain import Explanation
from imis_tier.scoring.propensity import PropensityModel

OUTCOMES = ("renew", "upgrade", "downgrade", "lapse")
PROBABILITY_COLUMNS = {o: f"p_{o}" for o in OUTCOMES}
DEFAULT_MODEL_PARAMS: dict[str, Any] = {"C": 0.1}
"""Estimator defaults for both models: a firmer L2 penalty than sklearn's C=1, which the
back-test on the synthetic association prefers (per-tier models have few rows per level)."""


class ScoringError(ValueError):
    """The scoring pipeline cannot run as asked (no training data, no members, bad arguments)."""


class MemberScoringModel:
    """Propensity at the next renewal plus per-tier churn risk, fitted on one training panel.

    Args:
        propensity_params: :class:`PropensityModel` parameters for the outcome model (over
            :data:`DEFAULT_MODEL_PARAMS`).
        churn_params: :class:`PropensityModel` parameters for the per-tier lapse models (over
            :data:`DEFAULT_MODEL_PARAMS`).
        min_lapses: a tier needs this many lapses (and stays) in training for its own lapse model.
        min_outcome_rows: an outcome seen fewer times in training is left out of the model (its
            probability is then 0; the fitted model lists it in ``dropped_outcomes_``).
        features: base feature columns (default :data:`~imis_tier.scoring.drivers_config.MODEL_FEATURES`
            plus the panel's ``use_<benefit>`` columns).
    """

    def __init__(
        self,
        *,
        propensity_params: Mapping[str, Any] | None = None,
        churn_params: Mapping[str, Any] | None = None,
        min_lapses: int = 100,
        min_outcome_rows: int = 10,
        features: Sequence[str] | None = None,
    ) -> None:
        self.propensity_params = propensity_params
        self.churn_params = churn_params
        self.min_lapses = min_lapses
        self.min_outcome_rows = min_outcome_rows
        self.features = features

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor parameters (recorded on the model card)."""
        return {
            "propensity_params": dict(self.propensity_params or {}),
            "churn_params": dict(self.churn_params or {}),
            "min_lapses": self.min_lapses,
            "min_outcome_rows": self.min_outcome_rows,
            "features": list(self.features) if self.features is not None else None,
        }

    def fit(self, panel: pd.DataFrame, outcome: Sequence[Any] | pd.Series) -> MemberScoringModel:
        """Fit on training panel rows and their observed next-renewal outcomes; returns ``self``."""
        y = pd.Series(np.asarray(outcome, dtype=object), index=panel.index)
        unknown = sorted(set(y.unique()) - set(OUTCOMES))
        if unknown:
            raise ScoringError(f"outcomes must be among {list(OUTCOMES)}, got {unknown}")
        counts = y.value_counts()
        rare = sorted(str(o) for o in counts.index[counts.to_numpy() < self.min_outcome_rows])
        if rare:
            # Too few examples to fit and calibrate an outcome: it is left out, so it scores 0.
            keep = ~y.isin(rare).to_numpy()
            panel, y = panel.loc[keep], y.loc[keep]
        if y.nunique() < 2:
            raise ScoringError(
                f"the training rows hold fewer than two outcomes with {self.min_outcome_rows}+ "
                f"examples ({counts.to_dict()}): load more history"
            )
        frame = add_derived_features(panel)
        base = tuple(self.features) if self.features is not None else None
        wanted = model_features(frame) if base is None else model_features(frame, base)
        absent = [f for f in wanted if f not in frame.columns]
        if base is not None and absent:
            raise ScoringError(f"the training panel has no column(s) {absent}")
        features = [f for f in wanted if f in frame.columns]
        self.propensity_ = PropensityModel(
            **{**DEFAULT_MODEL_PARAMS, **dict(self.propensity_params or {})}
        ).fit(frame[features], y)
        self.churn_ = fit_tier_churn(
            frame,
            y,
            features=features,
            min_lapses=self.min_lapses,
            params={**DEFAULT_MODEL_PARAMS, **dict(self.churn_params or {})},
        )
        self.features_ = tuple(features)
        self.classes_ = self.propensity_.classes_
        self.tiers_ = tuple(sorted(frame["tier"].astype(str).unique()))
        rates = y.value_counts(normalize=True)
        self.prevalence_ = {str(o): float(rates.get(o, 0.0)) for o in self.classes_}
        self.n_train_ = len(frame)
        self.dropped_outcomes_ = tuple(rare)
        return self

    def check_fitted(self) -> None:
        if not hasattr(self, "propensity_"):
            raise ScoringError("the MemberScoringModel is not fitted yet: call fit() first")


@dataclass(frozen=True)
class ScoredPanel:
    """What :func:`score_panel` returns.

    Attributes:
        scores: one row per scored member: ``party_id, tier, p_renew, p_upgrade, p_downgrade,
            p_lapse, churn_risk, driver_outcome, driver_1..3`` (and engagement columns when an
            engagement table was given).
        unscorable: ``party_id, tier, reason`` for members not scored.
        warnings: imputations that touched every member (e.g. a feature absent from the panel).
        explanations: the per-chunk explanations when ``keep_explanations`` was set.
    """

    scores: pd.DataFrame
    unscorable: pd.DataFrame
    warnings: tuple[str, ...] = ()
    explanations: tuple[Explanation, ...] = field(default=())


def prepare_panel(
    model: MemberScoringModel, panel: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Split ``panel`` into model-ready scorable rows and unscorable rows with reasons."""
    model.check_fitted()
    frame = add_derived_features(panel)
    warnings: list[str] = []
    for feature in model.features_:
        if feature not in frame.columns:
            frame[feature] = np.nan
            warnings.append(
                f"feature {feature!r} is not in the panel: scored as missing for every member"
            )
    if "party_id" not in frame.columns or "tier" not in frame.columns:
        raise ScoringError("the panel needs 'party_id' and 'tier' columns")
    tier = frame["tier"].astype("string")
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason[tier.isna()] = "no tier on record"
    known = tier.isin(model.tiers_).fillna(False).astype(bool)
    reason[tier.notna() & ~known] = (
        "tier " + tier[tier.notna() & ~known] + " was not in the model's training data"
    )
    if "dues_paid_count" in frame.columns:
        paid = pd.to_numeric(frame["dues_paid_count"], errors="coerce").fillna(0)
        no_history = (paid <= 0) & reason.isna()
        reason[no_history] = "no paid dues before the as-of date: no history to score on"
    bad = reason.notna().to_numpy()
    unscorable = pd.DataFrame(
        {
            "party_id": frame.loc[bad, "party_id"].astype(str).to_numpy(),
            "tier": tier[bad].to_numpy(dtype=object),
            "reason": reason[bad].to_numpy(dtype=object),
        }
    )
    return frame.loc[~bad].reset_index(drop=True), unscorable, warnings


def score_panel(
    model: MemberScoringModel,
    panel: pd.DataFrame,
    *,
    engagement: pd.DataFrame | None = None,
    explain: bool = True,
    driver_outcome: str | None = "auto",
    k: int = 3,
    chunk_rows: int = 50_000,
    keep_explanations: bool = False,
) -> ScoredPanel:
    """Score every member of ``panel``: probabilities, churn risk and top-``k`` driver sentences.

    Args:
        model: a fitted :class:`MemberScoringModel`.
        panel: from :func:`~imis_tier.features.build_panel` (one row per member).
        engagement: optional, indexed by ``party_id``: columns merged into the scores.
        explain: compute driver sentences (``False``: probabilities only, faster).
        driver_outcome: the outcome each member's drivers explain. ``"auto"`` takes, per member,
            the non-renewal outcome whose probability is highest relative to its training rate
            (what is unusual about the member: an upgrade candidate gets upgrade drivers, a lapse
            risk lapse drivers); ``None`` the most probable outcome; or an outcome name.
        k: driver sentences per member.
        chunk_rows: rows explained at once (bounds memory).
        keep_explanations: keep the :class:`Explanation` chunks in the result.
    """
    ready, unscorable, warnings = prepare_panel(model, panel)
    propensity = model.propensity_
    outcomes = [str(c) for c in propensity.classes_]
    if driver_outcome not in (None, "auto") and driver_outcome not in outcomes:
        raise ScoringError(f"driver_outcome must be 'auto', None or one of {outcomes}")
    templates = driver_templates(list(model.features_))
    frames, kept = [], []
    for start in range(0, len(ready), chunk_rows):
        chunk = ready.iloc[start : start + chunk_rows]
        X = chunk.loc[:, list(model.features_)]
        part = pd.DataFrame(
            {
                "party_id": chunk["party_id"].astype(str).to_numpy(),
                "tier": chunk["tier"].astype(str).to_numpy(),
            }
        )
        if explain:
            explanation = propensity.explain(X)
            proba = explanation.probability.to_numpy()
            chosen = _driver_choice(proba, outcomes, model.prevalence_, driver_outcome)
            part["driver_outcome"] = np.asarray(outcomes, dtype=object)[chosen]
            sentences = driver_sentences(
                explanation, chosen, chunk["tier"].astype(str).to_numpy(), templates, k=k
            )
            for r in range(k):
                part[f"driver_{r + 1}"] = sentences[:, r]
            if keep_explanations:
                kept.append(explanation)
        else:
            proba = propensity.predict_proba(X)
        for j, outcome in enumerate(outcomes):
            part[f"p_{outcome}"] = proba[:, j]
        part["churn_risk"] = model.churn_.predict(chunk)
        frames.append(part)
    columns = ["party_id", "tier", *(f"p_{o}" for o in OUTCOMES), "churn_risk"]
    if explain:
        columns += ["driver_outcome", *(f"driver_{r + 1}" for r in range(k))]
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    for outcome in OUTCOMES:  # an outcome never seen in training has probability 0, not NaN
        if f"p_{outcome}" not in scores:
            scores[f"p_{outcome}"] = 0.0
    scores, unscorable = _drop_non_finite(scores[columns], unscorable)
    if engagement is not None:
        scores = scores.merge(engagement, left_on="party_id", right_index=True, how="left")
    return ScoredPanel(scores, unscorable, tuple(warnings), tuple(kept))


def _drop_non_finite(
    scores: pd.DataFrame, unscorable: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Last line of defence: a non-finite probability never leaves the pipeline."""
    numbers = scores[[*(f"p_{o}" for o in OUTCOMES), "churn_risk"]].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers).all(axis=1)
    if not bad.any():
        return scores, unscorable
    dropped = pd.DataFrame(
        {
            "party_id": scores.loc[bad, "party_id"].to_numpy(),
            "tier": scores.loc[bad, "tier"].to_numpy(),
            "reason": "the model produced a non-finite probability",
        }
    )
    return scores.loc[~bad].reset_index(drop=True), pd.concat(
        [unscorable, dropped], ignore_index=True
    )


def _driver_choice(
    proba: np.ndarray, outcomes: list[str], prevalence: Mapping[str, float], rule: str | None
) -> np.ndarray:
    if rule is None:
        return np.asarray(np.argmax(proba, axis=1))
    if rule != "auto":
        return np.full(len(proba), outcomes.index(rule))
    candidates = [j for j, o in enumerate(outcomes) if o != "renew" and prevalence.get(o, 0) > 0]
    if not candidates:
        return np.asarray(np.argmax(proba, axis=1))
    lift = proba[:, candidates] / np.array([prevalence[outcomes[j]] for j in candidates])
    return np.asarray(candidates)[np.argmax(lift, axis=1)]


def driver_sentences(
    explanation: Explanation,
    chosen: np.ndarray,
    tiers: np.ndarray,
    templates: Mapping[str, Any],
    *,
    k: int = 3,
    labels: Mapping[str, str] | None = None,
    outcome_labels: Mapping[str, str] | None = None,
) -> np.ndarray:
    """The ``k`` strongest drivers of each row toward its ``chosen`` outcome, as sentences.

    Produces exactly what :func:`~imis_tier.scoring.drivers.describe_drivers` writes for the same
    templates (with the member's ``tier`` as context), but renders each distinct
    (feature, value, tier) phrase once, so a million members take seconds. Returns an
    (rows, k) object array; rows with fewer drivers get ``None``.
    """
    labels = {**FEATURE_LABELS, **dict(labels or {})}
    names = {**DEFAULT_OUTCOME_LABELS, **dict(outcome_labels or {})}
    n, f, _ = explanation.points.shape
    rows = np.arange(n)
    points = explanation.points[rows, :, chosen]  # (n, f): each row's chosen outcome
    take = min(k, f)
    strength = np.abs(points)
    if take < f:
        part = np.argpartition(-strength, take - 1, axis=1)[:, :take]
        within = np.argsort(-np.take_along_axis(strength, part, axis=1), axis=1, kind="stable")
        order = np.take_along_axis(part, within, axis=1)
    else:
        order = np.argsort(-strength, axis=1, kind="stable")
    out = np.full((n, k), None, dtype=object)
    outcome_text = np.asarray(
        [names.get(str(o), str(o)) for o in explanation.outcomes], dtype=object
    )[chosen]
    for r in range(take):
        feat = order[:, r]
        pts = points[rows, feat]
        phrases = np.empty(n, dtype=object)
        for j in np.unique(feat):
            hit = np.flatnonzero(feat == j)
            phrases[hit] = _phrases(
                explanation.values.iloc[:, j].iloc[hit], tiers[hit], explanation.features[j],
                templates.get(explanation.features[j]), labels,
            )  # fmt: skip
        signed = _signed_texts(pts)
        out[:, r] = phrases + ": " + signed + " points toward " + outcome_text
    return out


def _phrases(
    values: pd.Series, tiers: np.ndarray, feature: str, template: Any, labels: Mapping[str, str]
) -> np.ndarray:
    """The phrase of each (value, tier), rendered once per distinct pair."""
    raw = values.to_numpy(dtype=object)
    keys = pd.Series([f"{v!r}\x1f{t}" for v, t in zip(raw.tolist(), tiers.tolist(), strict=True)])
    codes, uniques = pd.factorize(keys)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # the first row holding each pair
    rendered = np.empty(len(uniques), dtype=object)
    for u, i in enumerate(first.tolist()):
        fields = {
            "tier": tiers[i],
            "value": raw[i],
            "feature": feature,
            "label": labels.get(feature, feature),
            "points": float("nan"),
            "logit": float("nan"),
            "outcome": None,
        }
        rendered[u] = _phrase(template, fields)
    return np.asarray(rendered[codes], dtype=object)


def _signed_texts(points: np.ndarray) -> np.ndarray:
    """:func:`_signed` of every value; whole-point texts are rendered once per distinct integer."""
    out = np.empty(len(points), dtype=object)
    # exactly +-0.5 rounds to a signed zero, which np.unique would merge: format those singly
    whole = (np.abs(points) >= 0.5) & (np.abs(points) != 0.5)
    # np.round and str.format both round exact halves to even, so the texts are identical.
    rounded = np.round(points[whole])
    values, codes = np.unique(rounded, return_inverse=True)
    out[whole] = np.asarray([f"{v:+.0f}" for v in values.tolist()], dtype=object)[codes]
    out[~whole] = [_signed(p) for p in points[~whole].tolist()]
    return out


def _signed(points: float) -> str:
    # as describe_drivers: whole points, one decimal below half a point so none reads "+0"
    if abs(points) >= 0.5:
        return f"{points:+.0f}"
    return f"{points:+.1f}"
