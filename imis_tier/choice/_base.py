"""What every choice model shares: maximum likelihood, sandwich inference, summaries.

A concrete model supplies a :class:`Problem` (its log-likelihood with analytic gradient and
per-unit scores on arranged data) and its probability function; this module turns that into an
sklearn-style estimator: ``fit`` maximises the likelihood with L-BFGS-B, then computes classic
(inverse Hessian) and robust (sandwich) covariances, and ``summary``, ``willingness_to_pay`` and
``sample_coefs`` work the same for every model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from imis_tier.choice._data import FloatArray, feature_matrix

Bounds = list[tuple[float | None, float | None]]


class Problem(Protocol):
    """A log-likelihood to maximise, on data already arranged by :func:`_data.arrange`."""

    theta0: FloatArray
    bounds: Bounds | None
    n_units: int  # independent observations: situations, or panel units
    loglik_null: float

    def loglik(
        self, theta: FloatArray, *, scores: bool = False
    ) -> tuple[float, FloatArray, FloatArray | None]:
        """Total log-likelihood, its gradient, and (when asked) per-unit score rows."""
        ...

    def hessian(self, theta: FloatArray) -> FloatArray | None:
        """Hessian of the negative log-likelihood, or None to differentiate the gradient."""
        ...


def numeric_hessian(grad: Callable[[FloatArray], FloatArray], theta: FloatArray) -> FloatArray:
    """Hessian by central differences of an analytic gradient, symmetrised."""
    p = theta.shape[0]
    h = 1e-5 * np.maximum(1.0, np.abs(theta))
    out = np.empty((p, p))
    for j in range(p):
        step = np.zeros(p)
        step[j] = h[j]
        out[:, j] = (grad(theta + step) - grad(theta - step)) / (2.0 * h[j])
    return (out + out.T) / 2.0


def coef_rows(coef: ArrayLike, n_params: int, names: Sequence[str]) -> tuple[FloatArray, bool]:
    """Coefficient vector(s) as a (draws, params) matrix, and whether one vector was given."""
    arr = np.asarray(coef, dtype=np.float64)
    single = arr.ndim == 1
    rows = arr[None, :] if single else arr
    if rows.ndim != 2 or rows.shape[1] != n_params:
        raise ValueError(
            f"coef must have shape ({n_params},) or (n_draws, {n_params}) in the order of "
            f"param_names_ {list(names)}, got {arr.shape}"
        )
    if not np.isfinite(rows).all():
        raise ValueError("coef has NaN or infinite values")
    return rows, single


class ChoiceModel(BaseEstimator):
    """Base of the choice estimators; not for direct use.

    Subclasses set ``max_iter`` and ``tol`` in ``__init__`` and call :meth:`_estimate`.
    """

    max_iter: int
    tol: float

    # Set by fit.
    coef_: FloatArray
    param_names_: list[str]
    n_features_in_: int

    # ------------------------------------------------------------------ estimation

    def _record_features(self, names: list[str] | None, k: int) -> list[str]:
        self.n_features_in_ = k
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return names if names is not None else [f"x{i}" for i in range(k)]

    def _expected_names(self) -> list[str] | None:
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    def _feature_labels(self) -> list[str]:
        names = self._expected_names()
        return names if names is not None else [f"x{i}" for i in range(self.n_features_in_)]

    def _estimate(self, problem: Problem, param_names: list[str]) -> None:
        """Maximise the likelihood and record estimates, covariances and diagnostics."""
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter}")
        if not self.tol > 0:
            raise ValueError(f"tol must be positive, got {self.tol}")
        n = problem.n_units

        # The optimiser sees the mean negative log-likelihood: its scale does not grow with the
        # sample, so one tolerance fits small and large data.
        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            ll, grad, _ = problem.loglik(theta)
            return -ll / n, -grad / n

        with np.errstate(over="ignore"):
            res = optimize.minimize(
                objective,
                problem.theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=problem.bounds,
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15, "maxls": 50},
            )
        theta = np.asarray(res.x, dtype=np.float64)
        ll, grad, scores = problem.loglik(theta, scores=True)
        assert scores is not None
        self.grad_norm_ = float(np.max(np.abs(_projected(grad / n, theta, problem.bounds))))
        self.n_iter_ = int(res.nit)
        self.converged_ = bool(res.success) or self.grad_norm_ <= 10 * self.tol
        if not self.converged_:
            warnings.warn(
                f"{type(self).__name__} did not converge after {self.n_iter_} iterations "
                f"(max |gradient| per situation {self.grad_norm_:.2e}, tol {self.tol:g}; "
                f"optimizer: {res.message}). Scale features to similar ranges or raise max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        hess = problem.hessian(theta)
        if hess is None:
            hess = numeric_hessian(lambda t: -problem.loglik(t)[1], theta)
        self.coef_ = theta
        self.param_names_ = list(param_names)
        self.loglik_ = float(ll)
        self.loglik_null_ = float(problem.loglik_null)
        self.rho_squared_ = 1.0 - self.loglik_ / self.loglik_null_
        self.n_situations_ = int(n)
        self.cov_classic_, self.cov_ = _covariances(hess, scores, param_names, type(self).__name__)
        self.bse_classic_ = np.sqrt(np.clip(np.diag(self.cov_classic_), 0.0, None))
        self.bse_ = np.sqrt(np.clip(np.diag(self.cov_), 0.0, None))

    # ------------------------------------------------------------------ inference

    def summary(self) -> pd.DataFrame:
        """Estimates with robust standard errors: columns coef, se, z, p (two-sided)."""
        check_is_fitted(self, "coef_")
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.coef_ / self.bse_
        p = 2.0 * stats.norm.sf(np.abs(z))
        return pd.DataFrame(
            {"coef": self.coef_, "se": self.bse_, "z": z, "p": p},
            index=pd.Index(self.param_names_, name="param"),
        )

    def _mean_coefs(self, theta: FloatArray) -> FloatArray:
        """The mean utility coefficient of each feature under parameters ``theta``."""
        return theta[: self.n_features_in_]

    def willingness_to_pay(self, benefit_cols: str | Sequence[str], price_col: str) -> pd.DataFrame:
        """Money value of each benefit, ``coef_b / -coef_price``, with delta-method robust SEs.

        Features are named as in ``feature_names_in_`` (or ``x0, x1, ...`` for array input). The
        result is in the price feature's units per unit of the benefit feature: columns wtp, se,
        lower, upper (95% interval).
        """
        check_is_fitted(self, "coef_")
        benefits = [benefit_cols] if isinstance(benefit_cols, str) else list(benefit_cols)
        labels = self._feature_labels()
        unknown = [c for c in [*benefits, price_col] if c not in labels]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; the model's features are {labels}")
        idx_b = np.array([labels.index(c) for c in benefits])
        idx_p = labels.index(price_col)

        def wtp(theta: FloatArray) -> FloatArray:
            m = self._mean_coefs(theta)
            return m[idx_b] / -m[idx_p]

        if self._mean_coefs(self.coef_)[idx_p] == 0:
            raise ValueError(
                f"the coefficient of {price_col!r} is zero: willingness to pay is undefined"
            )
        value = wtp(self.coef_)
        jac = _jacobian(wtp, self.coef_)
        se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, self.cov_, jac), 0.0, None))
        q = stats.norm.ppf(0.975)
        return pd.DataFrame(
            {"wtp": value, "se": se, "lower": value - q * se, "upper": value + q * se},
            index=pd.Index(benefits, name="feature"),
        )

    def sample_coefs(self, n: int, seed: int | None = 0, *, robust: bool = True) -> FloatArray:
        """``n`` parameter vectors from the estimates' asymptotic normal, shape (n, n_params).

        Feed them to ``predict_proba(..., coef=...)`` or ``probabilities_wide(..., coef=...)`` to
        carry estimation uncertainty into a simulation.
        """
        check_is_fitted(self, "coef_")
        rng = np.random.default_rng(seed)
        cov = self.cov_ if robust else self.cov_classic_
        draws = rng.multivariate_normal(self.coef_, cov, size=int(n), method="eigh")
        return self._clip_params(draws)

    def _clip_params(self, draws: FloatArray) -> FloatArray:
        return draws

    def _coef_rows(self, coef: ArrayLike | None) -> tuple[FloatArray, bool]:
        check_is_fitted(self, "coef_")
        if coef is None:
            return self.coef_[None, :], True
        return coef_rows(coef, self.coef_.shape[0], self.param_names_)

    def utilities(self, X: ArrayLike | pd.DataFrame, coef: ArrayLike | None = None) -> FloatArray:
        """Systematic utility ``X @ mean coefficients`` per row; shape (rows,) or (draws, rows)."""
        rows, single = self._coef_rows(coef)
        matrix, _ = feature_matrix(
            X,
            expected=self._expected_names(),
            n_expected=self.n_features_in_,
            exclude=self._id_columns(),
        )
        out = np.stack([matrix @ self._mean_coefs(theta) for theta in rows])
        return out[0] if single else out

    def _id_columns(self) -> tuple[str, ...]:
        return ()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _projected(grad: FloatArray, theta: FloatArray, bounds: Bounds | None) -> FloatArray:
    """The gradient with components that push against an active bound set to zero."""
    if bounds is None:
        return grad
    out = grad.copy()
    for i, (lo, hi) in enumerate(bounds):
        # grad is of the log-likelihood here: a positive component wants theta to grow.
        if hi is not None and theta[i] >= hi - 1e-12 and out[i] > 0:
            out[i] = 0.0
        if lo is not None and theta[i] <= lo + 1e-12 and out[i] < 0:
            out[i] = 0.0
    return out


def _covariances(
    hess: FloatArray, scores: FloatArray, names: Sequence[str], model: str
) -> tuple[FloatArray, FloatArray]:
    """Classic ``H^-1`` and robust sandwich ``H^-1 B H^-1`` with ``B`` the outer product of scores."""
    eig = np.linalg.eigvalsh(hess)
    if eig[0] > 1e-10 * max(eig[-1], 1e-300):
        inv = np.linalg.inv(hess)
    else:
        weak = [
            names[int(i)]
            for i in np.flatnonzero(np.diag(hess) <= 1e-10 * max(1.0, np.abs(hess).max()))
        ]
        warnings.warn(
            f"{model}: the Hessian is not positive definite at the estimates, so standard errors "
            f"are unreliable; some parameters are not identified by the data"
            + (f" (flat: {weak})" if weak else " (check for collinear features)"),
            RuntimeWarning,
            stacklevel=4,
        )
        inv = np.linalg.pinv(hess)
    meat = scores.T @ scores
    return np.asarray(inv, dtype=np.float64), np.asarray(inv @ meat @ inv, dtype=np.float64)


def _jacobian(fn: Callable[[FloatArray], FloatArray], theta: FloatArray) -> FloatArray:
    """Jacobian of ``fn`` at ``theta`` by central differences."""
    base = fn(theta)
    out = np.empty((base.shape[0], theta.shape[0]))
    for j in range(theta.shape[0]):
        h = 1e-6 * max(1.0, abs(theta[j]))
        step = np.zeros_like(theta)
        step[j] = h
        out[:, j] = (fn(theta + step) - fn(theta - step)) / (2.0 * h)
    return out
