"""Honest evaluation of multiclass outcome probabilities.

Every function takes the observed labels ``y`` and the predicted probabilities ``proba``, either a
DataFrame whose columns are the outcomes or an (n, K) array with ``classes`` naming its columns.
:func:`evaluate` bundles them: overall and per-group (e.g. by tier) log loss, Brier score,
one-vs-rest AUC, lift in the top decile, binned calibration, and agreement with ground-truth
probabilities when a simulation provides them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, rankdata, spearmanr

ALL = "(all)"
"""The group label of whole-population rows in :class:`Evaluation` tables."""


def _matrix(proba: Any, classes: Sequence[Any] | None) -> tuple[np.ndarray, list[Any]]:
    if isinstance(proba, pd.DataFrame):
        names = list(proba.columns) if classes is None else list(classes)
        missing = [c for c in names if c not in proba.columns]
        if missing:
            raise ValueError(f"proba has no column for outcome(s) {missing}")
        return proba[names].to_numpy(dtype=np.float64), names
    matrix = np.asarray(proba, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"proba must be (rows, outcomes), got shape {matrix.shape}")
    if classes is None or len(classes) != matrix.shape[1]:
        raise ValueError(f"classes must name the {matrix.shape[1]} columns of an array proba")
    return matrix, list(classes)


def _indices(y: Any, names: list[Any], n_rows: int) -> np.ndarray:
    labels = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y, dtype=object)
    if len(labels) != n_rows:
        raise ValueError(f"y has {len(labels)} labels but proba has {n_rows} rows")
    if n_rows == 0:
        raise ValueError("y and proba are empty")
    lookup = {name: i for i, name in enumerate(names)}
    unknown = sorted({str(v) for v in labels if v not in lookup})
    if unknown:
        raise ValueError(f"y has labels with no probability column: {unknown}")
    return np.fromiter((lookup[v] for v in labels), dtype=np.int64, count=n_rows)


def log_loss(
    y: Any, proba: Any, classes: Sequence[Any] | None = None, *, eps: float = 1e-15
) -> float:
    """Mean negative log probability of the observed outcome (probabilities clipped to ``eps``)."""
    matrix, names = _matrix(proba, classes)
    idx = _indices(y, names, len(matrix))
    picked = np.clip(matrix[np.arange(len(idx)), idx], eps, 1.0)
    return float(-np.mean(np.log(picked)))


def brier_score(y: Any, proba: Any, classes: Sequence[Any] | None = None) -> float:
    """Multiclass Brier score: mean over rows of the sum over outcomes of (p - observed)^2."""
    matrix, names = _matrix(proba, classes)
    idx = _indices(y, names, len(matrix))
    onehot = np.zeros_like(matrix)
    onehot[np.arange(len(idx)), idx] = 1.0
    return float(np.mean(np.sum((matrix - onehot) ** 2, axis=1)))


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Mann-Whitney U with average ranks: ties between a positive and a negative count one half.
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def one_vs_rest_auc(y: Any, proba: Any, classes: Sequence[Any] | None = None) -> pd.Series:
    """AUC of each outcome's probability against all other outcomes (NaN when undefined)."""
    matrix, names = _matrix(proba, classes)
    idx = _indices(y, names, len(matrix))
    return pd.Series(
        [_auc(idx == k, matrix[:, k]) for k in range(len(names))], index=names, name="auc"
    )


