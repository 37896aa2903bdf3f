"""The tier structure of an association: tiers, their prices and benefits, who may join them.

A :class:`TierStructure` is the shared vocabulary of the project. The synthetic association
behaves under one, the emulator serves one through iMIS's configuration endpoints, scenarios edit
one, and the simulator forecasts what members do under one. It is a plain immutable value: every
change returns a new structure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

LAPSE = "LAPSE"
"""The alternative that leaves membership; never a tier code."""


@dataclass(frozen=True)
class Eligibility:
    """Who may hold a tier: for each segment field, the values allowed (all fields must match).

    ``Eligibility({"career_stage": frozenset({"student"})})`` admits students only; an empty rule
    admits everyone.
    """

    rules: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def admits(self, member: Mapping[str, object]) -> bool:
        return all(str(member.get(name)) in allowed for name, allowed in self.rules.items())

    def to_dict(self) -> dict[str, list[str]]:
        return {name: sorted(values) for name, values in self.rules.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[str]] | None) -> Eligibility:
        return cls({name: frozenset(map(str, values)) for name, values in (data or {}).items()})


@dataclass(frozen=True)
class Tier:
    """One membership tier (an iMIS member type with its dues billing item)."""

    code: str
    name: str
    price: Decimal
    benefits: frozenset[str]
    rank: int
    eligibility: Eligibility = field(default_factory=Eligibility)

    def __post_init__(self) -> None:
        if self.code == LAPSE:
            raise ValueError(f"{LAPSE!r} is reserved for leaving membership and cannot be a tier code")
        if not isinstance(self.price, Decimal):
            object.__setattr__(self, "price", Decimal(str(self.price)))
        if self.price < 0:
            raise ValueError(f"tier {self.code}: price must not be negative, got {self.price}")
        object.__setattr__(self, "benefits", frozenset(self.benefits))


@dataclass(frozen=True)
class SegmentDiscount:
    """A price discount for members of a segment, on some tiers (all tiers when ``tiers`` is empty)."""

    field: str
    values: frozenset[str]
    percent: Decimal
    tiers: frozenset[str] = frozenset()

    def applies(self, tier_code: str, member: Mapping[str, object]) -> bool:
        in_segment = str(member.get(self.field)) in self.values
        return in_segment and (not self.tiers or tier_code in self.tiers)


@dataclass(frozen=True)
class TierStructure:
    """Tiers ordered by rank, segment discounts, and the billing cycle in months."""

    tiers: tuple[Tier, ...]
    discounts: tuple[SegmentDiscount, ...] = ()
    billing_cycle_months: int = 12

    def __post_init__(self) -> None:
        codes = [t.code for t in self.tiers]
        if len(set(codes)) != len(codes):
            raise ValueError(f"tier codes must be unique, got {codes}")
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda t: t.rank)))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.tiers)

    @property
    def benefits(self) -> frozenset[str]:
        return frozenset().union(*(t.benefits for t in self.tiers)) if self.tiers else frozenset()

    def tier(self, code: str) -> Tier:
        for t in self.tiers:
            if t.code == code:
                return t
        raise KeyError(f"no tier {code!r} in this structure (tiers: {', '.join(self.codes)})")

    def price_for(self, tier_code: str, member: Mapping[str, object]) -> Decimal:
        """The dues this member would be billed for a tier, after segment discounts (largest wins)."""
        price = self.tier(tier_code).price
        best = max((d.percent for d in self.discounts if d.applies(tier_code, member)), default=Decimal(0))
        return (price * (Decimal(100) - best) / Decimal(100)).quantize(Decimal("0.01"))

    def with_tier(self, tier: Tier) -> TierStructure:
        """A copy with ``tier`` added, or replacing the tier of the same code."""
        others = tuple(t for t in self.tiers if t.code != tier.code)
        return replace(self, tiers=(*others, tier))

    def without_tier(self, code: str) -> TierStructure:
        self.tier(code)
        return replace(self, tiers=tuple(t for t in self.tiers if t.code != code))

    def with_price(self, code: str, price: Decimal) -> TierStructure:
        return self.with_tier(replace(self.tier(code), price=Decimal(str(price))))

    def with_benefit_moved(self, benefit: str, from_code: str, to_code: str) -> TierStructure:
        source, target = self.tier(from_code), self.tier(to_code)
        if benefit not in source.benefits:
            raise ValueError(f"tier {from_code} has no benefit {benefit!r} to move")
        moved = self.with_tier(replace(source, benefits=source.benefits - {benefit}))
        return moved.with_tier(replace(target, benefits=target.benefits | {benefit}))
