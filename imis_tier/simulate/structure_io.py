"""The tier structure as iMIS shows it, read from the warehouse, at any date of its history.

Tiers and ranks come from ``raw_customer_types``, prices from the canonical ``tier_prices`` (the
billing-item history and the dues actually invoiced; the current ``raw_billing_items`` price wins
today), the tier-to-benefit map from ``raw_tier_benefits`` (with its effective dates) and the
yearly cost to serve of each benefit from ``raw_benefits``.

iMIS does not store who may hold a tier, so eligibility is *inferred*: for each tier, the career
stages of the members who chose it shortly before the date (renewals into it and joins). A stage
seen in at least ``_ELIGIBLE_SHARE`` of those choices is allowed; a rule that admits nearly the
whole membership is dropped. The rule is shown by ``imis-tier scenario init`` so that a person
can correct it in the scenario file (``base:`` section), and callers can pass ``eligibility=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from imis_tier.structure import Eligibility, Tier, TierStructure
from imis_tier.warehouse import Warehouse

_ELIGIBLE_SHARE = 0.05  # a career stage this common among a tier's recent choosers is allowed
_UNRESTRICTED_COVERAGE = 0.9  # a rule admitting this share of all members is no rule
_RECENT_DAYS = 120  # stages drift after a choice, so only recent choices show the rule
_CYCLES = {"ANNUAL": 12, "SEMIANNUAL": 6, "QUARTERLY": 3, "MONTHLY": 1}


def _day(value: date | datetime | str | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    return value


def data_date(warehouse: Warehouse) -> date:
    """The first day after the warehouse's data (the latest party update, plus one day)."""
    row = warehouse.fetchone("SELECT max(updated_on) FROM raw_parties")
    if row is None or row[0] is None:
        raise ValueError("the warehouse holds no parties: sync or load exports first")
    last = row[0]
    return (last.date() if isinstance(last, datetime) else last) + timedelta(days=1)


def benefit_costs(warehouse: Warehouse) -> dict[str, Decimal]:
    """Yearly cost to serve of each benefit in the catalogue (``raw_benefits``)."""
    rows = warehouse.fetchall("SELECT benefit, coalesce(cost_to_serve, 0) FROM raw_benefits")
    return {str(b): Decimal(str(c)).quantize(Decimal("0.01")) for b, c in rows}


def structure_at(
    warehouse: Warehouse,
    when: date | datetime | str,
    *,
    eligibility: Mapping[str, Eligibility] | None = None,
) -> TierStructure:
    """The structure in force on ``when``: tiers with a price then, their benefits then.

    ``eligibility`` (tier code -> rule) replaces the inferred rule of those tiers.
    """
    day = _day(when)
    assert day is not None
    tiers = warehouse.fetchall(
        "SELECT code, coalesce(description, code), coalesce(rank, 0) FROM raw_customer_types "
        "WHERE coalesce(is_member, true) AND code <> 'NM' ORDER BY rank, code"
    )
    if not tiers:
        raise ValueError("the warehouse holds no member tiers (raw_customer_types is empty)")
    prices = dict(
        warehouse.fetchall(
            "SELECT tier_code, arg_max(price, effective_from) FROM tier_prices "
            "WHERE effective_from <= ? GROUP BY tier_code",
            [day],
        )
    )
    today = data_date(warehouse)
    if day >= today - timedelta(days=1):
        # The billing item itself is the truth for today's price (invoices lag a change).
        prices.update(dict(warehouse.fetchall("SELECT tier_code, price FROM raw_billing_items")))
    benefits: dict[str, set[str]] = {}
    for code, benefit in warehouse.fetchall(
        "SELECT tier_code, benefit FROM raw_tier_benefits WHERE effective_from <= ? "
        "AND (effective_to IS NULL OR effective_to > ?)",
        [day, day],
    ):
        benefits.setdefault(str(code), set()).add(str(benefit))
    rules = infer_eligibility(warehouse, day)
    rules.update(eligibility or {})
    built = [
        Tier(
            str(code),
            str(name),
            Decimal(str(prices[code])).quantize(Decimal("0.01")),
            frozenset(benefits.get(str(code), set())),
            int(rank),
            rules.get(str(code), Eligibility()),
        )
        for code, name, rank in tiers
        if code in prices
    ]
    if not built:
        raise ValueError(f"no tier has a price on or before {day}: is tier_prices empty?")
    return TierStructure(tuple(built), billing_cycle_months=_billing_cycle(warehouse))


def current_structure(
    warehouse: Warehouse, *, eligibility: Mapping[str, Eligibility] | None = None
) -> TierStructure:
    """The structure in force at the end of the warehouse's data (what iMIS shows today)."""
    return structure_at(
        warehouse, data_date(warehouse) - timedelta(days=1), eligibility=eligibility
    )


def _billing_cycle(warehouse: Warehouse) -> int:
    rows = warehouse.fetchall(
        "SELECT upper(coalesce(billing_cycle, 'ANNUAL')), count(*) FROM raw_billing_items "
        "GROUP BY ALL ORDER BY 2 DESC"
    )
    return _CYCLES.get(str(rows[0][0]), 12) if rows else 12


def infer_eligibility(warehouse: Warehouse, when: date) -> dict[str, Eligibility]:
    """Career-stage rules per tier from who chose each tier in the months before ``when``."""
    start = when - timedelta(days=_RECENT_DAYS)
    rows = warehouse.fetchall(
        """
        WITH chosen AS (
            SELECT party_id, to_tier AS tier_code FROM renewal_decisions
            WHERE to_tier IS NOT NULL AND to_tier <> 'NM' AND decision_date >= ? AND decision_date < ?
            UNION ALL
            SELECT party_id, tier_code FROM tier_spells
            WHERE event IN ('join', 'reinstate') AND start_at >= ? AND start_at < ?
        )
        SELECT c.tier_code, m.career_stage, count(*) FROM chosen c JOIN members m USING (party_id)
        WHERE m.career_stage IS NOT NULL GROUP BY ALL
        """,
        [start, when, start, when],
    )
    population = dict(
        warehouse.fetchall(
            "SELECT career_stage, count(*) FROM members WHERE is_member AND career_stage IS NOT NULL "
            "GROUP BY ALL"
        )
    )
    total_population = sum(population.values()) or 1
    by_tier: dict[str, dict[str, int]] = {}
    for tier, stage, count in rows:
        by_tier.setdefault(str(tier), {})[str(stage)] = int(count)
    rules: dict[str, Eligibility] = {}
    for tier, counts in by_tier.items():
        total = sum(counts.values())
        allowed = {s for s, c in counts.items() if c / total >= _ELIGIBLE_SHARE}
        coverage = sum(population.get(s, 0) for s in allowed) / total_population
        if allowed and coverage < _UNRESTRICTED_COVERAGE:
            rules[tier] = Eligibility({"career_stage": frozenset(allowed)})
    return rules