def calibration_curve(
    y: Any,
    proba: Any,
    classes: Sequence[Any] | None = None,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> pd.DataFrame:
    """Binned reliability table per outcome.

    ``uniform`` bins split [0, 1] into equal widths; ``quantile`` bins hold equal numbers of rows.
    Empty bins are omitted. Columns: ``outcome, bin, lower, upper, count, mean_predicted,
    observed_rate``.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    matrix, names = _matrix(proba, classes)
    idx = _indices(y, names, len(matrix))
    frames = []
    for k, name in enumerate(names):
        p = matrix[:, k]
        if strategy == "quantile":
            edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
        elif strategy == "uniform":
            edges = np.linspace(0.0, 1.0, n_bins + 1)
        else:
            raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
        bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
        hit = (idx == k).astype(np.float64)
        count = np.bincount(bins, minlength=len(edges) - 1)
        keep = count > 0
        frames.append(
            pd.DataFrame(
                {
                    "outcome": name,
                    "bin": np.arange(len(edges) - 1)[keep],
                    "lower": edges[:-1][keep],
                    "upper": edges[1:][keep],
                    "count": count[keep],
                    "mean_predicted": (np.bincount(bins, p, len(edges) - 1) / np.maximum(count, 1))[
                        keep
                    ],
                    "observed_rate": (
                        np.bincount(bins, hit, len(edges) - 1) / np.maximum(count, 1)
                    )[keep],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def lift_table(
    y: Any, proba: Any, outcome: Any, classes: Sequence[Any] | None = None, *, n_bins: int = 10
) -> pd.DataFrame:
    """Lift by score decile (``n_bins`` equal-size groups, highest probability first).

    Rows are ordered by descending probability (ties in input order) and split into groups whose
    sizes differ by at most one. Columns: ``decile, count, positives, rate, lift,
    cumulative_lift, capture`` where lift is the group's outcome rate over the overall rate and
    capture the cumulative share of all positives found so far.
    """
    matrix, names = _matrix(proba, classes)
    idx = _indices(y, names, len(matrix))
    if outcome not in names:
        raise KeyError(f"unknown outcome {outcome!r}; outcomes are {names}")
    k = names.index(outcome)
    order = np.argsort(-matrix[:, k], kind="stable")
    hits = (idx[order] == k).astype(np.float64)
    overall = hits.mean()
    groups = np.array_split(hits, min(n_bins, len(hits)))
    count = np.array([len(g) for g in groups])
    positives = np.array([g.sum() for g in groups])
    rate = positives / count
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = rate / overall
        cumulative = (np.cumsum(positives) / np.cumsum(count)) / overall
        capture = np.cumsum(positives) / positives.sum()
    return pd.DataFrame(
        {
            "decile": np.arange(1, len(groups) + 1),
            "count": count,
            "positives": positives.astype(np.int64),
            "rate": rate,
            "lift": lift,
            "cumulative_lift": cumulative,
            "capture": capture,
        }
    )


def compare_to_truth(proba: Any, truth: Any, classes: Sequence[Any] | None = None) -> pd.DataFrame:
    """Agreement of predicted with ground-truth probabilities, per outcome.

    Columns: ``pearson, spearman, mae, mean_predicted, mean_true`` (correlations NaN when either
    side is constant).
    """
    predicted, names = _matrix(proba, classes)
    true, _ = _matrix(truth, names)
    if true.shape != predicted.shape:
        raise ValueError(f"truth has shape {true.shape} but proba has {predicted.shape}")
    rows = []
    for k in range(len(names)):
        a, b = predicted[:, k], true[:, k]
        constant = len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0
        rows.append(
            {
                "pearson": float("nan") if constant else float(pearsonr(a, b).statistic),
                "spearman": float("nan") if constant else float(spearmanr(a, b).statistic),
                "mae": float(np.mean(np.abs(a - b))),
                "mean_predicted": float(a.mean()),
                "mean_true": float(b.mean()),
            }
        )
    return pd.DataFrame(rows, index=pd.Index(names, name="outcome"))


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    Attributes:
        summary: one row per group (``(all)`` first): ``n, log_loss, brier``.
        by_outcome: one row per (group, outcome): ``prevalence, mean_predicted, auc, brier,
            lift_top_decile`` and, with truth, ``truth_pearson, truth_spearman, truth_mae``.
        calibration: :func:`calibration_curve` rows for the whole population.
    """

    summary: pd.DataFrame
    by_outcome: pd.DataFrame
    calibration: pd.DataFrame


def evaluate(
    y: Any,
    proba: Any,
    classes: Sequence[Any] | None = None,
    *,
    groups: Any = None,
    truth: Any = None,
    n_bins: int = 10,
) -> Evaluation:
    """Overall and per-group metrics for multiclass probabilities.

    Args:
        y: observed outcomes.
        proba: predicted probabilities (DataFrame with outcome columns, or array + ``classes``).
        classes: outcome names for array inputs.
        groups: optional group label per row (e.g. the member's tier).
        truth: optional ground-truth probabilities, same layout as ``proba``.
        n_bins: bins for the calibration table.
    """
    matrix, names = _matrix(proba, classes)
    labels = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y, dtype=object)
    _indices(labels, names, len(matrix))
    true = _matrix(truth, names)[0] if truth is not None else None
    parts: list[tuple[Any, np.ndarray]] = [(ALL, np.ones(len(matrix), dtype=bool))]
    if groups is not None:
        keys = pd.Series(
            np.asarray(groups.to_numpy() if isinstance(groups, pd.Series) else groups, dtype=object)
        )
        if len(keys) != len(matrix):
            raise ValueError(f"groups has {len(keys)} values but proba has {len(matrix)} rows")
        for key in sorted(keys.dropna().unique(), key=str):
            parts.append((key, (keys == key).to_numpy()))

    summary, by_outcome = [], []
    for key, mask in parts:
        p, obs = matrix[mask], labels[mask]
        summary.append(
            {
                "group": key,
                "n": int(mask.sum()),
                "log_loss": log_loss(obs, p, names),
                "brier": brier_score(obs, p, names),
            }
        )
        auc = one_vs_rest_auc(obs, p, names)
        agreement = compare_to_truth(p, true[mask], names) if true is not None else None
        for k, name in enumerate(names):
            hit = obs == name
            row: dict[str, Any] = {
                "group": key,
                "outcome": name,
                "prevalence": float(hit.mean()),
                "mean_predicted": float(p[:, k].mean()),
                "auc": float(auc[name]),
                "brier": float(np.mean((p[:, k] - hit) ** 2)),
                "lift_top_decile": float(lift_table(obs, p, name, names)["lift"].iloc[0])
                if hit.any()
                else float("nan"),
            }
            if agreement is not None:
                row["truth_pearson"] = float(agreement.loc[name, "pearson"])
                row["truth_spearman"] = float(agreement.loc[name, "spearman"])
                row["truth_mae"] = float(agreement.loc[name, "mae"])
            by_outcome.append(row)
    return Evaluation(
        summary=pd.DataFrame(summary),
        by_outcome=pd.DataFrame(by_outcome),
        calibration=calibration_curve(labels, matrix, names, n_bins=n_bins),
    )
