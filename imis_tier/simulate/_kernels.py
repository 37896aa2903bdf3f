"""The engine's hot loops: exp-utilities per alternative, outcome sampling, and tallies.

Everything here works on ``(members, draws)`` float32 planes, one per alternative, rather than
on a ``(members, alternatives, draws)`` block, for three reasons the profile showed matter:

- Each alternative only uses a few of the features (a tier never carries the LAPSE traits, LAPSE
  never carries a price), so its utility is a small matmul over its own non-zero columns.
- Utilities are taken relative to LAPSE (always available, so its weight is exactly 1): no
  per-cell maximum, no normalisation, and the exp-weight of a tier depends only on that tier's
  and LAPSE's attributes. A chunk's scenario and status quo share most alternatives (a price
  change touches one tier), so :class:`UtilityCache` computes each distinct one once.
- Sampling compares ``u * total`` with running sums of the weights, which is the same draw as
  comparing ``u`` with cumulative probabilities, without ever dividing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]

_MAX_EXP = 80.0
"""Largest utility over LAPSE taken to exp in float32 (overflow is at 88.7, with room for sums)."""


class Workspace:
    """Scratch arrays reused from chunk to chunk by one worker.

    Measured on the target machine: filling a freshly allocated (members, draws) array costs
    several times the arithmetic on it (page faults), so the hot loop writes into these.
    """

    def __init__(self) -> None:
        self._flat: dict[str, NDArray[Any]] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> NDArray[Any]:
        """An uninitialised array of ``shape`` that stays ``name``'s until asked for again."""
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.size < size or flat.dtype != np.dtype(dtype):
            flat = self._flat[name] = np.empty(size, dtype=dtype)
        return flat[:size].reshape(shape)


@dataclass
class _Entry:
    cols: NDArray[np.intp]
    x: F32  # (members, len(cols)): the alternative's non-zero attribute columns
    open: NDArray[np.bool_]  # (members,): who may pick it (all, for LAPSE)
    value: F32  # (members, draws): utility (LAPSE) or exp-weight over LAPSE (tiers), 0 if closed
    row_max: float = 0.0  # largest exponent taken (tiers)


def _compact(
    X: NDArray[np.floating[Any]], used: NDArray[np.bool_], j: int
) -> tuple[NDArray[np.intp], F32]:
    """Alternative ``j``'s columns that are non-zero for some member, and their values."""
    cols = np.flatnonzero(used[j])
    return cols, np.ascontiguousarray(X[:, j, cols], dtype=np.float32)


def _find(
    entries: list[_Entry], cols: NDArray[np.intp], x: F32, open_: NDArray[np.bool_]
) -> _Entry | None:
    for e in entries:
        if (
            np.array_equal(e.cols, cols)
            and np.array_equal(e.open, open_)
            and np.array_equal(e.x, x)
        ):
            return e
    return None


