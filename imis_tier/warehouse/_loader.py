"""Turn extracted rows into raw-table rows: typed, validated, and upserted by iMIS identity."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.extracts import ColumnType, Extract
from imis_tier.warehouse._database import Warehouse


class SchemaDriftError(Exception):
    """A source row no longer has the shape the warehouse expects; the batch was not written."""

    def __init__(self, entity: str, field: str, row: str, problem: str) -> None:
        self.entity, self.field, self.row, self.problem = entity, field, row, problem
        super().__init__(f"{entity}: field {field!r} {problem} (row {row}); nothing from this batch was written")


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
_NO_DATE = ("0001-01-01",)


def _row_label(frame: pd.DataFrame, extract: Extract, position: int, source_offset: int) -> str:
    keys = []
    for key in extract.key:
        alias = next(c.alias for c in extract.columns if c.name == key)
        if alias in frame.columns:
            keys.append(f"{alias}={frame[alias].iloc[position]!r}")
    return f"#{source_offset + position}" + (f" {', '.join(keys)}" if keys else "")


def frame_from_rows(rows: Sequence[Mapping[str, Any]] | pd.DataFrame, aliases: Sequence[str]) -> pd.DataFrame:
    """The ``aliases`` columns of ``rows`` (a column absent from every row is left out)."""
    if isinstance(rows, pd.DataFrame):
        return rows
    rows = list(rows)
    # column by column: several times faster than from_records for API pages
    data = {alias: [row.get(alias) for row in rows] for alias in aliases if any(alias in row for row in rows)}
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def to_raw(rows: Sequence[Mapping[str, Any]] | pd.DataFrame, extract: Extract, *, source_offset: int = 0) -> pd.DataFrame:
    """Convert rows keyed by IQA alias into a typed frame with the raw table's columns.

    Raises :class:`SchemaDriftError` naming the entity, field and row when a required column is
    missing or a value does not have its column's type.
    """
    frame = frame_from_rows(rows, [c.alias for c in extract.columns])
    out: dict[str, Any] = {}
    n = len(frame)
    for column in extract.columns:
        if column.alias not in frame.columns:
            if column.required and n:
                raise SchemaDriftError(extract.entity, column.alias, _row_label(frame, extract, 0, source_offset), "is missing")
            out[column.name] = pd.Series([None] * n, dtype=object)
            continue
        values = frame[column.alias]
        if column.required:
            missing = values.isna().to_numpy()
            if missing.any():
                pos = int(np.argmax(missing))
                raise SchemaDriftError(extract.entity, column.alias, _row_label(frame, extract, pos, source_offset), "is empty")
        out[column.name] = _convert(values, column.type, extract, column.alias, frame, source_offset)
    return pd.DataFrame(out, columns=extract.column_names)


def _convert(values: pd.Series, kind: ColumnType, extract: Extract, alias: str, frame: pd.DataFrame, offset: int) -> pd.Series:
    def fail(mask: np.ndarray, expected: str) -> SchemaDriftError:
        pos = int(np.argmax(mask))
        got = values.iloc[pos]
        return SchemaDriftError(
            extract.entity, alias, _row_label(frame, extract, pos, offset),
            f"should be {expected} but is {type(got).__name__} {got!r}",
        )

    present = values.notna().to_numpy()
    if kind is ColumnType.TEXT:
        items = values.tolist()
        bad = np.fromiter((isinstance(v, (dict, list)) for v in items), dtype=bool, count=len(items))
        if bad.any():
            raise fail(bad, "text")
        # iMIS sends "" where a CSV export has an empty cell: both mean "no value"
        text = [None if v is None or v != v or v == "" else (v if type(v) is str else str(v)) for v in items]
        return pd.Series(text, index=values.index, dtype=object)
    if kind in (ColumnType.INTEGER, ColumnType.BIGINT, ColumnType.NUMBER, ColumnType.MONEY):
        converted = pd.to_numeric(values, errors="coerce")
        bad = present & converted.isna().to_numpy()
        if values.dtype == object:
            bad |= present & values.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
        if bad.any():
            raise fail(bad, "a number")
        if kind is ColumnType.MONEY:
            return converted.round(2)
        if kind in (ColumnType.INTEGER, ColumnType.BIGINT):
            frac = present & (converted.fillna(0) % 1 != 0).to_numpy()
            if frac.any():
                raise fail(frac, "a whole number")
            return converted.astype("Int64")
        return converted.astype(float)
    if kind is ColumnType.BOOLEAN:
        def to_bool(v: Any) -> Any:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                return None
            if isinstance(v, (bool, np.bool_)):
                return bool(v)
            if isinstance(v, (int, np.integer)) and v in (0, 1):
                return bool(v)
            text = str(v).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            return "?"
        flags = [to_bool(v) for v in values.tolist()]
        bad = np.fromiter((f == "?" for f in flags), dtype=bool, count=len(flags))
        if bad.any():
            raise fail(bad, "true or false")
        return pd.Series(flags, index=values.index, dtype=object)
    # dates and timestamps: zone-less ISO strings (or datetimes an SDK already decoded, whose
    # wall time is kept); iMIS's 0001-01-01 means "no date"
    converted, bad = _to_timestamps(values)
    if bad.any():
        raise fail(bad, "a date")
    if kind is ColumnType.DATE:
        return converted.dt.normalize()
    return converted


def upsert(warehouse: Warehouse, extract: Extract, frame: pd.DataFrame) -> int:
    """Insert or replace rows by the raw table's key; call inside a transaction."""
    if frame.empty:
        return 0
    frame = frame.drop_duplicates(subset=list(extract.key), keep="last")
    conn = warehouse.connection
    conn.register("_batch", frame)
    try:
        cols = ", ".join(extract.column_names)
        conn.execute(f"INSERT OR REPLACE INTO {extract.table} ({cols}) SELECT {cols} FROM _batch")
    finally:
        conn.unregister("_batch")
    return len(frame)


_INVALID = pd.Timestamp("1677-09-22")  # a sentinel no iMIS date can be, marking unparseable values


def _to_timestamps(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Timestamps (NaT for empty and iMIS's no-date value) and a mask of unparseable values."""
    if values.dtype.kind == "M":
        stamps = values
    else:
        def one(v: Any) -> Any:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                return pd.NaT
            if isinstance(v, str):
                if v.startswith(_NO_DATE):
                    return pd.NaT
                try:
                    return pd.Timestamp(v)
                except ValueError:
                    return _INVALID
            if isinstance(v, (datetime, date, pd.Timestamp, np.datetime64)):
                stamp = pd.Timestamp(v)
                if stamp.year <= 1:
                    return pd.NaT
                return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
            return _INVALID
        seen: dict[Any, Any] = {}
        parsed = []
        for v in values.tolist():
            try:
                parsed.append(seen[v])
            except (KeyError, TypeError):
                stamp = one(v)
                with contextlib.suppress(TypeError):  # unhashable values are parsed each time
                    seen[v] = stamp
                parsed.append(stamp)
        stamps = pd.Series(pd.to_datetime(parsed), index=values.index)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    invalid = (stamps == _INVALID).to_numpy()
    return stamps.mask(invalid).astype("datetime64[us]"), invalid
