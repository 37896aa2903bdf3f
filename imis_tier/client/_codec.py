"""The iMIS wire format: Json.NET ``$type``/``$values``/``$value`` annotations, zone-less dates,
omitted nulls, and ``GenericEntityData`` property bags, to and from plain Python values.

iMIS sends dates as local time of the association without a zone (``"2025-03-01T00:00:00"``);
a :class:`WireCodec` knows the association's time zone and turns them into aware ``datetime``
values, and back. ``"0001-01-01T00:00:00"`` is iMIS's "no date" and decodes to ``None``.

Strings shaped exactly like an iMIS date (``YYYY-MM-DDTHH:MM:SS[.fff]``) decode as dates: the
wire does not mark dates, so the shape is the only signal. JSON numbers with a fraction decode as
``Decimal`` (money must stay exact), and so do ``MonetaryAmountData`` amounts; ``System.Double``
values stay ``float``.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from itertools import repeat
from operator import delitem, itemgetter, setitem
from typing import Any

import orjson

NO_DATE = "0001-01-01T00:00:00"
"""iMIS's "no date" value."""

_GED = "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"
_IDENTITY = "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts"
_STRINGS = "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib"
_PROPS = "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts"
_PROP = "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts"

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:Z|[+-]\d{2}:\d{2})?\Z")
_INT32 = (-(2**31), 2**31 - 1)
_DECIMAL_MARK = "\x00DEC"
_DECIMAL_RAW = re.compile(r'"\\u0000DEC([-+0-9.Ee]+)"')


_DATE_CACHE_SIZE = 16_384
_MISS: Any = object()
_PLAIN_KINDS = frozenset({int, bool, type(None)})  # flat-row values that decode as themselves
_TEXT_KINDS = frozenset({str, type(None)})


def _consume(iterator: Iterable[Any]) -> None:
    deque(iterator, maxlen=0)  # run a C-level map for its side effects


_SCALARS: dict[str, Any] = {
    "System.Int32": int,
    "System.Int64": int,
    "System.Int16": int,
    "System.Boolean": bool,
    "System.String": str,
    "System.Double": float,
}


def _number(value: Any) -> Decimal:
    # repr() of a float is the shortest text that reads back to it: the JSON text iMIS sent.
    return value if isinstance(value, Decimal) else Decimal(repr(value))


