"""Resource namespaces of the :class:`~imis_tier.client.AsyncClient` (``imis.parties``, ...).

The twins of :mod:`imis_tier.client.resources`, method for method: list methods return an
:class:`~imis_tier.client.AsyncPager` (``async for``), the others are awaited.


Every list method returns a lazy :class:`~imis_tier.client.AsyncPager`: ``limit`` is the page size
sent to iMIS (clamped to 500), ``max_items`` stops after that many rows, ``offset`` is where to
start. Filters are iMIS filter expressions by property name: ``CustomerTypeCode="in:REG|STU"``,
``UpdatedOn="gt:2025-03-01T00:00:00"``; a ``datetime`` value is sent in the association's time
zone and a list becomes ``in:a|b``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from imis_tier.client import _decode, _flows
from imis_tier.client import _specs as specs
from imis_tier.client._codec import Entity
from imis_tier.client._paging import DEFAULT_PAGE_SIZE, AsyncPager
from imis_tier.client.models import (
    Activity,
    BillingCycle,
    BillingItem,
    ChangeLogEntry,
    CustomerType,
    Event,
    EventRegistration,
    Invoice,
    Party,
    Payment,
    TaskDefinition,
    TaskResult,
)

if TYPE_CHECKING:
    from imis_tier.client._async import AsyncClient


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._codec = client.codec


class Parties(_Resource):
    """Contacts (``/api/Party``): persons and organizations with their membership fields."""

    def list(
        self,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
        max_items: int | None = None,
        order_by: str | None = None,
        **filters: Any,
    ) -> AsyncPager[Party]:
        """Parties matching ``filters`` (e.g. ``CustomerTypeCode="in:REG|STU"``)."""
        spec = specs.parties(self._codec, filters, order_by)
        return self._client._pager(spec, _decode.parties(self._codec), limit, offset, max_items)

    async def get(self, party_id: str | int) -> Party:
        """One party by id (raises :class:`NotFound`)."""
        return await self._client._run(_flows.party_get(self._codec, str(party_id)))


class Entities(_Resource):
    """Any business object, panel source or custom object reached by name (GenericEntityData).

    Rows are :class:`Entity` values; a multi-instance row's key is ``(id, ordinal)``.
    """

    def __init__(self, client: AsyncClient, name: str) -> None:
        super().__init__(client)
        self.name = name

    async def get(self, key: str | int | Sequence[str | int]) -> Entity:
        """One row by identity: ``"40125"`` or ``("40125", 3)`` (raises :class:`NotFound`)."""
        return await self._client._run(_flows.entity_get(self._codec, self.name, specs.key(key)))

    def list(
        self,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
        max_items: int | None = None,
        order_by: str | None = None,
        **filters: Any,
    ) -> AsyncPager[Entity]:
        """Rows matching ``filters`` (e.g. ``ID="40125"``)."""
        spec = specs.listing(self._codec, self.name, filters, order_by)
        return self._client._pager(spec, _decode.entities(self._codec), limit, offset, max_items)

    async def create(
        self,
        data: Mapping[str, Any] | BaseModel,
        parent_id: str | int | None = None,
        *,
        parent_type: str = "Party",
    ) -> Entity:
        """A new row under party ``parent_id`` (or standalone); returns the row as stored."""
        parent = None if parent_id is None else str(parent_id)
        return await self._client._run(
            _flows.entity_create(self._codec, self.name, data, parent, parent_type)
        )

    async def update(
        self, key: str | int | Sequence[str | int], changes: Mapping[str, Any] | BaseModel
    ) -> Entity:
        """Change some properties of a row (read, merge, write back whole)."""
        return await self._client._run(
            _flows.entity_update(self._codec, self.name, specs.key(key), changes)
        )

    async def upsert(
        self,
        data: Mapping[str, Any] | BaseModel,
        key: str | Sequence[str],
        parent_id: str | int | None = None,
    ) -> Entity:
        """Update the row whose ``key`` field(s) equal those in ``data``, else create it."""
        parent = None if parent_id is None else str(parent_id)
        return await self._client._run(
            _flows.entity_upsert(self._codec, self.name, data, key, parent)
        )

    async def delete(self, key: str | int | Sequence[str | int]) -> None:
        """Delete a row by identity."""
        await self._client._run(_flows.entity_delete(self.name, specs.key(key)))

    async def metadata(self) -> Any:
        """The property definitions of this entity type (``/api/metadata/{name}``)."""
        return await self._client._run(
            _flows.fetch_one(specs.metadata(self.name), self._codec.decode)
        )


class Activities(_Resource):
    """Activity rows (``/api/Activity``)."""

    def list(
        self,
        *,
        party_id: str | int | None = None,
        activity_type: str | None = None,
        updated_since: datetime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
        max_items: int | None = None,
        **filters: Any,
    ) -> AsyncPager[Activity]:
        """Activities, optionally of one party, one type, or changed after ``updated_since``."""
        spec = specs.activities(self._codec, party_id, activity_type, updated_since, filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, Activity), limit, offset, max_items
        )

    async def create(self, party_id: str | int, activity_type: str, **properties: Any) -> Entity:
        """A new activity for a party (``PartyId`` and ``ACTIVITY_TYPE`` set for you)."""
        data = {"PartyId": str(party_id), "ACTIVITY_TYPE": activity_type, **properties}
        return await self._client._run(
            _flows.entity_create(self._codec, "Activity", data, str(party_id))
        )


class Events(_Resource):
    """Events and registrations."""

    def list(
        self, *, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None, **filters: Any
    ) -> AsyncPager[Event]:
        spec = specs.listing(self._codec, "Event", filters)
        return self._client._pager(spec, _decode.contract(self._codec, Event), limit, 0, max_items)

    async def get(self, event_id: str) -> Event:
        return await self._client._run(
            _flows.fetch_one(specs.get("Event", event_id), specs.one(self._codec, Event))
        )

    def registrations(
        self,
        *,
        event_id: str | None = None,
        party_id: str | int | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        max_items: int | None = None,
        **filters: Any,
    ) -> AsyncPager[EventRegistration]:
        """Registrations, optionally for one event and/or one party."""
        spec = specs.listing(
            self._codec, "EventRegistration", {"EventId": event_id, "PartyId": party_id, **filters}
        )
        return self._client._pager(
            spec, _decode.contract(self._codec, EventRegistration), limit, 0, max_items
        )

    async def register(
        self, event_id: str, party_id: str | int, *, functions: Sequence[str] = ()
    ) -> EventRegistration:
        """Register contact ``party_id`` for ``event_id`` (``RegisterEvent``); the new
        registration (id ``"{EventId}-{PartyId}"``, ``status`` 1).

        ``functions`` are event function codes: the first is sent as the registration option.
        Not retried once iMIS may have acted on it (a repeat would register twice). Raises
        :class:`NotFound` for an unknown event or contact, :class:`Conflict` when already
        registered.
        """
        return await self._client._run(
            _flows.event_register(self._codec, event_id, party_id, functions)
        )

    async def cancel_registration(self, event_id: str, party_id: str | int) -> EventRegistration:
        """Cancel contact ``party_id``'s registration for ``event_id``
        (``CancelEventRegistration``); the registration, now ``status`` 0. Safe to repeat;
        raises :class:`NotFound` when there is no such registration."""
        return await self._client._run(
            _flows.event_cancel_registration(self._codec, event_id, party_id)
        )


class Financial(_Resource):
    """Invoices and payments."""

    def invoices(
        self, *, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None, **filters: Any
    ) -> AsyncPager[Invoice]:
        spec = specs.listing(self._codec, "Invoice", filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, Invoice), limit, 0, max_items
        )

    def payments(
        self, *, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None, **filters: Any
    ) -> AsyncPager[Payment]:
        spec = specs.listing(self._codec, "Payment", filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, Payment), limit, 0, max_items
        )


class Memberships(_Resource):
    """Member types, dues billing configuration and paid-through dates."""

    async def customer_types(self) -> list[CustomerType]:
        spec = specs.listing(self._codec, "LegacyCustomerType", {})
        return await self._client._pager(
            spec, _decode.contract(self._codec, CustomerType), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    async def billing_cycles(self) -> list[BillingCycle]:
        spec = specs.listing(self._codec, "LegacyBillingCycle", {})
        return await self._client._pager(
            spec, _decode.contract(self._codec, BillingCycle), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    async def billing_items(self, **filters: Any) -> list[BillingItem]:
        spec = specs.listing(self._codec, "LegacyBillingItem", filters)
        return await self._client._pager(
            spec, _decode.contract(self._codec, BillingItem), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    async def paid_through(self, party_id: str | int) -> datetime | None:
        """The party's paid-through date (``None`` when it has none)."""
        return await self._client._run(_flows.party_paid_through(self._codec, str(party_id)))


