"""Maximum likelihood over positive parameters, searched on the log scale.

The models here have strictly positive parameters. Optimising their logarithms removes the
positivity constraint and evens out curvature (a beta parameter of 0.7 and one of 40 are both a
few units away from 0 in log space), so L-BFGS-B with the model's analytic gradient converges in
a few dozen steps from a fixed start, with no randomness.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

Vector = NDArray[np.float64]
LogLik = Callable[[Vector], tuple[float, Vector]]
"""Maps natural parameters to (log-likelihood, gradient w.r.t. the natural parameters)."""

LOG_BOUND = 12.0
"""|log parameter| beyond which an estimate is reported as diverged (e^12 ~ 1.6e5)."""


class FitError(ValueError):
    """A model could not be fitted to the data given (the message says why)."""


def maximise(
    loglik: LogLik, starts: Sequence[Sequence[float]], *, scale: float, model: str
) -> tuple[Vector, float, bool]:
    """Maximise ``loglik`` from each start; return (params, log-likelihood, at_bound).

    ``scale`` divides the objective (use the number of members) so the optimiser's tolerances
    mean the same thing for a cohort of 100 and of 1,000,000. ``at_bound`` is true when a
    parameter ran to the edge of the search box, i.e. the likelihood has no interior maximum.
    """

    def objective(theta: Vector) -> tuple[float, Vector]:
        params = np.exp(theta)
        value, grad = loglik(params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        # Chain rule to log scale: d/d(log p) = p * d/dp.
        return -value / scale, -(grad * params) / scale

    best: tuple[Vector, float] | None = None
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    for start in starts:
        theta0 = np.log(np.asarray(start, dtype=np.float64))
        result = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10},
        )
        if np.isfinite(result.fun) and (best is None or result.fun < best[1]):
            best = (np.asarray(result.x, dtype=np.float64), float(result.fun))
    if best is None:
        raise FitError(f"{model}: the likelihood could not be evaluated from any starting point")
    theta, _ = best
    params = np.exp(theta)
    value, _ = loglik(params)
    at_bound = bool(np.any(np.abs(theta) >= LOG_BOUND - 1e-6))
    return params, float(value), at_bound


def numeric_hessian(gradient: Callable[[Vector], Vector], params: Vector) -> Vector:
    """Hessian by central differences of an analytic gradient (relative steps, symmetrised)."""
    k = len(params)
    hessian = np.empty((k, k), dtype=np.float64)
    for j in range(k):
        step = 1e-5 * max(abs(params[j]), 1e-3)
        up = params.copy()
        down = params.copy()
        up[j] += step
        down[j] -= step
        hessian[:, j] = (gradient(up) - gradient(down)) / (2.0 * step)
    return np.asarray(0.5 * (hessian + hessian.T), dtype=np.float64)


def is_degenerate(params: Vector, errors: Vector, at_bound: bool) -> bool:
    """True when the estimates are not identified by the data.

    Either a parameter ran to the edge of the search box, or one is so flat in the likelihood
    that its standard error exceeds 10x the estimate (a ridge: e.g. a cohort with no
    heterogeneity, where alpha and beta grow together without bound).
    """
    if at_bound or not np.all(np.isfinite(errors)):
        return True
    return bool(np.any(errors > 10.0 * params))


def standard_errors(hessian: Vector) -> Vector:
    """Standard errors from the observed information (minus the log-likelihood's Hessian).

    NaN where the information matrix is not positive definite (an estimate at a boundary).
    """
    information = -np.asarray(hessian, dtype=np.float64)
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return np.full(len(information), np.nan)
    covariance = np.linalg.inv(information)
    return np.sqrt(np.diag(covariance))
