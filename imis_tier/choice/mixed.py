"""Mixed logit: coefficients that vary across members, by simulated maximum likelihood.

Each random coefficient is ``mean + sd * z`` (``normal``), ``exp(mu + sigma * z)``
(``lognormal``) or ``-exp(mu + sigma * z)`` (``neg_lognormal``, for a price coefficient that must
stay negative), with ``z`` standard normal and independent across coefficients. The choice
probability is the logit probability averaged over ``n_draws`` scrambled Halton draws per member.
With a ``panel`` (the same member over several renewals) one draw covers all of that member's
situations, which is what identifies taste variation from habit.

Work is chunked over members so memory stays bounded (rows x draws per chunk) whatever the data
size. The gradient is analytic; the Hessian for the classic standard errors differentiates it.
The sign of a fitted ``sd``/``sigma`` is not identified: read its absolute value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats
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
from imis_tier.choice.conditional import _ConditionalProblem, grouped_softmax

DISTRIBUTIONS = ("normal", "lognormal", "neg_lognormal")
_MAX_LOG_COEF = 50.0
_HALTON_BLOCK = 1 << 18
_CHUNK_CELLS = 1 << 17  # rows x draws at once: 1 MB work arrays stay cache- and allocator-friendly


def halton_normal(
    n_units: int, n_draws: int, dims: int, seed: int | None, *, first_unit: int = 0
) -> FloatArray:
    """Standard-normal scrambled Halton draws, shape (n_units, n_draws, dims); reproducible by seed.

    Unit ``u`` always gets points ``u * n_draws`` onwards of one sequence, so draws for units
    ``[first_unit, first_unit + n_units)`` can be made chunk by chunk without holding them all.
    """
    engine = stats.qmc.Halton(d=max(dims, 1), scramble=True, seed=seed)
    if first_unit:
        engine.fast_forward(first_unit * n_draws)
    total = n_units * n_draws
    out = np.empty((total, dims))
    # In blocks: scipy's Halton holds several temporaries the size of its output.
    for lo in range(0, total, _HALTON_BLOCK):
        hi = min(total, lo + _HALTON_BLOCK)
        u = np.clip(engine.random(hi - lo)[:, :dims], 1e-12, 1.0 - 1e-12)
        out[lo:hi] = stats.norm.ppf(u)
    return out.reshape(n_units, n_draws, dims)


@dataclass(frozen=True)
class _Spec:
    """Which features are random, and how."""

    index: IntArray  # feature index of each random coefficient
    kinds: tuple[str, ...]

    def coefficients(
        self, theta: FloatArray, z: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per-draw coefficients and their derivatives w.r.t. location and scale, each (..., K)."""
        k = theta.shape[0] - self.index.shape[0]
        loc = theta[self.index]
        scale = theta[k:]
        b = loc + scale * z
        dloc = np.ones_like(b)
        for j, kind in enumerate(self.kinds):
            if kind != "normal":
                # Capped so a wild line-search step gives a poor likelihood, not inf * 0 = NaN.
                magnitude = np.exp(np.minimum(b[..., j], _MAX_LOG_COEF))
                b[..., j] = magnitude * (-1.0 if kind == "neg_lognormal" else 1.0)
                dloc[..., j] = b[..., j]
        return b, dloc, dloc * z

    def fixed_beta(self, theta: FloatArray, k: int) -> FloatArray:
        beta = theta[:k].copy()
        beta[self.index] = 0.0
        return beta


