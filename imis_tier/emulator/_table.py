"""Column storage for one emulated entity: a pandas frame, typed columns, cheap writes.

Filtering runs vectorised over columns (see :mod:`._filters`); writes go to a small tail that is
folded into the frame only when a read needs the whole table, so a burst of POSTs into a table of
millions of rows costs one concatenation, not one per row. Row labels are stable integers in
insertion order, which is also the default listing order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.emulator._wire import format_dates

# Column kinds: how a value is stored, filtered and rendered.
#   str       text                         id        int64 shown as a numeric string ("40125")
#   int       nullable integer             cents     integer cents shown as Decimal money
#   decimal   Decimal (custom sources)     float     double
#   bool      nullable boolean             datetime  naive local timestamp
KINDS = ("str", "id", "int", "cents", "decimal", "float", "bool", "datetime")

_DTYPES: dict[str, Any] = {
    "str": object,
    "id": "int64",
    "int": "Int64",
    "cents": "Int64",
    "decimal": object,
    "float": "float64",
    "bool": "boolean",
    "datetime": "datetime64[us]",
}

_CACHE_CAP = 300_000  # encoded rows kept per table; beyond it the cache restarts


def coerce_value(kind: str, value: Any, name: str = "value") -> Any:
    """A Python value of ``kind`` from wire or frame input; raises ``ValueError`` naming ``name``."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str) and value == "" and kind not in ("str",):
        return None
    try:
        if kind == "str":
            return str(value)
        if kind == "id":
            return str(int(value)) if not isinstance(value, str) else value
        if kind == "int":
            if isinstance(value, bool):
                return int(value)
            return int(value)
        if kind == "cents":
            return Decimal(str(value)).quantize(Decimal("0.01"))
        if kind == "decimal":
            return Decimal(str(value))
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("true", "1", "yes"):
                    return True
                if low in ("false", "0", "no"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind == "datetime":
            return parse_datetime(value)
    except (ValueError, TypeError, ArithmeticError):
        raise ValueError(f"{name}: {value!r} is not a valid {kind}") from None
    raise ValueError(f"unknown column kind {kind!r} for {name}")


def parse_datetime(value: Any) -> datetime:
    """A naive local datetime from a wire string, date or timestamp (a zone is dropped)."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1]
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=None)


def _to_storage(kind: str, value: Any) -> Any:
    """A coerced Python value as the frame stores it (money as cents, ids as ints)."""
    if value is None:
        return None
    if kind == "id":
        return int(value) if str(value).lstrip("-").isdigit() else None
    if kind == "cents":
        return int((Decimal(value) * 100).to_integral_value())
    return value


def _from_storage(kind: str, value: Any) -> Any:
    """A frame cell as a plain Python value for rendering (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if kind == "str":
        return str(value)
    if kind == "id":
        return str(int(value))
    if kind == "int":
        return int(value)
    if kind == "cents":
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "datetime":
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    return value


def column_values(kind: str, col: pd.Series, wire: bool = False) -> list[Any]:
    """A stored column as plain Python values (vectorised per kind; None for missing).

    With ``wire``, timestamps come back already formatted as iMIS date strings.
    """
    if kind == "datetime" and wire:
        return format_dates(col.to_numpy(dtype="datetime64[us]"))
    if kind == "datetime":
        return list(col.to_numpy(dtype="datetime64[us]").astype(object))
    if kind == "id":
        return [str(v) for v in col.tolist()]
    if kind == "cents":
        return [
            None if v is None else (Decimal(int(v)) / 100).quantize(Decimal("0.01"))
            for v in col.astype(object).where(col.notna(), None).tolist()
        ]
    plain = col.astype(object).where(col.notna(), None).tolist()
    if kind == "float":
        return [None if v is None else float(v) for v in plain]
    if kind == "bool":
        return [None if v is None else bool(v) for v in plain]
    if kind == "int":
        return [None if v is None else int(v) for v in plain]
    return plain


def _key_index(frame: pd.DataFrame, key: Sequence[str]) -> pd.Index:
    if len(key) == 1:
        return pd.Index(frame[key[0]].to_numpy())
    return pd.MultiIndex.from_frame(frame[list(key)])


def empty_frame(kinds: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=_DTYPES[kind]) for name, kind in kinds.items()})


