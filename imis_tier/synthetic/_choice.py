"""The true renewal choice: utilities and nested-logit probabilities, vectorised over members.

Works for any :class:`TierStructure`: tier codes the truth has no constant for get
``asc_unknown``, benefits outside the catalogue are worth nothing, eligibility rules and segment
discounts are applied to the members' segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from imis_tier.structure import TierStructure
from imis_tier.synthetic.catalog import (
    BENEFIT_CODES,
    BENEFITS,
    CAREER_STAGES,
    INDUSTRIES,
    ORG_SIZES,
    REGIONS,
)
from imis_tier.synthetic.params import TruthParameters

F = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

_SATURATION = np.array([b.saturation for b in BENEFITS])
_STAGE_VALUE = np.array([b.stage_value for b in BENEFITS]).T  # stages x benefits
_ATTRIBUTE = {"career_stage": "stage"}
_FIELDS = {
    "career_stage": CAREER_STAGES,
    "industry": INDUSTRIES,
    "org_size": ORG_SIZES,
    "region": REGIONS,
}


@dataclass
class ChoiceInputs:
    """The state of ``n`` members at a decision: segments, latent traits and current tier.

    ``tier`` holds indexes into the tier-code registry (-1 for no tier); ``value`` (the member's
    own valuation, before the career-stage multiplier) and ``use`` (relative use intensity) are
    ``n x len(BENEFITS)``.
    """

    stage: npt.NDArray[np.int8]
    industry: npt.NDArray[np.int8]
    org_size: npt.NDArray[np.int8]
    region: npt.NDArray[np.int8]
    birth_year: npt.NDArray[np.int16]
    engagement: npt.NDArray[np.float32]
    alpha: npt.NDArray[np.float32]
    habit: npt.NDArray[np.float32]
    autopay: B
    laxity: npt.NDArray[np.float32]
    tier: npt.NDArray[np.int16]
    tenure_years: npt.NDArray[np.float32]
    last_paid_cents: I64
    value: npt.NDArray[np.float32]
    use: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.stage)

    def segment(
        self, name: str
    ) -> tuple[npt.NDArray[np.int8] | npt.NDArray[np.int16], tuple[str, ...] | None]:
        if name == "birth_year":
            return self.birth_year, None
        if name not in _FIELDS:
            raise KeyError(name)
        return getattr(self, _ATTRIBUTE.get(name, name)), _FIELDS[name]


def segment_mask(inputs: ChoiceInputs, name: str, allowed: frozenset[str]) -> B:
    """Members whose segment ``name`` is one of ``allowed`` (unknown fields admit nobody)."""
    try:
        values, vocabulary = inputs.segment(name)
    except KeyError:
        return np.zeros(len(inputs), dtype=bool)
    if vocabulary is None:
        return np.isin(values, [int(v) for v in allowed if v.lstrip("-").isdigit()])
    return np.isin(values, [i for i, v in enumerate(vocabulary) if v in allowed])


@dataclass
class TierMatrix:
    """One structure laid out for vectorised use, with registry indexes for its tiers."""

    codes: tuple[str, ...]
    registry_index: npt.NDArray[np.int16]
    rank: npt.NDArray[np.int64]
    asc: F
    benefits: F  # J x len(BENEFITS), 1.0 where the tier carries the benefit


def tier_matrix(
    structure: TierStructure, registry: list[str], params: TruthParameters
) -> TierMatrix:
    """Lay out ``structure``; tier codes new to ``registry`` are appended to it."""
    for code in structure.codes:
        if code not in registry:
            registry.append(code)
    benefits = np.array(
        [[1.0 if b in tier.benefits else 0.0 for b in BENEFIT_CODES] for tier in structure.tiers]
    ).reshape(len(structure.tiers), len(BENEFIT_CODES))
    return TierMatrix(
        codes=structure.codes,
        registry_index=np.array([registry.index(c) for c in structure.codes], dtype=np.int16),
        rank=np.array([t.rank for t in structure.tiers], dtype=np.int64),
        asc=np.array([params.asc.get(c, params.asc_unknown) for c in structure.codes]),
        benefits=benefits,
    )


def eligibility(inputs: ChoiceInputs, structure: TierStructure) -> B:
    """``n x J``: whether each member may hold each tier."""
    out = np.ones((len(inputs), len(structure.tiers)), dtype=bool)
    for j, tier in enumerate(structure.tiers):
        for name, allowed in tier.eligibility.rules.items():
            out[:, j] &= segment_mask(inputs, name, allowed)
    return out


def member_prices(inputs: ChoiceInputs, structure: TierStructure) -> I64:
    """``n x J`` dues in cents after segment discounts, rounded exactly as ``price_for`` does."""
    n = len(inputs)
    out = np.empty((n, len(structure.tiers)), dtype=np.int64)
    for j, tier in enumerate(structure.tiers):
        best = np.zeros(n)
        for discount in structure.discounts:
            if discount.tiers and tier.code not in discount.tiers:
                continue
            hit = segment_mask(inputs, discount.field, discount.values)
            best = np.where(hit & (float(discount.percent) > best), float(discount.percent), best)
        out[:, j] = _discounted_cents(tier.price, best, structure)
    return out


def _discounted_cents(price: Decimal, percents: F, structure: TierStructure) -> I64:
    out = np.empty(len(percents), dtype=np.int64)
    exact = {float(d.percent): d.percent for d in structure.discounts} | {0.0: Decimal(0)}
    for pct in np.unique(percents):
        value = (price * (Decimal(100) - exact[float(pct)]) / Decimal(100)).quantize(
            Decimal("0.01")
        )
        out[percents == pct] = int(value * 100)
    return out


def utilities(
    inputs: ChoiceInputs, matrix: TierMatrix, prices: I64, params: TruthParameters
) -> tuple[F, F]:
    """True systematic utilities: ``n x J`` for the tiers and ``n`` for LAPSE."""
    e = inputs.engagement.astype(np.float64)
    intensity = inputs.use.astype(np.float64) * np.exp(e)[:, None]
    valuation = inputs.value * _STAGE_VALUE[inputs.stage]
    worth = valuation * (1.0 - np.exp(-intensity / _SATURATION[None, :]))
    dollars = prices / 10000.0
    alpha = inputs.alpha.astype(np.float64)
    v = matrix.asc[None, :] + worth @ matrix.benefits.T - alpha[:, None] * dollars
    v += params.belonging * e[:, None]

    current = inputs.tier[:, None] == matrix.registry_index[None, :]
    stay = (
        inputs.habit
        + params.habit_tenure * np.log1p(inputs.tenure_years)
        + params.autopay_habit * inputs.autopay
    )
    shock = np.maximum(0.0, prices - inputs.last_paid_cents[:, None]) / 10000.0
    shock[:, :] *= (inputs.last_paid_cents > 0)[:, None]
    v += current * (stay[:, None] - params.loss_aversion * alpha[:, None] * shock)

    has_current = current.any(axis=1)
    current_rank = np.where(has_current, (current * matrix.rank[None, :]).sum(axis=1), 0)
    up = has_current[:, None] & (matrix.rank[None, :] > current_rank[:, None])
    down = has_current[:, None] & (matrix.rank[None, :] < current_rank[:, None])
    v -= params.switch_up * up + params.switch_down * down

    lapse = np.asarray(params.lapse_stage)[inputs.stage] + params.laxity_lapse * inputs.laxity
    return v, lapse.astype(np.float64)


def nested_probabilities(v: F, lapse: F, eligible: B, nest_lambda: float) -> tuple[F, F]:
    """Nested logit: ``(P over tiers n x J, P(LAPSE) n)``; ineligible tiers get exactly 0.

    Also usable for joiners: ``P[:, j] / P.sum(1)`` is the within-nest (tiers only) choice.
    """
    scaled = np.where(eligible, v / nest_lambda, -np.inf)
    top = scaled.max(axis=1)
    any_ok = np.isfinite(top)
    top = np.where(any_ok, top, 0.0)
    weights = np.exp(scaled - top[:, None])
    total = weights.sum(axis=1)
    within = weights / np.where(total > 0, total, 1.0)[:, None]
    inclusive = top + np.log(np.where(total > 0, total, 1.0))
    p_nest = np.where(
        any_ok, 1.0 / (1.0 + np.exp(np.clip(lapse - nest_lambda * inclusive, -700, 700))), 0.0
    )
    return within * p_nest[:, None], 1.0 - p_nest


def within_nest(v: F, eligible: B, nest_lambda: float) -> F:
    """Choice among eligible tiers only (joiners, reinstatements); rows with none eligible are 0."""
    p, _ = nested_probabilities(v, np.full(len(v), -np.inf), eligible, nest_lambda)
    return p


def sample(probabilities: F, uniforms: F) -> npt.NDArray[np.int64]:
    """Index of the alternative drawn per row (inverse CDF); the last column absorbs rounding."""
    cumulative = np.cumsum(probabilities, axis=1)
    picks = (uniforms[:, None] >= cumulative).sum(axis=1)
    return np.minimum(picks, probabilities.shape[1] - 1).astype(np.int64)
