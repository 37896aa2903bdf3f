"""iMIS collection filters (``Prop=op:value``) and ``OrderBy``, evaluated on typed columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.emulator._table import _to_storage, coerce_value

# Every spelling iMIS accepts, lower-cased (capitalised forms such as StartsWith fold onto these).
OPERATORS: dict[str, str] = {
    "eq": "eq",
    "==": "eq",
    "ne": "ne",
    "!=": "ne",
    "gt": "gt",
    ">": "gt",
    "ge": "ge",
    ">=": "ge",
    "lt": "lt",
    "<": "lt",
    "le": "le",
    "<=": "le",
    "contains": "contains",
    "notcontain": "notcontain",
    "!contain": "notcontain",
    "startswith": "startswith",
    "endswith": "endswith",
    "between": "between",
    "in": "in",
    "isempty": "isempty",
    "empty": "isempty",
    "notempty": "notempty",
    "!empty": "notempty",
    "istrue": "istrue",
    "true": "istrue",
    "isfalse": "isfalse",
    "false": "isfalse",
}
_NO_VALUE = {"isempty", "notempty", "istrue", "isfalse"}


class FilterError(ValueError):
    """A filter iMIS would refuse with 400; the message names the property or operator."""


@dataclass(frozen=True)
class Filter:
    prop: str  # canonical property name
    op: str  # canonical operator
    value: str  # raw text after the operator


def parse_filter(prop: str, raw: str) -> Filter:
    """``startsWith:Jon`` -> Filter(prop, 'startswith', 'Jon'); no operator means equality."""
    low = raw.strip().lower()
    if low in OPERATORS and OPERATORS[low] in _NO_VALUE:
        return Filter(prop, OPERATORS[low], "")
    head, sep, rest = raw.partition(":")
    if sep:
        op = OPERATORS.get(head.strip().lower())
        if op is not None:
            return Filter(prop, op, rest)
        if head and all(ch.isalpha() or ch in "!=<>" for ch in head) and not head.isdigit():
            raise FilterError(
                f"Unknown filter operator '{head}' for property '{prop}'. Valid operators: "
                "eq, ne, gt, ge, lt, le, contains, notContain, startsWith, endsWith, between, in, "
                "isEmpty, notEmpty, isTrue, isFalse"
            )
    return Filter(prop, "eq", raw)


def parse_order(text: str, names: Mapping[str, str]) -> list[tuple[str, bool]]:
    """``LastName:Descending,FirstName`` -> [(LastName, True), (FirstName, False)]."""
    order = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, direction = part.partition(":")
        canonical = names.get(name.strip().lower())
        if canonical is None:
            raise FilterError(f"OrderBy property '{name.strip()}' is not a property of this entity")
        d = direction.strip().lower()
        if d not in ("", "ascending", "asc", "descending", "desc"):
            raise FilterError(f"OrderBy direction '{direction}' must be Ascending or Descending")
        order.append((canonical, d in ("descending", "desc")))
    return order


def _values(f: Filter, kind: str) -> list[Any]:
    parts = f.value.split("|") if f.op in ("in", "between") else [f.value]
    if f.op == "between" and len(parts) != 2:
        raise FilterError(
            f"between on '{f.prop}' needs two values separated by '|', got '{f.value}'"
        )
    try:
        values = [coerce_value(kind, p, f.prop) for p in parts]
    except ValueError as exc:
        raise FilterError(f"Filter on property '{f.prop}': {exc}") from None
    return values


def mask(frame: pd.DataFrame, kinds: Mapping[str, str], f: Filter) -> np.ndarray:
    """A boolean array selecting rows of ``frame`` that pass ``f``."""
    col = frame[f.prop]
    kind = kinds[f.prop]
    n = len(frame)
    missing = np.array(col.isna(), dtype=bool)
    if kind == "str":
        missing = missing | np.array((col == "").fillna(False), dtype=bool)
    if f.op == "isempty":
        return missing
    if f.op == "notempty":
        return ~missing
    if f.op in ("istrue", "isfalse"):
        truth = col.fillna(False).astype(bool).to_numpy(dtype=bool) if kind == "bool" else ~missing
        return truth if f.op == "istrue" else ~truth
    if f.op in ("contains", "notcontain", "startswith", "endswith"):
        text = _text(col, kind)
        needle = f.value.lower()
        method = {"contains": "contains", "notcontain": "contains"}.get(f.op, f.op)
        if method == "contains":
            hit = text.str.contains(needle, regex=False)
        else:
            hit = getattr(text.str, method)(needle)
        hit_arr = hit.fillna(False).to_numpy(dtype=bool)
        return ~hit_arr if f.op == "notcontain" else hit_arr
    values = [_comparable(kind, v) for v in _values(f, kind)]
    target = _text(col, kind) if kind == "str" else col
    if kind == "id" and any(v is None for v in values):  # a non-numeric id matches nothing
        values = [v for v in values if v is not None]
        if not values and f.op != "ne":
            return np.zeros(n, dtype=bool)
    if f.op == "in":
        return target.isin(values).fillna(False).to_numpy(dtype=bool)
    if f.op == "between":
        low, high = values
        return ((target >= low) & (target <= high)).fillna(False).to_numpy(dtype=bool)
    value = values[0] if values else None
    if value is None:
        return missing if f.op == "eq" else ~missing
    result = {
        "eq": lambda: target == value,
        "ne": lambda: target != value,
        "gt": lambda: target > value,
        "ge": lambda: target >= value,
        "lt": lambda: target < value,
        "le": lambda: target <= value,
    }[f.op]()
    arr = np.array(result.fillna(f.op == "ne"), dtype=bool)
    if f.op == "ne":
        arr |= missing
    return arr


def _text(col: pd.Series, kind: str) -> pd.Series:
    if kind == "str":
        return col.str.lower()
    if kind == "datetime":
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S").str.lower()
    return col.astype(object).map(lambda v: None if v is pd.NA or v is None else str(v).lower())


def _comparable(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "str":
        return str(value).lower()
    if kind == "datetime":
        return pd.Timestamp(value)
    return _to_storage(kind, value)


def select(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    filters: Sequence[Filter],
    order: Sequence[tuple[str, bool]],
) -> np.ndarray:
    """Labels of rows passing every filter (AND), sorted by ``order`` (stable, nulls last)."""
    keep = np.ones(len(frame), dtype=bool)
    for f in filters:
        keep = keep & mask(frame, kinds, f)
    chosen = frame[keep] if not keep.all() else frame
    if order:
        by = [name for name, _ in order]
        ascending = [not desc for _, desc in order]
        chosen = chosen.sort_values(
            by=by,
            ascending=ascending,
            kind="stable",
            na_position="last",
            key=lambda s: s.str.lower() if kinds.get(str(s.name)) == "str" else s,
        )
    return chosen.index.to_numpy(dtype=np.int64)
