"""Forward runs of the true behaviour: reproducible, side-effect free, consistent with the odds."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from imis_tier.synthetic import SyntheticAssociation, generate_association


def test_forward_is_reproducible_and_leaves_the_world_alone(assoc: SyntheticAssociation) -> None:
    structure = assoc.structure_at(assoc.clock)
    before = len(assoc.tables.activities), len(assoc.truth.decisions), assoc.clock
    one = assoc.truth.forward(structure, months=6, seed=4)
    two = assoc.truth.forward(structure, months=6, seed=4)
    other = assoc.truth.forward(structure, months=6, seed=5)
    pd.testing.assert_frame_equal(one.decisions, two.decisions)
    assert not one.decisions["to_tier"].equals(other.decisions["to_tier"])
    assert (len(assoc.tables.activities), len(assoc.truth.decisions), assoc.clock) == before
    assert one.start == assoc.clock and one.months == 6


def test_forward_summaries(assoc: SyntheticAssociation) -> None:
    run = assoc.truth.forward(assoc.structure_at(assoc.clock), months=12, seed=0)
    d = run.decisions
    assert list(d.columns[:6]) == [
        "party_id",
        "decision_date",
        "kind",
        "from_tier",
        "to_tier",
        "price_cents",
    ]
    assert d["decision_date"].min() >= pd.Timestamp(assoc.clock)
    assert isinstance(run.dues_revenue, Decimal)
    assert run.dues_revenue == Decimal(int(d["price_cents"].sum())) / 100
    assert (d.loc[d["to_tier"] == "LAPSE", "price_cents"] == 0).all()
    assert 0.05 < run.lapse_rate < 0.35
    assert abs(sum(run.tier_shares.values()) - 1) < 1e-9
    assert run.members_end == sum(run.counts.values()) > 0


def test_forward_frequencies_match_choice_probabilities() -> None:
    a = generate_association(members=3000, seed=2)
    structure = a.structure_at(a.clock)
    tiers = pd.Categorical([], categories=[*structure.codes, "LAPSE"]).categories
    observed = []
    for seed in range(8):
        d = a.truth.forward(structure, months=1, seed=seed).decisions
        observed.append(d[d["kind"] == "renewal"])
    renewals = pd.concat(observed)
    expected = a.truth.choice_probabilities(renewals["party_id"], structure).mean()
    frequency = (
        renewals["to_tier"].astype(str).value_counts(normalize=True).reindex(tiers, fill_value=0.0)
    )
    assert len(renewals) > 800
    np.testing.assert_allclose(frequency.to_numpy(), expected.reindex(tiers).to_numpy(), atol=0.03)


def test_forward_price_rise_cuts_members_but_lifts_revenue_per_member(
    assoc: SyntheticAssociation,
) -> None:
    base = assoc.structure_at(assoc.clock)
    dear = base.with_price("STD", Decimal("445.00"))
    cheap = assoc.truth.forward(base, months=12, seed=1)
    costly = assoc.truth.forward(dear, months=12, seed=1)
    assert costly.lapse_rate > cheap.lapse_rate
    assert costly.counts["STD"] < cheap.counts["STD"]