class WireCodec:
    """Decode and encode iMIS JSON for one association time zone."""

    __slots__ = ("_dates", "_tz")

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        # Date strings repeat heavily in bulk reads (join dates, month ends, stamps): parsing each
        # distinct one once makes a date a dict lookup. Bounded; datetimes are immutable.
        self._dates: dict[Any, Any] = {}  # date string -> datetime (None: iMIS's no-date)

    @property
    def tz(self) -> tzinfo:
        """The association's time zone (fixed: decoded dates are cached for it)."""
        return self._tz

    # ------------------------------------------------------------------ dates
    def parse_date(self, value: str) -> datetime | None:
        """An iMIS date string as an aware datetime (``None`` for iMIS's empty date)."""
        hit = self._dates.get(value, _MISS)
        if hit is not _MISS:
            return hit
        parsed = self._parse(value)
        if _DATE_RE.match(value):  # only strings text() reads as dates: a hit means a date
            self._remember({value: parsed})
        return parsed

    def _parse(self, value: str) -> datetime | None:
        if value.startswith(NO_DATE):
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an iMIS date: {value!r}") from exc
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=self._tz)
        return parsed.astimezone(self._tz)

    def _remember(self, dates: dict[str, datetime | None]) -> None:
        if len(self._dates) + len(dates) > _DATE_CACHE_SIZE:
            self._dates.clear()
        self._dates.update(dates)

    def text(self, value: str) -> Any:
        """A wire string: an aware datetime (or ``None``) when shaped like an iMIS date, else
        the string itself."""
        hit = self._dates.get(value, _MISS)
        if hit is not _MISS:
            return hit
        if len(value) >= 19 and value[10] == "T" and value[4] == "-" and _DATE_RE.match(value):
            return self.parse_date(value)
        return value

    def format_date(self, value: datetime | date) -> str:
        """An aware datetime (or a date) as iMIS's zone-less local time string."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(
                    f"naive datetime {value.isoformat()} given: pass a timezone-aware datetime "
                    "(iMIS dates are sent in the association's time zone)"
                )
            local = value.astimezone(self._tz).replace(tzinfo=None)
            return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")
        return f"{value.isoformat()}T00:00:00"

    # --------------------------------------------------------------- decoding
    def decode(self, value: Any) -> Any:
        """Any wire value as plain Python: lists for ``$values``, typed scalars for ``$value``,
        dicts without ``$type``, property bags as dicts, dates aware, fractions ``Decimal``."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            if "$values" in value:
                items = value["$values"]
                if "GenericPropertyData" in value.get("$type", ""):
                    return self.decode_properties(items)
                return [self.decode(item) for item in items]
            if "$value" in value:
                return self.decode_typed(value.get("$type", ""), value["$value"])
            kind = value.get("$type", "")
            if kind.startswith("Asi.Soa.Core.DataContracts.IdentityData"):
                return tuple(str(e) for e in value.get("IdentityElements", {}).get("$values", ()))
            if "MonetaryAmountData" in kind and "Amount" in value:
                return _number(value["Amount"])  # money is a Decimal; the currency is the site's
            return {k: self.decode(v) for k, v in value.items() if k != "$type"}
        if isinstance(value, float):
            return _number(value)
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        return value

    def decode_typed(self, type_name: str, value: Any) -> Any:
        """A ``{"$type": ..., "$value": ...}`` scalar."""
        kind = type_name.split(",", 1)[0].strip()
        if kind == "System.Decimal":
            return _number(value)
        if kind in ("System.Double", "System.Single"):
            return float(value)
        if kind in ("System.Int32", "System.Int64", "System.Int16", "System.Byte"):
            return int(value)
        if kind == "System.Boolean":
            return bool(value)
        if kind == "System.Byte[]":
            return base64.b64decode(value)
        if kind == "System.DateTime" and isinstance(value, str):
            return self.parse_date(value)
        return self.decode(value)

    def decode_properties(self, items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """A ``GenericPropertyDataCollection`` as ``{Name: value}``; an absent ``Value`` is None."""
        out: dict[str, Any] = {}
        self.merge_properties(items, out)
        return out

    def merge_properties(self, items: Iterable[Mapping[str, Any]], out: dict[str, Any]) -> None:
        """Decode a ``GenericPropertyDataCollection`` into ``out`` (later names win)."""
        scalars = _SCALARS
        dates = self._dates
        for prop in items:
            raw: Any = prop.get("Value")
            kind = type(raw)
            if kind is str:
                # Inline: most values are short codes; a date string is usually a cache hit.
                if len(raw) >= 19 and raw[10] == "T":
                    hit = dates.get(raw, _MISS)
                    raw = self.text(raw) if hit is _MISS else hit
                out[prop["Name"]] = raw
            elif kind is dict and (convert := scalars.get(raw.get("$type"))) is not None:
                out[prop["Name"]] = convert(raw["$value"])  # the common wrapped scalars, inline
            elif raw is None:
                out[prop["Name"]] = None
            else:
                out[prop["Name"]] = self.decode(raw)

    def decode_flat_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A ``/api/query`` row (a flat ExpandoObject) as a new dict."""
        out: dict[str, Any] = {}
        for key, value in row.items():
            kind = type(value)
            if kind is str:
                if len(value) >= 19 and value[10] == "T":
                    value = self.text(value)
            elif kind is float:
                value = Decimal(repr(value))
            elif kind is dict or kind is list:
                value = self.decode(value)
            out[key] = value
        out.pop("$type", None)
        return out

    def decode_flat_rows(self, rows: list[Any]) -> list[Any]:
        """Many ``/api/query`` rows, decoded **in place** (pass freshly parsed rows): the bulk
        fast path, giving the same values as :meth:`decode_flat_row`.

        Query rows share one set of columns, so the work is done a column at a time: a column
        of ints, booleans and nulls is left as it is, a column of strings is converted only when
        one of them could be a date (has a ``:``), anything else is decoded value by value.
        """
        if not rows:
            return rows
        try:
            if type(rows[0]) is not dict:
                raise TypeError
            keys = tuple(rows[0])
            if len(keys) < 2 or len(set(map(len, rows))) != 1:
                raise KeyError  # not one shape: decode row by row
            table = list(map(itemgetter(*keys), rows))  # KeyError when a row lacks a column
        except (KeyError, TypeError):
            return [self.decode_flat_row(row) for row in rows]
        for key, column in zip(keys, zip(*table, strict=True), strict=True):
            if key == "$type":
                continue
            values = self.scalar_column(column)
            if values is None:
                values = [self.flat_value(v) for v in column]
            elif values is column:
                continue  # nothing in it to decode
            _consume(map(setitem, rows, repeat(key), values))
        if "$type" in keys:
            _consume(map(delitem, rows, repeat("$type")))
        return rows

    def scalar_column(self, column: Sequence[Any]) -> Sequence[Any] | None:
        """A column of strings, ints, booleans and nulls decoded (date strings as dates): the
        same object when nothing in it needs decoding, None when it holds other kinds."""
        # Every iMIS date has a ':'; one scan of the joined column rules most columns out.
        try:
            joined = "\x00".join(column)  # TypeError unless every value is a string
        except TypeError:
            kinds = set(map(type, column))
            if kinds <= _PLAIN_KINDS:
                return column
            if not kinds <= _TEXT_KINDS:
                return None
            joined = "\x00".join(filter(None, column))
        return column if ":" not in joined else self._text_column(column)

    def _text_column(self, column: Sequence[str | None]) -> list[Any]:
        # Dates already seen are one C-level lookup each; the strings left are parsed together.
        values = list(map(self._dates.get, column, column))
        if str in set(map(type, values)):
            fresh = self._new_dates({v for v in values if type(v) is str})
            values = list(map(fresh.get, values, values))
        return values

    def _new_dates(self, strings: set[str]) -> dict[str, datetime | None]:
        """The date-shaped ones among ``strings`` (none of them cached) parsed and cached: one
        pass over a column's new dates instead of :meth:`text` for each."""
        fresh = {value: self._parse(value) for value in filter(_DATE_RE.match, strings)}
        self._remember(fresh)
        return fresh

    def flat_value(self, value: Any) -> Any:
        """One scalar of a flat row decoded (a date string as a date, a fraction as Decimal)."""
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is float:
            return Decimal(repr(value))
        if kind is dict or kind is list:
            return self.decode(value)
        return value

    def decode_entity(self, wire: Mapping[str, Any]) -> Entity:
        """A ``GenericEntityData`` object as an :class:`Entity`."""
        identity = wire.get("Identity") or {}
        parent = wire.get("PrimaryParentIdentity") or {}
        return Entity(
            entity_type=str(wire.get("EntityTypeName", "")),
            properties=self.decode_properties(wire.get("Properties", {}).get("$values", ())),
            identity=_elements(identity),
            parent_type=wire.get("PrimaryParentEntityTypeName"),
            parent_identity=_elements(parent),
        )

    # --------------------------------------------------------------- encoding
    def encode_value(self, value: Any) -> Any:
        """A Python value as a ``GenericPropertyData`` ``Value`` (``None`` = omit the key)."""
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return {"$type": "System.Boolean", "$value": value}
        if isinstance(value, int):
            kind = "System.Int32" if _INT32[0] <= value <= _INT32[1] else "System.Int64"
            return {"$type": kind, "$value": value}
        if isinstance(value, Decimal):
            return {"$type": "System.Decimal", "$value": value}
        if isinstance(value, float):
            return {"$type": "System.Double", "$value": value}
        if isinstance(value, datetime | date):
            return self.format_date(value)
        if isinstance(value, bytes | bytearray):
            return {"$type": "System.Byte[], mscorlib", "$value": base64.b64encode(value).decode()}
        raise TypeError(
            f"cannot send a {type(value).__name__} as an iMIS property value: {value!r}"
        )

    def encode_properties(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """``{Name: value}`` as a ``GenericPropertyDataCollection`` (None values omit ``Value``)."""
        values: list[dict[str, Any]] = []
        for name, value in properties.items():
            prop: dict[str, Any] = {"$type": _PROP, "Name": name}
            encoded = self.encode_value(value)
            if encoded is not None:
                prop["Value"] = encoded
            values.append(prop)
        return {"$type": _PROPS, "$values": values}

    def encode_entity(self, entity: Entity) -> dict[str, Any]:
        """An :class:`Entity` as ``GenericEntityData`` for a POST or PUT body."""
        wire: dict[str, Any] = {"$type": _GED, "EntityTypeName": entity.entity_type}
        if entity.parent_type:
            wire["PrimaryParentEntityTypeName"] = entity.parent_type
        if entity.identity:
            wire["Identity"] = identity_data(entity.entity_type, entity.identity)
        if entity.parent_type and entity.parent_type != "Standalone" and entity.parent_identity:
            wire["PrimaryParentIdentity"] = identity_data(
                entity.parent_type, entity.parent_identity
            )
        wire["Properties"] = self.encode_properties(entity.properties)
        return wire


def identity_data(entity_type: str, elements: Sequence[str]) -> dict[str, Any]:
    """An ``IdentityData`` object."""
    return {
        "$type": _IDENTITY,
        "EntityTypeName": entity_type,
        "IdentityElements": {"$type": _STRINGS, "$values": [str(e) for e in elements]},
    }


def _elements(identity: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(e) for e in identity.get("IdentityElements", {}).get("$values", ()))


def dumps(body: Any) -> bytes:
    """JSON for a request body; ``Decimal`` goes out as an exact JSON number."""
    raw = orjson.dumps(body, default=_encode_default)
    if b"\\u0000DEC" not in raw:
        return raw
    return _DECIMAL_RAW.sub(r"\1", raw.decode()).encode()


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"cannot send {value} as a JSON number")
        return f"{_DECIMAL_MARK}{value}"
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot encode a {type(value).__name__} as JSON: {value!r}")


loads = orjson.loads
"""Parse a JSON body (orjson)."""


class Entity:
    """One ``GenericEntityData`` row: a business object, panel row, Activity or IQA row.

    ``row["Hours"]`` reads a property; ``identity`` is the tuple of identity elements
    (``("40125", "3")`` for a multi-instance row), ``key`` the path segment that addresses it.
    """

    __slots__ = ("entity_type", "identity", "parent_identity", "parent_type", "properties")

    def __init__(
        self,
        entity_type: str,
        properties: dict[str, Any],
        identity: tuple[str, ...] = (),
        parent_type: str | None = None,
        parent_identity: tuple[str, ...] = (),
    ) -> None:
        self.entity_type = entity_type
        self.properties = properties
        self.identity = identity
        self.parent_type = parent_type
        self.parent_identity = parent_identity

    @property
    def key(self) -> str:
        """The URL segment addressing this row: ``40125`` or ``~40125|3`` (multi-instance)."""
        return identity_key(self.identity)

    def __getitem__(self, name: str) -> Any:
        return self.properties[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A property value, or ``default`` when the row does not carry it."""
        return self.properties.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """The properties as a plain dict (a copy)."""
        return dict(self.properties)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entity):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Entity({self.entity_type!r}, identity={self.identity!r}, {self.properties!r})"


def identity_key(identity: Sequence[str] | str) -> str:
    """The URL segment for an identity: ``"40125"``, or ``"~40125|3"`` for a multi-part one."""
    if isinstance(identity, str):
        return identity
    if not identity:
        raise ValueError("an identity needs at least one element")
    if len(identity) == 1:
        return str(identity[0])
    return "~" + "|".join(str(e) for e in identity)
