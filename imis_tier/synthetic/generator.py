"""Generating a synthetic association and moving its clock forward."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from imis_tier.structure import TierStructure
from imis_tier.synthetic import _choice, _engine, _frames
from imis_tier.synthetic._calendar import month_date, month_end, month_of, month_start
from imis_tier.synthetic._population import draw
from imis_tier.synthetic._world import World
from imis_tier.synthetic.catalog import (
    CATALOGUE_START,
    apply_changes,
    default_structure,
    historical_changes,
)
from imis_tier.synthetic.params import TruthParameters
from imis_tier.synthetic.tables import AssociationTables
from imis_tier.synthetic.truth import GroundTruth

DEFAULT_END = date(2026, 11, 1)
_INITIAL_SHARE = 0.7
_INITIAL_STAGES = (0.07, 0.2, 0.38, 0.23, 0.12)


class SyntheticAssociation:
    """A generated association: observable tables, the structures in force, and hidden truth.

    Build one with :func:`generate_association`. ``tables`` is what iMIS would hold; ``truth``
    is the behaviour behind it and must never be served or used as model input.
    """

    def __init__(
        self,
        world: World,
        timeline: list[tuple[date, TierStructure]],
        events_log: dict[str, dict[str, object]],
        monthly_joiners: float,
    ) -> None:
        self._world = world
        self._timeline = timeline
        self._monthly_joiners = monthly_joiners
        self.events_log = events_log
        self.tables: AssociationTables = _frames.build(world, timeline)
        self.truth = GroundTruth(world, self.structure_at, monthly_joiners)

    @property
    def clock(self) -> date:
        """The first day of the month after the history: nothing at or after it has happened."""
        return month_date(self._world.month)

    def structure_at(self, d: date) -> TierStructure:
        """The tier structure in force on ``d`` (the initial one before the history began)."""
        return _structure_at(self._timeline, d)

    def advance(self, months: int = 1, structure: TierStructure | None = None) -> AssociationTables:
        """Simulate ``months`` more months under ``structure`` (default: the one in force).

        Returns only the rows added in those months plus rows that changed (parties, invoices,
        group memberships, certifications: their ``updated_on`` falls in the new months; the
        emulator should upsert those by key). ``self.tables`` is updated to include them.
        """
        if months < 1:
            raise ValueError(f"advance(months={months}): months must be at least 1")
        if structure is not None and structure != self.structure_at(self.clock):
            self._timeline.append((self.clock, structure))
        world = self._world
        rng = world.rng(world.month, 0)
        marks = _frames.mark(world)
        for _ in range(months):
            _engine.step(
                world,
                self.structure_at(month_date(world.month)),
                int(rng.poisson(self._monthly_joiners)),
            )
        delta = _frames.build(world, self._timeline, marks)
        self.tables = _merge(self.tables, delta, _frames.build_mutable(world, self._timeline))
        return delta


def _merge(
    old: AssociationTables, delta: AssociationTables, mutable: dict[str, pd.DataFrame]
) -> AssociationTables:
    merged: dict[str, pd.DataFrame] = {}
    for name, frame in old.items():
        if name in mutable:
            merged[name] = mutable[name]
        else:
            merged[name] = pd.concat([frame, getattr(delta, name)], ignore_index=True)
    return AssociationTables(**merged)


def generate_association(
    members: int = 5000,
    seed: int = 0,
    months: int = 36,
    end: date = DEFAULT_END,
    params: TruthParameters | None = None,
) -> SyntheticAssociation:
    """Generate ``months`` of history ending at ``end`` (the clock) for about ``members`` members.

    ``members`` counts everyone who is a member at some point of the history: about 70% are
    members when it starts, the rest join during it. Same arguments, same tables.
    """
    if members < 1:
        raise ValueError(f"members must be positive, got {members}")
    if months < 1:
        raise ValueError(f"months must be positive, got {months}")
    if end.day != 1:
        raise ValueError(f"end must be the first day of a month, got {end.isoformat()}")
    params = params or TruthParameters()
    first = month_of(end) - months
    start = month_date(first)
    changes = historical_changes(start, end)
    base = default_structure()
    timeline: list[tuple[date, TierStructure]] = [(CATALOGUE_START, base)]
    for change in sorted(changes.values(), key=lambda c: c["date"]):  # type: ignore[arg-type,return-value]
        effective: date = change["date"]  # type: ignore[assignment]
        timeline.append((effective, apply_changes(base, changes, effective)))

    world = World(params=params, key=(seed,), registry=list(base.codes), month=first)
    setup = world.rng(first, 0)
    n_initial = max(1, round(members * _INITIAL_SHARE))
    joiners = setup.multinomial(members - n_initial, np.full(months, 1 / months))
    _initial_cohort(world, _structure_at(timeline, start), n_initial)
    for m in range(months):
        _engine.step(world, _structure_at(timeline, month_date(world.month)), int(joiners[m]))
    return SyntheticAssociation(world, timeline, changes, (members - n_initial) / months)


def _structure_at(timeline: list[tuple[date, TierStructure]], d: date) -> TierStructure:
    current = timeline[0][1]
    for effective, structure in timeline:
        if effective <= d:
            current = structure
    return current


def _initial_cohort(world: World, structure: TierStructure, k: int) -> None:
    """Members who joined before the history began, each with a renewal in its first year."""
    first = world.month
    rng = world.rng(first, 99)
    columns = draw(k, _INITIAL_STAGES, 1970 + first // 12, rng, world.params)
    renewal = first + rng.integers(0, 12, k)
    years = np.clip(np.ceil(rng.exponential(6.0, k)), 1, 30).astype(np.int64)
    # Joined in the anniversary month, ``years`` renewals ago.
    join_month = renewal + 1 - 12 * years
    columns["join_day"] = (month_start(join_month) + rng.integers(0, 28, k)).astype(np.int32)
    rows = world.add_parties(columns)
    matrix = _choice.tier_matrix(structure, world.registry, world.params)
    inputs = world.inputs(rows, first)
    prices = _choice.member_prices(inputs, structure)
    v, _ = _choice.utilities(inputs, matrix, prices, world.params)
    within = _choice.within_nest(
        v, _choice.eligibility(inputs, structure), world.params.nest_lambda
    )
    pick = _choice.sample(within, rng.random(k))
    tier = matrix.registry_index[pick]
    last_renewal = np.maximum(month_end(renewal - 12) - rng.integers(0, 25, k), columns["join_day"])
    world.parties.set(
        rows,
        tier=tier,
        active=True,
        paid_thru_month=renewal.astype(np.int32),
        since_day=columns["join_day"],
        last_paid=prices[np.arange(k), pick],
        updated_day=last_renewal.astype(np.int32),
    )
    world.member_types.append(
        party=rows, day=columns["join_day"], old=np.full(k, -1, np.int16), new=tier
    )


__all__ = ["DEFAULT_END", "SyntheticAssociation", "generate_association"]
