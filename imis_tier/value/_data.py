"""Validate survivor counts and reduce them to the sufficient statistics of a duration model.

Every contractual retention model here sees a cohort the same way: ``n_t`` members lapse at each
renewal opportunity ``t = 1 .. T`` and the ``s_T`` still active when observation stops are
right-censored. Several cohorts observed for different numbers of periods pool into two count
vectors (lapses per ``t``, censored per ``t``), so one likelihood serves one cohort or many.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Survivors = Sequence[Any] | NDArray[Any]
"""One cohort's survivor counts at t = 0, 1, 2, ..."""

SurvivorTable = Any
"""A table of survivor counts: rows are cohorts, columns t = 0, 1, 2, ...

A pandas DataFrame, a 2-D numpy array or a sequence of sequences; a cohort observed for fewer
periods ends early (a shorter row) or pads its tail with NaN / None.
"""


@dataclass(frozen=True)
class DurationData:
    """Pooled counts: ``lapsed[t-1]`` members lapsed at t, ``censored[t-1]`` still active at t.

    ``members`` is the total size of the pooled cohorts (the number of independent
    observations, used by BIC); ``cohort_size`` is the size of the single cohort when there is
    exactly one, else ``None``.
    """

    lapsed: NDArray[np.float64]
    censored: NDArray[np.float64]
    members: int
    cohort_size: int | None

    @property
    def horizon(self) -> int:
        """The last period observed in any cohort."""
        return len(self.lapsed)

    @property
    def periods(self) -> NDArray[np.float64]:
        """t = 1 .. horizon as floats."""
        return np.arange(1, self.horizon + 1, dtype=np.float64)


def _as_count(value: object, where: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{where}: survivor counts must be integers, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: survivor counts must be integers, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{where}: survivor counts must be integers, got {value!r}")
    if number < 0:
        raise ValueError(f"{where}: survivor counts must not be negative, got {value!r}")
    return int(number)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float | np.floating) and math.isnan(float(value))
    except TypeError:
        return False


def validate_survivors(survivors: Survivors, *, label: str = "survivors") -> list[int]:
    """Check one cohort's counts: non-negative integers, non-increasing, first > 0.

    Trailing missing values (NaN / None) are dropped: the cohort was not observed that long.
    Raises ``ValueError`` naming the offending position.
    """
    values = list(survivors)
    while values and _is_missing(values[-1]):
        values.pop()
    counts = [_as_count(v, f"{label}[{t}]") for t, v in enumerate(values)]
    if not counts:
        raise ValueError(f"{label}: no survivor counts given")
    if counts[0] <= 0:
        raise ValueError(f"{label}[0]: the cohort size at t=0 must be positive, got {counts[0]}")
    for t in range(1, len(counts)):
        if counts[t] > counts[t - 1]:
            raise ValueError(
                f"{label}[{t}]: survivors must not increase, got {counts[t]} after {counts[t - 1]}"
            )
    return counts


def _rows(table: SurvivorTable) -> list[list[Any]]:
    if hasattr(table, "to_numpy") and hasattr(table, "columns"):
        return [list(row) for row in table.to_numpy(dtype=object)]
    if isinstance(table, np.ndarray):
        if table.ndim != 2:
            raise ValueError(f"survivor table must be 2-D (cohorts x periods), got {table.ndim}-D")
        return [list(row) for row in table]
    rows = list(table)
    if rows and not all(isinstance(r, Sequence | np.ndarray) for r in rows):
        raise ValueError("survivor table must be a sequence of rows (one per cohort)")
    return [list(row) for row in rows]


def duration_data(cohorts: Sequence[Sequence[int]], *, min_periods: int) -> DurationData:
    """Pool validated cohorts into lapse and censoring counts.

    ``min_periods`` is the fewest renewal opportunities (t >= 1) the longest cohort must span for
    the model's parameters to be identified.
    """
    horizon = max(len(c) - 1 for c in cohorts)
    if horizon < min_periods:
        raise ValueError(
            f"need survivors for at least {min_periods + 1} periods (t = 0..{min_periods}) "
            f"to fit this model, got {horizon + 1}"
        )
    lapsed = np.zeros(horizon, dtype=np.float64)
    censored = np.zeros(horizon, dtype=np.float64)
    for counts in cohorts:
        arr = np.asarray(counts, dtype=np.float64)
        lapsed[: len(arr) - 1] += arr[:-1] - arr[1:]
        if len(arr) > 1:
            censored[len(arr) - 2] += arr[-1]
    if not lapsed.any():
        raise ValueError("no member lapsed in any cohort: retention cannot be estimated")
    if not censored.any() and np.count_nonzero(lapsed) < 2:
        raise ValueError("every member lapsed at one renewal: retention cannot be estimated")
    members = int(sum(c[0] for c in cohorts if len(c) > 1))
    size = cohorts[0][0] if len(cohorts) == 1 else None
    return DurationData(lapsed=lapsed, censored=censored, members=members, cohort_size=size)


def single_cohort(survivors: Survivors, *, min_periods: int) -> DurationData:
    """Validate one cohort and reduce it to :class:`DurationData`."""
    return duration_data([validate_survivors(survivors)], min_periods=min_periods)


def cohort_table(table: SurvivorTable, *, min_periods: int) -> DurationData:
    """Validate a survivor table (rows cohorts, columns t) and pool it, respecting censoring."""
    rows = _rows(table)
    if not rows:
        raise ValueError("survivor table has no cohorts")
    cohorts = [validate_survivors(row, label=f"cohort {i}") for i, row in enumerate(rows)]
    return duration_data(cohorts, min_periods=min_periods)


def table_rows(table: SurvivorTable) -> list[list[Any]]:
    """The rows of a survivor table as plain lists (for splitting by segment)."""
    return _rows(table)
