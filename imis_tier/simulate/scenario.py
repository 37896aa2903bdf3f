"""Scenario files: a change to the tier structure, written as YAML or JSON and validated.

A scenario starts from a base structure (the ``base:`` section, or the current structure read from
the warehouse when it is absent) and applies its ``changes`` in order::

    name: Standard to $365
    changes:
      - set_price: {tier: STD, price: "365.00"}
      - add_tier: {code: NEXT, name: Next gen, price: "145.00", after: STU,
                   benefits: [journal, community, webinars], eligibility: {career_stage: [early]},
                   like: EARLY}
      - remove_tier: {tier: STU, members_go_to: EARLY}     # a merge; omit members_go_to to let them choose
      - move_benefit: {benefit: webinars, from: PREM, to: STD}
      - add_benefit: {tier: STD, benefit: mentoring}
      - remove_benefit: {tier: PREM, benefit: career_center}
      - segment_discount: {field: career_stage, values: [early], percent: 20, tiers: [STD]}
      - billing_cycle: {months: 6}

Errors name the file, the line and the field (:class:`ScenarioError`). See ``docs/scenarios.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from imis_tier.structure import Eligibility, SegmentDiscount, Tier, TierStructure


class ScenarioError(ValueError):
    """A scenario that cannot be read or applied; the message names file, line and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Money = Decimal


