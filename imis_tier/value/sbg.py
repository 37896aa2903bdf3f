"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007).

Each member renews every period with her own constant probability ``1 - theta``; ``theta`` varies
across members as Beta(alpha, beta). The cohort's retention rate rises over time purely because
the members likeliest to lapse leave first, which is why one averaged retention rate
undervalues a membership base (Fader & Hardie 2010)::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)      t = 1, 2, ...
    S(t)     = B(alpha, beta + t) / B(alpha, beta)
    r_t      = (beta + t - 1) / (alpha + beta + t - 1)

Fitting is maximum likelihood with the last survivors of each cohort right-censored
(contributing ``S(T)``), so cohorts observed for different lengths share one likelihood.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma, gammaln, hyp2f1, polygamma
from scipy.stats import chi2

from imis_tier.value._data import (
    DurationData,
    Survivors,
    SurvivorTable,
    cohort_table,
    single_cohort,
    table_rows,
)
from imis_tier.value._mle import is_degenerate, maximise, standard_errors
from imis_tier.value.retention import RetentionFit

_MIN_PERIODS = 2  # two parameters need two renewal opportunities (t = 0, 1, 2)
_STARTS = ((1.0, 1.0), (0.5, 3.0), (3.0, 10.0))


@dataclass(frozen=True, kw_only=True)
class SBGFit(RetentionFit):
    """An sBG model: heterogeneity in churn probability theta ~ Beta(alpha, beta).

    Build one from known parameters (``SBGFit(alpha=0.7, beta=1.2)``) or get one, with standard
    errors from the observed information, from :func:`fit_sbg` / :func:`fit_sbg_cohorts`.
    """

    alpha: float
    beta: float
    alpha_se: float = math.nan
    beta_se: float = math.nan

    model_name: ClassVar[str] = "sBG"
    n_params: ClassVar[int] = 2

    def __post_init__(self) -> None:
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"sBG {name} must be positive and finite, got {value!r}")

    def _log_survival(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(
            betaln(self.alpha, self.beta + t) - betaln(self.alpha, self.beta), dtype=np.float64
        )

    @property
    def mean_churn(self) -> float:
        """E(theta) = alpha / (alpha + beta): the average member's per-period lapse probability."""
        return self.alpha / (self.alpha + self.beta)

    def _derl(self, d: float, n: NDArray[np.float64]) -> NDArray[np.float64]:
        # Closed form (Fader & Hardie 2010, eq. 6, with n = renewals made):
        # DERL = (b + n)/(a + b + n) * 2F1(1, b + n + 1; a + b + n + 1; 1/(1 + d)).
        a, b = self.alpha, self.beta
        value = (b + n) / (a + b + n) * hyp2f1(1.0, b + n + 1.0, a + b + n + 1.0, 1.0 / (1.0 + d))
        return np.asarray(value, dtype=np.float64)


def sbg_loglik(
    data: DurationData, params: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """sBG log-likelihood of pooled counts and its gradient in (alpha, beta)."""
    alpha, beta = float(params[0]), float(params[1])
    t = data.periods
    n_lapse, n_cens = data.lapsed, data.censored
    ab, abt = alpha + beta, alpha + beta + t
    common = gammaln(ab) - gammaln(beta) - gammaln(abt)
    log_p = math.log(alpha) + gammaln(beta + t - 1.0) + common
    log_s = gammaln(beta + t) + common
    value = float(np.dot(n_lapse, log_p) + np.dot(n_cens, log_s))
    d_common_a = digamma(ab) - digamma(abt)
    d_common_b = d_common_a - digamma(beta)
    grad_a = np.dot(n_lapse, 1.0 / alpha + d_common_a) + np.dot(n_cens, d_common_a)
    grad_b = np.dot(n_lapse, digamma(beta + t - 1.0) + d_common_b) + np.dot(
        n_cens, digamma(beta + t) + d_common_b
    )
    return value, np.array([grad_a, grad_b], dtype=np.float64)


def sbg_hessian(data: DurationData, params: NDArray[np.float64]) -> NDArray[np.float64]:
    """Analytic Hessian of the sBG log-likelihood in (alpha, beta), via trigamma."""
    alpha, beta = float(params[0]), float(params[1])
    t = data.periods
    n_lapse, n_cens = data.lapsed, data.censored
    total = n_lapse + n_cens
    cross = polygamma(1, alpha + beta) - polygamma(1, alpha + beta + t)
    h_aa = np.dot(total, cross) - n_lapse.sum() / alpha**2
    h_ab = np.dot(total, cross)
    h_bb = (
        np.dot(n_lapse, polygamma(1, beta + t - 1.0))
        + np.dot(n_cens, polygamma(1, beta + t))
        + np.dot(total, cross - polygamma(1, beta))
    )
    return np.array([[h_aa, h_ab], [h_ab, h_bb]], dtype=np.float64)


def fit_sbg_data(data: DurationData) -> SBGFit:
    """Fit the sBG to pooled counts (the shared core of the public fitting functions)."""
    params, value, at_bound = maximise(
        lambda p: sbg_loglik(data, p), _STARTS, scale=float(max(data.members, 1)), model="sBG"
    )
    se = standard_errors(sbg_hessian(data, params))
    return SBGFit(
        alpha=float(params[0]),
        beta=float(params[1]),
        alpha_se=float(se[0]),
        beta_se=float(se[1]),
        log_likelihood=value,
        members=data.members,
        cohort_size=data.cohort_size,
        degenerate=is_degenerate(params, se, at_bound),
    )


def fit_sbg(survivors: Survivors) -> SBGFit:
    """Fit the sBG to one cohort's survivor counts at t = 0, 1, 2, ... (at least three).

    Counts must be non-negative integers, non-increasing, the first positive. The members still
    active at the last count are right-censored.
    """
    return fit_sbg_data(single_cohort(survivors, min_periods=_MIN_PERIODS))


def fit_sbg_cohorts(survivor_table: SurvivorTable) -> SBGFit:
    """Fit one sBG shared by several cohorts (rows) observed for different lengths.

    Each cohort contributes its lapses at every period it was observed and its last survivors as
    censored, so a cohort acquired last year adds information about t = 1 only.
    """
    return fit_sbg_data(cohort_table(survivor_table, min_periods=_MIN_PERIODS))


def fit_sbg_by_segment(
    survivor_table: SurvivorTable, segments: Sequence[Hashable]
) -> dict[Hashable, SBGFit]:
    """Fit a separate sBG per segment; ``segments[i]`` labels row ``i`` of the table."""
    rows = table_rows(survivor_table)
    if len(rows) != len(segments):
        raise ValueError(
            f"segments has {len(segments)} labels but the survivor table has {len(rows)} cohorts"
        )
    grouped: dict[Hashable, list[list[Any]]] = {}
    for label, row in zip(segments, rows, strict=True):
        grouped.setdefault(label, []).append(row)
    fits: dict[Hashable, SBGFit] = {}
    for label, group in grouped.items():
        try:
            fits[label] = fit_sbg_cohorts(group)
        except ValueError as exc:
            raise ValueError(f"segment {label!r}: {exc}") from exc
    return fits


def segment_lr_test(
    survivor_table: SurvivorTable, segments: Sequence[Hashable]
) -> Mapping[str, float]:
    """Likelihood-ratio test of one shared sBG against one per segment.

    Returns ``statistic`` (2 x LL gain), ``df`` (2 x (segments - 1)) and ``p_value``; a small
    p-value says the segments retain differently.
    """
    pooled = fit_sbg_cohorts(survivor_table)
    separate = fit_sbg_by_segment(survivor_table, segments)
    statistic = max(
        0.0, 2.0 * (sum(f.log_likelihood for f in separate.values()) - pooled.log_likelihood)
    )
    df = 2 * (len(separate) - 1)
    p_value = float(chi2.sf(statistic, df)) if df > 0 else 1.0
    return {"statistic": statistic, "df": float(df), "p_value": p_value}
