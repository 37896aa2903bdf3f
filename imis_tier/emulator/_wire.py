"""The emulator's own Json.NET encoder: ``$type`` / ``$values`` / ``$value`` as iMIS writes them.

This is deliberately independent of the client's codec (see docs/emulator.md): two separate
implementations of imis-api.md catch each other's mistakes. Values inside the emulator are plain
Python (``str``, ``int``, ``bool``, ``float``, ``Decimal``, naive ``datetime``, ``None``); this
module turns them into wire JSON bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

CONTRACTS = "Asi.Contracts"
GENERIC_ENTITY = "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"
IDENTITY = "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts"
STRING_COLLECTION = (
    "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib"
)
PROPERTY_COLLECTION = "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts"
PROPERTY = "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts"
EXPANDO = "System.Dynamic.ExpandoObject, System.Core"
HTTP_ERROR = "System.Web.Http.HttpError, System.Web.Http"
EXECUTE_RESULT = "Asi.Soa.Core.DataContracts.GenericExecuteResult, Asi.Contracts"
NO_DATE = "0001-01-01T00:00:00"

_INT32 = (-(2**31), 2**31 - 1)
_AS_IS = frozenset({str, int, bool, float, type(None)})
# Decimals travel through json.dumps as marked strings and are unquoted afterwards, so they keep
# their exact digits (250.00 stays 250.00) without a float round trip.
_DECIMAL_MARK = "\u0001D"
_DECIMAL_RE = re.compile(rb'"\\u0001D(-?[0-9.]+)"')


def data_type(name: str, namespace: str = "Asi.Soa.Core.DataContracts") -> str:
    """The assembly-qualified CLR name of an iMIS data contract, e.g. ``PersonData``."""
    return f"{namespace}.{name}, {CONTRACTS}"


def list_of(item_type: str) -> str:
    """``List`1[[T]]`` as Json.NET names it for a collection of ``item_type``."""
    return f"System.Collections.Generic.List`1[[{item_type}]], mscorlib"


def paged_result_of(item_type: str) -> str:
    return f"Asi.Soa.Core.DataContracts.PagedResult`1[[{item_type}]], {CONTRACTS}"


def format_dates(values: Any) -> list[str | None]:
    """Zone-less ISO strings for a datetime64 array (vectorised; NaT -> None)."""
    import numpy as np

    arr = np.asarray(values).astype("datetime64[ms]")
    missing = np.isnat(arr)
    text = np.datetime_as_string(arr, unit="s").astype(object)
    fractional = ~missing & (arr.astype("int64") % 1000 != 0)
    if fractional.any():
        text[fractional] = np.datetime_as_string(arr[fractional], unit="ms")
    text[missing] = None
    return list(text)


def format_date(value: datetime | date) -> str:
    """A zone-less ISO string, seconds precision, as iMIS writes local times."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=None)
    # Whole seconds as iMIS usually writes them; milliseconds only when the stamp has them.
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def plain(value: Any) -> Any:
    """A value for a typed contract field or an ExpandoObject row: no ``$value`` wrapping."""
    if type(value) in _AS_IS:  # the common case, checked first: rendering is the hot path
        return value
    if isinstance(value, datetime | date):
        return format_date(value)
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + _decimal_text(value)
    return value


def wrapped(value: Any) -> Any:
    """A GenericPropertyData ``Value``: strings and dates plain, numbers and booleans wrapped."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return {"$type": "System.Boolean", "$value": value}
    if isinstance(value, int):
        kind = "System.Int32" if _INT32[0] <= value <= _INT32[1] else "System.Int64"
        return {"$type": kind, "$value": value}
    if isinstance(value, Decimal):
        return {"$type": "System.Decimal", "$value": _DECIMAL_MARK + _decimal_text(value)}
    if isinstance(value, float):
        return {"$type": "System.Double", "$value": value}
    if isinstance(value, bytes):
        import base64

        return {"$type": "System.Byte[], mscorlib", "$value": base64.b64encode(value).decode()}
    return plain(value)


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


def identity(entity_type: str, elements: Sequence[str]) -> dict[str, Any]:
    return {
        "$type": IDENTITY,
        "EntityTypeName": entity_type,
        "IdentityElements": {"$type": STRING_COLLECTION, "$values": list(elements)},
    }


