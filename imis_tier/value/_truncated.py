"""sBG and BdW likelihoods for members observed from a later renewal (left truncation).

A warehouse built from a few years of history sees a member who joined in 2009 only from her
first renewal inside the window: she is known to have survived ``entry`` renewals, and nothing is
known of the 2009 joiners who lapsed before the window opened. Treating her as a fresh member
would bias retention upward. Her likelihood is therefore conditioned on surviving to entry::

    lapsed at t:   [S(t - 1) - S(t)] / S(entry)
    censored at t:  S(t) / S(entry)

With every entry at 0 this is exactly the right-censored cohort likelihood of
:mod:`imis_tier.value.sbg` / :mod:`imis_tier.value.bdw` (the tests check it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imis_tier.value._mle import is_degenerate, maximise, numeric_hessian, standard_errors
from imis_tier.value.bdw import BdWFit, _log_s_and_grad
from imis_tier.value.sbg import SBGFit

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class Spells:
    """Distinct (entry, exit, lapsed) member histories with their counts.

    ``entry`` renewals were made before observation began, ``exit`` is the renewal opportunity of
    the lapse (``lapsed``) or the renewals made when observation stopped (censored).
    """

    entry: Vector
    exit: Vector
    lapsed: NDArray[np.bool_]
    weight: Vector

    @classmethod
    def from_members(
        cls, entry: NDArray[np.integer], exit: NDArray[np.integer], lapsed: NDArray[np.bool_]
    ) -> Spells:
        keys = np.column_stack([entry, exit, lapsed.astype(np.int64)]).astype(np.int64)
        if len(keys) == 0:
            raise ValueError("no members to fit")
        if np.any(keys[:, 1] < keys[:, 0]) or np.any(keys[:, 0] < 0):
            raise ValueError("every member needs 0 <= entry <= exit")
        if np.any((keys[:, 2] == 1) & (keys[:, 1] <= keys[:, 0])):
            raise ValueError("a lapse must come after the entry renewal")
        unique, counts = np.unique(keys, axis=0, return_counts=True)
        return cls(
            entry=unique[:, 0].astype(np.float64),
            exit=unique[:, 1].astype(np.float64),
            lapsed=unique[:, 2].astype(bool),
            weight=counts.astype(np.float64),
        )

    @property
    def members(self) -> int:
        return int(self.weight.sum())

    @property
    def horizon(self) -> int:
        return int(self.exit.max())


def _loglik(spells: Spells, params: Vector, *, free_c: bool) -> tuple[float, Vector]:
    alpha, beta = float(params[0]), float(params[1])
    c = float(params[2]) if free_c else 1.0
    k = 3 if free_c else 2
    if c * math.log(max(spells.horizon, 2)) > 600:  # t^c would overflow
        return -math.inf, np.zeros(k)
    with np.errstate(all="ignore"):
        log_e, grad_e = _log_s_and_grad(alpha, beta, c, spells.entry)
        log_x, grad_x = _log_s_and_grad(alpha, beta, c, spells.exit)
        prev = np.maximum(spells.exit - 1.0, 0.0)
        log_p, grad_p = _log_s_and_grad(alpha, beta, c, prev)
    lapsed = spells.lapsed
    step = log_x - log_p
    if not (np.all(np.isfinite(step)) and np.all(np.isfinite(log_e))) or np.any(step[lapsed] >= 0):
        return -math.inf, np.zeros(k)
    one_minus_r = np.where(lapsed, -np.expm1(np.minimum(step, -1e-300)), 1.0)
    r = np.exp(step)
    log_lapse = log_p + np.log(one_minus_r)
    grad_lapse = (grad_p - r * grad_x) / one_minus_r
    contribution = np.where(lapsed, log_lapse, log_x) - log_e
    grad = np.where(lapsed[None, :], grad_lapse, grad_x) - grad_e
    value = float(np.dot(spells.weight, contribution))
    return value, np.asarray(grad[:k] @ spells.weight, dtype=np.float64)


def fit_sbg_truncated(spells: Spells) -> SBGFit:
    """Fit the sBG to left-truncated, right-censored member histories."""
    if not spells.lapsed.any():
        raise ValueError("no member lapsed: retention cannot be estimated")

    def loglik(p: Vector) -> tuple[float, Vector]:
        return _loglik(spells, p, free_c=False)

    starts = ((1.0, 1.0), (0.5, 3.0), (3.0, 10.0))
    params, value, at_bound = maximise(
        loglik, starts, scale=float(max(spells.members, 1)), model="sBG"
    )
    se = standard_errors(numeric_hessian(lambda p: loglik(p)[1], params))
    return SBGFit(
        alpha=float(params[0]),
        beta=float(params[1]),
        alpha_se=float(se[0]),
        beta_se=float(se[1]),
        log_likelihood=value,
        members=spells.members,
        cohort_size=_cohort_size(spells),
        degenerate=is_degenerate(params, se, at_bound),
    )


def fit_bdw_truncated(spells: Spells, sbg: SBGFit) -> BdWFit:
    """Fit the BdW to left-truncated, right-censored histories, starting from the sBG fit."""

    def loglik(p: Vector) -> tuple[float, Vector]:
        return _loglik(spells, p, free_c=True)

    a, b = sbg.alpha, sbg.beta
    starts = ((a, b, 1.0), (a, b, 0.7))
    params, value, at_bound = maximise(
        loglik, starts, scale=float(max(spells.members, 1)), model="BdW"
    )
    se = standard_errors(numeric_hessian(lambda p: loglik(p)[1], params))
    return BdWFit(
        alpha=float(params[0]),
        beta=float(params[1]),
        c=float(params[2]),
        alpha_se=float(se[0]),
        beta_se=float(se[1]),
        c_se=float(se[2]),
        log_likelihood=value,
        members=spells.members,
        cohort_size=_cohort_size(spells),
        degenerate=is_degenerate(params, se, at_bound),
    )


def _cohort_size(spells: Spells) -> int | None:
    # The size at t = 0 is known only when nobody entered late.
    return spells.members if not np.any(spells.entry > 0) else None
