"""Binary logistic regression by Newton's method with member-clustered standard errors.

Small and exact: the benefit analysis fits one regression per benefit with a dozen controls, and
needs confidence intervals that respect repeated decisions of the same member (a sandwich
estimator clustered by member), which scikit-learn does not give.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class LogitFit:
    """Coefficients, their clustered covariance and the names of the columns."""

    coef: Vector
    cov: Vector
    names: tuple[str, ...]
    n: int

    def se(self, name: str) -> float:
        j = self.names.index(name)
        return float(np.sqrt(max(self.cov[j, j], 0.0)))

    def estimate(self, name: str) -> float:
        return float(self.coef[self.names.index(name)])


def fit_logit(
    X: Vector,
    y: Vector,
    names: tuple[str, ...],
    clusters: NDArray[np.int64] | None = None,
    *,
    ridge: float = 1e-4,
    max_iter: int = 50,
) -> LogitFit:
    """Fit ``P(y = 1) = 1 / (1 + exp(-X b))``; ``X`` must carry its own intercept column.

    A tiny ridge keeps separated data finite. Standard errors are the cluster-robust sandwich
    (by ``clusters``, e.g. party ids; each row its own cluster when ``None``).
    """
    n, k = X.shape
    beta = np.zeros(k)
    penalty = ridge * np.eye(k)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -35, 35)))
        w = p * (1.0 - p)
        grad = X.T @ (y - p) - penalty @ beta
        hess = (X * w[:, None]).T @ X + penalty
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    p = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -35, 35)))
    bread = np.linalg.inv((X * (p * (1.0 - p))[:, None]).T @ X + penalty)
    scores = X * (y - p)[:, None]
    if clusters is not None:
        _, codes = np.unique(clusters, return_inverse=True)
        summed = np.zeros((int(codes.max()) + 1, k))
        np.add.at(summed, codes, scores)
        scores = summed
    g = scores.shape[0]
    meat = scores.T @ scores * (g / max(g - 1, 1))
    return LogitFit(coef=beta, cov=bread @ meat @ bread, names=names, n=n)
