"""The beta-discrete-Weibull (BdW) model of contractual retention (Fader, Hardie, Liu, Davin &
Steenburgh 2018, "How to Project Customer Retention" Revisited: The Role of Duration Dependence).

The sBG assumes each member's renewal probability is constant over her tenure. The BdW lets it
drift: a member with churn parameter theta survives t periods with probability
``(1 - theta)^(t^c)``, so ``c < 1`` means members grow more loyal with tenure and ``c > 1`` less.
With theta ~ Beta(alpha, beta) (the paper's gamma, delta)::

    S(t) = B(alpha, beta + t^c) / B(alpha, beta)

and ``c = 1`` is exactly the sBG with the same alpha and beta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma, gammaln

from imis_tier.value._data import (
    DurationData,
    Survivors,
    SurvivorTable,
    cohort_table,
    single_cohort,
)
from imis_tier.value._mle import is_degenerate, maximise, numeric_hessian, standard_errors
from imis_tier.value.retention import RetentionFit
from imis_tier.value.sbg import SBGFit, fit_sbg_data

_MIN_PERIODS = 3  # three parameters need three renewal opportunities (t = 0 .. 3)


@dataclass(frozen=True, kw_only=True)
class BdWFit(RetentionFit):
    """A BdW model: theta ~ Beta(alpha, beta), duration dependence ``c`` (c = 1 is the sBG).

    DERL is computed numerically (no closed form); everything else matches :class:`SBGFit`.
    """

    alpha: float
    beta: float
    c: float
    alpha_se: float = math.nan
    beta_se: float = math.nan
    c_se: float = math.nan

    model_name: ClassVar[str] = "BdW"
    n_params: ClassVar[int] = 3

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "c"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"BdW {name} must be positive and finite, got {value!r}")

    def _log_survival(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        tc = np.power(t, self.c)
        return np.asarray(
            betaln(self.alpha, self.beta + tc) - betaln(self.alpha, self.beta), dtype=np.float64
        )


def _log_s_and_grad(
    alpha: float, beta: float, c: float, t: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log S(t) and its gradient (rows: alpha, beta, c) for t >= 0."""
    tc = np.power(t, c)
    ab = alpha + beta
    log_s = gammaln(beta + tc) - gammaln(ab + tc) - gammaln(beta) + gammaln(ab)
    inner = digamma(beta + tc) - digamma(ab + tc)
    d_alpha = digamma(ab) - digamma(ab + tc)
    d_beta = inner - digamma(beta) + digamma(ab)
    # d(t^c)/dc = t^c ln t, which is 0 at t = 0 and t = 1.
    log_t = np.log(np.where(t > 0, t, 1.0))
    d_c = inner * tc * log_t
    return np.asarray(log_s, dtype=np.float64), np.vstack([d_alpha, d_beta, d_c])


def bdw_loglik(
    data: DurationData, params: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """BdW log-likelihood of pooled counts and its analytic gradient in (alpha, beta, c)."""
    alpha, beta, c = (float(p) for p in params)
    t = data.periods
    log_s, grad_s = _log_s_and_grad(alpha, beta, c, t)
    log_prev, grad_prev = _log_s_and_grad(alpha, beta, c, t - 1.0)
    step = log_s - log_prev  # log r_t < 0
    if np.any(step >= 0):
        return -math.inf, np.zeros(3)
    # log P(t) = log S(t-1) + log(1 - r_t); expm1 keeps precision when r_t is close to 1.
    one_minus_r = -np.expm1(step)
    log_p = log_prev + np.log(one_minus_r)
    r = np.exp(step)
    grad_p = (grad_prev - r * grad_s) / one_minus_r
    value = float(np.dot(data.lapsed, log_p) + np.dot(data.censored, log_s))
    grad = grad_p @ data.lapsed + grad_s @ data.censored
    return value, np.asarray(grad, dtype=np.float64)


def fit_bdw_data(data: DurationData, sbg: SBGFit | None = None) -> BdWFit:
    """Fit the BdW to pooled counts, starting from ``sbg`` (fitted here when not given)."""
    base = sbg if sbg is not None else fit_sbg_data(data)
    a, b = base.alpha, base.beta
    starts = ((a, b, 1.0), (a, b, 0.7), (a, b, 1.4), (1.0, 1.0, 1.0))
    params, value, at_bound = maximise(
        lambda p: bdw_loglik(data, p), starts, scale=float(max(data.members, 1)), model="BdW"
    )
    hessian = numeric_hessian(lambda p: bdw_loglik(data, p)[1], params)
    se = standard_errors(hessian)
    return BdWFit(
        alpha=float(params[0]),
        beta=float(params[1]),
        c=float(params[2]),
        alpha_se=float(se[0]),
        beta_se=float(se[1]),
        c_se=float(se[2]),
        log_likelihood=value,
        members=data.members,
        cohort_size=data.cohort_size,
        degenerate=is_degenerate(params, se, at_bound),
    )


def fit_bdw(survivors: Survivors) -> BdWFit:
    """Fit the BdW to one cohort's survivor counts at t = 0, 1, 2, ... (at least four).

    Starts from the sBG estimates with c = 1 (and c on either side), so the BdW likelihood is
    never below the sBG's.
    """
    return fit_bdw_data(single_cohort(survivors, min_periods=_MIN_PERIODS))


def fit_bdw_cohorts(survivor_table: SurvivorTable) -> BdWFit:
    """Fit one BdW shared by several right-censored cohorts (rows of the table)."""
    return fit_bdw_data(cohort_table(survivor_table, min_periods=_MIN_PERIODS))
