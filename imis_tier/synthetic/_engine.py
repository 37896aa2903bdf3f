"""One simulated month, in a fixed order that the truth's probabilities rely on."""

from __future__ import annotations

from imis_tier.structure import TierStructure
from imis_tier.synthetic import _behaviour, _membership
from imis_tier.synthetic._choice import tier_matrix
from imis_tier.synthetic._world import World


def step(world: World, structure: TierStructure, joiners: int) -> None:
    """Simulate ``world.month`` under ``structure`` and move the clock to the next month.

    Order: renewal decisions first (taken on the state at the start of the month, which is what
    ``GroundTruth.choice_probabilities`` reads), then joins, reinstatements, the payments and
    lapses falling due, behaviour, and last the end-of-month drift of engagement and careers.
    """
    month = world.month
    matrix = tier_matrix(structure, world.registry, world.params)
    _membership.renew(world, structure, matrix, month)
    _membership.join(world, structure, matrix, month, joiners)
    _membership.reinstate(world, structure, matrix, month)
    _membership.settle(world, month)
    if world.emit:
        _behaviour.month_behaviour(world, matrix, month)
    _membership.drift(world, month)
    world.month = month + 1