def property_collection(properties: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A GenericPropertyDataCollection; a ``None`` value leaves out the ``Value`` key."""
    values = []
    for name, value in properties:
        prop: dict[str, Any] = {"$type": PROPERTY, "Name": name}
        if value is not None:
            prop["Value"] = wrapped(value)
        values.append(prop)
    return {"$type": PROPERTY_COLLECTION, "$values": values}


def generic_entity(
    entity_type: str,
    elements: Sequence[str],
    properties: Iterable[tuple[str, Any]],
    parent_type: str | None = "Party",
    parent_elements: Sequence[str] = (),
) -> dict[str, Any]:
    """A GenericEntityData row (business objects, panels, Activity, IQA rows)."""
    doc: dict[str, Any] = {"$type": GENERIC_ENTITY, "EntityTypeName": entity_type}
    if parent_type:
        doc["PrimaryParentEntityTypeName"] = parent_type
    doc["Identity"] = identity(entity_type, elements)
    if parent_type and parent_elements:
        doc["PrimaryParentIdentity"] = identity(parent_type, parent_elements)
    doc["Properties"] = property_collection(properties)
    return doc


def typed(type_name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A typed data contract: ``$type`` first, then fields with nulls omitted."""
    doc: dict[str, Any] = {"$type": type_name}
    for name, value in fields.items():
        if value is not None:
            doc[name] = plain(value)
    return doc


def dumps(doc: Any) -> bytes:
    """Compact JSON bytes, with marked decimals turned back into exact JSON numbers."""
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    if b"\\u0001D" in raw:
        raw = _DECIMAL_RE.sub(rb"\1", raw)
    return raw


def paged(
    item_type: str,
    items: Sequence[bytes],
    offset: int,
    limit: int,
    total: int,
    result_type: str | None = None,
    count: int | None = None,
) -> bytes:
    """The PagedResult envelope around already-encoded item bytes (no re-serialisation).

    ``items`` are one encoded item each, or (with ``count``) comma-joined runs of items.
    """
    count = len(items) if count is None else count
    has_next = offset + count < total
    head = {
        "$type": result_type or paged_result_of(item_type),
        "Items": {"$type": list_of(item_type), "$values": []},
    }
    tail = {
        "Offset": offset,
        "Limit": limit,
        "Count": count,
        "TotalCount": total,
        "NextPageLink": None,
        "HasNext": has_next,
        "NextOffset": offset + count if has_next else 0,
    }
    head_bytes = dumps(head)[: -len(b"]}}")]  # open the $values array for the items
    tail_bytes = dumps(tail)[1:]
    return head_bytes + b",".join(items) + b"]}," + tail_bytes


def http_error(message: str) -> bytes:
    """The Web API HttpError body iMIS answers errors with."""
    return dumps({"$type": HTTP_ERROR, "Message": message})


def execute_result(result: Any) -> bytes:
    doc: dict[str, Any] = {"$type": EXECUTE_RESULT}
    if result is not None:
        doc["Result"] = result
    return dumps(doc)


def unwrap(value: Any) -> Any:
    """Read a wire value back: ``{"$type":..,"$value":x}`` -> x, ``{"$values":[..]}`` -> list."""
    if isinstance(value, dict):
        if "$value" in value:
            return value["$value"]
        if "$values" in value:
            return [unwrap(v) for v in value["$values"]]
    return value


def read_properties(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Name -> unwrapped Value pairs of a GenericEntityData body (missing Value -> None)."""
    props = doc.get("Properties")
    values = props.get("$values") if isinstance(props, dict) else props
    if not isinstance(values, list):
        raise ValueError("Properties must be a GenericPropertyDataCollection with $values")
    out: dict[str, Any] = {}
    for item in values:
        if not isinstance(item, dict) or "Name" not in item:
            raise ValueError("each property needs a Name")
        out[str(item["Name"])] = unwrap(item.get("Value"))
    return out


def identity_elements(doc: Mapping[str, Any], key: str = "Identity") -> list[str]:
    ident = doc.get(key)
    if not isinstance(ident, dict):
        return []
    elements = unwrap(ident.get("IdentityElements"))
    return [str(e) for e in elements] if isinstance(elements, list) else []
