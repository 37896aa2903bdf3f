"""The beta-geometric/beta-Bernoulli (BG/BB) model of yes/no purchases per period (Fader,
Hardie & Shang 2010, "Customer-Base Analysis in a Discrete-Time Noncontractual Setting").

For non-dues revenue that a member either buys or not each year (conference registration, a
certification, a donation): while "alive", a member buys each period with her own probability
p ~ Beta(alpha, beta); at the start of each period she may silently stop for good with her own
probability theta ~ Beta(gamma, delta). Her history is summarised by frequency ``x`` (periods with
a purchase), recency ``t_x`` (the last such period, 0 if none) and ``n`` periods observed::

    L = B(a + x, b + n - x)/B(a, b) * B(g, d + n)/B(g, d)
        + sum_{i=0}^{n - t_x - 1} B(a + x, b + t_x - x + i)/B(a, b) * B(g + 1, d + t_x + i)/B(g, d)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, comb, digamma

from imis_tier.value._mle import is_degenerate, maximise, numeric_hessian, standard_errors

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class _Histories:
    """Distinct (x, t_x, n) patterns with their member counts, and the likelihood's terms.

    Each pattern's likelihood is a sum of terms of the form
    ``B(a + oa, b + ob)/B(a, b) * B(g + og, d + od)/B(g, d)``; the offsets of every term are
    stored flat, sorted by pattern, with ``starts`` marking where each pattern's terms begin.
    """

    x: Vector
    t_x: Vector
    n: Vector
    weight: Vector
    offsets: Vector  # shape (terms, 4): oa, ob, og, od
    starts: NDArray[np.intp]


def _histories(
    frequency: ArrayLike, recency: ArrayLike, periods: ArrayLike, weights: ArrayLike | None
) -> _Histories:
    x = np.atleast_1d(np.asarray(frequency, dtype=np.float64))
    t_x = np.atleast_1d(np.asarray(recency, dtype=np.float64))
    n = np.broadcast_to(np.asarray(periods, dtype=np.float64), x.shape).copy()
    w = (
        np.ones_like(x)
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=np.float64), x.shape).copy()
    )
    if not (x.shape == t_x.shape == n.shape == w.shape) or x.ndim != 1:
        raise ValueError("frequency, recency, periods and weights must be 1-D and of equal length")
    if len(x) == 0:
        raise ValueError("no purchase histories given")
    for name, arr in (("frequency", x), ("recency", t_x), ("periods", n)):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < 0):
            bad = int(np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)) | (arr < 0))[0])
            raise ValueError(f"{name}[{bad}] must be a non-negative whole number, got {arr[bad]}")
    checks = (
        (n < 1, "periods must be at least 1"),
        (x > t_x, "frequency cannot exceed recency"),
        (t_x > n, "recency cannot exceed periods"),
        ((x == 0) != (t_x == 0), "recency must be 0 exactly when frequency is 0"),
        (~np.isfinite(w) | (w <= 0), "weights must be positive"),
    )
    for mask, message in checks:
        if np.any(mask):
            bad = int(np.flatnonzero(mask)[0])
            raise ValueError(
                f"history {bad} (x={x[bad]:g}, t_x={t_x[bad]:g}, n={n[bad]:g}, "
                f"weight={w[bad]:g}): {message}"
            )
    # Identical histories share one likelihood evaluation.
    keys, inverse = np.unique(np.column_stack([x, t_x, n]), axis=0, return_inverse=True)
    weight = np.bincount(inverse.reshape(-1), weights=w).astype(np.float64)
    offsets: list[tuple[float, float, float, float]] = []
    starts: list[int] = []
    for xi, ti, ni in keys:
        starts.append(len(offsets))
        offsets.append((xi, ni - xi, 0.0, ni))
        offsets.extend((xi, ti - xi + i, 1.0, ti + i) for i in range(int(ni - ti)))
    return _Histories(
        x=keys[:, 0],
        t_x=keys[:, 1],
        n=keys[:, 2],
        weight=weight,
        offsets=np.asarray(offsets, dtype=np.float64),
        starts=np.asarray(starts, dtype=np.intp),
    )


def _log_terms(params: Vector, off: Vector) -> tuple[Vector, Vector]:
    """log of each likelihood term and its gradient (terms x 4) in (alpha, beta, gamma, delta)."""
    a, b, g, d = params
    oa, ob, og, od = off[:, 0], off[:, 1], off[:, 2], off[:, 3]
    log_t = betaln(a + oa, b + ob) - betaln(a, b) + betaln(g + og, d + od) - betaln(g, d)
    s1 = digamma(a + oa + b + ob) - digamma(a + b)
    s2 = digamma(g + og + d + od) - digamma(g + d)
    grad = np.column_stack(
        [
            digamma(a + oa) - digamma(a) - s1,
            digamma(b + ob) - digamma(b) - s1,
            digamma(g + og) - digamma(g) - s2,
            digamma(d + od) - digamma(d) - s2,
        ]
    )
    return np.asarray(log_t, dtype=np.float64), grad


def _pattern_loglik(h: _Histories, params: Vector) -> tuple[Vector, Vector]:
    """Per-pattern log-likelihood and gradient (patterns x 4), by a grouped log-sum-exp."""
    log_t, grad_t = _log_terms(params, h.offsets)
    top = np.maximum.reduceat(log_t, h.starts)
    sizes = np.diff(np.append(h.starts, len(log_t)))
    shifted = np.exp(log_t - np.repeat(top, sizes))
    total = np.add.reduceat(shifted, h.starts)
    log_l = top + np.log(total)
    share = shifted / np.repeat(total, sizes)
    grad = np.add.reduceat(share[:, None] * grad_t, h.starts, axis=0)
    return log_l, grad


def _loglik(h: _Histories, params: Vector) -> tuple[float, Vector]:
    log_l, grad = _pattern_loglik(h, params)
    return float(np.dot(h.weight, log_l)), np.asarray(h.weight @ grad, dtype=np.float64)


@dataclass(frozen=True, kw_only=True)
class BGBBFit:
    """A BG/BB model: purchase probability p ~ Beta(alpha, beta), dropout theta ~ Beta(gamma, delta)."""

    alpha: float
    beta: float
    gamma: float
    delta: float
    alpha_se: float = math.nan
    beta_se: float = math.nan
    gamma_se: float = math.nan
    delta_se: float = math.nan
    log_likelihood: float = math.nan
    members: int = 0
    degenerate: bool = False

    n_params: ClassVar[int] = 4

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma", "delta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"BG/BB {name} must be positive and finite, got {value!r}")

    @property
    def _params(self) -> Vector:
        return np.array([self.alpha, self.beta, self.gamma, self.delta], dtype=np.float64)

    def _log_likelihood_of(self, h: _Histories) -> Vector:
        return _pattern_loglik(h, self._params)[0]

    def _log_alive_joint(self, h: _Histories, ahead: Vector) -> Vector:
        """log P(history, still alive ``ahead`` periods after n) for each pattern."""
        a, b, g, d = self._params
        return np.asarray(
            betaln(a + h.x, b + h.n - h.x)
            - betaln(a, b)
            + betaln(g, d + h.n + ahead)
            - betaln(g, d),
            dtype=np.float64,
        )

    def expected_transactions(self, n_periods: int) -> float:
        """E[X(n)]: expected purchases of a new member in her first ``n_periods`` periods."""
        if n_periods < 0:
            raise ValueError(f"n_periods must not be negative, got {n_periods}")
        t = np.arange(1, int(n_periods) + 1, dtype=np.float64)
        alive = np.exp(betaln(self.gamma, self.delta + t) - betaln(self.gamma, self.delta))
        return float(self.alpha / (self.alpha + self.beta) * alive.sum())

    def probability(
        self, frequency: ArrayLike, recency: ArrayLike, periods: ArrayLike
    ) -> NDArray[np.float64]:
        """P(X = x, t_x | n): how likely a new member's first n periods show this summary.

        The likelihood ``L`` is that of one purchase string; C(t_x - 1, x - 1) strings share
        the summary (the last purchase is at t_x, the other x - 1 anywhere before it).
        """
        h = _histories(frequency, recency, periods, None)
        strings = np.where(h.x > 0, comb(np.maximum(h.t_x - 1, 0), np.maximum(h.x - 1, 0)), 1.0)
        value = strings * np.exp(self._log_likelihood_of(h))
        return self._spread(value, frequency, recency, periods)

    def p_alive(
        self, frequency: ArrayLike, recency: ArrayLike, periods: ArrayLike
    ) -> NDArray[np.float64]:
        """P(the member is still alive in period n + 1 | x, t_x, n), one per history given."""
        h = _histories(frequency, recency, periods, None)
        value = np.exp(self._log_alive_joint(h, np.ones_like(h.n)) - self._log_likelihood_of(h))
        return self._spread(value, frequency, recency, periods)

    def conditional_expected_transactions(
        self, n_future: int, frequency: ArrayLike, recency: ArrayLike, periods: ArrayLike
    ) -> NDArray[np.float64]:
        """E[purchases in periods n+1 .. n+n_future | x, t_x, n], one per history given.

        Summed period by period: P(alive at n + s and buys | history) =
        B(a + x + 1, b + n - x)/B(a, b) * B(g, d + n + s)/B(g, d) / L.
        """
        if n_future < 0:
            raise ValueError(f"n_future must not be negative, got {n_future}")
        h = _histories(frequency, recency, periods, None)
        a, b, g, d = self._params
        log_l = self._log_likelihood_of(h)
        buy = betaln(a + h.x + 1.0, b + h.n - h.x) - betaln(a, b)
        total = np.zeros_like(h.n)
        for s in range(1, int(n_future) + 1):
            alive = betaln(g, d + h.n + s) - betaln(g, d)
            total += np.exp(buy + alive - log_l)
        return self._spread(total, frequency, recency, periods)

    @staticmethod
    def _spread(
        per_pattern: Vector, frequency: ArrayLike, recency: ArrayLike, periods: ArrayLike
    ) -> NDArray[np.float64]:
        # Map results for the distinct histories back onto the caller's rows, in order.
        x = np.atleast_1d(np.asarray(frequency, dtype=np.float64))
        t_x = np.atleast_1d(np.asarray(recency, dtype=np.float64))
        n = np.broadcast_to(np.asarray(periods, dtype=np.float64), x.shape)
        _, inverse = np.unique(np.column_stack([x, t_x, n]), axis=0, return_inverse=True)
        return np.asarray(per_pattern[inverse.reshape(-1)], dtype=np.float64)

    @property
    def aic(self) -> float:
        """Akaike information criterion, 2k - 2 LL."""
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """Bayesian information criterion, k ln(members) - 2 LL."""
        return self.n_params * math.log(max(self.members, 1)) - 2.0 * self.log_likelihood


def fit_bgbb(
    frequency: ArrayLike,
    recency: ArrayLike,
    periods: ArrayLike,
    weights: ArrayLike | None = None,
) -> BGBBFit:
    """Fit the BG/BB by maximum likelihood to members' yes/no purchase histories.

    One row per member, or per distinct history with ``weights`` = how many members share it.
    ``frequency`` = periods with a purchase, ``recency`` = last such period (0 if none),
    ``periods`` = periods observed (may differ between members: different join years).
    """
    h = _histories(frequency, recency, periods, weights)
    members = float(h.weight.sum())
    starts = ((1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 0.5, 3.0), (2.0, 0.5, 1.0, 5.0))
    params, value, at_bound = maximise(
        lambda p: _loglik(h, p), starts, scale=members, model="BG/BB"
    )
    se = standard_errors(numeric_hessian(lambda p: _loglik(h, p)[1], params))
    return BGBBFit(
        alpha=float(params[0]),
        beta=float(params[1]),
        gamma=float(params[2]),
        delta=float(params[3]),
        alpha_se=float(se[0]),
        beta_se=float(se[1]),
        gamma_se=float(se[2]),
        delta_se=float(se[3]),
        log_likelihood=value,
        members=round(members),
        degenerate=is_degenerate(params, se, at_bound),
    )