class UtilityCache:
    """Conditional-logit exp-weights of one member chunk, reused across structures and cycles.

    Entries are keyed by the attribute values themselves, so a structure sees a cached weight
    exactly when its alternative has the same attributes (for the same members and LAPSE) as
    one computed before: the status quo against itself gives bit-identical draws. Arrays live
    in ``workspace`` and are valid until the workspace's next chunk.
    """

    def __init__(self, coef: NDArray[np.float64], workspace: Workspace | None = None) -> None:
        self.coef_t = np.ascontiguousarray(np.atleast_2d(coef).T, dtype=np.float32)  # (K, D)
        self._ws = workspace or Workspace()
        self._n = 0
        self._lapse: list[tuple[_Entry, list[_Entry]]] = []

    def _buffer(self, shape: tuple[int, ...]) -> F32:
        self._n += 1
        return self._ws.get(f"cache{self._n}", shape)

    def weights(
        self, X: NDArray[np.floating[Any]], available: NDArray[np.bool_]
    ) -> list[F32 | None] | None:
        """Exp-weights over LAPSE of each tier (``None``: open to no member), masked by ``available``.

        ``X`` is ``(members, alternatives, features)`` with LAPSE last. Returns ``None`` when
        a utility gap is too large for float32 exp; the caller then uses the stable softmax.
        """
        n, J = X.shape[:2]
        shape = (n, self.coef_t.shape[1])
        used = (X != 0).any(axis=0)  # (alternatives, features), one pass over X
        lapse_cols, lapse_x = _compact(X, used, J - 1)
        everyone = np.ones(n, dtype=bool)
        found = next(
            (
                (e, tiers)
                for e, tiers in self._lapse
                if _find([e], lapse_cols, lapse_x, everyone) is not None
            ),
            None,
        )
        if found is None:
            v_lapse = np.matmul(lapse_x, self.coef_t[lapse_cols], out=self._buffer(shape))
            found = (_Entry(lapse_cols, lapse_x, everyone, v_lapse), [])
            self._lapse.append(found)
        lapse, tiers = found
        out: list[F32 | None] = []
        for j in range(J - 1):
            open_j = available[:, j]
            if not open_j.any():
                out.append(None)
                continue
            cols, x = _compact(X, used, j)
            e = _find(tiers, cols, x, open_j)
            if e is None:
                e = self._tier(cols, x, open_j, lapse.value)
                tiers.append(e)
            if e.row_max > _MAX_EXP:
                return None
            out.append(e.value)
        return out

    def _tier(
        self, cols: NDArray[np.intp], x: F32, open_j: NDArray[np.bool_], v_lapse: F32
    ) -> _Entry:
        """exp(utility - LAPSE utility) for the members ``open_j`` admits, 0 for the rest."""
        value = self._buffer(v_lapse.shape)
        coef = self.coef_t[cols]
        rows = np.flatnonzero(open_j)
        if 2 * len(rows) < len(open_j):  # a tier few may hold: only their rows
            v = np.matmul(x[rows], coef, out=self._ws.get("rows", (len(rows), coef.shape[1])))
            v -= np.take(v_lapse, rows, axis=0)
            row_max = float(v.max())
            if row_max > _MAX_EXP:  # the caller falls back; the value is never read
                return _Entry(cols, x, open_j.copy(), value, row_max)
            np.exp(v, out=v)
            value.fill(0)
            value[rows] = v
        else:
            v = np.matmul(x, coef, out=value)
            v -= v_lapse
            v[~open_j] = 0  # never read, and kept finite
            row_max = float(v.max())
            if row_max > _MAX_EXP:
                return _Entry(cols, x, open_j.copy(), value, row_max)
            np.exp(v, out=v)
            v[~open_j] = 0
        return _Entry(cols, x, open_j.copy(), value, row_max)


def sample(
    weights: list[F32 | None],
    lapse: F32 | None,
    u: F32,
    workspace: Workspace | None = None,
    out: NDArray[np.int8] | None = None,
) -> NDArray[np.int8]:
    """One alternative per (member, draw): tier ``j`` when ``W[<j] <= u * total < W[<=j]``.

    ``weights`` are the tiers' non-negative weights (``None`` = zero everywhere), ``lapse``
    LAPSE's (``None`` = 1). Same draw as ``u`` against cumulative probabilities, with ``<=`` so
    that a zero-weight alternative is never picked, even for ``u == 0``.
    """
    ws = workspace or Workspace()
    shape = u.shape
    pick = np.empty(shape, dtype=np.int8) if out is None else out
    cums: list[F32 | None] = []
    cum: F32 | None = None
    for j, w in enumerate(weights):
        if w is not None:  # the first weight is only read, never written: no copy
            cum = w if cum is None else np.add(cum, w, out=ws.get(f"cum{j}", shape))
        cums.append(cum)
    if cum is None:
        pick.fill(len(weights))
        return pick
    target = ws.get("target", shape)
    if lapse is None:
        np.add(cum, np.float32(1), out=target)
    else:
        np.add(cum, lapse, out=target)
    np.multiply(target, u, out=target)
    hit = ws.get("hit", shape, np.bool_)
    prev: F32 | None = None
    started = False
    for c in cums:
        if c is None:  # nothing before it: every draw passes this alternative
            if started:
                np.add(pick, np.int8(1), out=pick)
            else:
                pick.fill(1)
                started = True
            continue
        if c is not prev:
            np.less_equal(c, target, out=hit)
            prev = c
        if started:
            np.add(pick, hit.view(np.int8), out=pick)
        else:
            np.copyto(pick, hit.view(np.int8))
            started = True
    return pick
