"""``simulate``: what members would do under a scenario, against the status quo, with intervals.

For each chunk of members the engine lays out both structures, computes choice probabilities for
every parameter draw (members x alternatives x draws, float32), and samples one outcome per
member and draw by comparing a uniform with the cumulative probabilities. Chunks are independent
and run through :func:`imis_tier.simulate._backend.run_chunks` (joblib threads, or Dask), and
only additive totals per draw and group come back, so memory stays flat in the number of members.

Randomness: parameter draws come from ``seed``; each chunk's uniforms from ``(seed, chunk)``
with a fixed chunk size, so a run is reproduced exactly whatever the backend or worker count.
The scenario and the status quo share parameter draws and uniforms (common random numbers).

Dynamics over ``horizon`` yearly cycles: after each renewal a retained member holds the tier they
picked and has paid its price; lapsed members stay out; joins are not modelled; usage is held
at its current level. A billing-cycle change splits dues into instalments but keeps one tier
decision a year (the history shows no cycle change to learn its behavioural effect from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from imis_tier.simulate._backend import run_chunks
from imis_tier.simulate.design import Members, benefit_access, tier_costs
from imis_tier.simulate.forecast import Forecast, Totals
from imis_tier.simulate.model import TierChoiceModel
from imis_tier.simulate.scenario import Scenario
from imis_tier.structure import LAPSE, TierStructure

CHUNK_CELLS = 2_000_000
"""Members x alternatives x draws per chunk: about 8 MB per float32 array."""


def simulate(
    scenario: Scenario | TierStructure,
    panel: pd.DataFrame,
    model: TierChoiceModel,
    *,
    status_quo: TierStructure,
    draws: int = 200,
    horizon: int = 1,
    seed: int = 0,
    by: Sequence[str] = (),
    backend: str = "joblib",
    n_jobs: int = -1,
    scheduler: Any = None,
    costs: Mapping[str, Decimal | float] | None = None,
    level: float = 0.9,
    name: str | None = None,
) -> Forecast:
    """Forecast ``scenario`` against ``status_quo`` for the members of ``panel``.

    ``scenario`` is a :class:`Scenario` (applied to ``status_quo`` unless it has its own
    ``base``; its merges move members and its ``like`` rules pick new tiers' constants) or a
    ready :class:`TierStructure`. ``panel`` is :func:`imis_tier.features.build_panel` output (one
    row per member holding a tier). ``draws`` parameter draws (1 uses the point estimates),
    ``horizon`` yearly renewal cycles (1 to 3), ``by`` panel columns to break figures down by,
    ``costs`` benefit -> yearly cost to serve (see :func:`structure_io.benefit_costs`).
    """
    if not 1 <= horizon <= 3:
        raise ValueError(f"horizon must be 1, 2 or 3 renewal cycles, got {horizon}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    missing = [c for c in by if c not in panel.columns]
    if missing:
        raise ValueError(f"--by column(s) {missing} are not panel columns")
    if isinstance(scenario, Scenario):
        base = scenario.base_structure(status_quo)
        structure = scenario.apply(base)
        moves, like, label = scenario.moves, scenario.constants_like, scenario.name
    else:
        structure, moves, like, label = scenario, {}, {}, "structure"
    ranks = {t.code: t.rank for t in status_quo.tiers}
    ranks.update({t.code: t.rank for t in structure.tiers if t.code not in ranks})
    members = Members.from_panel(panel, model.spec_.usage_benefits, ranks)
    if len(members) == 0:
        raise ValueError("the panel has no members to simulate")
    group_index, groups = _groups(panel, by)
    from_codes = tuple(dict.fromkeys([*status_quo.codes, *sorted(set(members.current))]))
    coefs = model.coef_[None, :] if draws == 1 else model.sample_coefs(draws, seed)
    costs = dict(costs or {})
    step = max(1, CHUNK_CELLS // (draws * (max(len(structure.codes), len(status_quo.codes)) + 1)))
    tasks: list[tuple[Any, ...]] = [
        (
            model,
            members.take(slice(s, s + step)),
            group_index[s : s + step],
            len(groups),
            (structure, moves, like),
            (status_quo, {}, {}),
            from_codes,
            coefs,
            horizon,
            (seed, k),
            costs,
        )
        for k, s in enumerate(range(0, len(members), step))
    ]
    # Parallelism is across chunks: a multi-threaded BLAS inside each only fights for the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        parts = run_chunks(_chunk, tasks, backend=backend, n_jobs=n_jobs, scheduler=scheduler)
    scenario_totals, base_totals = parts[0]
    for a, b in parts[1:]:
        scenario_totals = scenario_totals + a
        base_totals = base_totals + b
    return Forecast(
        name=name or label,
        structure=structure,
        status_quo_structure=status_quo,
        scenario=scenario_totals,
        status_quo=base_totals,
        groups=groups,
        from_codes=from_codes,
        to_codes=(*structure.codes, LAPSE),
        status_quo_codes=(*status_quo.codes, LAPSE),
        draws=int(coefs.shape[0]),
        horizon=horizon,
        seed=seed,
        by=tuple(by),
        level=level,
        meta={"model_version": model.version_, "members": len(members)},
    )


def _groups(panel: pd.DataFrame, by: Sequence[str]) -> tuple[NDArray[np.intp], pd.DataFrame]:
    if not by:
        return np.zeros(len(panel), dtype=np.intp), pd.DataFrame(index=[0])
    keys = panel[list(by)].astype(str)
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize(sort=True)
    frame = pd.DataFrame(list(uniques), columns=list(by))
    return codes.astype(np.intp), frame


def _chunk(
    model: TierChoiceModel,
    members: Members,
    group: NDArray[np.intp],
    n_groups: int,
    scenario: tuple[TierStructure, Mapping[str, str], Mapping[str, str]],
    status_quo: tuple[TierStructure, Mapping[str, str], Mapping[str, str]],
    from_codes: tuple[str, ...],
    coefs: NDArray[np.float64],
    horizon: int,
    key: tuple[int, int],
    costs: Mapping[str, Decimal | float],
) -> tuple[Totals, Totals]:
    """Totals of one member chunk under the scenario and the status quo, same draws."""
    rng = np.random.default_rng([key[0], key[1], 0x5EED])
    uniforms = rng.random((horizon, len(members), coefs.shape[0]), dtype=np.float32)
    origin = np.array([from_codes.index(c) for c in members.current], dtype=np.intp)
    return tuple(  # type: ignore[return-value]
        _run(
            model,
            members,
            group,
            n_groups,
            s,
            moves,
            like,
            origin,
            len(from_codes),
            coefs,
            uniforms,
            costs,
        )
        for s, moves, like in (scenario, status_quo)
    )


def _run(
    model: TierChoiceModel,
    members: Members,
    group: NDArray[np.intp],
    n_groups: int,
    structure: TierStructure,
    moves: Mapping[str, str],
    like: Mapping[str, str],
    origin: NDArray[np.intp],
    n_from: int,
    coefs: NDArray[np.float64],
    uniforms: NDArray[np.float32],
    costs: Mapping[str, Decimal | float],
) -> Totals:
    m, D = len(members), coefs.shape[0]
    J = len(structure.codes) + 1
    lapse = J - 1
    if moves:
        current = np.array([moves.get(c, c) for c in members.current], dtype=object)
        ranks = {t.code: t.rank for t in structure.tiers}
        members = replace(
            members,
            current=current,
            current_rank=np.array(
                [ranks.get(c, r) for c, r in zip(current, members.current_rank, strict=True)],
                dtype=np.float64,
            ),
        )
    alts = model.layout(members, structure, like=like)
    prices = alts.prices
    access = benefit_access(members, structure, model.spec_)
    cost = tier_costs(structure, costs)
    state = _sample(model.wide(alts, coefs), uniforms[0])
    size = D * n_groups
    dg = (np.arange(D, dtype=np.intp)[None, :] * n_groups + group[:, None]).ravel()  # draw-group
    flat_origin = np.repeat(origin, D)
    uniform_prices = bool((prices == prices[:1]).all())
    decisions = np.zeros(size)
    lapses = np.zeros(size)
    dues = np.zeros(size)
    served = np.zeros(size)
    nondues = np.zeros(size)
    migration = np.zeros(size * n_from * J)
    for cycle in range(uniforms.shape[0]):
        if cycle:
            was_alive = state != lapse
            new_state = state.copy()
            for j, tier in enumerate(structure.tiers):
                holds = state == j
                if not holds.any():
                    continue
                held = replace(
                    members,
                    current=np.full(m, tier.code, dtype=object),
                    current_rank=np.full(m, float(tier.rank)),
                    paid=prices[:, j].copy(),
                )
                later = model.layout(held, structure, like=like, tenure_offset_years=float(cycle))
                pick = _sample(model.wide(later, coefs), uniforms[cycle])
                new_state = np.where(holds, pick, new_state)
            state = new_state
        else:
            was_alive = np.ones((m, D), dtype=bool)
        # Decisions this cycle, by draw-group, origin and outcome: one bincount, then the rest.
        live = was_alive.ravel()
        flat_state = state.ravel()
        cells = ((dg * n_from + flat_origin) * J + flat_state)[live]
        counts = np.bincount(cells, minlength=size * n_from * J).astype(np.float64)
        by_state = counts.reshape(size, n_from, J).sum(axis=1)
        decisions += by_state.sum(axis=1)
        lapses += by_state[:, lapse]
        served += by_state @ cost
        if uniform_prices:
            dues += by_state @ prices[0]
        else:
            paid = np.take_along_axis(prices, state, axis=1).ravel()
            dues += np.bincount(dg[live], weights=paid[live], minlength=size)
        kept = (flat_state != lapse) & live
        nondues += np.bincount(
            dg[kept], weights=np.repeat(members.nondues, D)[kept], minlength=size
        )
        if cycle == uniforms.shape[0] - 1:
            # Where members are at the end: this cycle's deciders plus those lapsed before.
            gone = ~live
            migration = counts + np.bincount(
                ((dg * n_from + flat_origin) * J + lapse)[gone], minlength=size * n_from * J
            )
    alive = state != lapse
    reach = np.take_along_axis(access, state, axis=1) * alive
    access_end = np.bincount(dg, weights=reach.ravel(), minlength=size)

    def grid(a: NDArray[Any]) -> NDArray[np.float64]:
        return np.asarray(a, dtype=np.float64).reshape(D, n_groups)

    return Totals(
        migration=migration.reshape(D, n_groups, n_from, J),
        dues=grid(dues),
        nondues=grid(nondues),
        cost=grid(served),
        access=grid(access_end),
        decisions=grid(decisions),
        lapses=grid(lapses),
    )


def _sample(p: NDArray[np.float32], u: NDArray[np.float32]) -> NDArray[np.intp]:
    """One alternative per (member, draw): the first whose cumulative probability exceeds ``u``.

    A running sum over the few alternatives (not ``np.cumsum`` along a middle axis, which is
    several times slower); ``u`` is scaled by the row total so rounding never runs past the end.
    """
    J = p.shape[1]
    target = u * p.sum(axis=1)
    cum = p[:, 0, :].copy()
    pick = (cum < target).astype(np.intp)
    for j in range(1, J - 1):
        cum += p[:, j, :]
        pick += cum < target
    return pick
