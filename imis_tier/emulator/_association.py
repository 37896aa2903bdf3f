"""What the emulator needs from an association, and a static one for user-supplied tables."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from imis_tier.structure import Tier, TierStructure
from imis_tier.synthetic.tables import AssociationTables


@runtime_checkable
class Association(Protocol):
    """The generator's surface the emulator serves and steps (``imis_tier.synthetic``)."""

    @property
    def tables(self) -> AssociationTables: ...

    @property
    def clock(self) -> date: ...

    def structure_at(self, when: date) -> TierStructure: ...

    def advance(
        self, months: int = 1, structure: TierStructure | None = None
    ) -> AssociationTables: ...


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    return date(year, month % 12 + 1, 1)


def empty_like(tables: AssociationTables) -> AssociationTables:
    return AssociationTables(**{f.name: getattr(tables, f.name).iloc[0:0] for f in fields(tables)})


class StaticAssociation:
    """Serve fixed tables (your own data, or a test's): ``advance`` only moves the clock.

    The structure defaults to one built from the tiers, current prices and benefits in the tables.
    """

    def __init__(
        self, tables: AssociationTables, clock: date, structure: TierStructure | None = None
    ) -> None:
        tables.validate()
        self.tables = tables
        self.clock = clock
        self._structure = structure
        self.advanced_with: list[TierStructure | None] = []

    def structure_at(self, when: date) -> TierStructure:
        if self._structure is not None:
            return self._structure
        return structure_from_tables(self.tables, when)

    def advance(self, months: int = 1, structure: TierStructure | None = None) -> AssociationTables:
        if months < 1:
            raise ValueError(f"months must be at least 1, got {months}")
        self.advanced_with.append(structure)
        self.clock = add_months(self.clock, months)
        return empty_like(self.tables)


def structure_from_tables(tables: AssociationTables, when: date) -> TierStructure:
    """The tier structure the tables describe on ``when`` (no eligibility or discounts)."""
    at = pd.Timestamp(when)
    prices = tables.prices[pd.to_datetime(tables.prices["effective_from"]) <= at]
    prices = prices.sort_values("effective_from").groupby("tier_code", observed=True).tail(1)
    price = dict(zip(prices["tier_code"].astype(str), prices["price_cents"], strict=False))
    tb = tables.tier_benefits
    live = tb[
        (pd.to_datetime(tb["effective_from"]) <= at) & ~(pd.to_datetime(tb["effective_to"]) <= at)
    ]
    tiers = []
    for row in tables.tiers.itertuples(index=False):
        code = str(row.code)
        if not bool(row.is_member) or code not in price:
            continue
        benefits = frozenset(live.loc[live["tier_code"].astype(str) == code, "benefit"].astype(str))
        cents: Any = price[code]
        rank: Any = row.rank
        tiers.append(
            Tier(code, str(row.description), Decimal(int(cents)) / 100, benefits, int(rank))
        )
    return TierStructure(tuple(tiers))
