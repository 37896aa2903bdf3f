"""The wide layout the simulator uses: members x alternatives x features, with availability."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imis_tier.choice._data import FloatArray

BoolArray = NDArray[np.bool_]


def wide_inputs(
    X3d: ArrayLike, available: ArrayLike | None, n_features: int
) -> tuple[FloatArray, BoolArray]:
    """Check a (members, alternatives, features) array and its (members, alternatives) mask.

    ``available=None`` means every alternative is open to every member. Unavailable cells may
    hold any value, NaN included: they are never read.
    """
    arr = np.asarray(X3d, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != n_features:
        raise ValueError(
            f"X3d must have shape (n_members, n_alternatives, {n_features}), got {arr.shape}"
        )
    if available is None:
        mask = np.ones(arr.shape[:2], dtype=bool)
    else:
        mask = np.asarray(available, dtype=bool)
        if mask.shape != arr.shape[:2]:
            raise ValueError(f"available must have shape {arr.shape[:2]}, got {mask.shape}")
    empty = ~mask.any(axis=1)
    if empty.any():
        raise ValueError(
            f"{int(empty.sum())} member(s) have no available alternative, the first at index "
            f"{int(np.argmax(empty))}"
        )
    bad = ~np.isfinite(arr) & mask[:, :, None]
    if bad.any():
        m, j, k = np.argwhere(bad)[0]
        raise ValueError(
            f"X3d has NaN or infinite values in available cells, the first at member {m}, "
            f"alternative {j}, feature {k}"
        )
    # Unavailable cells are zeroed so that products stay finite; the mask removes them later.
    return np.where(mask[:, :, None], arr, 0.0), mask


def masked_softmax(v: FloatArray, mask: BoolArray) -> FloatArray:
    """Softmax over the last axis, restricted to cells where ``mask`` (broadcast) is true."""
    vv = np.where(mask, v, -np.inf)
    top = vv.max(axis=-1, keepdims=True)
    e = np.exp(vv - top)
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float64)
