"""Checking and arranging long-format choice data: one row per available alternative.

Estimators work on rows sorted so that every choice situation (and, where asked, every nest
within it and every panel unit around it) is one contiguous block; ``np.add.reduceat`` over the
block starts then does all per-situation sums in one pass. :class:`Situations` keeps the
permutation so results go back to the caller's row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_SHOW = 5  # how many offending ids an error message lists


def _some(labels: Sequence[Any] | NDArray[Any]) -> str:
    shown = ", ".join(repr(x.item() if hasattr(x, "item") else x) for x in list(labels)[:_SHOW])
    more = len(labels) - _SHOW
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


def feature_matrix(
    X: ArrayLike | pd.DataFrame,
    *,
    expected: Sequence[str] | None = None,
    n_expected: int | None = None,
    exclude: Sequence[str] = (),
) -> tuple[FloatArray, list[str] | None]:
    """``X`` as a finite float matrix, with its column names when it is a DataFrame.

    ``expected`` (the names seen at fit) selects and orders a DataFrame's columns, so prediction
    data may carry extra columns in any order; ``exclude`` drops id columns such as the
    alternative column of a nested logit.
    """
    names: list[str] | None
    if isinstance(X, pd.DataFrame):
        if expected is not None:
            missing = [c for c in expected if c not in X.columns]
            if missing:
                raise ValueError(f"X is missing the columns the model was fitted on: {missing}")
            cols: list[Any] = list(expected)
        else:
            cols = [c for c in X.columns if c not in exclude]
        names = [str(c) for c in cols]
        frame = X[cols]
        bad = [str(c) for c in cols if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise ValueError(f"X columns {bad} are not numeric; encode them as dummy columns")
        matrix = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            matrix = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X must be a numeric 2-D array: {exc}") from exc
        names = None
        if matrix.ndim != 2:
            raise ValueError(f"X must be 2-D (rows x features), got shape {matrix.shape}")
    if n_expected is not None and matrix.shape[1] != n_expected:
        raise ValueError(f"X has {matrix.shape[1]} features, the model was fitted on {n_expected}")
    bad_cells = ~np.isfinite(matrix)
    if bad_cells.any():
        row, col = np.argwhere(bad_cells)[0]
        where = names[col] if names is not None else f"x{col}"
        raise ValueError(
            f"X has {int(bad_cells.sum())} NaN or infinite value(s); the first is in column "
            f"{where!r} at row {int(row)}"
        )
    return np.ascontiguousarray(matrix), names


def codes_of(
    values: ArrayLike | pd.Series, what: str, n_rows: int
) -> tuple[IntArray, NDArray[Any]]:
    """Integer codes (0..K-1, in order of first appearance) and the labels they stand for."""
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ValueError(
            f"{what} must be 1-D with one entry per row of X ({n_rows}), got shape {arr.shape}"
        )
    codes, labels = pd.factorize(arr, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(f"{what} has missing values, the first at row {int(np.argmax(codes < 0))}")
    return codes.astype(np.intp), np.asarray(labels)


@dataclass(frozen=True)
class Situations:
    """Rows of long-format data arranged into contiguous choice situations.

    ``order[i]`` is the caller's row that sits at sorted position ``i``. Situations are numbered
    0..n_groups-1 in sorted order; ``labels[g]`` is the caller's id for situation ``g``.
    """

    X: FloatArray
    order: IntArray
    group_of_row: IntArray
    starts: IntArray
    sizes: IntArray
    labels: NDArray[Any]
    chosen_rows: IntArray | None
    unit_group_starts: IntArray | None  # first situation of each panel unit, when a panel is given

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.starts.shape[0])

    def to_caller_order(self, sorted_values: NDArray[Any]) -> NDArray[Any]:
        """Put per-row values computed in sorted order back into the caller's row order."""
        out = np.empty_like(sorted_values)
        out[..., self.order] = sorted_values
        return out


