"""Request specs for list and read endpoints, shared by the sync and async resources."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from imis_tier.client import _decode, _party_wire, _query_wire
from imis_tier.client._base import RequestSpec, entity_path, filter_params
from imis_tier.client._codec import WireCodec
from imis_tier.client.models import ImisModel, build

M = TypeVar("M", bound=ImisModel)
_PARTY_TYPES = frozenset({"party", "person", "organization"})


def key(value: str | int | Sequence[str | int]) -> str | tuple[str, ...]:
    """An identity argument as the path key: ``"40125"`` or ``("40125", "3")``."""
    if isinstance(value, str | int):
        return str(value)
    return tuple(str(v) for v in value)


def listing(
    codec: WireCodec, entity_type: str, filters: Mapping[str, Any], order_by: str | None = None
) -> RequestSpec:
    params = filter_params(filters, codec)
    if order_by:
        params.append(("OrderBy", order_by))
    return RequestSpec("GET", entity_path(entity_type), params=tuple(params))


def parties(
    codec: WireCodec, filters: Mapping[str, Any], order_by: str | None = None
) -> RequestSpec:
    """Listing parties, their pages parsed straight into typed wire structs."""
    return replace(listing(codec, "Party", filters, order_by), parse=_party_wire.parse_page)


def get(entity_type: str, entity_id: str | int) -> RequestSpec:
    return RequestSpec("GET", entity_path(entity_type, str(entity_id)))


def metadata(entity_type: str) -> RequestSpec:
    return RequestSpec("GET", entity_path("metadata", entity_type))


def one(codec: WireCodec, cls: type[M]) -> Callable[[Any], M]:
    return lambda wire: build(cls, _decode.flatten(codec, wire))


def _since(codec: WireCodec, since: datetime | None) -> str | None:
    return None if since is None else f"gt:{codec.format_date(since)}"


def activities(
    codec: WireCodec,
    party_id: str | int | None,
    activity_type: str | None,
    updated_since: datetime | None,
    filters: Mapping[str, Any],
) -> RequestSpec:
    merged = {
        "PartyId": None if party_id is None else str(party_id),
        "ACTIVITY_TYPE": activity_type,
        "UpdatedOn": _since(codec, updated_since),
        **filters,
    }
    return listing(codec, "Activity", merged)


def changelog(
    codec: WireCodec,
    entity_type: str,
    identity: str | int | None,
    since: datetime | None,
    filters: Mapping[str, Any],
) -> RequestSpec:
    merged = {
        "IdentityEntityTypeName": entity_type,
        "IdentityIdentityElement": None if identity is None else str(identity),
        "ChangeDate": _since(codec, since),
        **filters,
    }
    return listing(codec, "ChangeLog", merged)


def query(
    endpoint: str, name: str, parameters: Sequence[Any] | None, codec: WireCodec
) -> RequestSpec:
    """``/api/query`` or ``/api/iqa``: positional ``parameter=`` values, dates in local time."""
    params: list[tuple[str, str]] = [("QueryName", name)]
    for value in parameters or ():
        params.append(("parameter", "" if value is None else _param(value, codec)))
    # /api/query rows are flat: each call learns its columns and parses later pages to structs
    parse = _query_wire.QueryPages() if endpoint == "query" else None
    return RequestSpec("GET", f"/api/{endpoint}", params=tuple(params), parse=parse)


def _param(value: Any, codec: WireCodec) -> str:
    from datetime import date

    if isinstance(value, date):
        return codec.format_date(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def incremental(
    codec: WireCodec,
    entity_type: str,
    since: datetime | None,
    field: str,
    filters: Mapping[str, Any],
) -> RequestSpec:
    merged = {field: _since(codec, since), **filters}
    spec = listing(codec, entity_type, merged, order_by=field)
    if entity_type.lower() in _PARTY_TYPES:
        spec = replace(spec, parse=_party_wire.parse_page)  # decoded by _decode.parties
    return spec

