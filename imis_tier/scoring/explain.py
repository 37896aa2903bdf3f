"""Additive explanations of an outcome score: per-feature contributions that sum to it exactly.

Two scales are reported for every row, feature and outcome:

``logit``
    The feature's term in the outcome's calibrated logit. ``baseline + sum(logit) == score`` holds
    exactly (it is how the model computes the score). The baseline is the logit of a member whose
    every feature sits at its training average (each feature's terms are centred on the training
    rows), not the average prediction.

``points``
    Probability points on a 0-100 scale, summing exactly to ``100 * (p_k(x) - p_k(baseline))``.
    In a multinomial model a class's probability depends on every class's logit, so a feature's
    points for outcome ``k`` are its integrated-gradients share along the straight path from the
    baseline logits to the row's logits: ``100 * sum_m c_jm * mean_t dp_k/dz_m``, the path mean
    taken by Gauss-Legendre quadrature. Because the logits are linear in the contributions, this
    is exact up to quadrature error, which (usually at rounding level) is added to the largest
    driver of any row and outcome where it exceeds 1e-12 points, so the sum is exact to that.
    Properties: a feature with no logit effect gets no points; adding the same amount to every
    class's logit (which changes no probability) changes no points; a feature's points over all
    outcomes sum to (approximately) zero, since probability moved toward one outcome comes from the
    others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import softmax

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(12)
_NODES = (_NODES + 1.0) / 2.0  # map [-1, 1] onto the path parameter t in [0, 1]
_WEIGHTS = _WEIGHTS / 2.0
_EXACT = 1e-12  # points: residuals below this are rounding, not quadrature error


@dataclass(frozen=True, eq=False)
class Explanation:
    """Per-row, per-feature, per-outcome contributions of a fitted additive model.

    Attributes:
        index: row labels (the input's index).
        features: feature names, in model order.
        outcomes: outcome labels, in the model's ``classes_`` order.
        values: the explained rows' original feature values (rows x features).
        logit: (rows, features, outcomes) contributions in logit units.
        points: (rows, features, outcomes) contributions in probability points (0-100 scale).
        baseline_logit: (outcomes,) the baseline logits.
        score_logit: (rows, outcomes) the calibrated logits, ``baseline_logit + logit.sum(axis=1)``.
    """

    index: pd.Index
    features: tuple[str, ...]
    outcomes: tuple[Any, ...]
    values: pd.DataFrame
    logit: np.ndarray
    points: np.ndarray
    baseline_logit: np.ndarray
    score_logit: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @property
    def baseline(self) -> pd.Series:
        """Baseline logit per outcome."""
        return pd.Series(self.baseline_logit, index=list(self.outcomes), name="baseline")

    @property
    def baseline_probability(self) -> pd.Series:
        """Softmax of the baseline logits: the probability each outcome's points start from."""
        return pd.Series(softmax(self.baseline_logit), index=list(self.outcomes), name="baseline")

    @property
    def score(self) -> pd.DataFrame:
        """Calibrated logit per row and outcome (what the contributions sum to)."""
        return pd.DataFrame(self.score_logit, index=self.index, columns=list(self.outcomes))

    @property
    def probability(self) -> pd.DataFrame:
        """Calibrated probability per row and outcome."""
        return pd.DataFrame(
            softmax(self.score_logit, axis=1), index=self.index, columns=list(self.outcomes)
        )

    @property
    def contributions(self) -> pd.DataFrame:
        """Tidy table: one row per (row, outcome, feature) with value, logit and points.

        Builds rows x features x outcomes records; for very large inputs prefer :meth:`top`,
        :meth:`frame` or the arrays.
        """
        n, f, k = self.logit.shape
        rows = np.repeat(self.index.to_numpy(), f * k)
        outcome = np.tile(np.repeat(np.asarray(self.outcomes, dtype=object), f), n)
        feature = np.tile(np.asarray(self.features, dtype=object), n * k)
        values = self.values.to_numpy(dtype=object)
        value = np.repeat(values, k, axis=0).ravel() if n else np.empty(0, dtype=object)
        return pd.DataFrame(
            {
                "row": rows,
                "outcome": outcome,
                "feature": feature,
                "value": value,
                "logit": self.logit.transpose(0, 2, 1).ravel(),
                "points": self.points.transpose(0, 2, 1).ravel(),
            }
        )

    def frame(self, outcome: Any, scale: Literal["points", "logit"] = "points") -> pd.DataFrame:
        """One outcome's contributions as a wide table (rows x features)."""
        data = self.points if scale == "points" else self.logit
        k = self._outcome_index(outcome)
        return pd.DataFrame(data[:, :, k], index=self.index, columns=list(self.features))

    def top(
        self,
        k: int = 3,
        outcome: Any = None,
        *,
        by: Literal["points", "logit"] = "points",
        direction: Literal["both", "positive", "negative"] = "both",
    ) -> pd.DataFrame:
        """The ``k`` strongest drivers per row, as a tidy table.

        Args:
            k: drivers per row.
            outcome: the outcome to explain; ``None`` takes each row's most probable outcome.
            by: rank on ``points`` or ``logit`` magnitude.
            direction: ``both`` ranks by absolute size; ``positive``/``negative`` keep only
                drivers pushing toward / away from the outcome.

        Returns:
            Columns ``row, outcome, rank, feature, value, logit, points`` (rank 1 is strongest),
            sorted by row then rank. Rows with fewer than ``k`` qualifying drivers get fewer.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        n, f, _ = self.logit.shape
        if outcome is None:
            chosen = np.argmax(self.score_logit, axis=1)
        else:
            chosen = np.full(n, self._outcome_index(outcome))
        rows = np.arange(n)
        logit = self.logit[rows, :, chosen]
        points = self.points[rows, :, chosen]
        key = points if by == "points" else logit
        if direction == "positive":
            strength = np.where(key > 0, key, -np.inf)
        elif direction == "negative":
            strength = np.where(key < 0, -key, -np.inf)
        else:
            strength = np.abs(key)
        take = min(k, f)
        if take < f:
            part = np.argpartition(-strength, take - 1, axis=1)[:, :take]
            within = np.argsort(-np.take_along_axis(strength, part, axis=1), axis=1, kind="stable")
            order = np.take_along_axis(part, within, axis=1)
        else:
            order = np.argsort(-strength, axis=1, kind="stable")
        picked = np.take_along_axis(strength, order, axis=1)
        keep = np.isfinite(picked).ravel()
        row_pos = np.repeat(rows, take)[keep]
        feat_pos = order.ravel()[keep]
        return pd.DataFrame(
            {
                "row": self.index.to_numpy()[row_pos],
                "outcome": np.asarray(self.outcomes, dtype=object)[chosen[row_pos]],
                "rank": np.tile(np.arange(1, take + 1), n)[keep],
                "feature": np.asarray(self.features, dtype=object)[feat_pos],
                "value": self._values_at(row_pos, feat_pos),
                "logit": logit[row_pos, feat_pos],
                "points": points[row_pos, feat_pos],
            }
        )

    def _values_at(self, row_pos: np.ndarray, feat_pos: np.ndarray) -> np.ndarray:
        """Original values at (row, feature) positions, one column at a time (no full copy)."""
        out = np.empty(len(row_pos), dtype=object)
        for j in np.unique(feat_pos):
            hit = feat_pos == j
            out[hit] = self.values.iloc[:, j].iloc[row_pos[hit]].to_numpy(dtype=object)
        return out

    def _outcome_index(self, outcome: Any) -> int:
        try:
            return self.outcomes.index(outcome)
        except ValueError:
            raise KeyError(
                f"unknown outcome {outcome!r}; outcomes are {list(self.outcomes)}"
            ) from None


def build_explanation(
    *,
    index: pd.Index,
    values: pd.DataFrame,
    features: Sequence[str],
    outcomes: Sequence[Any],
    baseline_logit: np.ndarray,
    contributions: np.ndarray,
) -> Explanation:
    """Assemble an :class:`Explanation` from exact logit contributions (rows, features, outcomes)."""
    score = baseline_logit + contributions.sum(axis=1)
    return Explanation(
        index=index,
        features=tuple(features),
        outcomes=tuple(outcomes),
        values=values,
        logit=contributions,
        points=probability_points(baseline_logit, contributions, score),
        baseline_logit=np.asarray(baseline_logit, dtype=np.float64),
        score_logit=score,
    )


def probability_points(
    baseline_logit: np.ndarray, contributions: np.ndarray, score_logit: np.ndarray
) -> np.ndarray:
    """Integrated-gradients points (0-100 scale) that sum exactly to 100 * (p(x) - p(baseline)).

    Args:
        baseline_logit: (K,) baseline logits.
        contributions: (n, F, K) logit contributions, summing over F to ``score - baseline``.
        score_logit: (n, K) logits of the rows.
    """
    n, _, k = contributions.shape
    delta = score_logit - baseline_logit
    # Path-averaged softmax Jacobian G = mean_t (diag(p) - p p^T) at baseline + t * delta, built
    # entry by entry on contiguous (rows,) vectors: K is small, the row count is not.
    acc = np.zeros((k, k, n))
    for t, w in zip(_NODES, _WEIGHTS, strict=True):
        p = softmax(baseline_logit + t * delta, axis=1).T.copy()
        for i in range(k):
            wp = w * p[i]
            acc[i, i] += wp
            for j in range(i, k):
                acc[i, j] -= wp * p[j]
    for i in range(k):
        for j in range(i + 1, k):
            acc[j, i] = acc[i, j]
    jac = np.ascontiguousarray(acc.transpose(2, 0, 1))
    # points[n, f, k] = 100 * sum_m c[n, f, m] * G[n, k, m]; G is symmetric, so c @ G.
    points = np.matmul(contributions, jac)
    points *= 100.0
    target = 100.0 * (softmax(score_logit, axis=1) - softmax(baseline_logit))
    residual = target - points.sum(axis=1)
    # The quadrature residual is usually at rounding level; where it is not, it goes to the row
    # and outcome's largest driver, which makes the sum exact without touching features that have
    # no effect.
    fix = np.flatnonzero(np.abs(residual).max(axis=1) > _EXACT)
    if len(fix):
        largest = np.argmax(np.abs(points[fix]), axis=1)
        points[fix[:, None], largest, np.arange(k)[None, :]] += residual[fix]
    return points
