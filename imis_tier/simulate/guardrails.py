"""Governance guardrails for price changes: what a price proposal may and may not do.

An association's board rarely lets a model set prices freely. A guardrails file (YAML) writes the
limits down once, and every optimisation honours them::

    version: 1
    ordered_prices: true          # prices rise with tier rank
    min_gap: 50                   # dollars between adjacent tiers (by rank), unless a tier says otherwise
    max_change_pct: 15            # no price moves more than 15% from today's
    max_lapse_rate_rise: 0.01     # expected lapse rate at most 1 point above the status quo
    tiers:
      STD: {floor: 300, ceiling: 400, max_change_pct: 10}
      PREM: {min_gap_below: 150}  # at least $150 above the tier ranked just below
      LEAD: {frozen: true}
    protected_segments:
      - name: students
        where: {career_stage: [student]}
        max_effective_price: 110  # expected dues per renewing student
        max_lapse_rate_rise: 0.005

Money is in dollars (numbers or decimal strings), percentages are 0-100, rates are fractions 0-1.
:func:`load_guardrails` validates the file and every error names the file, the line and the
field; :meth:`Guardrails.check_structure` checks the tier codes against a structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from imis_tier.structure import TierStructure

SCHEMA_VERSION = 1

_TOP_KEYS = {
    "version",
    "ordered_prices",
    "min_gap",
    "max_change_pct",
    "max_lapse_rate_rise",
    "tiers",
    "protected_segments",
    "objective",
}
_TIER_KEYS = {"floor", "ceiling", "frozen", "max_change_pct", "min_gap_below"}
_SEGMENT_KEYS = {
    "name",
    "where",
    "max_effective_price",
    "max_lapse_rate",
    "max_lapse_rate_rise",
}
OBJECTIVES = ("net_revenue", "lifetime_value")


class GuardrailsError(ValueError):
    """A guardrails file (or object) that is malformed, or does not fit the tier structure."""


@dataclass(frozen=True)
class TierRule:
    """Limits on one tier's price. ``None`` means no limit of that kind."""

    code: str
    floor: Decimal | None = None
    ceiling: Decimal | None = None
    frozen: bool = False
    max_change_pct: Decimal | None = None
    min_gap_below: Decimal | None = None


@dataclass(frozen=True)
class SegmentRule:
    """Protection for a segment of members (all ``where`` fields must match, as in eligibility).

    ``max_effective_price`` caps the expected dues per renewing member of the segment (after
    segment discounts, weighted by the tiers they are expected to choose);
    ``max_lapse_rate`` caps the segment's expected lapse rate; ``max_lapse_rate_rise`` caps its
    rise over the status quo.
    """

    name: str
    where: Mapping[str, frozenset[str]]
    max_effective_price: Decimal | None = None
    max_lapse_rate: float | None = None
    max_lapse_rate_rise: float | None = None

    def matches(self, member: Mapping[str, object]) -> bool:
        return all(str(member.get(k)) in values for k, values in self.where.items())


