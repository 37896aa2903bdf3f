"""Month and day arithmetic on integer arrays (months since 1970-01, days since 1970-01-01)."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

NO_DAY = np.int32(np.iinfo(np.int32).min)
"""Sentinel day number for "no date" (becomes NaT in frames)."""


def month_of(d: date) -> int:
    """Months since 1970-01 of the month containing ``d``."""
    return (d.year - 1970) * 12 + d.month - 1


def month_date(month: int) -> date:
    """The first day of a month index."""
    return date(1970 + month // 12, month % 12 + 1, 1)


def month_start(month: int | npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """Day number of the first day of each month index."""
    m = np.asarray(month, dtype="int64").astype("datetime64[M]")
    return np.asarray(m.astype("datetime64[D]").astype(np.int64), dtype=np.int32)


def month_end(month: int | npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """Day number of the last day of each month index."""
    return month_start(np.asarray(month, dtype=np.int64) + 1) - np.int32(1)


def day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def month_of_days(days: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """Month index of each day number."""
    m = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
    return np.asarray(m.astype(np.int64), dtype=np.int32)


def to_datetime(days: npt.NDArray[np.integer], consume: bool = False) -> npt.NDArray[np.datetime64]:
    """Day numbers as ``datetime64[ns]`` midnight values, with :data:`NO_DAY` as NaT.

    ``consume=True`` reuses an int64 ``days`` array for the result (no second copy).
    """
    days = np.asarray(days)
    missing = days == NO_DAY
    out = days.astype(np.int64, copy=not (consume and days.dtype == np.int64))
    out *= 86_400_000_000_000  # in place: one temporary for a table of tens of millions of rows
    out[missing] = np.iinfo(np.int64).min  # NaT
    return out.view("datetime64[ns]")
