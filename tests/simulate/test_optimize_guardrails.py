"""The guardrails file: schema, validation errors that name file/line/field, and price bounds."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from imis_tier.simulate.guardrails import (
    Guardrails,
    GuardrailsError,
    load_guardrails,
    parse_guardrails,
)
from imis_tier.structure import Eligibility, Tier, TierStructure

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guardrails.yaml"


def _structure() -> TierStructure:
    prices = {"STU": 95, "EARLY": 195, "STD": 345, "PREM": 595, "LEAD": 995}
    return TierStructure(
        tuple(
            Tier(c, c, Decimal(p), frozenset(), rank=i, eligibility=Eligibility())
            for i, (c, p) in enumerate(prices.items())
        )
    )


def test_example_file_loads_and_gives_bounds() -> None:
    g = load_guardrails(EXAMPLE)
    assert g.ordered_prices and g.min_gap == Decimal(50)
    assert g.max_lapse_rate_rise == pytest.approx(0.01)
    assert g.objective == "net_revenue"
    assert g.min_gap_below("PREM") == Decimal(150)
    assert g.min_gap_below("STD") == Decimal(50)
    assert [s.name for s in g.protected_segments] == ["students", "early career"]
    students = g.protected_segments[0]
    assert students.matches({"career_stage": "student"})
    assert not students.matches({"career_stage": "mid"})
    bounds = g.price_bounds(_structure())
    assert bounds["LEAD"] == (Decimal(995), Decimal(995))  # frozen
    assert bounds["STD"] == (Decimal("310.50"), Decimal("379.50"))  # 10% move beats the floor
    lo, hi = bounds["STU"]
    assert lo == Decimal("80.75") and hi == Decimal("109.25")  # the default 15%
    assert g.where("tiers.LEAD.frozen") == f"{EXAMPLE}:17"


def test_empty_file_means_defaults() -> None:
    g = parse_guardrails("", source="empty.yaml")
    assert g == Guardrails(source="empty.yaml", lines={})
    assert g.ordered_prices  # a governance file orders prices unless it says otherwise


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_gapp: 5\n", r"g\.yaml:1: min_gapp: unknown field; expected one of"),
        (
            "tiers:\n  STD:\n    floor: -5\n",
            r"g\.yaml:3: tiers\.STD\.floor: must be a non-negative",
        ),
        (
            "tiers:\n  STD:\n    floor: 400\n    ceiling: 300\n",
            r"g\.yaml:4: tiers\.STD\.ceiling: ceiling 300 is below the floor 400",
        ),
        ("tiers:\n  STD: {flor: 3}\n", r"g\.yaml:2: tiers\.STD\.flor: unknown field"),
        ("max_lapse_rate_rise: 2\n", r"g\.yaml:1: max_lapse_rate_rise: a rate is a fraction"),
        ("max_change_pct: 150\n", r"g\.yaml:1: max_change_pct: a percentage between 0 and 100"),
        ("ordered_prices: maybe\n", r"g\.yaml:1: ordered_prices: expected true or false"),
        ("version: 2\n", r"g\.yaml:1: version: unsupported version 2"),
        ("objective: profit\n", r"g\.yaml:1: objective: expected one of net_revenue"),
        ("min_gap: 1O0\n", r"g\.yaml:1: min_gap: expected an amount in dollars"),
        (
            "tiers:\n  LEAD:\n    frozen: true\n    ceiling: 900\n",
            r"g\.yaml:3: tiers\.LEAD\.frozen: a frozen tier cannot also have",
        ),
        (
            "protected_segments:\n  - name: students\n    where: {career_stage: [student]}\n",
            r"g\.yaml:2: protected_segments\[0\]: segment 'students' sets no limit",
        ),
        (
            "protected_segments:\n  - name: s\n    max_lapse_rate: 0.2\n",
            r"g\.yaml:2: protected_segments\[0\]: needs `where`",
        ),
        (
            "protected_segments:\n  - {name: a, where: {x: y}, max_lapse_rate: 0.2}\n"
            "  - {name: a, where: {x: z}, max_lapse_rate: 0.2}\n",
            r"segment names must be unique: \['a'\]",
        ),
        ("tiers: [STD]\n", r"g\.yaml:1: tiers: expected a mapping"),
        ("min_gap: [1\n", r"g\.yaml:2: not valid YAML"),
        ("- 1\n", r"g\.yaml:1: \(top level\): expected a mapping"),
    ],
)
def test_errors_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(GuardrailsError, match=message):
        parse_guardrails(text, source="g.yaml")


def test_structure_checks_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("min_gap: 10\ntiers:\n  GOLD:\n    ceiling: 500\n", encoding="utf-8")
    g = load_guardrails(path)
    with pytest.raises(GuardrailsError, match=rf"{path}:3: tiers\.GOLD: no tier 'GOLD'"):
        g.price_bounds(_structure())
    path.write_text("tiers:\n  STD:\n    floor: 400\n    max_change_pct: 5\n", encoding="utf-8")
    with pytest.raises(GuardrailsError, match=rf"{path}:2: tiers\.STD: no price is allowed"):
        load_guardrails(path).price_bounds(_structure())


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GuardrailsError, match="cannot read the guardrails file"):
        load_guardrails(tmp_path / "nope.yaml")
