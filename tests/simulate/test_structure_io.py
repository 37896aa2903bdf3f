from datetime import date
from decimal import Decimal

from _sim_world import world

from imis_tier.simulate import benefit_costs, current_structure, structure_at


def test_current_structure_reads_prices_benefits_and_ranks() -> None:
    wh, assoc = world()
    s = current_structure(wh)
    truth = assoc.structure_at(assoc.clock)
    assert s.codes == truth.codes
    for tier in s.tiers:
        assert tier.price == truth.tier(tier.code).price
        assert tier.benefits == truth.tier(tier.code).benefits
        assert tier.rank == truth.tier(tier.code).rank


def test_structure_before_the_changes_is_the_old_one() -> None:
    wh, _assoc = world()
    s = structure_at(wh, date(2024, 6, 1))
    assert s.tier("STD").price == Decimal("325.00")
    assert "webinars" in s.tier("STD").benefits
    assert structure_at(wh, date(2025, 3, 1)).tier("STD").price == Decimal("345.00")


def test_eligibility_is_inferred_from_recent_choices() -> None:
    s = current_structure(world()[0])
    assert s.tier("STU").eligibility.rules["career_stage"] == frozenset({"student"})
    assert s.tier("LEAD").eligibility.rules["career_stage"] == frozenset({"senior", "executive"})
    assert not s.tier("STD").eligibility.rules


def test_benefit_costs_are_money() -> None:
    costs = benefit_costs(world()[0])
    assert costs["leadership_forum"] == Decimal("120.00")
