"""Page decoders: raw wire rows to models, entities and dicts, in one pass per row.

Each function takes a list of raw rows (as parsed from JSON) and returns the decoded list, so a
pager decodes a whole page at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from imis_tier.client import _party_wire, _query_wire
from imis_tier.client._codec import Entity, WireCodec
from imis_tier.client.models import _PARTS, ImisModel, Organization, Party, Person, build

M = TypeVar("M", bound=ImisModel)


def party(codec: WireCodec, wire: Any) -> Party:
    """A ``PartyData`` (Person or Organization) with AdditionalAttributes flattened in.

    ``wire`` is a party as parsed from JSON, or a typed wire struct from a party page
    (:mod:`imis_tier.client._party_wire`); both give the same model. The composite parts the
    model maps (``PersonName``, ``Status``, ``UpdateInformation``, ``PrimaryOrganization``,
    ``Emails``) are read field by field and also kept, as received, among the extras under their
    wire names (``Status`` as ``StatusDetail``); ``Addresses`` and ``Phones`` are kept as received
    too, for the typed views that read them. Other members are decoded into the extras.
    """
    if _party_wire.is_wire(wire):
        return parties(codec)([wire])[0]
    kind, values = wire.get("$type", ""), _party_values(codec, wire)
    cls: type[Party] = (
        Person if "PersonData" in kind else Organization if "OrganizationData" in kind else Party
    )
    if values.get("PartyId") is None and values.get("Id") is not None:
        values["PartyId"] = values["Id"]
    return build(cls, values)


def _party_values(codec: WireCodec, wire: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    text = codec.text
    # One pass, the common value shapes inline (this runs once per party in bulk extracts).
    for key, value in wire.items():
        shape = type(value)
        if shape is str:
            if key != "$type":
                # A part is kept as received, as a bulk read keeps it, even if shaped like a date.
                date_shaped = len(value) >= 19 and value[10] == "T" and key not in _PARTS
                values[key] = text(value) if date_shaped else value
        elif shape is dict:
            if key == "AdditionalAttributes":
                codec.merge_properties(value.get("$values", ()), values)
            elif key in _PARTS:
                values[key] = value
                _read_part(codec, key, value, values)
            else:
                values[key] = codec.decode(value)
        elif key in _PARTS or (shape is not float and shape is not list):
            values[key] = value
        else:
            values[key] = codec.decode(value)
    return values


def _read_part(codec: WireCodec, key: str, part: Mapping[str, Any], values: dict[str, Any]) -> None:
    if key == "PersonName":
        values.setdefault("FirstName", part.get("FirstName"))
        values.setdefault("LastName", part.get("LastName"))
    elif key == "Status":
        values["Status"] = part.get("PartyStatusId")
        values["StatusDetail"] = part
    elif key == "UpdateInformation":
        updated = part.get("UpdatedOn")
        values.setdefault(
            "UpdatedOn", codec.parse_date(updated) if isinstance(updated, str) else updated
        )
    elif key == "PrimaryOrganization":
        values.setdefault("OrganizationName", part.get("Name"))
    elif key == "Emails":
        emails = part.get("$values") or ()
        first = None
        for email in emails:
            if email.get("IsPrimary"):
                first = email
                break
        else:
            if emails:
                first = emails[0]
        if first is not None:
            values.setdefault("Email", first.get("Address"))


def parties(codec: WireCodec) -> Callable[[list[Any]], list[Party]]:
    """A page of parties: wire structs are built a page at a time, rows of a shape the page
    builder does not cover (and parsed JSON) the general way."""

    def decode(rows: list[Any]) -> list[Party]:
        if not rows or not _party_wire.is_wire(rows[0]):
            return [party(codec, row) for row in rows]
        built, left = _party_wire.build_page(codec, rows)
        for position in left:
            built[position] = party(codec, _party_wire.to_wire(rows[position]))
        return built  # type: ignore[return-value]  # every None was filled in above

    return decode


def contract(codec: WireCodec, cls: type[M]) -> Callable[[list[Any]], list[M]]:
    """Typed data contracts (plain JSON fields, ``AdditionalAttributes`` flattened) or
    GenericEntityData rows, as ``cls``."""

    def decode(rows: list[Any]) -> list[M]:
        return [build(cls, flatten(codec, row)) for row in rows]

    return decode


def flatten(codec: WireCodec, wire: Mapping[str, Any]) -> dict[str, Any]:
    """One decoded level of a contract or entity: properties and additional attributes merged."""
    if "Properties" in wire and "EntityTypeName" in wire:
        entity = codec.decode_entity(wire)
        values = dict(entity.properties)
        values.setdefault("Identity", entity.identity)
        return values
    values = {}
    for key, value in wire.items():
        if key == "AdditionalAttributes" and isinstance(value, dict):
            values.update(codec.decode_properties(value.get("$values", ())))
        elif key != "$type":
            values[key] = codec.decode(value)
    return values


def entities(codec: WireCodec) -> Callable[[list[Any]], list[Entity]]:
    return lambda rows: [codec.decode_entity(row) for row in rows]


def iqa_rows(codec: WireCodec) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """Legacy ``/api/iqa`` rows: the properties by display alias, without ``ResultRow``."""

    def decode(rows: list[Any]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            values = codec.decode_properties(row.get("Properties", {}).get("$values", ()))
            values.pop("ResultRow", None)
            out.append(values)
        return out

    return decode


def query_rows(codec: WireCodec) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """``/api/query`` rows (flat ExpandoObjects), parsed as dicts or as learned row structs
    (:mod:`imis_tier.client._query_wire`)."""

    def decode(rows: list[Any]) -> list[dict[str, Any]]:
        if rows and _query_wire.is_wire(rows[0]):
            return _query_wire.build_rows(codec, rows)
        return codec.decode_flat_rows(rows)  # in place: the pager hands over fresh rows

    return decode


def decoded(codec: WireCodec) -> Callable[[list[Any]], list[Any]]:
    """Rows of any shape as plain Python values."""
    return lambda rows: [codec.decode(row) for row in rows]


def any_row(codec: WireCodec) -> Callable[[list[Any]], list[Any]]:
    """GenericEntityData rows as :class:`Entity`, any other row as plain Python."""

    def decode(rows: list[Any]) -> list[Any]:
        return [
            codec.decode_entity(row)
            if isinstance(row, dict) and "Properties" in row and "EntityTypeName" in row
            else codec.decode(row)
            for row in rows
        ]

    return decode


def for_entity(codec: WireCodec, entity_type: str) -> Callable[[list[Any]], list[Any]]:
    """The decoder for an entity type's rows: typed models where the SDK has one."""
    from imis_tier.client import models

    typed: dict[str, type[ImisModel]] = {
        "activity": models.Activity,
        "invoice": models.Invoice,
        "payment": models.Payment,
        "event": models.Event,
        "eventregistration": models.EventRegistration,
        "changelog": models.ChangeLogEntry,
    }
    name = entity_type.lower()
    if name in ("party", "person", "organization"):
        return parties(codec)
    if name in typed:
        return contract(codec, typed[name])
    return any_row(codec)
