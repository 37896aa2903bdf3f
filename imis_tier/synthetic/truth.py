"""The hidden ground truth of a synthetic association: true choice probabilities, what-if runs
of the true behaviour, and the log of every historical decision with the odds it was taken at.

Nothing here is served by the emulator or may be used as model input; it exists to check
forecasts against what really drives the simulated members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from imis_tier.structure import LAPSE, TierStructure
from imis_tier.synthetic import _choice, _engine
from imis_tier.synthetic._calendar import month_date, month_of, to_datetime
from imis_tier.synthetic._choice import ChoiceInputs
from imis_tier.synthetic._frames import categorical
from imis_tier.synthetic._world import DECISION_KINDS, PARTY_ID_BASE, TIME_VARYING, Decision, World
from imis_tier.synthetic.catalog import CAREER_STAGES, NON_MEMBER
from imis_tier.synthetic.params import TruthParameters

_FORWARD_SALT = 1_000_003


@dataclass(frozen=True)
class ForwardRun:
    """A run of the true behaviour from the clock under one structure (the world is untouched).

    ``decisions`` has one row per choice: ``party_id``, ``decision_date``, ``kind`` (renewal,
    join, reinstate), ``from_tier`` ("NM" for joiners), ``to_tier`` (a tier code or "LAPSE") and
    ``price_cents`` (dues paid, 0 for a lapse).
    """

    structure: TierStructure
    start: date
    months: int
    decisions: pd.DataFrame
    counts: dict[str, int]
    """Members per tier at the end of the run."""
    members_start: int
    lapse_rate: float
    """Share of renewal decisions that lapsed."""
    dues_revenue: Decimal
    """Dues paid on the run's decisions (renewals, joins and reinstatements)."""

    @property
    def members_end(self) -> int:
        return sum(self.counts.values())

    @property
    def tier_shares(self) -> dict[str, float]:
        """Share of the members at the end of the run in each tier."""
        total = self.members_end
        return {code: (count / total if total else 0.0) for code, count in self.counts.items()}


