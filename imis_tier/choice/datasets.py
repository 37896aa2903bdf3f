"""Synthetic choice data with known parameters, for tests, benchmarks and examples.

Choices are drawn from the behaviour each model assumes, written out directly (utility plus
Gumbel noise; nest first, then the alternative within it; a coefficient per member) rather than
through the estimators' own probability code, so a fit that recovers the parameters checks that
code independently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from imis_tier.choice._data import FloatArray

_DISTRIBUTIONS = ("normal", "lognormal", "neg_lognormal")


@dataclass(frozen=True)
class ChoiceData:
    """Long-format choice data: one row per available alternative of each situation."""

    X: pd.DataFrame
    y: NDArray[np.int64]
    groups: NDArray[np.int64]
    alternatives: NDArray[np.int64]
    members: NDArray[np.int64]


def make_choice_data(
    n_situations: int,
    coef: Mapping[str, float],
    *,
    n_alternatives: int = 4,
    seed: int = 0,
    availability: float = 1.0,
    nests: Mapping[str, Sequence[int]] | None = None,
    lambdas: Mapping[str, float] | None = None,
    random: Mapping[str, tuple[str, float]] | None = None,
    situations_per_member: int = 1,
) -> ChoiceData:
    """Simulate choices among ``n_alternatives`` alternatives numbered 0..n-1.

    ``coef`` maps feature names to true coefficients. A name ``asc_j`` is a dummy for
    alternative ``j``; every other feature is standard normal, independent across rows.
    ``availability`` is the chance that each alternative other than 0 is offered (at least two
    are). ``nests``/``lambdas`` give a nested logit; ``random`` maps features to
    ``(distribution, sd)`` for a mixed logit whose coefficient is drawn once per member
    (``normal``: ``coef + sd z``; ``lognormal``/``neg_lognormal``: ``+-exp(coef + sd z)``), a member
    making ``situations_per_member`` consecutive choices.
    """
    if n_alternatives < 2:
        raise ValueError(f"n_alternatives must be at least 2, got {n_alternatives}")
    if nests is not None and random:
        raise ValueError("make_choice_data simulates either nests or random coefficients, not both")
    rng = np.random.default_rng(seed)
    n, J = int(n_situations), int(n_alternatives)
    names = list(coef)
    X = np.empty((n, J, len(names)))
    for k, name in enumerate(names):
        if name.startswith("asc_"):
            j = int(name.removeprefix("asc_"))
            if not 0 <= j < J:
                raise ValueError(f"{name}: no alternative {j} among 0..{J - 1}")
            X[:, :, k] = np.arange(J) == j
        else:
            X[:, :, k] = rng.standard_normal((n, J))
    available = rng.random((n, J)) < availability
    available[:, 0] = True
    forced = rng.integers(1, J, size=n)
    available[np.arange(n), forced] = True

    beta = np.broadcast_to(
        np.array([coef[c] for c in names], dtype=np.float64), (n, len(names))
    ).copy()
    members = np.arange(n) // max(1, int(situations_per_member))
    if random:
        n_members = int(members[-1]) + 1
        for name, (dist, sd) in random.items():
            if name not in coef or dist not in _DISTRIBUTIONS:
                raise ValueError(
                    f"random {name!r}: need a feature of coef and one of {_DISTRIBUTIONS}"
                )
            k = names.index(name)
            draw = coef[name] + sd * rng.standard_normal(n_members)
            if dist != "normal":
                draw = np.exp(draw) * (-1.0 if dist == "neg_lognormal" else 1.0)
            beta[:, k] = draw[members]
    v = np.einsum("njk,nk->nj", X, beta)
    if nests is None:
        noisy = np.where(available, v + rng.gumbel(size=(n, J)), -np.inf)
        choice = noisy.argmax(axis=1)
    else:
        choice = _nested_choices(v, available, nests, lambdas or {}, rng)

    cell_n, cell_j = np.nonzero(available)
    frame = pd.DataFrame(X[cell_n, cell_j], columns=names)
    return ChoiceData(
        X=frame,
        y=(choice[cell_n] == cell_j).astype(np.int64),
        groups=cell_n.astype(np.int64),
        alternatives=cell_j.astype(np.int64),
        members=members[cell_n].astype(np.int64),
    )


def _nested_choices(
    v: FloatArray,
    available: NDArray[np.bool_],
    nests: Mapping[str, Sequence[int]],
    lambdas: Mapping[str, float],
    rng: np.random.Generator,
) -> NDArray[np.intp]:
    """Pick a nest by its inclusive value, then an alternative within it by ``exp(v / lambda)``."""
    n, J = v.shape
    inclusive = np.full((n, len(nests)), -np.inf)
    within = np.zeros((n, J))
    for m, (name, members) in enumerate(nests.items()):
        lam = float(lambdas.get(name, 1.0))
        cols = np.asarray(list(members), dtype=np.intp)
        scaled = np.where(available[:, cols], v[:, cols] / lam, -np.inf)
        top = scaled.max(axis=1)
        open_nest = np.isfinite(top)
        safe_top = np.where(open_nest, top, 0.0)
        expo = np.exp(scaled - safe_top[:, None])
        total = expo.sum(axis=1)
        within[:, cols] = expo / np.where(open_nest, total, 1.0)[:, None]
        inclusive[open_nest, m] = lam * (safe_top[open_nest] + np.log(total[open_nest]))
    nest_p = np.exp(inclusive - inclusive.max(axis=1, keepdims=True))
    nest_p /= nest_p.sum(axis=1, keepdims=True)
    # Inverse-CDF draws; 1 - random() lies in (0, 1], so a zero-weight first cell is never hit.
    nest_of = (nest_p.cumsum(axis=1) < 1.0 - rng.random((n, 1))).sum(axis=1)
    nest_of = np.minimum(nest_of, len(nests) - 1)
    in_nest = np.zeros((len(nests), J), dtype=bool)
    for m, members in enumerate(nests.values()):
        in_nest[m, list(members)] = True
    weights = np.where(in_nest[nest_of] & available, within, 0.0)
    cdf = weights.cumsum(axis=1)
    choice = (cdf < (1.0 - rng.random((n, 1))) * cdf[:, -1:]).sum(axis=1)
    return choice
