"""The attributes of every alternative for every member: the one place utilities' inputs are made.

Fitting (long format, one row per available alternative of a past renewal) and simulating (wide
format, members x alternatives x features) both call :func:`design`, so the model scores a
scenario with exactly the attributes it was estimated on. Alternatives are the structure's tiers
in rank order, then ``LAPSE`` (the base alternative: all its attributes are zero except the
member traits that shift the value of leaving).

Features (``DesignSpec.feature_names``):

- ``asc.<tier>``: the alternative constant of each tier seen in training. A tier the model never
  saw borrows the constant of the tier named by ``like`` (scenario ``add_tier.like``), else of
  the known tier of nearest rank (the lower one on a tie). When the training history holds no
  price change (every tier always at one price), per-tier constants would absorb price entirely,
  so the spec switches to ``constants="rank"``: ``asc.member`` + ``asc.rank`` + ``asc.rank2``
  (a quadratic in rank), and price is identified across tiers.
- ``price``: dues the member would be billed for the tier, after segment discounts, in $100,
  measured from the reference price of the tier whose constant it uses. This is only a
  reparametrisation (the constant absorbs ``coef x reference``), chosen because raw prices are
  nearly collinear with the constants and the optimiser then crawls; it also states the
  new-tier rule plainly: a new tier is its ``like`` tier, re-priced and with its own benefits.
- ``price_x_<stage>``: price times a career-stage dummy (reference stage left out).
- ``benefit_loss``: on the member's current tier only, how many of the benefits it gave them at
  their last renewal it no longer has (a loss felt at the next renewal, then forgotten).
- ``price_rise``: on the member's current tier only, the rise over what they last paid, in $100
  (0 when what they last paid is not in the history: no reference, no rise). Left out when no
  training decision faced a rise.
- ``use.<benefit>``: ``log1p`` of the member's own use of the benefit in the prior 12 months, on
  tiers that include it; benefits without a usage measure are valued through the constants.
- ``switch_up`` / ``switch_down``: a tier ranked above / at-or-below the current one, not it.
- ``lapse.<trait>``: member traits (standardised) on the LAPSE alternative: tenure, autopay,
  lateness, payment failures, activity, events, non-dues spend, committees, and career stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from imis_tier.structure import LAPSE, TierStructure

FloatArray = NDArray[np.float64]

STAGES = ("student", "early", "mid", "senior", "executive")
REFERENCE_STAGE = "mid"
SEGMENTS = ("industry", "org_size", "region", "career_stage")
# panel column -> how it enters as a lapse trait
_TRAITS: dict[str, str] = {
    "tenure_months": "log1p_years",
    "autopay": "flag",
    "mean_days_late": "raw",
    "failed_payments": "raw",
    "activity_90d": "log1p",
    "events_12m": "log1p",
    "nondues_12m": "log1p",
    "committees_active": "flag",
    "email_opens_12m": "log1p",
}
TRAITS = tuple(_TRAITS)  # the columns of Members.raw_traits


@dataclass(frozen=True)
class DesignSpec:
    """Which features exist and how traits are scaled; fixed when the model is fitted."""

    tiers: tuple[str, ...]
    tier_ranks: Mapping[str, int]
    usage_benefits: tuple[str, ...]
    price_stages: tuple[str, ...] = tuple(s for s in STAGES if s != REFERENCE_STAGE)
    lapse_stages: tuple[str, ...] = tuple(s for s in STAGES if s != REFERENCE_STAGE)
    traits: tuple[str, ...] = TRAITS
    trait_center: tuple[float, ...] = ()  # one per trait in ``traits``
    trait_scale: tuple[float, ...] = ()
    ref_prices: Mapping[str, float] = field(default_factory=dict)
    """Price of each known tier the ``price`` feature is measured from (conditioning only)."""
    constants: str = "tier"
    """``tier``: one constant per known tier; ``rank``: a membership constant plus a quadratic in
    rank (used when the history has no price change, so per-tier constants would absorb price)."""
    price_rise: bool = True
    """Whether ``price_rise`` is a feature: not when no member in the training history faced a
    price above what they last paid (its coefficient would not be identified)."""
    benefit_loss: bool = False
    """Whether ``benefit_loss`` is a feature (specs fitted before it existed have none)."""

    @property
    def feature_names(self) -> list[str]:
        constants = (
            [f"asc.{t}" for t in self.tiers]
            if self.constants == "tier"
            else ["asc.member", "asc.rank", "asc.rank2"]
        )
        return [
            *constants,
            "price",
            *(f"price_x_{s}" for s in self.price_stages),
            *(["price_rise"] if self.price_rise else []),
            *(["benefit_loss"] if self.benefit_loss else []),
            *(f"use.{b}" for b in self.usage_benefits),
            "switch_up",
            "switch_down",
            *(f"lapse.{t}" for t in self.traits),
            *(f"lapse.stage_{s}" for s in self.lapse_stages),
        ]


@dataclass
class Members:
    """Member arrays the design reads (one entry per member); build with :meth:`from_panel`."""

    party_id: NDArray[np.int64]
    current: NDArray[np.object_]  # tier code held now
    current_rank: FloatArray
    paid: FloatArray  # dues last paid, $ (NaN: not in the history)
    segments: dict[str, NDArray[np.object_]]
    use: NDArray[np.float32]  # (members, usage benefits) raw 12-month counts
    raw_traits: NDArray[np.float64]  # (members, TRAITS) before scaling
    nondues: FloatArray  # non-dues revenue, 12 months, $
    extra: dict[str, NDArray[Any]] = field(default_factory=dict)
    # The benefits each member's current tier gave them when they last renewed: the reference a
    # benefit loss is measured from (None: unknown for everyone).
    held_benefits: HeldBenefits | None = None

    def __len__(self) -> int:
        return int(self.party_id.shape[0])

    @classmethod
    def from_panel(
        cls,
        panel: pd.DataFrame,
        usage_benefits: Sequence[str],
        ranks: Mapping[str, int],
        *,
        keep: Sequence[str] = (),
    ) -> Members:
        """Arrays from a :func:`imis_tier.features.build_panel` frame (``keep``: extra columns)."""
        missing = [c for c in ("party_id", "tier", *SEGMENTS) if c not in panel.columns]
        if missing:
            raise ValueError(f"the panel lacks columns {missing}; build it with build_panel")
        tier_col = panel["tier"].astype(str)
        tiers = tier_col.to_numpy(dtype=object)
        current_rank = np.asarray(
            tier_col.map(dict(ranks)).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64
        )
        unknown = sorted(set(tiers[np.isnan(current_rank)]))
        if unknown:
            raise ValueError(f"members hold tiers {unknown} that the base structure does not have")
        use = np.zeros((len(panel), len(usage_benefits)), dtype=np.float32)
        for i, b in enumerate(usage_benefits):
            col = f"use_{b}"
            if col in panel.columns:
                use[:, i] = panel[col].fillna(0).to_numpy(dtype=np.float32)
        if "price_paid" not in panel and "list_price" not in panel:
            raise ValueError("the panel needs price_paid or list_price (what members pay now)")
        listed = panel["list_price" if "list_price" in panel else "price_paid"].astype(float)
        paid = panel["price_paid"].astype(float) if "price_paid" in panel else listed
        paid = paid.fillna(listed)
        return cls(
            party_id=np.asarray(panel["party_id"].astype("int64").to_numpy(), dtype=np.int64),
            current=tiers,
            current_rank=current_rank,
            paid=np.asarray(paid.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64),
            segments={
                c: panel[c].astype(str).to_numpy(dtype=object)
                for c in panel.columns
                if c in SEGMENTS or isinstance(panel[c].dtype, pd.CategoricalDtype)
            },
            use=use,
            raw_traits=_raw_traits(panel),
            nondues=np.asarray(
                pd.to_numeric(panel.get("nondues_12m", pd.Series(0.0, index=panel.index)))
                .fillna(0.0)
                .to_numpy(),
                dtype=np.float64,
            ),
            extra={c: panel[c].to_numpy() for c in keep},
        )

    def take(self, idx: NDArray[np.intp] | slice) -> Members:
        """The members at ``idx`` (a slice or an index array)."""
        return Members(
            party_id=self.party_id[idx],
            current=self.current[idx],
            current_rank=self.current_rank[idx],
            paid=self.paid[idx],
            segments={k: v[idx] for k, v in self.segments.items()},
            use=self.use[idx],
            raw_traits=self.raw_traits[idx],
            nondues=self.nondues[idx],
            extra={k: v[idx] for k, v in self.extra.items()},
            held_benefits=None if self.held_benefits is None else self.held_benefits.take(idx),
        )

    def holding(self, structure: TierStructure) -> Members:
        """These members with ``structure``'s benefits of their current tier as the reference."""
        tiers = {t.code: t.benefits for t in structure.tiers}
        return replace(self, held_benefits=HeldBenefits.of([tiers.get(c) for c in self.current]))