def _money(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("a price must not be negative")
    return value.quantize(Decimal("0.01"))


class TierSpec(_Model):
    """A tier as written in a ``base`` section."""

    code: str
    name: str | None = None
    price: Money
    rank: int
    benefits: list[str] = Field(default_factory=list)
    eligibility: dict[str, list[str]] = Field(default_factory=dict)

    _price = field_validator("price")(_money)

    def to_tier(self) -> Tier:
        return Tier(
            self.code,
            self.name or self.code,
            self.price,
            frozenset(self.benefits),
            self.rank,
            Eligibility.from_dict(self.eligibility),
        )


class DiscountSpec(_Model):
    """A segment discount: ``percent`` off for members whose ``field`` is in ``values``."""

    field: str
    values: list[str]
    percent: Decimal = Field(gt=0, le=100)
    tiers: list[str] = Field(default_factory=list)

    def to_discount(self) -> SegmentDiscount:
        return SegmentDiscount(
            self.field, frozenset(map(str, self.values)), self.percent, frozenset(self.tiers)
        )


class BaseSpec(_Model):
    """A whole structure (what ``imis-tier scenario init`` writes)."""

    tiers: list[TierSpec]
    discounts: list[DiscountSpec] = Field(default_factory=list)
    billing_cycle_months: int = Field(default=12, ge=1, le=12)

    def to_structure(self) -> TierStructure:
        return TierStructure(
            tuple(t.to_tier() for t in self.tiers),
            tuple(d.to_discount() for d in self.discounts),
            self.billing_cycle_months,
        )


class SetPrice(_Model):
    tier: str
    price: Money

    _price = field_validator("price")(_money)


class AddTier(_Model):
    code: str
    name: str | None = None
    price: Money
    benefits: list[str] = Field(default_factory=list)
    eligibility: dict[str, list[str]] = Field(default_factory=dict)
    rank: int | None = None
    after: str | None = None
    like: str | None = None
    """The existing tier whose constant the choice model borrows (default: nearest rank)."""

    _price = field_validator("price")(_money)

    @model_validator(mode="after")
    def _placed(self) -> AddTier:
        if (self.rank is None) == (self.after is None):
            raise ValueError("give exactly one of rank or after (the tier it ranks above)")
        return self


class RemoveTier(_Model):
    tier: str
    members_go_to: str | None = None


class MoveBenefit(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    benefit: str
    from_: str = Field(alias="from")
    to: str


class TierBenefit(_Model):
    tier: str
    benefit: str


class BillingCycle(_Model):
    months: int = Field(ge=1, le=12)

    @field_validator("months")
    @classmethod
    def _divides_year(cls, value: int) -> int:
        if 12 % value:
            raise ValueError("months must divide 12 (1, 2, 3, 4, 6 or 12)")
        return value


_KINDS = (
    "set_price",
    "add_tier",
    "remove_tier",
    "move_benefit",
    "add_benefit",
    "remove_benefit",
    "segment_discount",
    "billing_cycle",
)


class Change(_Model):
    """One change; exactly one of its fields is given."""

    set_price: SetPrice | None = None
    add_tier: AddTier | None = None
    remove_tier: RemoveTier | None = None
    move_benefit: MoveBenefit | None = None
    add_benefit: TierBenefit | None = None
    remove_benefit: TierBenefit | None = None
    segment_discount: DiscountSpec | None = None
    billing_cycle: BillingCycle | None = None

    @model_validator(mode="after")
    def _one(self) -> Change:
        given = [k for k in _KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each change needs exactly one of {', '.join(_KINDS)}; got {given or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in _KINDS if getattr(self, k) is not None)

    @property
    def body(self) -> _Model:
        value: _Model = getattr(self, self.kind)
        return value


class Scenario(_Model):
    """A named change to a tier structure; ``apply`` turns a base structure into the new one."""

    name: str
    description: str = ""
    base: BaseSpec | None = None
    changes: list[Change] = Field(default_factory=list)

    def base_structure(self, current: TierStructure | None = None) -> TierStructure:
        """The scenario's own ``base`` if written, else ``current`` (required then)."""
        if self.base is not None:
            return self.base.to_structure()
        if current is None:
            raise ScenarioError(
                f"scenario {self.name!r} has no base section: pass the current structure"
            )
        return current

    def apply(self, structure: TierStructure) -> TierStructure:
        """``structure`` with every change applied in order (the ``base`` section is not used)."""
        out = structure
        for i, change in enumerate(self.changes):
            try:
                out = _apply(out, change)
            except (KeyError, ValueError) as exc:
                message = exc.args[0] if exc.args else str(exc)
                raise ScenarioError(
                    f"scenario {self.name!r}, change {i + 1} ({change.kind}): {message}"
                ) from exc
        return out

    @property
    def moves(self) -> dict[str, str]:
        """Where members of removed tiers go (merges), old code -> new code."""
        out: dict[str, str] = {}
        for change in self.changes:
            if change.remove_tier is not None and change.remove_tier.members_go_to:
                out[change.remove_tier.tier] = change.remove_tier.members_go_to
        # A merge into a tier that is itself merged later follows the chain.
        for old, new in list(out.items()):
            seen = {old}
            while new in out and new not in seen:
                seen.add(new)
                new = out[new]
            out[old] = new
        return out

    @property
    def constants_like(self) -> dict[str, str]:
        """New tier code -> the existing tier whose constant it borrows, where the file says so."""
        return {
            c.add_tier.code: c.add_tier.like
            for c in self.changes
            if c.add_tier is not None and c.add_tier.like is not None
        }

    def digest(self) -> str:
        """sha256 of the scenario's canonical JSON: the same scenario, the same hash."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _apply(s: TierStructure, change: Change) -> TierStructure:
    kind, body = change.kind, change.body
    if isinstance(body, SetPrice):
        return s.with_price(body.tier, body.price)
    if isinstance(body, AddTier):
        if body.code in s.codes:
            raise ValueError(f"tier {body.code} already exists; use set_price or benefits changes")
        if body.like is not None:
            s.tier(body.like)
        rank = body.rank
        if body.after is not None:
            rank = s.tier(body.after).rank + 1
            # Make room: tiers ranked at or above the new one move up a step.
            s = replace(
                s,
                tiers=tuple(replace(t, rank=t.rank + 1) if t.rank >= rank else t for t in s.tiers),
            )
        assert rank is not None
        tier = Tier(
            body.code,
            body.name or body.code,
            body.price,
            frozenset(body.benefits),
            rank,
            Eligibility.from_dict(body.eligibility),
        )
        return s.with_tier(tier)
    if isinstance(body, RemoveTier):
        if body.members_go_to is not None:
            s.tier(body.members_go_to)
            if body.members_go_to == body.tier:
                raise ValueError("members_go_to must name another tier")
        out = s.without_tier(body.tier)
        if not out.tiers:
            raise ValueError("removing the last tier leaves no membership to simulate")
        return out
    if isinstance(body, MoveBenefit):
        return s.with_benefit_moved(body.benefit, body.from_, body.to)
    if isinstance(body, TierBenefit):
        tier = s.tier(body.tier)
        if kind == "add_benefit":
            if body.benefit in tier.benefits:
                raise ValueError(f"tier {body.tier} already has benefit {body.benefit!r}")
            return s.with_tier(replace(tier, benefits=tier.benefits | {body.benefit}))
        if body.benefit not in tier.benefits:
            raise ValueError(f"tier {body.tier} has no benefit {body.benefit!r} to remove")
        return s.with_tier(replace(tier, benefits=tier.benefits - {body.benefit}))
    if isinstance(body, DiscountSpec):
        for code in body.tiers:
            s.tier(code)
        return replace(s, discounts=(*s.discounts, body.to_discount()))
    if isinstance(body, BillingCycle):
        return replace(s, billing_cycle_months=body.months)
    raise AssertionError(f"unhandled change {kind}")  # pragma: no cover


# ---------------------------------------------------------------------- files


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``.yaml``, ``.yml`` or ``.json``).

    Raises :class:`ScenarioError` naming the file, the line and the field of the first problems.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read scenario file: {exc.strerror or exc}") from exc
    return parse_scenario(text, source=str(p))


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """Validate scenario text (YAML or JSON, which YAML reads too)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{source}{where}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}:1: a scenario is a mapping with at least a 'name'")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _line_of(node, loc)
            field = ".".join(str(x) for x in loc) or "(top level)"
            problems.append(f"{source}:{line}: {field}: {error['msg']}")
        raise ScenarioError("\n".join(problems)) from None


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest node of ``loc`` that exists in the document."""
    line = node.start_mark.line + 1 if node is not None else 1
    current = node
    for key in loc:
        if isinstance(current, yaml.MappingNode):
            found = None
            for k, v in current.value:
                if str(k.value) == str(key):
                    found = (k, v)
                    break
            if found is None:
                return line
            line = found[0].start_mark.line + 1
            current = found[1]
        elif isinstance(current, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(current.value):
                return line
            current = current.value[key]
            line = current.start_mark.line + 1
        else:
            return line
    return line


def structure_to_dict(structure: TierStructure) -> dict[str, Any]:
    """A structure as a ``base`` section (JSON-ready; prices as strings)."""
    return {
        "billing_cycle_months": structure.billing_cycle_months,
        "tiers": [
            {
                "code": t.code,
                "name": t.name,
                "price": str(t.price),
                "rank": t.rank,
                "benefits": sorted(t.benefits),
                "eligibility": t.eligibility.to_dict(),
            }
            for t in structure.tiers
        ],
        "discounts": [
            {
                "field": d.field,
                "values": sorted(d.values),
                "percent": str(d.percent),
                "tiers": sorted(d.tiers),
            }
            for d in structure.discounts
        ],
    }


def structure_digest(structure: TierStructure) -> str:
    """sha256 of a structure's canonical JSON."""
    return hashlib.sha256(
        json.dumps(structure_to_dict(structure), sort_keys=True).encode()
    ).hexdigest()


def scenario_template(structure: TierStructure, name: str = "My scenario") -> str:
    """The YAML that ``imis-tier scenario init`` writes: the structure as ``base`` and no changes."""
    head = (
        "# A tier scenario. `base` is the structure as read from iMIS (eligibility is inferred:\n"
        "# check it). Add changes below; see docs/scenarios.md for every kind.\n"
    )
    body: Mapping[str, Any] = {
        "name": name,
        "description": "",
        "base": structure_to_dict(structure),
        "changes": [],
    }
    example = (
        "# changes:\n"
        "#   - set_price: {tier: STD, price: '365.00'}\n"
        "#   - move_benefit: {benefit: webinars, from: PREM, to: STD}\n"
    )
    return head + yaml.safe_dump(dict(body), sort_keys=False) + example
