"""The one seam between write-back and the iMIS client: read, create, update, delete rows by name.

Everything else in :mod:`imis_tier.writeback` talks to iMIS through :class:`RowReader` /
:class:`RowWriter`, so the client's surface is adapted here only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from imis_tier.client import NotFound
from imis_tier.writeback.target import Target

_PAGE = 500  # iMIS's page-size cap: fewest round trips when reading a whole source


def client_tz(client: Any) -> tzinfo:
    """The association time zone the client reads and writes iMIS dates in (UTC if unknown)."""
    codec_tz = getattr(getattr(client, "codec", None), "tz", None)
    if isinstance(codec_tz, tzinfo):
        return codec_tz
    config = getattr(client, "config", None)
    zone = getattr(config, "tzinfo", None)
    if callable(zone):
        found = zone()
        if isinstance(found, tzinfo):
            return found
    found = getattr(client, "tz", None)
    return found if isinstance(found, tzinfo) else UTC


def _as_dict(row: Any, identity_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row from the client as a plain ``{property: value}`` dict, identity fields filled in."""
    if isinstance(row, Mapping):
        out = dict(row)
    elif isinstance(getattr(row, "properties", None), Mapping):
        out = dict(row.properties)
    elif callable(getattr(row, "to_dict", None)):
        out = dict(row.to_dict())
    else:
        raise TypeError(f"cannot read a row of type {type(row).__name__} as properties")
    identity = getattr(row, "identity", None)
    if isinstance(identity, tuple) and len(identity) == len(identity_fields):
        present = {k.casefold() for k, v in out.items() if v not in (None, "", 0, "0")}
        for name, element in zip(identity_fields, identity, strict=True):
            if name.casefold() not in present:
                out[name] = element
    return out


def _key(identity: tuple[str, ...]) -> str | tuple[str, ...]:
    return identity[0] if len(identity) == 1 else identity


def identity_text(identity: tuple[str, ...]) -> str:
    """iMIS's identity string: ``40125`` or, for a multi-instance row, ``40125|3``."""
    return "|".join(identity)


class RowReader:
    """Read the current rows of a target through the client (paged, filtered by the scope)."""

    def __init__(self, client: Any, target: Target) -> None:
        self.client = client
        self.target = target
        self.tz = client_tz(client)
        self._source = client.entities(target.name)

    def rows(self, **filters: Any) -> list[dict[str, Any]]:
        """Rows in the target's scope matching ``filters`` (equality; values sent as ``eq:``)."""
        # an explicit eq: keeps a value holding ':' from being read as a filter operator.
        criteria = {name: f"eq:{value}" for name, value in {**self.target.scope, **filters}.items()}
        pager = self._source.list(limit=_PAGE, **criteria)
        return [_as_dict(row, self.target.identity) for row in pager]

    def _row(self, row: Any) -> dict[str, Any]:
        return {} if row is None else _as_dict(row, self.target.identity)

    def _outgoing(self, values: Mapping[str, Any]) -> dict[str, Any]:
        # the client refuses naive datetimes: ours are local time of the association.
        return {
            name: value.replace(tzinfo=self.tz)
            if isinstance(value, datetime) and value.tzinfo is None
            else value
            for name, value in values.items()
        }


class RowWriter(RowReader):
    """Create, update and delete rows of a target."""

    def create(self, values: Mapping[str, Any]) -> dict[str, Any]:
        parent_id = None if self.target.parent is None else values.get(self.target.parent)
        created = self._source.create(
            self._outgoing(values), parent_id=None if parent_id is None else str(parent_id)
        )
        return self._row(created)

    def get(self, identity: tuple[str, ...]) -> dict[str, Any] | None:
        """The row with this iMIS identity, or ``None`` when iMIS has no such row."""
        try:
            found = self._source.get(_key(identity))
        except NotFound:
            return None
        return None if found is None else self._row(found)

    def update(self, identity: tuple[str, ...], values: Mapping[str, Any]) -> dict[str, Any] | None:
        """Change ``values`` on the row (the client reads, merges and PUTs it whole); ``None`` if gone."""
        try:
            updated = self._source.update(_key(identity), self._outgoing(values))
        except NotFound:
            return None
        return self._row(updated)

    def delete(self, identity: tuple[str, ...]) -> None:
        """Delete the row; a row already gone is not an error (the delete is what we wanted)."""
        with contextlib.suppress(NotFound):
            self._source.delete(_key(identity))


def run_task(client: Any, name: str) -> Any:
    """Run the persisted iMIS task ``name`` (``TaskDefinition/_execute``)."""
    return client.tasks.run(name)