@dataclass(frozen=True)
class Guardrails:
    """The validated limits of a guardrails file. The default instance only keeps prices ordered.

    ``lines`` maps a field path (``"tiers.STD.floor"``, ``"protected_segments[0].where"``) to its
    line in ``source``, so later checks can point at the right place.
    """

    ordered_prices: bool = True
    min_gap: Decimal = Decimal(0)
    max_change_pct: Decimal | None = None
    max_lapse_rate_rise: float | None = None
    tiers: Mapping[str, TierRule] = field(default_factory=dict)
    protected_segments: tuple[SegmentRule, ...] = ()
    objective: str | None = None
    source: str = "<guardrails>"
    lines: Mapping[str, int] = field(default_factory=dict)

    def rule(self, code: str) -> TierRule:
        """The rule for a tier (an empty one when the file says nothing about it)."""
        return self.tiers.get(code, TierRule(code))

    def where(self, path: str) -> str:
        """``source:line`` of a field path, or just the source when the line is unknown."""
        line = self.lines.get(path)
        return f"{self.source}:{line}" if line is not None else self.source

    def error(self, path: str, message: str) -> GuardrailsError:
        """An error pointing at a field of this file."""
        return GuardrailsError(f"{self.where(path)}: {path}: {message}")

    def min_gap_below(self, code: str) -> Decimal:
        """The minimum gap between a tier's price and the price of the tier ranked below it."""
        own = self.rule(code).min_gap_below
        return own if own is not None else self.min_gap

    def price_bounds(self, structure: TierStructure) -> dict[str, tuple[Decimal, Decimal | None]]:
        """Per tier, the (lowest, highest) price allowed by floors, ceilings, freezes and max moves."""
        self.check_structure(structure)
        out: dict[str, tuple[Decimal, Decimal | None]] = {}
        for tier in structure.tiers:
            rule = self.rule(tier.code)
            if rule.frozen:
                out[tier.code] = (tier.price, tier.price)
                continue
            lo = Decimal(0)
            hi: Decimal | None = None
            pct = rule.max_change_pct if rule.max_change_pct is not None else self.max_change_pct
            if pct is not None:
                lo = max(lo, tier.price * (1 - pct / 100))
                hi = tier.price * (1 + pct / 100)
            if rule.floor is not None:
                lo = max(lo, rule.floor)
            if rule.ceiling is not None:
                hi = rule.ceiling if hi is None else min(hi, rule.ceiling)
            if hi is not None and hi < lo:
                path = f"tiers.{tier.code}"
                raise self.error(
                    path,
                    f"no price is allowed: floor/max_change_pct give at least {lo:.2f} but "
                    f"ceiling/max_change_pct give at most {hi:.2f} (current price {tier.price})",
                )
            out[tier.code] = (lo, hi)
        return out

    def check_structure(self, structure: TierStructure) -> None:
        """Refuse rules for tiers the structure does not have."""
        unknown = [code for code in self.tiers if code not in structure.codes]
        if unknown:
            raise self.error(
                f"tiers.{unknown[0]}",
                f"no tier {unknown[0]!r} in the tier structure (tiers: {', '.join(structure.codes)})",
            )


def load_guardrails(path: str | Path) -> Guardrails:
    """Read and validate a guardrails YAML file; errors name the file, line and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise GuardrailsError(f"{p}: cannot read the guardrails file: {exc}") from exc
    return parse_guardrails(text, source=str(p))


def parse_guardrails(text: str, *, source: str = "<guardrails>") -> Guardrails:
    """Validate guardrails given as YAML text (see the module docstring for the schema)."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise GuardrailsError(f"{where}: not valid YAML: {exc}") from exc
    lines: dict[str, int] = {}
    if node is not None:
        _record_lines(node, "", lines)
    return _Validator(source, lines).guardrails(data)


def _record_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            _record_lines(value, sub, lines)
            lines[sub] = key.start_mark.line + 1  # a field is where its key is written
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, f"{path}[{i}]", lines)


