"""Temperature-and-bias calibration of multinomial logits.

Calibrated logits are ``z / T + b`` with one scalar temperature ``T`` shared by all classes and one
offset ``b_k`` per class (``b_0 = 0``: softmax ignores a common shift). Both are affine in the
logits, so an additive model stays exactly additive after calibration: every per-feature
contribution is divided by ``T`` and the offsets join the baseline. The temperature repairs over-
or under-confidence; the offsets undo the prior shift that class reweighting introduces, so that
probabilities are honest on the population the data came from.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax


def fit_temperature(
    logits: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Minimise the (weighted) mean negative log likelihood over ``T`` and the class offsets.

    Args:
        logits: (n, K) uncalibrated logits (out-of-fold, so the fit is honest).
        y: (n,) integer class indices in ``[0, K)``.
        sample_weight: optional (n,) non-negative weights.

    Returns:
        ``(temperature, offsets)`` with ``offsets[0] == 0``.
    """
    n, k = logits.shape
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weights = weights / weights.sum()
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        scale = np.exp(theta[0])
        offsets = np.concatenate([[0.0], theta[1:]])
        z = logits * scale + offsets
        logp = log_softmax(z, axis=1)
        loss = -float(np.sum(weights * logp[np.arange(n), y]))
        resid = (np.exp(logp) - onehot) * weights[:, None]
        grad_scale = float(np.sum(resid * logits)) * scale
        grad_offsets = resid.sum(axis=0)[1:]
        return loss, np.concatenate([[grad_scale], grad_offsets])

    theta0 = np.zeros(k)
    # A log-scale within +-5 (T between 0.007 and 150) covers any sane model; the bound keeps a
    # degenerate, perfectly separable fold from running the temperature to zero.
    bounds = [(-5.0, 5.0)] + [(None, None)] * (k - 1)
    result = minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    temperature = float(np.exp(-result.x[0]))
    offsets = np.concatenate([[0.0], result.x[1:]])
    return temperature, offsets


def apply_temperature(logits: np.ndarray, temperature: float, offsets: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for (n, K) logits."""
    return np.asarray(softmax(logits / temperature + offsets, axis=1))