class GroundTruth:
    """The true behaviour behind a :class:`~imis_tier.synthetic.SyntheticAssociation`."""

    def __init__(
        self, world: World, structure_at: Callable[[date], TierStructure], monthly_joiners: float
    ) -> None:
        self._world = world
        self._structure_at = structure_at
        self._monthly_joiners = monthly_joiners

    @property
    def params(self) -> TruthParameters:
        """The true behavioural parameters."""
        return self._world.params

    @property
    def clock(self) -> date:
        return month_date(self._world.month)

    def _rows(self, party_ids: Iterable[int]) -> npt.NDArray[np.int64]:
        ids = np.asarray(
            list(party_ids)
            if not isinstance(party_ids, np.ndarray | pd.Index | pd.Series)
            else party_ids,
            dtype=np.int64,
        )
        rows = ids - PARTY_ID_BASE
        bad = (rows < 0) | (rows >= self._world.n)
        if bad.any():
            raise KeyError(f"unknown party ids: {ids[bad][:5].tolist()}")
        return rows

    def choice_probabilities(
        self, party_ids: Iterable[int], structure: TierStructure, as_of: date | None = None
    ) -> pd.DataFrame:
        """True probability of each alternative at each member's next renewal decision.

        The member's state is the one at their first logged renewal decision in or after the
        month of ``as_of`` (so counterfactual structures can be scored against history); with
        ``as_of`` at or after the clock (the default), or no such decision, it is the current
        state. Columns are ``structure.codes`` then ``"LAPSE"``; ineligible tiers get 0.
        """
        ids = self._rows(party_ids)
        month = self._world.month if as_of is None else month_of(as_of)
        inputs = self._world.inputs(ids, self._world.month)
        if month < self._world.month:
            inputs = self._historical_inputs(ids, month, inputs)
        # a copy: a hypothetical tier must not enter the registry behind the observable tables
        matrix = _choice.tier_matrix(structure, list(self._world.registry), self.params)
        prices = _choice.member_prices(inputs, structure)
        v, lapse = _choice.utilities(inputs, matrix, prices, self.params)
        p, p_lapse = _choice.nested_probabilities(
            v, lapse, _choice.eligibility(inputs, structure), self.params.nest_lambda
        )
        frame = pd.DataFrame(np.column_stack([p, p_lapse]), columns=[*structure.codes, LAPSE])
        frame.index = pd.Index(ids + PARTY_ID_BASE, name="party_id")
        return frame

    def _historical_inputs(
        self, rows: npt.NDArray[np.int64], month: int, current: ChoiceInputs
    ) -> ChoiceInputs:
        renewals = [d for d in self._world.decisions if d.kind == 0 and d.month >= month]
        if not renewals:
            return current
        who = np.concatenate([d.rows for d in renewals])
        when = np.concatenate([np.full(len(d.rows), d.month) for d in renewals])
        order = np.lexsort((when, who))
        who_sorted = who[order]
        first = np.searchsorted(who_sorted, rows, side="left")
        found = (first < len(who_sorted)) & (
            who_sorted[np.minimum(first, len(who_sorted) - 1)] == rows
        )
        picked = order[first[found]]
        merged = {}
        for name, value in vars(current).items():
            if name in TIME_VARYING:
                value = value.copy()
                value[found] = np.concatenate([d.state[name] for d in renewals])[picked]
            merged[name] = value
        return ChoiceInputs(**merged)

    def forward(self, structure: TierStructure, months: int = 12, seed: int = 0) -> ForwardRun:
        """Run the true behaviour ``months`` from the clock under ``structure``; same seed, same run."""
        if months < 1:
            raise ValueError(f"forward(months={months}): months must be at least 1")
        world = self._world.fork((*self._world.key, _FORWARD_SALT, seed))
        start = world.month
        members_start = int(world.col("active").sum())
        for _ in range(months):
            joiners = int(world.rng(world.month, 0).poisson(self._monthly_joiners))
            _engine.step(world, structure, joiners)
        decisions = _decision_frame(world, world.decisions, with_probabilities=False)
        active = world.col("active")
        tiers = world.col("tier")[active]
        counts = {
            code: int((tiers == world.registry.index(code)).sum()) for code in structure.codes
        }
        for index in np.unique(tiers):
            code = world.registry[int(index)]
            counts.setdefault(code, int((tiers == index).sum()))
        renewals = decisions[decisions["kind"] == "renewal"]
        lapse_rate = float((renewals["to_tier"] == LAPSE).mean()) if len(renewals) else 0.0
        revenue = Decimal(int(decisions["price_cents"].sum())) / 100
        return ForwardRun(
            structure,
            month_date(start),
            months,
            decisions,
            counts,
            members_start,
            lapse_rate,
            revenue,
        )

    @property
    def decisions(self) -> pd.DataFrame:
        """Every historical choice (renewals, joins, reinstatements) with its true probabilities.

        Probability columns are ``p_<code>`` for every tier code ever offered and ``p_LAPSE``;
        a tier not offered at that decision has NaN. Also the hidden state the choice was made in
        (``engagement``, ``career_stage``).
        """
        return _decision_frame(self._world, self._world.decisions, with_probabilities=True)

    @property
    def renewal_decisions(self) -> pd.DataFrame:
        """The renewal rows of :attr:`decisions`: the hidden historical renewal log."""
        frame = self.decisions
        return frame[frame["kind"] == "renewal"].reset_index(drop=True)

    def latent(self) -> pd.DataFrame:
        """Each contact's hidden traits now (price sensitivity, engagement, payment laxity...)."""
        w = self._world
        return pd.DataFrame(
            {
                "alpha": w.col("alpha"),
                "habit": w.col("habit"),
                "engagement": w.col("engagement"),
                "engagement_mean": w.col("mu"),
                "laxity": w.col("laxity"),
            },
            index=pd.Index(PARTY_ID_BASE + np.arange(w.n), name="party_id"),
        )


def _decision_frame(
    world: World, decisions: list[Decision], with_probabilities: bool
) -> pd.DataFrame:
    codes = [*world.registry, NON_MEMBER]
    to_codes = [*world.registry, LAPSE]
    if not decisions:
        columns = ["party_id", "decision_date", "kind", "from_tier", "to_tier", "price_cents"]
        return pd.DataFrame({c: [] for c in columns})

    def cat(values: npt.NDArray[Any], names: list[str]) -> pd.Categorical[str]:
        v = np.asarray(values, dtype=np.int64)
        return categorical(np.where(v < 0, len(names) - 1, v), names)

    frame = pd.DataFrame(
        {
            "party_id": PARTY_ID_BASE + np.concatenate([d.rows for d in decisions]),
            "decision_date": to_datetime(np.concatenate([d.day for d in decisions])),
            "kind": categorical(
                np.concatenate([np.full(len(d.rows), d.kind) for d in decisions]), DECISION_KINDS
            ),
            "from_tier": cat(np.concatenate([d.from_tier for d in decisions]), codes),
            "to_tier": cat(np.concatenate([d.to_tier for d in decisions]), to_codes),
            "price_cents": np.concatenate([d.price for d in decisions]).astype(np.int64),
        }
    )
    if not with_probabilities:
        return frame
    total = len(frame)
    probs = np.full((total, len(world.registry) + 1), np.nan)
    at = 0
    for d in decisions:
        k = len(d.rows)
        where = [world.registry.index(c) for c in d.codes] + [len(world.registry)]
        probs[at : at + k, where] = d.probabilities
        at += k
    for j, code in enumerate([*world.registry, LAPSE]):
        frame[f"p_{code}"] = probs[:, j]
    frame["engagement"] = np.concatenate([d.state["engagement"] for d in decisions]).astype(
        np.float64
    )
    stage = np.concatenate([d.state["stage"] for d in decisions]).astype(np.int64)
    frame["career_stage"] = categorical(stage, CAREER_STAGES)
    return frame
