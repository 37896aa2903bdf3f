"""Per-feature level encoding for the additive propensity model.

Every original feature becomes one categorical "level" per row: a quantile bin (or an exact
value, when a numeric column has few distinct values) for numerics, the category itself for
categoricals, plus a ``missing`` level and, for categoricals, an ``unknown`` level that rare and
unseen categories share. A row is then a vector of level indices, one per feature, which is all the
model needs: the design matrix is their one-hot expansion, and scoring is a table lookup.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

MISSING = "(missing)"
"""Level label for a missing value (NaN / None / pd.NA)."""
UNKNOWN = "(unknown)"
"""Level label shared by categories that were rare or never seen in training."""


@dataclass(frozen=True)
class NumericEncoding:
    """A numeric feature: ``searchsorted`` into ``thresholds``; the last level is ``missing``."""

    name: str
    thresholds: np.ndarray

    @property
    def n_levels(self) -> int:
        return len(self.thresholds) + 2

    @property
    def kind(self) -> str:
        return "numeric"

    def level_labels(self) -> list[str]:
        edges = [-np.inf, *self.thresholds.tolist(), np.inf]
        labels = [f"[{lo:.6g}, {hi:.6g})" for lo, hi in itertools.pairwise(edges)]
        return [*labels, MISSING]

    def codes(self, column: pd.Series | np.ndarray) -> np.ndarray:
        values = _as_float(column, self.name)
        codes = np.searchsorted(self.thresholds, values, side="right").astype(np.int32)
        codes[np.isnan(values)] = self.n_levels - 1
        return codes


@dataclass(frozen=True)
class CategoricalEncoding:
    """A categorical feature: known categories, then ``unknown``, then ``missing``."""

    name: str
    categories: tuple[str, ...]

    @property
    def n_levels(self) -> int:
        return len(self.categories) + 2

    @property
    def kind(self) -> str:
        return "categorical"

    def level_labels(self) -> list[str]:
        return [*self.categories, UNKNOWN, MISSING]

    def codes(self, column: pd.Series | np.ndarray) -> np.ndarray:
        series = column if isinstance(column, pd.Series) else pd.Series(column, dtype=object)
        missing = series.isna().to_numpy()
        known = pd.Index(self.categories)
        if isinstance(series.dtype, pd.CategoricalDtype):
            # Map the (few) categories once instead of every row.
            cat_codes = known.get_indexer(pd.Index(series.cat.categories.astype(str)))
            raw = series.cat.codes.to_numpy()
            codes = np.where(raw >= 0, cat_codes[raw], -1)
        else:
            codes = known.get_indexer(pd.Index(series.astype(str).to_numpy(dtype=object)))
        codes = np.where(codes < 0, len(self.categories), codes).astype(np.int32)
        codes[missing] = len(self.categories) + 1
        return codes


Encoding = NumericEncoding | CategoricalEncoding


def _as_float(column: pd.Series | np.ndarray, name: str) -> np.ndarray:
    try:
        if isinstance(column, pd.Series):
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.Series(column).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"feature {name!r} was numeric in training but holds non-numeric values"
        ) from exc


def is_categorical(column: pd.Series) -> bool:
    """True when a column is treated as categorical: anything not numeric, and booleans."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return True
    if pd.api.types.is_numeric_dtype(column.dtype):
        return False
    if column.dtype == object:
        # An object column of numbers and None (e.g. from a numpy object array) is numeric.
        present = column.dropna()
        return not all(
            isinstance(v, int | float | np.integer | np.floating)
            and not isinstance(v, bool | np.bool_)
            for v in present.tolist()
        )
    return True


def fit_numeric(name: str, column: pd.Series, n_bins: int) -> NumericEncoding:
    """Quantile thresholds, or midpoints between distinct values when there are few of them."""
    values = _as_float(column, name)
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    if len(distinct) <= n_bins:
        thresholds = (distinct[:-1] + distinct[1:]) / 2.0
    else:
        quantiles = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        # Ties (e.g. a mass of zeros) collapse quantiles; keep edges that split the data.
        thresholds = np.unique(quantiles)
        thresholds = thresholds[thresholds > distinct[0]]
    return NumericEncoding(name, np.asarray(thresholds, dtype=np.float64))


def fit_categorical(name: str, column: pd.Series, min_frequency: int) -> CategoricalEncoding:
    """Categories seen at least ``min_frequency`` times, sorted; the rest pool into ``unknown``."""
    counts = column.dropna().astype(str).value_counts()
    kept = sorted(str(c) for c in counts.index[counts.to_numpy() >= min_frequency])
    return CategoricalEncoding(name, tuple(kept))


def level_codes(frame: pd.DataFrame, encodings: Sequence[Encoding]) -> np.ndarray:
    """The (n_rows, n_features) int32 matrix of level indices."""
    out = np.empty((len(frame), len(encodings)), dtype=np.int32)
    for j, enc in enumerate(encodings):
        out[:, j] = enc.codes(frame.iloc[:, j])
    return out


def one_hot(codes: np.ndarray, offsets: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """One-hot design matrix: exactly one active level per feature per row."""
    n_rows, n_features = codes.shape
    indices = (codes + offsets[np.newaxis, :-1]).ravel().astype(np.int32)
    indptr = np.arange(0, n_rows * n_features + 1, n_features, dtype=np.int64)
    data = np.ones(len(indices), dtype=np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_columns))