@dataclass(frozen=True)
class HeldBenefits:
    """Per member, a benefit set as an index into a few distinct sets (-1: unknown)."""

    codes: NDArray[np.intp]
    sets: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, held: Sequence[frozenset[str] | None]) -> HeldBenefits:
        values = np.empty(len(held), dtype=object)
        values[:] = list(held)
        codes, sets = pd.factorize(values, use_na_sentinel=True)
        return cls(np.asarray(codes, dtype=np.intp), tuple(sets))

    def take(self, idx: NDArray[np.intp] | slice) -> HeldBenefits:
        return HeldBenefits(self.codes[idx], self.sets)

    def lost(self, benefits: frozenset[str]) -> FloatArray:
        """How many of each member's benefits ``benefits`` lacks (0 when unknown)."""
        counts = np.array([len(h - benefits) for h in self.sets] + [0], dtype=np.float64)
        return counts[self.codes]  # code -1 picks the trailing 0


def _raw_traits(panel: pd.DataFrame) -> FloatArray:
    # Column-major, so that each trait is written contiguously.
    out = np.zeros((len(_TRAITS), len(panel))).T
    for i, (col, how) in enumerate(_TRAITS.items()):
        if col not in panel.columns:
            continue
        x = pd.to_numeric(panel[col], errors="coerce").astype(float).fillna(0.0).to_numpy()
        if how == "log1p_years":
            x = np.log1p(np.maximum(x, 0) / 12.0)
        elif how == "log1p":
            x = np.log1p(np.maximum(x, 0))
        elif how == "flag":
            x = (x > 0).astype(float)
        out[:, i] = x
    return out