def _chunks(row_starts: IntArray, n_rows: int, n_draws: int) -> list[tuple[int, int]]:
    """Unit ranges [u0, u1) whose rows x draws stay near the chunk budget."""
    ends = np.r_[row_starts[1:], n_rows]
    out: list[tuple[int, int]] = []
    u0 = 0
    budget = max(1, _CHUNK_CELLS // max(n_draws, 1))
    while u0 < row_starts.shape[0]:
        limit = row_starts[u0] + budget
        u1 = max(u0 + 1, int(np.searchsorted(ends, limit, side="right")))
        out.append((u0, u1))
        u0 = u1
    return out


class _MixedProblem:
    def __init__(self, s: Situations, spec: _Spec, draws: FloatArray, theta0: FloatArray) -> None:
        assert s.chosen_rows is not None
        self.s, self.spec, self.draws = s, spec, draws
        self.k = s.X.shape[1]
        self.theta0 = theta0
        self.bounds: Bounds | None = None
        unit_group_starts = (
            s.unit_group_starts
            if s.unit_group_starts is not None
            else np.arange(s.n_groups, dtype=np.intp)
        )
        self.unit_group_starts = unit_group_starts
        self.unit_row_starts = s.starts[unit_group_starts]
        self.n_units = int(unit_group_starts.shape[0])
        group_sizes = np.diff(np.r_[unit_group_starts, s.n_groups])
        self.unit_of_group = np.repeat(np.arange(self.n_units, dtype=np.intp), group_sizes)
        self.unit_of_row = self.unit_of_group[s.group_of_row]
        self.loglik_null = float(-np.log(s.sizes).sum())
        self.chunks = _chunks(self.unit_row_starts, s.n_rows, draws.shape[1])

    def loglik(
        self, theta: FloatArray, *, scores: bool = False
    ) -> tuple[float, FloatArray, FloatArray | None]:
        ll = 0.0
        grad = np.zeros(theta.shape[0])
        parts: list[FloatArray] = []
        for u0, u1 in self.chunks:
            c_ll, contrib, unit_rows = self._chunk(theta, u0, u1)
            ll += c_ll
            grad += contrib.sum(axis=0)
            if scores:
                parts.append(np.add.reduceat(contrib, unit_rows, axis=0))
        return ll, grad, (np.vstack(parts) if scores else None)

    def _chunk(self, theta: FloatArray, u0: int, u1: int) -> tuple[float, FloatArray, IntArray]:
        """Log-likelihood of units [u0, u1) and per-row gradient contributions (rows, params)."""
        s, spec = self.s, self.spec
        g0 = int(self.unit_group_starts[u0])
        g1 = int(self.unit_group_starts[u1]) if u1 < self.n_units else s.n_groups
        r0 = int(s.starts[g0])
        r1 = int(s.starts[g1]) if g1 < s.n_groups else s.n_rows
        X = s.X[r0:r1]
        starts = s.starts[g0:g1] - r0
        group_of_row = s.group_of_row[r0:r1] - g0
        unit_of_row = self.unit_of_row[r0:r1] - u0
        chosen = s.chosen_rows[g0:g1] - r0  # type: ignore[index]
        b, dloc, dscale = spec.coefficients(theta, self.draws[u0:u1])  # (units, R, K)

        v = (X @ spec.fixed_beta(theta, self.k))[:, None] + np.zeros(b.shape[1])
        for j, col in enumerate(spec.index):
            v += X[:, col, None] * b[unit_of_row, :, j]
        p, lse = grouped_softmax(v, starts, group_of_row)
        log_chosen = v[chosen] - lse  # (groups, R)
        if s.unit_group_starts is not None:
            log_chosen = np.add.reduceat(log_chosen, self.unit_group_starts[u0:u1] - g0, axis=0)
        top = log_chosen.max(axis=1, keepdims=True)
        w = np.exp(log_chosen - top)
        total = w.sum(axis=1, keepdims=True)
        ll = float(np.sum(top[:, 0] + np.log(total[:, 0])) - (u1 - u0) * np.log(b.shape[1]))
        w /= total  # each unit's posterior weight on each draw

        resid = -p
        resid[chosen] += 1.0
        weighted = w[unit_of_row] * resid  # (rows, R)
        common = weighted.sum(axis=1)
        contrib = X * common[:, None]
        extra = np.empty((X.shape[0], spec.index.shape[0]))
        for j, col in enumerate(spec.index):
            if spec.kinds[j] != "normal":
                contrib[:, col] = X[:, col] * (weighted * dloc[unit_of_row, :, j]).sum(axis=1)
            extra[:, j] = X[:, col] * (weighted * dscale[unit_of_row, :, j]).sum(axis=1)
        unit_rows = self.unit_row_starts[u0:u1] - r0
        return ll, np.hstack([contrib, extra]), unit_rows

    def hessian(self, theta: FloatArray) -> None:
        return None


class MixedLogit(ChoiceModel):
    """Mixed (random-coefficient) logit by simulated maximum likelihood with Halton draws.

    Parameters
    ----------
    random:
        The random feature(s): a name, a list of names (each with ``distribution``), or a mapping
        name -> distribution. Names are DataFrame column names, or ``x0, x1, ...`` for arrays.
    distribution:
        ``normal``, ``lognormal`` or ``neg_lognormal`` for names given without one.
    n_draws:
        Halton draws per member (or per situation without a panel).
    seed:
        Scrambling seed of the Halton sequence: the same seed gives the same estimates.
    max_iter, tol:
        As for :class:`ConditionalLogit`.

    Attributes
    ----------
    coef_:
        One location per feature (the coefficient for fixed features, the mean for ``normal``,
        ``mu`` of the log for lognormal ones), then one scale per random feature; see
        ``param_names_`` (``sd.<name>`` or ``sigma.<name>``).
    mean_coef_:
        Mean coefficient of each feature (``+-exp(mu + sigma^2 / 2)`` for lognormal ones).
    The other fitted attributes are those of :class:`ConditionalLogit`; with a panel,
    ``n_situations_`` counts members and the robust SEs cluster by member.
    """

    def __init__(
        self,
        random: str | Sequence[str] | Mapping[str, str] = (),
        distribution: str = "normal",
        n_draws: int = 200,
        seed: int | None = 0,
        *,
        max_iter: int = 500,
        tol: float = 1e-6,
    ) -> None:
        self.random = random
        self.distribution = distribution
        self.n_draws = n_draws
        self.seed = seed
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self,
        X: ArrayLike | pd.DataFrame,
        y: ArrayLike | pd.Series,
        groups: ArrayLike | pd.Series,
        panel: ArrayLike | pd.Series | None = None,
    ) -> MixedLogit:
        """Estimate locations and scales; ``panel`` ids tie situations of the same member."""
        if self.n_draws < 1:
            raise ValueError(f"n_draws must be at least 1, got {self.n_draws}")
        matrix, names = feature_matrix(X)
        labels = self._record_features(names, matrix.shape[1])
        spec = self._spec(labels)
        s = arrange(matrix, groups, y, panel=panel)
        check_varies(s, labels)

        # Start from the conditional logit: locations at its estimates, small scales.
        start = _ConditionalProblem(s)
        res = optimize.minimize(
            lambda b: tuple(-t / s.n_groups for t in start.loglik(b)[:2]),
            start.theta0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter},
        )
        loc = np.asarray(res.x, dtype=np.float64).copy()
        for j, col in enumerate(spec.index):
            if spec.kinds[j] != "normal":
                sign = -1.0 if spec.kinds[j] == "neg_lognormal" else 1.0
                loc[col] = np.log(max(sign * loc[col], 1e-2))
        theta0 = np.r_[loc, np.full(spec.index.shape[0], 0.1)]
        n_units = s.n_groups if s.unit_group_starts is None else int(s.unit_group_starts.shape[0])
        draws = halton_normal(n_units, int(self.n_draws), spec.index.shape[0], self.seed)
        problem = _MixedProblem(s, spec, draws, theta0)
        self._spec_ = spec
        param_names = [
            (f"mu.{n}" if self._kind_of(i, spec) not in (None, "normal") else n)
            for i, n in enumerate(labels)
        ]
        param_names += [
            (f"sd.{labels[col]}" if kind == "normal" else f"sigma.{labels[col]}")
            for col, kind in zip(spec.index, spec.kinds, strict=True)
        ]
        self._estimate(problem, param_names)
        self.mean_coef_ = self._mean_coefs(self.coef_)
        return self

    # ------------------------------------------------------------------ prediction

    def predict_proba(
        self,
        X: ArrayLike | pd.DataFrame,
        groups: ArrayLike | pd.Series,
        coef: ArrayLike | None = None,
    ) -> FloatArray:
        """Choice probabilities averaged over ``n_draws`` taste draws per situation.

        Aligned with the rows of ``X``; ``coef`` works as in :meth:`ConditionalLogit.predict_proba`.
        """
        rows, single = self._coef_rows(coef)
        matrix, _ = feature_matrix(
            X, expected=self._expected_names(), n_expected=self.n_features_in_
        )
        s = arrange(matrix, groups)
        spec = self._spec_
        out = []
        for theta in rows:
            prob = np.empty(s.n_rows)
            beta = spec.fixed_beta(theta, self.n_features_in_)
            for g0, g1 in _chunks(s.starts, s.n_rows, int(self.n_draws)):
                r0 = int(s.starts[g0])
                r1 = int(s.starts[g1]) if g1 < s.n_groups else s.n_rows
                X_c = s.X[r0:r1]
                group_of_row = s.group_of_row[r0:r1] - g0
                z = halton_normal(
                    g1 - g0, int(self.n_draws), spec.index.shape[0], self.seed, first_unit=g0
                )
                b, _, _ = spec.coefficients(theta, z)
                v = (X_c @ beta)[:, None] + np.zeros(b.shape[1])
                for j, col in enumerate(spec.index):
                    v += X_c[:, col, None] * b[group_of_row, :, j]
                prob[r0:r1] = grouped_softmax(v, s.starts[g0:g1] - r0, group_of_row)[0].mean(axis=1)
            out.append(s.to_caller_order(prob))
        stacked = np.stack(out)
        return stacked[0] if single else stacked

    def probabilities_wide(
        self, X3d: ArrayLike, available: ArrayLike | None = None, coef: ArrayLike | None = None
    ) -> FloatArray:
        """Choice probabilities for the wide layout, averaged over ``n_draws`` draws per member.

        As :meth:`ConditionalLogit.probabilities_wide`.
        """
        check_is_fitted(self, "coef_")
        rows, single = self._coef_rows(coef)
        arr, mask = wide_inputs(X3d, available, self.n_features_in_)
        spec = self._spec_
        n, J, _ = arr.shape
        R = int(self.n_draws)
        step = max(1, _CHUNK_CELLS // (R * J))
        out = np.empty((rows.shape[0], n, J))
        for d, theta in enumerate(rows):
            beta = spec.fixed_beta(theta, self.n_features_in_)
            for m0 in range(0, n, step):
                m1 = min(n, m0 + step)
                z = halton_normal(m1 - m0, R, spec.index.shape[0], self.seed, first_unit=m0)
                b, _, _ = spec.coefficients(theta, z)  # (members, R, K)
                v = (arr[m0:m1] @ beta)[:, None, :] + np.einsum(
                    "njk,nrk->nrj", arr[m0:m1][:, :, spec.index], b
                )
                out[d, m0:m1] = masked_softmax(v, mask[m0:m1, None, :]).mean(axis=1)
        return out[0] if single else out

    # ------------------------------------------------------------------ helpers

    def _mean_coefs(self, theta: FloatArray) -> FloatArray:
        spec = self._spec_
        k = self.n_features_in_
        mean = theta[:k].copy()
        for j, col in enumerate(spec.index):
            if spec.kinds[j] != "normal":
                sign = -1.0 if spec.kinds[j] == "neg_lognormal" else 1.0
                mean[col] = sign * np.exp(theta[col] + theta[k + j] ** 2 / 2.0)
        return mean

    @staticmethod
    def _kind_of(col: int, spec: _Spec) -> str | None:
        hits = np.flatnonzero(spec.index == col)
        return spec.kinds[int(hits[0])] if hits.size else None

    def _spec(self, labels: list[str]) -> _Spec:
        if isinstance(self.random, str):
            wanted = {self.random: self.distribution}
        elif isinstance(self.random, Mapping):
            wanted = {str(k): str(v) for k, v in self.random.items()}
        else:
            wanted = {str(k): self.distribution for k in self.random}
        if not wanted:
            raise ValueError("MixedLogit needs at least one random feature (random=...)")
        unknown = [n for n in wanted if n not in labels]
        if unknown:
            raise ValueError(f"random feature(s) {unknown} are not among the features {labels}")
        bad = {n: d for n, d in wanted.items() if d not in DISTRIBUTIONS}
        if bad:
            raise ValueError(f"unknown distribution(s) {bad}; choose from {DISTRIBUTIONS}")
        ordered = sorted(wanted, key=labels.index)
        return _Spec(
            index=np.array([labels.index(n) for n in ordered], dtype=np.intp),
            kinds=tuple(wanted[n] for n in ordered),
        )
