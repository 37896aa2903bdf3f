"""``simulate``: what members would do under a scenario, against the status quo, with intervals.

For each chunk of members the engine lays out both structures, computes every alternative's
choice weight for every parameter draw (members x draws, float32, per alternative), and samples
one outcome per member and draw by comparing a uniform with the cumulative probabilities (the
hot loops are in :mod:`imis_tier.simulate._kernels`; for the conditional logit, alternatives the
two structures share are computed once per chunk). Runs of chunks are independent tasks for
:func:`imis_tier.simulate._backend.run_chunks` (joblib threads, or Dask), and only additive
totals per draw and group come back, so memory stays flat in the number of members.

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
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from imis_tier.simulate._backend import run_chunks
from imis_tier.simulate._kernels import UtilityCache, Workspace, sample
from imis_tier.simulate.design import (
    Alternatives,
    Members,
    benefit_access,
    design,
    tier_costs,
)
from imis_tier.simulate.forecast import Forecast, Totals
from imis_tier.simulate.model import TierChoiceModel
from imis_tier.simulate.scenario import Scenario
from imis_tier.structure import LAPSE, TierStructure

CHUNK_CELLS = 2_000_000
"""Members x alternatives x draws per chunk (sets the chunks, and so which uniforms each gets)."""
CHUNKS_PER_TASK = 8
"""Chunks run one after the other by one task, reusing its scratch arrays."""


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
    members = Members.from_panel(panel, model.spec_.usage_benefits, ranks).holding(status_quo)
    if len(members) == 0:
        raise ValueError("the panel has no members to simulate")
    group_index, groups = _groups(panel, by)
    from_codes = tuple(dict.fromkeys([*status_quo.codes, *sorted(set(members.current))]))
    origin = pd.Index(from_codes).get_indexer(members.current).astype(np.intp)
    coefs = model.coef_[None, :] if draws == 1 else model.sample_coefs(draws, seed)
    costs = dict(costs or {})
    J = max(len(structure.codes), len(status_quo.codes)) + 1
    step = max(1, CHUNK_CELLS // (coefs.shape[0] * J))
    job = _Job(
        model=model,
        n_groups=len(groups),
        scenario=(structure, moves, like),
        status_quo=(status_quo, {}, {}),
        from_codes=from_codes,
        coefs=coefs,
        horizon=horizon,
        seed=seed,
        costs=costs,
        step=step,
    )
    # A task is a fixed run of chunks (one scratch workspace, reused): the grouping, and so the
    # order totals are added in, depends on the data only, never on the workers.
    span = step * CHUNKS_PER_TASK
    tasks: list[tuple[Any, ...]] = [
        (
            job,
            members.take(slice(s, s + span)),
            group_index[s : s + span],
            origin[s : s + span],
            s // step,
        )
        for s in range(0, len(members), span)
    ]
    # Parallelism is across tasks: a multi-threaded BLAS inside each only fights for the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        parts = run_chunks(_task, tasks, backend=backend, n_jobs=n_jobs, scheduler=scheduler)
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


@dataclass(frozen=True)
class _Job:
    """What every chunk of one ``simulate`` call shares."""

    model: TierChoiceModel
    n_groups: int
    scenario: tuple[TierStructure, Mapping[str, str], Mapping[str, str]]
    status_quo: tuple[TierStructure, Mapping[str, str], Mapping[str, str]]
    from_codes: tuple[str, ...]
    coefs: NDArray[np.float64]
    horizon: int
    seed: int
    costs: Mapping[str, Decimal | float]
    step: int  # members per chunk


def _task(
    job: _Job,
    members: Members,
    group: NDArray[np.intp],
    origin: NDArray[np.intp],
    first_chunk: int,
) -> tuple[Totals, Totals]:
    """Totals of consecutive chunks (numbered from ``first_chunk``), added in chunk order."""
    workspace = Workspace()
    total: tuple[Totals, Totals] | None = None
    for k, s in enumerate(range(0, len(members), job.step)):
        part = _chunk(
            job,
            members.take(slice(s, s + job.step)),
            group[s : s + job.step],
            origin[s : s + job.step],
            first_chunk + k,
            workspace,
        )
        total = part if total is None else (total[0] + part[0], total[1] + part[1])
    assert total is not None
    return total


def _chunk(
    job: _Job,
    members: Members,
    group: NDArray[np.intp],
    origin: NDArray[np.intp],
    chunk: int,
    workspace: Workspace,
) -> tuple[Totals, Totals]:
    """Totals of one member chunk under the scenario and the status quo, same draws."""
    D = job.coefs.shape[0]
    rng = np.random.default_rng([job.seed, chunk, 0x5EED])
    uniforms = workspace.get("uniforms", (job.horizon, len(members), D))
    rng.random(out=uniforms, dtype=np.float32)
    ctx = _Context(
        model=job.model,
        coefs=job.coefs,
        # Utilities shared by both structures are computed once (conditional logit only).
        cache=UtilityCache(job.coefs, workspace) if job.model.kind == "conditional" else None,
        workspace=workspace,
        group=group,
        n_groups=job.n_groups,
        origin=origin,
        n_from=len(job.from_codes),
        dg=np.add(
            np.arange(D, dtype=np.intp)[None, :] * job.n_groups,
            group[:, None],
            out=workspace.get("dg", (len(members), D), np.intp),
        ).ravel(),
        uniforms=uniforms,
        costs=job.costs,
    )
    return tuple(  # type: ignore[return-value]
        _run(ctx, members, s, moves, like) for s, moves, like in (job.scenario, job.status_quo)
    )


@dataclass
class _Context:
    """What both structures' runs of one chunk share."""

    model: TierChoiceModel
    coefs: NDArray[np.float64]
    cache: UtilityCache | None
    workspace: Workspace
    group: NDArray[np.intp]
    n_groups: int
    origin: NDArray[np.intp]
    n_from: int
    dg: NDArray[np.intp]  # (members x draws,) flat draw-group index d * n_groups + g
    uniforms: NDArray[np.float32]  # (horizon, members, draws)
    costs: Mapping[str, Decimal | float]
    _base: dict[int, NDArray[np.intp]] = field(default_factory=dict)

    def base(self, J: int) -> NDArray[np.intp]:
        """Flat tally index of each (member, draw) without its outcome, for ``J`` outcomes."""
        if J not in self._base:
            D = self.coefs.shape[0]
            per_member = (self.group * self.n_from + self.origin) * J
            per_draw = np.arange(D, dtype=np.intp) * (self.n_groups * self.n_from * J)
            self._base[J] = np.add(
                per_draw[None, :],
                per_member[:, None],
                out=self.workspace.get(f"base{J}", (len(per_member), D), np.intp),
            ).ravel()
        return self._base[J]