def scale_traits(raw: FloatArray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Centre and scale of each trait column (scale 1 for a constant column)."""
    center = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return tuple(map(float, center)), tuple(map(float, scale))


@dataclass(frozen=True)
class Alternatives:
    """One structure laid out for a group of members."""

    codes: tuple[str, ...]  # tiers in rank order, then LAPSE
    X: NDArray[np.floating[Any]]  # (members, alternatives, features)
    available: NDArray[np.bool_]  # (members, alternatives)
    prices: FloatArray  # (members, alternatives) $ per year; 0 for LAPSE


def alternative_codes(structure: TierStructure) -> tuple[str, ...]:
    return (*structure.codes, LAPSE)


def constant_source(
    spec: DesignSpec, structure: TierStructure, like: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Which fitted constant each tier of ``structure`` uses (itself when known)."""
    out: dict[str, str] = {}
    like = like or {}
    for t in structure.tiers:
        if t.code in spec.tiers:
            out[t.code] = t.code
        elif t.code in like:
            if like[t.code] not in spec.tiers:
                raise ValueError(
                    f"tier {t.code} borrows the constant of {like[t.code]}, which the model has "
                    f"not seen (known: {', '.join(spec.tiers)})"
                )
            out[t.code] = like[t.code]
        else:
            out[t.code] = min(
                spec.tiers, key=lambda k: (abs(spec.tier_ranks[k] - t.rank), spec.tier_ranks[k])
            )
    return out


def prices_for(members: Members, structure: TierStructure) -> FloatArray:
    """Dues each member would be billed for each tier (after the largest segment discount)."""
    n = len(members)
    out = np.zeros((n, len(structure.tiers) + 1))
    for j, tier in enumerate(structure.tiers):
        best = np.zeros(n)
        for d in structure.discounts:
            if d.tiers and tier.code not in d.tiers:
                continue
            seg = _segment(members, d.field, "discount")
            hit = np.isin(seg, list(d.values))
            best = np.where(hit, np.maximum(best, float(d.percent)), best)
        out[:, j] = np.round(float(tier.price) * (100.0 - best) / 100.0, 2)
    return out


def eligible(members: Members, structure: TierStructure) -> NDArray[np.bool_]:
    """(members, alternatives): which tiers each member may hold; LAPSE always open."""
    n = len(members)
    out = np.ones((n, len(structure.tiers) + 1), dtype=bool)
    for j, tier in enumerate(structure.tiers):
        for name, allowed in tier.eligibility.rules.items():
            out[:, j] &= np.isin(
                _segment(members, name, f"tier {tier.code} eligibility"), list(allowed)
            )
    return out


def _segment(members: Members, name: str, what: str) -> NDArray[np.object_]:
    if name not in members.segments:
        raise ValueError(
            f"{what} refers to member field {name!r}, which the panel does not have "
            f"(segments: {', '.join(sorted(members.segments))})"
        )
    return members.segments[name]


def design(
    members: Members,
    structure: TierStructure,
    spec: DesignSpec,
    *,
    like: Mapping[str, str] | None = None,
    tenure_offset_years: float = 0.0,
    dtype: type[np.floating[Any]] = np.float32,
) -> Alternatives:
    """The (members, alternatives, features) array of ``structure`` for ``members``.

    A member is always offered their current tier when the structure still has it, even if its
    rule no longer admits them (iMIS renews a held type); otherwise they choose among the tiers
    they are eligible for, or lapse.
    """
    codes = alternative_codes(structure)
    n, J = len(members), len(codes)
    names = spec.feature_names
    col = {name: k for k, name in enumerate(names)}
    X = np.zeros((n, J, len(names)), dtype=dtype)
    prices = prices_for(members, structure)
    available = eligible(members, structure)
    source = constant_source(spec, structure, like)
    stage = members.segments.get("career_stage", np.full(n, REFERENCE_STAGE, dtype=object))
    benefit_index = {b: i for i, b in enumerate(spec.usage_benefits)}
    log_use = np.log1p(np.maximum(members.use, 0)).astype(dtype)
    # Object-array comparisons are slow: each stage is compared once, not once per tier.
    in_stage = {s: stage == s for s in {*spec.price_stages, *spec.lapse_stages}}
    for j, tier in enumerate(structure.tiers):
        is_current = members.current == tier.code
        available[:, j] |= is_current
        if spec.constants == "tier":
            X[:, j, col[f"asc.{source[tier.code]}"]] = 1.0
        else:
            X[:, j, col["asc.member"]] = 1.0
            X[:, j, col["asc.rank"]] = tier.rank
            X[:, j, col["asc.rank2"]] = tier.rank**2 / 10.0
        p = prices[:, j] / 100.0
        X[:, j, col["price"]] = p - spec.ref_prices.get(source[tier.code], 0.0) / 100.0
        for s in spec.price_stages:
            X[:, j, col[f"price_x_{s}"]] = p * in_stage[s]
        if spec.benefit_loss and members.held_benefits is not None:
            lost = members.held_benefits.lost(tier.benefits)
            X[:, j, col["benefit_loss"]] = np.where(is_current, lost, 0.0)
        if spec.price_rise:
            rise = np.fmax(prices[:, j] - members.paid, 0.0) / 100.0  # fmax: unknown paid -> 0
            X[:, j, col["price_rise"]] = np.where(is_current, rise, 0.0)
        for b in tier.benefits:
            if b in benefit_index:
                X[:, j, col[f"use.{b}"]] = log_use[:, benefit_index[b]]
        X[:, j, col["switch_up"]] = (~is_current) & (tier.rank >= members.current_rank)
        X[:, j, col["switch_down"]] = (~is_current) & (tier.rank < members.current_rank)
    lapse = J - 1
    traits = members.raw_traits[:, [TRAITS.index(t) for t in spec.traits]]
    if tenure_offset_years and "tenure_months" in spec.traits:
        k = spec.traits.index("tenure_months")
        traits[:, k] = np.log1p(np.expm1(traits[:, k]) + tenure_offset_years)
    if spec.trait_center:
        traits = (traits - np.asarray(spec.trait_center)) / np.asarray(spec.trait_scale)
    for k, t in enumerate(spec.traits):
        X[:, lapse, col[f"lapse.{t}"]] = traits[:, k]
    for s in spec.lapse_stages:
        X[:, lapse, col[f"lapse.stage_{s}"]] = in_stage[s]
    return Alternatives(codes, X, available, prices)


def benefit_access(members: Members, structure: TierStructure, spec: DesignSpec) -> FloatArray:
    """(members, alternatives): ``sum log1p(use)`` over the measured benefits each tier gives.

    The engagement measure of a forecast: how much of what a member actually uses their tier
    covers. LAPSE covers nothing.
    """
    index = {b: i for i, b in enumerate(spec.usage_benefits)}
    log_use = np.log1p(np.maximum(members.use, 0)).astype(np.float64)
    out = np.zeros((len(members), len(structure.tiers) + 1))
    for j, tier in enumerate(structure.tiers):
        cols = [index[b] for b in tier.benefits if b in index]
        if cols:
            out[:, j] = log_use[:, cols].sum(axis=1)
    return out


def tier_costs(structure: TierStructure, costs: Mapping[str, Any]) -> FloatArray:
    """Yearly cost to serve of each alternative: the sum of its benefits' costs; LAPSE 0."""
    out = np.zeros(len(structure.tiers) + 1)
    for j, tier in enumerate(structure.tiers):
        out[j] = float(sum(float(costs.get(b, 0)) for b in tier.benefits))
    return out