def typed_frame(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``kinds``, each in its storage dtype."""
    out: dict[str, pd.Series] = {}
    n = len(frame)
    for name, kind in kinds.items():
        col = frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index)
        if kind == "datetime":
            col = pd.to_datetime(col).astype("datetime64[us]")
        elif kind == "str":
            col = col.astype(object).where(col.notna(), None)
            col = col.map(lambda v: v if v is None else str(v))
        elif kind == "bool":
            col = col.astype("boolean")
        elif kind in ("int", "cents"):
            col = pd.to_numeric(col).astype("Int64")
        elif kind == "id":
            col = pd.to_numeric(col).astype("int64")
        elif kind == "float":
            col = pd.to_numeric(col).astype("float64")
        else:
            col = col.astype(object)
        out[name] = col
    return pd.DataFrame(out, index=frame.index)


class Table:
    """One physical table: typed columns, a key, a write tail and an encoded-row cache."""

    def __init__(self, name: str, kinds: Mapping[str, str], key: Sequence[str]) -> None:
        self.name = name
        self.kinds: dict[str, str] = dict(kinds)
        self.key = tuple(key)
        self._frame = empty_frame(self.kinds)
        self._tail: dict[int, dict[str, Any]] = {}
        self._deleted: set[int] = set()
        self._next_label = 0
        self.version = 0
        self.lock = threading.RLock()
        self.encoded: dict[int, dict[str, bytes]] = {}
        self._derived: dict[Any, Any] = {}

    # -- reading -------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The whole live table (tail folded in, deleted rows dropped), labels as index."""
        with self.lock:
            if self._tail:
                tail = typed_frame(pd.DataFrame.from_dict(self._tail, orient="index"), self.kinds)
                base = self._frame
                self._frame = tail if base.empty else pd.concat([base, tail])
                self._tail = {}
            if self._deleted:
                self._frame = self._frame.drop(index=list(self._deleted))
                self._deleted = set()
            return self._frame

    def __len__(self) -> int:
        return len(self.frame())

    def derived(self, key: Any, build: Any) -> Any:
        """A value computed from the table, cached until the next write."""
        with self.lock:
            cache_key = (self.version, key)
            if cache_key not in self._derived:
                if len(self._derived) > 64:
                    self._derived.clear()
                self._derived[cache_key] = build()
            return self._derived[cache_key]

    def locate(self, values: Mapping[str, Any]) -> list[int]:
        """Labels of rows whose key columns equal ``values`` (exact, strings case-insensitive)."""
        frame = self.frame()
        mask = np.ones(len(frame), dtype=bool)
        for name, value in values.items():
            kind = self.kinds[name]
            stored = _to_storage(kind, coerce_value(kind, value, name))
            if stored is None:
                return []
            col = frame[name]
            if kind == "str":
                mask &= (col.str.lower() == str(stored).lower()).fillna(False).to_numpy(dtype=bool)
            elif kind == "datetime":
                mask &= (col == pd.Timestamp(stored)).to_numpy(dtype=bool)
            else:
                mask &= (col == stored).fillna(False).to_numpy(dtype=bool)
        return [int(x) for x in frame.index[mask]]

    def rows(
        self, labels: Iterable[int], columns: Sequence[str] | None = None, *, wire: bool = False
    ) -> list[dict[str, Any]]:
        """Plain-Python rows for ``labels`` (in that order), converted column by column;
        ``wire`` formats timestamps as iMIS date strings (for rendering only)."""
        frame = self.frame()
        labels = list(labels)
        if not labels:
            return []
        cols = list(columns) if columns is not None else list(self.kinds)
        sub = frame.loc[labels, cols]
        values = [column_values(self.kinds[c], sub[c], wire) for c in cols]
        return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]

    def row(self, label: int) -> dict[str, Any]:
        return self.rows([label])[0]

    # -- writing -------------------------------------------------------------------------
    def insert(self, values: Mapping[str, Any]) -> int:
        """Append one row (values already coerced); returns its label."""
        with self.lock:
            label = self._next_label
            self._next_label += 1
            self._tail[label] = {
                name: _to_storage(kind, values.get(name)) for name, kind in self.kinds.items()
            }
            self._touch([label])
            return label

    def update(self, label: int, values: Mapping[str, Any]) -> None:
        """Replace the given columns of one row (values already coerced)."""
        with self.lock:
            if label in self._tail:
                for name, value in values.items():
                    self._tail[label][name] = _to_storage(self.kinds[name], value)
            else:
                for name, value in values.items():
                    stored = _to_storage(self.kinds[name], value)
                    self._frame.loc[label, name] = (
                        pd.NA
                        if stored is None and self.kinds[name] not in ("str", "decimal")
                        else stored
                    )
            self._touch([label])

    def delete(self, label: int) -> None:
        with self.lock:
            if label in self._tail:
                del self._tail[label]
            else:
                self._deleted.add(label)
            self._touch([label])

    def load(self, frame: pd.DataFrame) -> None:
        """Upsert many rows at once by key (advance / seeding): changed rows replaced in place."""
        with self.lock:
            incoming = typed_frame(frame.reset_index(drop=True), self.kinds)
            base = self.frame()
            if base.empty or not self.key or self._all_new(base, incoming):
                matched = np.full(len(incoming), -1)
            else:
                base_keys = _key_index(base, self.key)
                new_keys = _key_index(incoming, self.key)
                # Source data may repeat a key; the first row with it is the one updated.
                first = ~base_keys.duplicated(keep="first")
                positions = np.flatnonzero(first)
                found = base_keys[first].get_indexer(new_keys)
                matched = np.where(found >= 0, positions[np.maximum(found, 0)], -1)
            replace = matched >= 0
            if replace.any():
                labels = base.index[matched[replace]]
                changed = incoming[replace]
                for name in self.kinds:  # column by column keeps each column's dtype
                    self._frame.loc[labels, name] = changed[name].to_numpy()
                for label in labels:
                    self.encoded.pop(int(label), None)
            fresh = incoming[~replace]
            if len(fresh):
                fresh = fresh.set_axis(range(self._next_label, self._next_label + len(fresh)))
                self._next_label += len(fresh)
                self._frame = fresh if self._frame.empty else pd.concat([self._frame, fresh])
            self.version += 1

    def _all_new(self, base: pd.DataFrame, incoming: pd.DataFrame) -> bool:
        """True when a numeric single key of ``incoming`` is beyond every stored one (appends:
        skips hashing millions of keys on each advance)."""
        if len(self.key) != 1 or self.kinds[self.key[0]] not in ("id", "int") or incoming.empty:
            return False
        low, high = incoming[self.key[0]].min(), base[self.key[0]].max()
        return bool(not pd.isna(low) and not pd.isna(high) and low > high)

    def _touch(self, labels: Iterable[int]) -> None:
        self.version += 1
        for label in labels:
            self.encoded.pop(label, None)

    def cached(self, view: str, label: int) -> bytes | None:
        per_label = self.encoded.get(label)
        return None if per_label is None else per_label.get(view)

    def cache_encoded(self, view: str, label: int, data: bytes) -> None:
        if len(self.encoded) >= _CACHE_CAP:
            self.encoded.clear()
        self.encoded.setdefault(label, {})[view] = data
