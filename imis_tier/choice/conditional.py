"""Conditional (multinomial) logit: McFadden's model of one choice among available alternatives.

``P(i | situation) = exp(x_i b) / sum_j exp(x_j b)`` over the alternatives available in that
situation. The log-likelihood is concave with an analytic gradient and Hessian, so fitting a
hundred thousand renewals takes a second or so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

from imis_tier.choice._base import Bounds, ChoiceModel
from imis_tier.choice._data import (
    FloatArray,
    IntArray,
    Situations,
    arrange,
    check_varies,
    feature_matrix,
)
from imis_tier.choice._wide import masked_softmax, wide_inputs


def grouped_softmax(
    v: FloatArray, starts: IntArray, group_of_row: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row probabilities and per-situation log-sum-exp of utilities ``v``.

    ``v`` is (rows,) or (rows, draws); situations are the contiguous blocks from ``starts``.
    """
    vmax = np.maximum.reduceat(v, starts, axis=0)
    e = np.exp(v - vmax[group_of_row])
    total = np.add.reduceat(e, starts, axis=0)
    return e / total[group_of_row], vmax + np.log(total)


class _ConditionalProblem:
    """The conditional-logit log-likelihood on arranged data."""

    bounds: Bounds | None = None

    def __init__(self, s: Situations) -> None:
        assert s.chosen_rows is not None
        self.s = s
        self.chosen = s.chosen_rows
        self.theta0 = np.zeros(s.X.shape[1])
        self.n_units = s.n_groups
        self.loglik_null = float(-np.log(s.sizes).sum())

    def loglik(
        self, theta: FloatArray, *, scores: bool = False
    ) -> tuple[float, FloatArray, FloatArray | None]:
        s = self.s
        v = s.X @ theta
        p, lse = grouped_softmax(v, s.starts, s.group_of_row)
        ll = float(np.sum(v[self.chosen] - lse))
        resid = -p
        resid[self.chosen] += 1.0
        grad = s.X.T @ resid
        unit_scores = None
        if scores:
            unit_scores = np.add.reduceat(s.X * resid[:, None], s.starts, axis=0)
        return ll, grad, unit_scores

    def hessian(self, theta: FloatArray) -> FloatArray:
        s = self.s
        p, _ = grouped_softmax(s.X @ theta, s.starts, s.group_of_row)
        xbar = np.add.reduceat(s.X * p[:, None], s.starts, axis=0)
        centred = s.X - xbar[s.group_of_row]
        return np.asarray((centred * p[:, None]).T @ centred, dtype=np.float64)


class ConditionalLogit(ChoiceModel):
    """Conditional logit fitted by maximum likelihood on long-format choice data.

    Each row of ``X`` is one alternative available in one choice situation (a member's renewal
    decision); columns are attributes such as price, benefit dummies and alternative constants
    (dummy columns, one alternative left out). ``y`` is 1 on the chosen row and 0 elsewhere;
    ``groups`` names the situation of each row, in any order.

    Parameters
    ----------
    max_iter:
        Iteration limit of the L-BFGS-B optimiser.
    tol:
        Convergence tolerance on the largest gradient component of the mean log-likelihood.

    Attributes
    ----------
    coef_, bse_, bse_classic_, cov_, cov_classic_:
        Estimates; robust (sandwich) and classic (inverse Hessian) standard errors/covariances.
    loglik_, loglik_null_, rho_squared_:
        Log-likelihood at the estimates, under equal shares, and McFadden's pseudo R squared.
    n_iter_, converged_, grad_norm_:
        Optimiser diagnostics; a ``ConvergenceWarning`` is raised when ``converged_`` is false.
    param_names_, feature_names_in_, n_features_in_, n_situations_:
        Names of the parameters and features (the latter only for DataFrame input).
    """

    def __init__(self, *, max_iter: int = 500, tol: float = 1e-6) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self, X: ArrayLike | pd.DataFrame, y: ArrayLike | pd.Series, groups: ArrayLike | pd.Series
    ) -> ConditionalLogit:
        """Estimate the coefficients; returns ``self``."""
        matrix, names = feature_matrix(X)
        labels = self._record_features(names, matrix.shape[1])
        s = arrange(matrix, groups, y)
        check_varies(s, labels)
        self._estimate(_ConditionalProblem(s), labels)
        return self

    def predict_proba(
        self,
        X: ArrayLike | pd.DataFrame,
        groups: ArrayLike | pd.Series,
        coef: ArrayLike | None = None,
    ) -> FloatArray:
        """Choice probability of each row within its situation, aligned with the rows of ``X``.

        With ``coef`` of shape (n_params,) the probabilities use those parameters instead of
        ``coef_``; with shape (n_draws, n_params) the result is (n_draws, n_rows), one row per
        parameter draw (see :meth:`sample_coefs`).
        """
        rows, single = self._coef_rows(coef)
        matrix, _ = feature_matrix(
            X, expected=self._expected_names(), n_expected=self.n_features_in_
        )
        s = arrange(matrix, groups)
        out = np.stack(
            [
                s.to_caller_order(grouped_softmax(s.X @ theta, s.starts, s.group_of_row)[0])
                for theta in rows
            ]
        )
        return out[0] if single else out

    def probabilities_wide(
        self, X3d: ArrayLike, available: ArrayLike | None = None, coef: ArrayLike | None = None
    ) -> FloatArray:
        """Choice probabilities for the wide layout: (members, alternatives, features) -> (members, alternatives).

        ``available`` (members, alternatives) marks the alternatives open to each member (all when
        None); unavailable ones get probability 0. With ``coef`` of shape (n_draws, n_params) the
        result is (n_draws, members, alternatives).
        """
        check_is_fitted(self, "coef_")
        rows, single = self._coef_rows(coef)
        arr, mask = wide_inputs(X3d, available, self.n_features_in_)
        v = np.einsum("njk,sk->snj", arr, rows, optimize=True)
        out = masked_softmax(v, mask[None])
        return out[0] if single else out
