"""Nested logit: alternatives grouped into nests whose members are closer substitutes.

With nests such as ``{"tiers": [...tier codes...], "lapse": ["LAPSE"]}`` a price rise moves
members between tiers more than out of membership, which a conditional logit (equal
substitution, IIA) cannot express. For alternative ``i`` in nest ``m`` with dissimilarity
``lambda_m`` in (0, 1]::

    log P(i) = v_i / lambda_m + (lambda_m - 1) I_m - log sum_l exp(lambda_l I_l)
    I_m      = log sum_{j in m} exp(v_j / lambda_m)

``lambda_m = 1`` for every nest gives back the conditional logit. A nest that never offers two
alternatives in one situation (such as a lone lapse nest) has no identified lambda; it is held
at 1. Everything runs on rows sorted by situation then nest, so one ``reduceat`` pass sums each
nest of each situation.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize
from sklearn.utils.validation import check_is_fitted

from imis_tier.choice._base import ChoiceModel
from imis_tier.choice._data import (
    FloatArray,
    IntArray,
    Situations,
    arrange,
    check_varies,
    feature_matrix,
)
from imis_tier.choice._wide import wide_inputs
from imis_tier.choice.conditional import _ConditionalProblem

LAMBDA_BOUNDS = (0.01, 1.0)
"""Dissimilarity parameters are kept in this range: above 1 the model is not random-utility consistent."""


@dataclass(frozen=True)
class _Cells:
    """Nest-within-situation blocks of sorted rows."""

    nest_of_row: IntArray
    starts: IntArray  # first row of each cell
    cell_of_row: IntArray
    nest: IntArray  # nest of each cell
    group: IntArray  # situation of each cell
    group_starts: IntArray  # first cell of each situation


def _cells(s: Situations, nest_of_row: IntArray) -> _Cells:
    g = s.group_of_row
    new = np.r_[True, (g[1:] != g[:-1]) | (nest_of_row[1:] != nest_of_row[:-1])]
    starts = np.flatnonzero(new).astype(np.intp)
    sizes = np.diff(np.r_[starts, s.n_rows])
    cell_group = g[starts]
    return _Cells(
        nest_of_row=nest_of_row,
        starts=starts,
        cell_of_row=np.repeat(np.arange(starts.shape[0], dtype=np.intp), sizes),
        nest=nest_of_row[starts],
        group=cell_group,
        group_starts=np.flatnonzero(np.r_[True, cell_group[1:] != cell_group[:-1]]).astype(np.intp),
    )


@dataclass
class _Pieces:
    """Intermediate quantities of one evaluation, reused by the gradient."""

    v: FloatArray
    q: FloatArray  # within-nest probability per row
    iv: FloatArray  # inclusive value per cell
    nest_p: FloatArray  # nest probability per cell
    lse: FloatArray  # per situation
    lam_row: FloatArray
    lam_cell: FloatArray


def _pieces(X: FloatArray, beta: FloatArray, lam: FloatArray, c: _Cells) -> _Pieces:
    v = X @ beta
    lam_row = lam[c.nest_of_row]
    lam_cell = lam[c.nest]
    u = v / lam_row
    umax = np.maximum.reduceat(u, c.starts)
    e = np.exp(u - umax[c.cell_of_row])
    total = np.add.reduceat(e, c.starts)
    q = e / total[c.cell_of_row]
    iv = umax + np.log(total)
    a = lam_cell * iv
    amax = np.maximum.reduceat(a, c.group_starts)
    ea = np.exp(a - amax[c.group])
    sa = np.add.reduceat(ea, c.group_starts)
    return _Pieces(v, q, iv, ea / sa[c.group], amax + np.log(sa), lam_row, lam_cell)


class _NestedProblem:
    def __init__(
        self, s: Situations, cells: _Cells, n_nests: int, estimated: IntArray, beta0: FloatArray
    ) -> None:
        assert s.chosen_rows is not None
        self.s, self.c = s, cells
        self.k = s.X.shape[1]
        self.n_nests = n_nests
        self.estimated = estimated
        self.theta0 = np.r_[beta0, np.ones(estimated.shape[0])]
        self.bounds: list[tuple[float | None, float | None]] | None = [(None, None)] * self.k + [
            LAMBDA_BOUNDS
        ] * estimated.shape[0]
        self.n_units = s.n_groups
        self.loglik_null = float(-np.log(s.sizes).sum())
        self.chosen = s.chosen_rows
        self.chosen_cell = cells.cell_of_row[s.chosen_rows]

    def lambdas(self, theta: FloatArray) -> FloatArray:
        lam = np.ones(self.n_nests)
        lam[self.estimated] = theta[self.k :]
        return lam

    def loglik(
        self, theta: FloatArray, *, scores: bool = False
    ) -> tuple[float, FloatArray, FloatArray | None]:
        s, c, ch, cc = self.s, self.c, self.chosen, self.chosen_cell
        pc = _pieces(s.X, theta[: self.k], self.lambdas(theta), c)
        lam_m = pc.lam_cell[cc]
        ll = float(np.sum(pc.v[ch] / lam_m + (lam_m - 1.0) * pc.iv[cc] - pc.lse))

        # d/d beta: per-row weights w with grad = X' w (w = y - P when every lambda is 1).
        in_chosen_nest = c.cell_of_row == cc[s.group_of_row]
        w = -pc.nest_p[c.cell_of_row] * pc.q
        w += np.where(
            in_chosen_nest, (lam_m - 1.0)[s.group_of_row] / lam_m[s.group_of_row] * pc.q, 0.0
        )
        w[ch] += 1.0 / lam_m
        grad_beta = s.X.T @ w

        # d/d lambda_k, per situation: every nest through the log-sum term, the chosen nest more.
        vbar = np.add.reduceat(pc.q * pc.v, c.starts)
        per_cell = -pc.nest_p * (pc.iv - vbar / pc.lam_cell)
        lam_scores = np.zeros((s.n_groups, self.n_nests))
        lam_scores[c.group, c.nest] = per_cell
        lam_scores[np.arange(s.n_groups), c.nest[cc]] += (
            -pc.v[ch] / lam_m**2 + pc.iv[cc] - (lam_m - 1.0) * vbar[cc] / lam_m**2
        )
        lam_scores = lam_scores[:, self.estimated]
        grad = np.r_[grad_beta, lam_scores.sum(axis=0)]
        unit_scores = None
        if scores:
            beta_scores = np.add.reduceat(s.X * w[:, None], s.starts, axis=0)
            unit_scores = np.hstack([beta_scores, lam_scores])
        return ll, grad, unit_scores

    def hessian(self, theta: FloatArray) -> None:
        return None


class NestedLogit(ChoiceModel):
    """Nested logit fitted by maximum likelihood on long-format choice data.

    Parameters
    ----------
    nests:
        Nest name -> the alternative ids it holds; every alternative in the data must be in
        exactly one nest, e.g. ``{"tiers": ["BASIC", "PRO"], "lapse": ["LAPSE"]}``.
    alternative:
        Name of the DataFrame column of ``X`` holding each row's alternative id (it is not used
        as a feature). Alternatively pass ``alternatives=`` to :meth:`fit` and :meth:`predict_proba`.
    max_iter, tol:
        As for :class:`ConditionalLogit`.

    Attributes
    ----------
    lambda_:
        Nest name -> dissimilarity; nests that never offer two alternatives at once hold 1.0.
    coef_:
        Feature coefficients followed by the estimated lambdas (named ``lambda.<nest>``).
    The other fitted attributes are those of :class:`ConditionalLogit`.
    """

    def __init__(
        self,
        nests: Mapping[str, Sequence[Hashable]] | None = None,
        alternative: str | None = None,
        *,
        max_iter: int = 500,
        tol: float = 1e-6,
    ) -> None:
        self.nests = nests
        self.alternative = alternative
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        X: ArrayLike | pd.DataFrame,
        y: ArrayLike | pd.Series,
        groups: ArrayLike | pd.Series,
        alternatives: ArrayLike | pd.Series | None = None,
    ) -> NestedLogit:
        """Estimate coefficients and nest dissimilarities; returns ``self``."""
        nest_names, lookup = self._nest_lookup()
        alts = self._alternative_ids(X, alternatives)
        matrix, names = feature_matrix(X, exclude=self._id_columns())
        labels = self._record_features(names, matrix.shape[1])
        nest_of_row = _nest_of(alts, lookup)
        s = arrange(matrix, groups, y, within=nest_of_row)
        check_varies(s, labels)
        cells = _cells(s, nest_of_row[s.order])
        cell_sizes = np.diff(np.r_[cells.starts, s.n_rows])
        estimated = np.unique(cells.nest[cell_sizes >= 2]).astype(np.intp)

        # Start from the conditional logit (the lambda = 1 case): cheap, concave, and close.
        start = _ConditionalProblem(s)
        res = optimize.minimize(
            lambda b: tuple(-t / s.n_groups for t in start.loglik(b)[:2]),
            start.theta0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter},
        )
        problem = _NestedProblem(s, cells, len(nest_names), estimated, np.asarray(res.x))
        self.nest_names_ = nest_names
        self.lambda_estimated_ = [nest_names[i] for i in estimated]
        self._estimate(problem, [*labels, *(f"lambda.{n}" for n in self.lambda_estimated_)])
        lam = problem.lambdas(self.coef_)
        self.lambda_ = {name: float(lam[i]) for i, name in enumerate(nest_names)}
        return self

    # ------------------------------------------------------------------ prediction

    def predict_proba(
        self,
        X: ArrayLike | pd.DataFrame,
        groups: ArrayLike | pd.Series,
        coef: ArrayLike | None = None,
        alternatives: ArrayLike | pd.Series | None = None,
    ) -> FloatArray:
        """Choice probability of each row within its situation, aligned with the rows of ``X``.

        ``coef`` works as in :meth:`ConditionalLogit.predict_proba` (lambdas included).
        """
        rows, single = self._coef_rows(coef)
        _, lookup = self._nest_lookup()
        alts = self._alternative_ids(X, alternatives)
        matrix, _ = feature_matrix(
            X,
            expected=self._expected_names(),
            n_expected=self.n_features_in_,
            exclude=self._id_columns(),
        )
        nest_of_row = _nest_of(alts, lookup)
        s = arrange(matrix, groups, within=nest_of_row)
        cells = _cells(s, nest_of_row[s.order])
        out = []
        for theta in rows:
            pc = _pieces(s.X, theta[: self.n_features_in_], self._lambdas(theta), cells)
            out.append(s.to_caller_order(pc.q * pc.nest_p[cells.cell_of_row]))
        stacked = np.stack(out)
        return stacked[0] if single else stacked

    def probabilities_wide(
        self,
        X3d: ArrayLike,
        available: ArrayLike | None = None,
        coef: ArrayLike | None = None,
        alternatives: Sequence[Hashable] | None = None,
    ) -> FloatArray:
        """Choice probabilities for the wide layout (members, alternatives, features).

        ``alternatives`` names the alternative of each column of ``X3d``; by default the
        alternatives of ``nests`` in the order listed. Otherwise as
        :meth:`ConditionalLogit.probabilities_wide`.
        """
        check_is_fitted(self, "coef_")
        rows, single = self._coef_rows(coef)
        _, lookup = self._nest_lookup()
        cols = list(alternatives) if alternatives is not None else list(lookup)
        arr, mask = wide_inputs(X3d, available, self.n_features_in_)
        if arr.shape[1] != len(cols):
            raise ValueError(
                f"X3d has {arr.shape[1]} alternatives but {len(cols)} alternative ids were given: {cols}"
            )
        nest_of_col = _nest_of(np.asarray(cols, dtype=object), lookup)
        out = np.stack(
            [
                _wide_nested(
                    arr @ theta[: self.n_features_in_], mask, nest_of_col, self._lambdas(theta)
                )
                for theta in rows
            ]
        )
        return out[0] if single else out

    # ------------------------------------------------------------------ helpers

    def _lambdas(self, theta: FloatArray) -> FloatArray:
        lam = np.ones(len(self.nest_names_))
        idx = [self.nest_names_.index(n) for n in self.lambda_estimated_]
        lam[idx] = theta[self.n_features_in_ :]
        return lam

    def _clip_params(self, draws: FloatArray) -> FloatArray:
        draws[:, self.n_features_in_ :] = np.clip(draws[:, self.n_features_in_ :], *LAMBDA_BOUNDS)
        return draws

    def _id_columns(self) -> tuple[str, ...]:
        return (self.alternative,) if self.alternative is not None else ()

    def _nest_lookup(self) -> tuple[list[str], dict[Hashable, int]]:
        if not self.nests:
            raise ValueError("NestedLogit needs nests: a mapping of nest name -> alternative ids")
        lookup: dict[Hashable, int] = {}
        for m, (name, members) in enumerate(self.nests.items()):
            ids = [members] if isinstance(members, str) else list(members)
            if not ids:
                raise ValueError(f"nest {name!r} holds no alternatives")
            for alt in ids:
                if alt in lookup:
                    other = list(self.nests)[lookup[alt]]
                    raise ValueError(f"alternative {alt!r} is in two nests: {other!r} and {name!r}")
                lookup[alt] = m
        return [str(n) for n in self.nests], lookup

    def _alternative_ids(self, X: Any, alternatives: ArrayLike | pd.Series | None) -> NDArray[Any]:
        if alternatives is not None:
            arr = (
                alternatives.to_numpy()
                if isinstance(alternatives, pd.Series)
                else np.asarray(alternatives)
            )
        elif (
            self.alternative is not None
            and isinstance(X, pd.DataFrame)
            and self.alternative in X.columns
        ):
            arr = X[self.alternative].to_numpy()
        else:
            raise ValueError(
                "NestedLogit needs the alternative id of each row: pass alternatives= or set "
                "alternative= to the name of a column of X"
                + (
                    f" (X has no column {self.alternative!r})"
                    if self.alternative is not None
                    else ""
                )
            )
        n = len(X)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"alternatives must be 1-D with one id per row of X ({n}), got shape {arr.shape}"
            )
        return arr


def _nest_of(alts: NDArray[Any], lookup: Mapping[Hashable, int]) -> IntArray:
    """Nest index of each alternative id, naming any id that is in no nest."""
    codes, values = pd.factorize(np.asarray(alts), use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(
            f"alternatives has missing values, the first at row {int(np.argmax(codes < 0))}"
        )
    missing = [_key(v) for v in values if _key(v) not in lookup]
    if missing:
        raise ValueError(f"alternatives {missing[:10]} are in no nest; add them to nests")
    per_value = np.array([lookup[_key(v)] for v in values], dtype=np.intp)
    return per_value[codes]


def _key(value: Any) -> Hashable:
    return value.item() if isinstance(value, np.generic) else value


def _wide_nested(
    v: FloatArray, mask: NDArray[np.bool_], nest_of_col: IntArray, lam: FloatArray
) -> FloatArray:
    """Nested-logit probabilities over the columns of ``v`` (members x alternatives)."""
    n, J = v.shape
    n_nests = lam.shape[0]
    inclusive = np.full((n, n_nests), -np.inf)
    within = np.zeros((n, J))
    for m in range(n_nests):
        cols = np.flatnonzero(nest_of_col == m)
        if cols.size == 0:
            continue
        scaled = np.where(mask[:, cols], v[:, cols] / lam[m], -np.inf)
        top = scaled.max(axis=1)
        open_nest = np.isfinite(top)
        safe_top = np.where(open_nest, top, 0.0)
        expo = np.exp(scaled - safe_top[:, None])
        total = expo.sum(axis=1)
        within[:, cols] = expo / np.where(open_nest, total, 1.0)[:, None]
        inclusive[open_nest, m] = lam[m] * (safe_top[open_nest] + np.log(total[open_nest]))
    nest_p = np.exp(inclusive - inclusive.max(axis=1, keepdims=True))
    nest_p /= nest_p.sum(axis=1, keepdims=True)
    return np.asarray(within * nest_p[:, nest_of_col], dtype=np.float64)
