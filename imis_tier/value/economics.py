"""What each tier earns and costs on a date: list price, the benefits it carries, cost to serve.

Read from the warehouse only: the list price from ``tier_prices``, the tier-to-benefit map in
force from ``raw_tier_benefits`` and each benefit's yearly cost to serve from ``raw_benefits``.
Net dues (price minus cost to serve) is what a renewal is worth to the association, and what
every value model here multiplies by expected lifetimes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from imis_tier.features.panel import data_horizon
from imis_tier.warehouse import Warehouse

CENT = Decimal("0.01")


def as_day(value: date | datetime | str | None, warehouse: Warehouse) -> date:
    """A date from ``value``, or the warehouse's data horizon when ``None``."""
    if value is None:
        horizon = data_horizon(warehouse)
        if horizon is None:
            raise ValueError("the warehouse holds no synced parties: sync before valuing members")
        return horizon
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    return value


def money(value: object) -> Decimal:
    """A number as Decimal cents (floats go through ``repr`` so 0.1 stays 0.10)."""
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    if value is None or (isinstance(value, float) and value != value):
        return Decimal("0.00")
    return Decimal(repr(float(value)) if isinstance(value, float) else str(value)).quantize(CENT)


def tier_benefits(warehouse: Warehouse, on: date) -> pd.DataFrame:
    """The tier-to-benefit map in force on ``on``: columns tier_code, benefit, cost_to_serve."""
    return warehouse.connection.execute(
        """
        SELECT tb.tier_code, tb.benefit, coalesce(b.cost_to_serve, 0)::DOUBLE AS cost_to_serve
        FROM raw_tier_benefits tb LEFT JOIN raw_benefits b USING (benefit)
        WHERE tb.effective_from <= $on AND (tb.effective_to IS NULL OR tb.effective_to > $on)
        ORDER BY 1, 2
        """,
        {"on": on},
    ).df()


def tier_economics(warehouse: Warehouse, on: date | datetime | str | None = None) -> pd.DataFrame:
    """One row per member tier on ``on`` (default: the data horizon).

    Columns: ``tier_code``, ``rank``, ``price``, ``cost_to_serve``, ``net_dues`` (all Decimal),
    ``benefits`` (a frozenset of benefit codes). A tier without a known price gets price 0.
    """
    day = as_day(on, warehouse)
    tiers = warehouse.connection.execute(
        """
        SELECT t.tier_code, t.rank, p.price::DOUBLE AS price
        FROM tiers t
        LEFT JOIN tier_prices p ON p.tier_code = t.tier_code
             AND p.effective_from <= $on AND (p.effective_to IS NULL OR p.effective_to > $on)
        WHERE t.is_member
        ORDER BY t.rank, t.tier_code
        """,
        {"on": day},
    ).df()
    if tiers.empty:
        raise ValueError("the warehouse has no member tiers: sync before valuing members")
    # A tier whose price first appears after ``on`` still needs a price: use its earliest one.
    first = warehouse.connection.execute(
        "SELECT tier_code, arg_min(price, effective_from)::DOUBLE AS price FROM tier_prices GROUP BY 1"
    ).df()
    fallback = dict(zip(first["tier_code"], first["price"], strict=True))
    benefits = tier_benefits(warehouse, day)
    rows = []
    for tier in tiers.to_dict("records"):
        held = benefits[benefits["tier_code"] == tier["tier_code"]]
        price = tier["price"] if pd.notna(tier["price"]) else fallback.get(tier["tier_code"], 0.0)
        cost = money(float(held["cost_to_serve"].sum()))
        rows.append(
            {
                "tier_code": str(tier["tier_code"]),
                "rank": int(tier["rank"]),
                "price": money(price),
                "cost_to_serve": cost,
                "net_dues": money(price) - cost,
                "benefits": frozenset(str(b) for b in held["benefit"]),
            }
        )
    return pd.DataFrame(rows)