class _Validator:
    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: str, message: str) -> GuardrailsError:
        line = self.lines.get(path)
        where = f"{self.source}:{line}" if line is not None else self.source
        return GuardrailsError(f"{where}: {path or '(top level)'}: {message}")

    def mapping(self, value: Any, path: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be text, got {key!r}")
            if key not in allowed:
                sub = f"{path}.{key}" if path else key
                raise self.fail(sub, f"unknown field; expected one of {', '.join(sorted(allowed))}")
        return value

    def money(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(path, f"expected an amount in dollars, got {value!r}")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(path, f"expected an amount in dollars, got {value!r}") from None
        if not amount.is_finite() or amount < 0:
            raise self.fail(path, f"must be a non-negative amount, got {value!r}")
        return amount

    def percent(self, value: Any, path: str) -> Decimal:
        pct = self.money(value, path)
        if pct > 100:
            raise self.fail(path, f"a percentage between 0 and 100 is expected, got {value!r}")
        return pct

    def rate(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"expected a rate as a fraction between 0 and 1, got {value!r}")
        if not 0 <= float(value) <= 1:
            raise self.fail(
                path, f"a rate is a fraction between 0 and 1 (0.01 is one point), got {value!r}"
            )
        return float(value)

    def flag(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {value!r}")
        return value

    def guardrails(self, data: Any) -> Guardrails:
        if data is None:
            return Guardrails(source=self.source, lines=self.lines)
        top = self.mapping(data, "", _TOP_KEYS)
        version = top.get("version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise self.fail("version", f"unsupported version {version!r}; this release reads 1")
        objective = top.get("objective")
        if objective is not None and objective not in OBJECTIVES:
            raise self.fail(
                "objective", f"expected one of {', '.join(OBJECTIVES)}, got {objective!r}"
            )
        tiers_data = top.get("tiers") or {}
        if not isinstance(tiers_data, dict):
            raise self.fail("tiers", "expected a mapping of tier code to its limits")
        tiers = {str(code): self.tier(str(code), rule) for code, rule in tiers_data.items()}
        segments_data = top.get("protected_segments") or []
        if not isinstance(segments_data, list):
            raise self.fail("protected_segments", "expected a list of segments")
        segments = tuple(
            self.segment(item, f"protected_segments[{i}]") for i, item in enumerate(segments_data)
        )
        names = [s.name for s in segments]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise self.fail("protected_segments", f"segment names must be unique: {dupes}")
        return Guardrails(
            ordered_prices=self.flag(top.get("ordered_prices", True), "ordered_prices"),
            min_gap=self.money(top.get("min_gap", 0), "min_gap"),
            max_change_pct=(
                self.percent(top["max_change_pct"], "max_change_pct")
                if top.get("max_change_pct") is not None
                else None
            ),
            max_lapse_rate_rise=(
                self.rate(top["max_lapse_rate_rise"], "max_lapse_rate_rise")
                if top.get("max_lapse_rate_rise") is not None
                else None
            ),
            tiers=tiers,
            protected_segments=segments,
            objective=objective,
            source=self.source,
            lines=self.lines,
        )

    def tier(self, code: str, data: Any) -> TierRule:
        path = f"tiers.{code}"
        rule = self.mapping(data if data is not None else {}, path, _TIER_KEYS)

        def opt_money(key: str) -> Decimal | None:
            return self.money(rule[key], f"{path}.{key}") if rule.get(key) is not None else None

        floor, ceiling = opt_money("floor"), opt_money("ceiling")
        if floor is not None and ceiling is not None and floor > ceiling:
            raise self.fail(f"{path}.ceiling", f"ceiling {ceiling} is below the floor {floor}")
        frozen = self.flag(rule.get("frozen", False), f"{path}.frozen")
        pct = (
            self.percent(rule["max_change_pct"], f"{path}.max_change_pct")
            if rule.get("max_change_pct") is not None
            else None
        )
        if frozen and (floor is not None or ceiling is not None or pct is not None):
            raise self.fail(
                f"{path}.frozen",
                "a frozen tier cannot also have a floor, ceiling or max_change_pct",
            )
        return TierRule(
            code=code,
            floor=floor,
            ceiling=ceiling,
            frozen=frozen,
            max_change_pct=pct,
            min_gap_below=opt_money("min_gap_below"),
        )

    def segment(self, data: Any, path: str) -> SegmentRule:
        seg = self.mapping(data, path, _SEGMENT_KEYS)
        name = seg.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"{path}.name" if "name" in seg else path, "every segment needs a name")
        where_data = seg.get("where")
        where_path = f"{path}.where"
        if not isinstance(where_data, dict) or not where_data:
            raise self.fail(
                where_path if "where" in seg else path,
                "needs `where`: a mapping of segment field to allowed values, "
                "e.g. {career_stage: [student]}",
            )
        where: dict[str, frozenset[str]] = {}
        for key, values in where_data.items():
            items = values if isinstance(values, list) else [values]
            if not items or any(isinstance(v, dict | list) or v is None for v in items):
                raise self.fail(f"{where_path}.{key}", "expected a value or a list of values")
            where[str(key)] = frozenset(str(v) for v in items)
        limits = {
            k
            for k in ("max_effective_price", "max_lapse_rate", "max_lapse_rate_rise")
            if seg.get(k) is not None
        }
        if not limits:
            raise self.fail(
                path,
                f"segment {name!r} sets no limit: give max_effective_price, max_lapse_rate "
                "or max_lapse_rate_rise",
            )
        return SegmentRule(
            name=name,
            where=where,
            max_effective_price=(
                self.money(seg["max_effective_price"], f"{path}.max_effective_price")
                if "max_effective_price" in limits
                else None
            ),
            max_lapse_rate=(
                self.rate(seg["max_lapse_rate"], f"{path}.max_lapse_rate")
                if "max_lapse_rate" in limits
                else None
            ),
            max_lapse_rate_rise=(
                self.rate(seg["max_lapse_rate_rise"], f"{path}.max_lapse_rate_rise")
                if "max_lapse_rate_rise" in limits
                else None
            ),
        )