def arrange(
    X: FloatArray,
    groups: ArrayLike | pd.Series,
    y: ArrayLike | pd.Series | None = None,
    *,
    within: IntArray | None = None,
    panel: ArrayLike | pd.Series | None = None,
) -> Situations:
    """Sort rows into contiguous situations and check the choices.

    ``within`` orders rows inside a situation (the nest of each row, so nests are contiguous);
    ``panel`` groups situations into units (the same member over several renewals), each unit
    contiguous. With ``y`` every situation must have exactly one chosen row; every situation
    must offer at least two alternatives.
    """
    n = X.shape[0]
    if n == 0:
        raise ValueError("X has no rows")
    gcodes, glabels = codes_of(groups, "groups", n)
    keys: list[NDArray[Any]] = []
    if within is not None:
        keys.append(within)
    keys.append(gcodes)
    pcodes = None
    if panel is not None:
        pcodes, _ = codes_of(panel, "panel", n)
        first_row = np.full(glabels.shape[0], -1, dtype=np.intp)
        first_row[gcodes[::-1]] = np.arange(n - 1, -1, -1)  # reversed: first occurrence wins
        varies = pcodes != pcodes[first_row[gcodes]]
        if varies.any():
            raise ValueError(
                f"panel must be constant within each choice situation; it varies in groups "
                f"{_some(np.unique(glabels[gcodes[varies]]))}"
            )
        keys.append(pcodes)
    order = np.lexsort(keys).astype(np.intp)
    g_sorted = gcodes[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]]).astype(np.intp)
    sizes = np.diff(np.r_[starts, n]).astype(np.intp)
    labels = glabels[g_sorted[starts]]
    group_of_row = np.repeat(np.arange(starts.shape[0], dtype=np.intp), sizes)
    if (sizes < 2).any():
        raise ValueError(
            f"{int((sizes < 2).sum())} choice situation(s) offer a single alternative and carry no "
            f"information; drop them first: groups {_some(labels[sizes < 2])}"
        )
    unit_group_starts = None
    if pcodes is not None:
        p_sorted = pcodes[order]
        p_group = p_sorted[starts]
        unit_group_starts = np.flatnonzero(np.r_[True, p_group[1:] != p_group[:-1]]).astype(np.intp)
    chosen_rows = None
    if y is not None:
        chosen_rows = _chosen_rows(y, order, starts, labels, n)
    return Situations(
        X=np.ascontiguousarray(X[order]),
        order=order,
        group_of_row=group_of_row,
        starts=starts,
        sizes=sizes,
        labels=labels,
        chosen_rows=chosen_rows,
        unit_group_starts=unit_group_starts,
    )


def _chosen_rows(
    y: ArrayLike | pd.Series,
    order: IntArray,
    starts: IntArray,
    labels: NDArray[Any],
    n: int,
) -> IntArray:
    arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"y must be 1-D with one entry per row of X ({n}), got shape {arr.shape}")
    try:
        values = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must be 0/1 (1 marks the chosen row): {exc}") from exc
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"y must be 0/1 (1 marks the chosen row); row {row} has {arr[row]!r}")
    chosen = values[order] == 1.0
    counts = np.add.reduceat(chosen.astype(np.intp), starts)
    if (counts == 0).any():
        raise ValueError(
            f"{int((counts == 0).sum())} choice situation(s) have no chosen row (y == 1): "
            f"groups {_some(labels[counts == 0])}"
        )
    if (counts > 1).any():
        raise ValueError(
            f"{int((counts > 1).sum())} choice situation(s) have more than one chosen row: "
            f"groups {_some(labels[counts > 1])}"
        )
    return np.flatnonzero(chosen).astype(np.intp)


def check_varies(s: Situations, names: Sequence[str]) -> None:
    """Refuse features that never vary within a situation: their coefficient is not identified."""
    first = s.X[s.starts][s.group_of_row]
    varies = np.any(first != s.X, axis=0)
    if not varies.all():
        flat = [names[int(i)] for i in np.flatnonzero(~varies)]
        raise ValueError(
            f"features {flat} never vary across the alternatives of a choice situation, so their "
            f"coefficients are not identified; interact member traits with alternative dummies"
        )


def feature_names(names: list[str] | None, k: int) -> list[str]:
    """The fitted names, or ``x0, x1, ...`` for array input."""
    return names if names is not None else [f"x{i}" for i in range(k)]