class ChangeLog(_Resource):
    """Change history (``/api/ChangeLog``), e.g. every member-type change of a party."""

    def list(
        self,
        *,
        entity_type: str = "Party",
        identity: str | int | None = None,
        since: datetime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        max_items: int | None = None,
        **filters: Any,
    ) -> AsyncPager[ChangeLogEntry]:
        spec = specs.changelog(self._codec, entity_type, identity, since, filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, ChangeLogEntry), limit, 0, max_items
        )


class Tasks(_Resource):
    """Process Automation tasks."""

    async def list(self, **filters: Any) -> list[TaskDefinition]:
        spec = specs.listing(self._codec, "TaskDefinition", filters)
        return await self._client._pager(
            spec, _decode.contract(self._codec, TaskDefinition), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    async def execute_adhoc(
        self,
        name: str,
        *,
        actions: Sequence[Mapping[str, Any]] = (),
        stored_procedure: str | None = None,
        priority: int = 0,
    ) -> TaskResult:
        """Run a one-off task made of ``actions`` (or one ``stored_procedure``)."""
        return await self._client._run(_flows.task_adhoc(name, actions, stored_procedure, priority))

    async def run(self, name: str) -> TaskResult:
        """Run a saved task by name."""
        return await self._client._run(_flows.task_run(self._codec, name))


class Metadata(_Resource):
    """Entity metadata and the business objects of the site."""

    async def get(self, entity_type: str) -> Any:
        return await self._client._run(
            _flows.fetch_one(specs.metadata(entity_type), self._codec.decode)
        )

    async def business_objects(self) -> list[Any]:
        """``BOEntityDefinition`` rows, decoded."""
        spec = specs.listing(self._codec, "BOEntityDefinition", {})
        return await self._client._pager(
            spec, _decode.decoded(self._codec), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()