def _pick(ctx: _Context, alts: Alternatives, u: NDArray[np.float32], out: str) -> NDArray[np.int8]:
    """Sampled alternative per (member, draw) for one laid-out structure, in scratch ``out``."""
    buffer = ctx.workspace.get(out, u.shape, np.int8)
    if ctx.cache is not None:
        weights = ctx.cache.weights(alts.X, alts.available)
        if weights is not None:
            return sample(weights, None, u, ctx.workspace, buffer)
    p = ctx.model.wide(alts, ctx.coefs)
    J = p.shape[1]
    return sample([p[:, j, :] for j in range(J - 1)], p[:, J - 1, :], u, ctx.workspace, buffer)


def _run(
    ctx: _Context,
    members: Members,
    structure: TierStructure,
    moves: Mapping[str, str],
    like: Mapping[str, str],
) -> Totals:
    model, n_groups, n_from = ctx.model, ctx.n_groups, ctx.n_from
    m, D = len(members), ctx.coefs.shape[0]
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
    alts = design(members, structure, model.spec_, like=like)
    prices = alts.prices
    cost = tier_costs(structure, ctx.costs)
    state = _pick(ctx, alts, ctx.uniforms[0], "state")
    size = D * n_groups
    dg = ctx.dg
    ws = ctx.workspace
    base = ctx.base(J)
    uniform_prices = bool((prices == prices[:1]).all())
    # Non-dues revenue of everyone, per draw-group; lapsed members' is taken off each cycle.
    all_nondues = np.tile(np.bincount(ctx.group, weights=members.nondues, minlength=n_groups), D)
    decisions = np.zeros(size)
    lapses = np.zeros(size)
    dues = np.zeros(size)
    served = np.zeros(size)
    nondues = np.zeros(size)
    gone = np.zeros((size, n_from))  # members lapsed in earlier cycles, by draw-group and origin
    counts = np.zeros(size * n_from * J)
    for cycle in range(ctx.uniforms.shape[0]):
        if cycle:
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
                    held_benefits=None,  # a loss is felt once, at the first renewal
                )
                later = design(
                    held, structure, model.spec_, like=like, tenure_offset_years=float(cycle)
                )
                pick = _pick(ctx, later, ctx.uniforms[cycle], "pick")
                new_state = np.where(holds, pick, new_state)
            state = new_state
        # Every (member, draw) by draw-group, origin and state in one bincount; members who
        # lapsed in an earlier cycle sit in LAPSE and are taken off to count this cycle's
        # decisions only.
        flat_state = state.ravel()
        cells = np.add(base, flat_state, out=ws.get("cells", base.shape, np.intp))
        counts = np.bincount(cells, minlength=size * n_from * J).astype(np.float64)
        by_origin = counts.reshape(size, n_from, J).copy()
        by_origin[:, :, lapse] -= gone
        gone = counts.reshape(size, n_from, J)[:, :, lapse]
        by_state = by_origin.sum(axis=1)
        decisions += by_state.sum(axis=1)
        lapses += by_state[:, lapse]
        served += by_state @ cost
        if uniform_prices:
            dues += by_state @ prices[0]
        else:  # LAPSE costs nothing, so lapsed members add nothing
            dues += np.bincount(dg, weights=_per_cell(ws, prices, state), minlength=size)
        out = np.flatnonzero(np.equal(flat_state, lapse, out=ws.get("lapsed", base.shape, bool)))
        nondues += all_nondues - np.bincount(
            dg[out], weights=members.nondues[out // D], minlength=size
        )
    # Benefit access of members retained at the end (LAPSE gives access to nothing).
    access = benefit_access(members, structure, model.spec_)
    access_end = _state_sums(ws, access, state, ctx.group, n_groups)

    def grid(a: NDArray[Any]) -> NDArray[np.float64]:
        return np.asarray(a, dtype=np.float64).reshape(D, n_groups)

    return Totals(
        # Where members are at the end: this cycle's deciders plus those lapsed before.
        migration=counts.reshape(D, n_groups, n_from, J),
        dues=grid(dues),
        nondues=grid(nondues),
        cost=grid(served),
        access=grid(access_end),
        decisions=grid(decisions),
        lapses=grid(lapses),
    )


def _per_cell(
    ws: Workspace, values: NDArray[np.float64], state: NDArray[np.int8]
) -> NDArray[np.float64]:
    """``values[member, state[member, draw]]`` for every cell, flat, in scratch arrays."""
    m, D = state.shape
    J = values.shape[1]
    index = ws.get("gather", state.shape, np.intp)
    np.add((np.arange(m, dtype=np.intp) * J)[:, None], state, out=index)
    return np.take(values.ravel(), index.ravel(), out=ws.get("gathered", (m * D,), np.float64))


def _state_sums(
    ws: Workspace,
    values: NDArray[np.float64],
    state: NDArray[np.int8],
    group: NDArray[np.intp],
    n_groups: int,
) -> NDArray[np.float64]:
    """Sum of ``values[member, state]`` over members, flat by draw-group (``d * G + g``).

    One float32 matrix-vector product per alternative against its indicator: several times
    cheaper than gathering a value per cell. A chunk's sums are a few thousand terms, so
    float32 loses nothing that shows after adding chunks up in float64.
    """
    m, D = state.shape
    out = np.zeros((n_groups, D))
    hit = ws.get("state_is", state.shape, np.bool_)
    indicator = ws.get("indicator", state.shape, np.float32)
    for j in range(values.shape[1]):
        if not values[:, j].any():
            continue
        np.equal(state, j, out=hit)
        np.copyto(indicator, hit)
        if n_groups == 1:
            out[0] += values[:, j].astype(np.float32) @ indicator
        else:
            w = np.zeros((n_groups, m), dtype=np.float32)
            w[group, np.arange(m)] = values[:, j]
            out += w @ indicator
    return out.T.ravel()
