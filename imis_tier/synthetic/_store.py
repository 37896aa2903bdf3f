"""Row stores the simulation writes into: append-only chunks and growable, updatable tables."""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


def _libc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_TRIM = _libc_trim()


def give_back_memory() -> None:
    """Return freed heap pages to the OS (glibc keeps them otherwise, inflating peak RSS).

    The monthly chunks are small enough to live on the heap; once they are copied into a
    table and freed, glibc would hold on to those pages while the table itself is mapped anew.
    """
    if _TRIM is not None:
        _TRIM(0)


class Chunks:
    """An append-only table kept as one dict of column arrays per append (cheap to grow).

    Rows are handed over once: :meth:`take` moves a column out, :meth:`release` forgets the
    handed-over rows while :attr:`released` keeps counting them (for sequential ids).
    """

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.chunks: list[dict[str, Array]] = []
        self.lengths: list[int] = []
        self.released = 0

    def append(self, **columns: Array) -> None:
        if set(columns) != set(self.columns):
            raise ValueError(f"expected columns {self.columns}, got {sorted(columns)}")
        k = len(next(iter(columns.values())))
        if k:
            self.chunks.append(columns)
            self.lengths.append(k)

    def take(self, name: str, dtype: npt.DTypeLike | None = None) -> Array:
        """The pending rows' column ``name``, moved out of the store chunk by chunk.

        Each chunk is dropped as soon as it is copied, so a table of tens of millions of rows
        never exists twice in memory.
        """
        if not self.chunks:
            return np.empty(0, dtype=dtype or np.int64)
        out = np.empty(sum(self.lengths), dtype=dtype or self.chunks[0][name].dtype)
        at = 0
        for chunk, k in zip(self.chunks, self.lengths, strict=True):
            out[at : at + k] = chunk.pop(name)
            at += k
        give_back_memory()
        return out

    def release(self) -> None:
        self.released += sum(self.lengths)
        self.chunks, self.lengths = [], []

    def __len__(self) -> int:
        return self.released + sum(self.lengths)


class Table:
    """A growable table whose rows can be updated in place; tracks rows touched since a mark."""

    def __init__(self, dtypes: dict[str, tuple[npt.DTypeLike, int]], capacity: int = 1024) -> None:
        """``dtypes`` maps each column to ``(dtype, width)``; width 0 is a plain column."""
        self.data: dict[str, Array] = {
            k: np.zeros((capacity, w) if w else capacity, dtype=t) for k, (t, w) in dtypes.items()
        }
        self.n = 0
        self.touched = np.zeros(capacity, dtype=bool)

    def _grow(self, needed: int) -> None:
        capacity = len(self.touched)
        if needed <= capacity:
            return
        new = max(needed, capacity * 2)
        for k, v in self.data.items():
            grown = np.zeros((new, *v.shape[1:]), dtype=v.dtype)
            grown[:capacity] = v
            self.data[k] = grown
        touched = np.zeros(new, dtype=bool)
        touched[:capacity] = self.touched
        self.touched = touched

    def append(self, **columns: Array) -> npt.NDArray[np.int64]:
        """Add rows (every column given); returns their row indexes."""
        if set(columns) != set(self.data):
            raise ValueError(f"expected columns {sorted(self.data)}, got {sorted(columns)}")
        k = len(next(iter(columns.values())))
        self._grow(self.n + k)
        rows = np.arange(self.n, self.n + k, dtype=np.int64)
        for name, values in columns.items():
            self.data[name][rows] = values
        self.touched[rows] = True
        self.n += k
        return rows

    def set(self, rows: npt.NDArray[np.int64], **columns: Array | int | bool) -> None:
        for name, values in columns.items():
            self.data[name][rows] = values
        self.touched[rows] = True

    def view(self, name: str) -> Array:
        return self.data[name][: self.n]

    def reset_touched(self) -> None:
        self.touched[:] = False

    def copy(self) -> Table:
        out = Table.__new__(Table)
        out.data = {k: v.copy() for k, v in self.data.items()}
        out.n = self.n
        out.touched = self.touched.copy()
        return out
