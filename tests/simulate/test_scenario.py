from decimal import Decimal
from pathlib import Path

import pytest

from imis_tier.simulate import (
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_template,
)
from imis_tier.structure import Eligibility, Tier, TierStructure

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def _base() -> TierStructure:
    return TierStructure(
        (
            Tier("STU", "Student", Decimal(95), frozenset({"journal"}), 1,
                 Eligibility.from_dict({"career_stage": ["student"]})),
            Tier("EARLY", "Early", Decimal(195), frozenset({"journal", "mentoring"}), 2),
            Tier("STD", "Standard", Decimal(345), frozenset({"journal", "community"}), 3),
            Tier("PREM", "Premium", Decimal(595), frozenset({"journal", "community", "webinars"}), 4),
        )
    )  # fmt: skip


def test_every_example_validates_and_applies() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 3
    base = _base().with_tier(Tier("LEAD", "Lead", Decimal(995), frozenset(), 5))
    for f in files:
        s = load_scenario(f)
        assert s.apply(base) != base


def test_changes_apply_in_order() -> None:
    s = parse_scenario(
        """
name: many
changes:
  - set_price: {tier: STD, price: 365}
  - add_tier: {code: LAUNCH, price: "245", after: EARLY, benefits: [journal], eligibility: {career_stage: [early]}, like: EARLY}
  - move_benefit: {benefit: webinars, from: PREM, to: STD}
  - remove_benefit: {tier: EARLY, benefit: mentoring}
  - segment_discount: {field: career_stage, values: [early], percent: 20, tiers: [STD]}
  - remove_tier: {tier: STU, members_go_to: EARLY}
  - billing_cycle: {months: 6}
"""
    )
    out = s.apply(_base())
    assert out.codes == ("EARLY", "LAUNCH", "STD", "PREM")
    assert out.tier("LAUNCH").rank == 3 and out.tier("STD").rank == 4
    assert out.tier("STD").price == Decimal("365.00")
    assert "webinars" in out.tier("STD").benefits and "webinars" not in out.tier("PREM").benefits
    assert out.tier("EARLY").benefits == frozenset({"journal"})
    assert out.price_for("STD", {"career_stage": "early"}) == Decimal("292.00")
    assert out.billing_cycle_months == 6
    assert s.moves == {"STU": "EARLY"}
    assert s.constants_like == {"LAUNCH": "EARLY"}


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nchanges:\n  - set_price:\n      tier: STD\n      price: lots\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path}:5:" in message and "changes.0.set_price.price" in message


def test_unknown_change_kind_points_at_its_line() -> None:
    with pytest.raises(ScenarioError, match=r"<scenario>:4: changes\.1\.raise_price"):
        parse_scenario(
            "name: x\nchanges:\n  - set_price: {tier: STD, price: 1}\n  - raise_price: {tier: STD}\n"
        )


def test_json_scenarios_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"name": "j", "changes": [{"set_price": {"tier": "STD", "price": "400"}}]}')
    assert load_scenario(path).apply(_base()).tier("STD").price == Decimal("400.00")


def test_applying_to_a_missing_tier_names_the_change() -> None:
    s = parse_scenario("name: x\nchanges:\n  - set_price: {tier: NOPE, price: 1}\n")
    with pytest.raises(ScenarioError, match=r"change 1 \(set_price\).*NOPE"):
        s.apply(_base())


def test_template_round_trips_the_structure() -> None:
    base = _base()
    s = parse_scenario(scenario_template(base))
    assert s.base_structure() == base
    assert s.changes == []
    assert parse_scenario(scenario_template(base)).digest() == s.digest()
    assert (
        parse_scenario(scenario_template(base.with_price("STD", Decimal(1)))).digest() != s.digest()
    )


def test_merge_chains_follow_through() -> None:
    s = parse_scenario(
        "name: m\nchanges:\n  - remove_tier: {tier: STU, members_go_to: EARLY}\n"
        "  - remove_tier: {tier: EARLY, members_go_to: STD}\n"
    )
    assert s.moves == {"STU": "STD", "EARLY": "STD"}
    assert s.apply(_base()).codes == ("STD", "PREM")
