"""Resource namespaces of the sync :class:`~imis_tier.client.Client` (``imis.parties``, ...).

Every list method returns a lazy :class:`~imis_tier.client.SyncPager`: ``limit`` is the page size
sent to iMIS (clamped to 500), ``max_items`` stops after that many rows, ``offset`` is where to
start. Filters are iMIS filter expressions by property name: ``CustomerTypeCode="in:REG|STU"``,
``UpdatedOn="gt:2025-03-01T00:00:00"``; a ``datetime`` value is sent in the association's time
zone and a list becomes ``in:a|b``. The async twins live in
:mod:`imis_tier.client.async_resources`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from imis_tier.client import _decode, _flows
from imis_tier.client import _specs as specs
from imis_tier.client._codec import Entity
from imis_tier.client._paging import DEFAULT_PAGE_SIZE, SyncPager
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
    from imis_tier.client._sync import Client


class _Resource:
    def __init__(self, client: Client) -> None:
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
    ) -> SyncPager[Party]:
        """Parties matching ``filters`` (e.g. ``CustomerTypeCode="in:REG|STU"``)."""
        spec = specs.parties(self._codec, filters, order_by)
        return self._client._pager(spec, _decode.parties(self._codec), limit, offset, max_items)

    def get(self, party_id: str | int) -> Party:
        """One party by id (raises :class:`NotFound`)."""
        return self._client._run(_flows.party_get(self._codec, str(party_id)))


class Entities(_Resource):
    """Any business object, panel source or custom object reached by name (GenericEntityData).

    Rows are :class:`Entity` values; a multi-instance row's key is ``(id, ordinal)``.
    """

    def __init__(self, client: Client, name: str) -> None:
        super().__init__(client)
        self.name = name

    def get(self, key: str | int | Sequence[str | int]) -> Entity:
        """One row by identity: ``"40125"`` or ``("40125", 3)`` (raises :class:`NotFound`)."""
        return self._client._run(_flows.entity_get(self._codec, self.name, specs.key(key)))

    def list(
        self,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
        max_items: int | None = None,
        order_by: str | None = None,
        **filters: Any,
    ) -> SyncPager[Entity]:
        """Rows matching ``filters`` (e.g. ``ID="40125"``)."""
        spec = specs.listing(self._codec, self.name, filters, order_by)
        return self._client._pager(spec, _decode.entities(self._codec), limit, offset, max_items)

    def create(
        self,
        data: Mapping[str, Any] | BaseModel,
        parent_id: str | int | None = None,
        *,
        parent_type: str = "Party",
    ) -> Entity:
        """A new row under party ``parent_id`` (or standalone); returns the row as stored."""
        parent = None if parent_id is None else str(parent_id)
        return self._client._run(
            _flows.entity_create(self._codec, self.name, data, parent, parent_type)
        )

    def update(
        self, key: str | int | Sequence[str | int], changes: Mapping[str, Any] | BaseModel
    ) -> Entity:
        """Change some properties of a row (read, merge, write back whole)."""
        return self._client._run(
            _flows.entity_update(self._codec, self.name, specs.key(key), changes)
        )

    def upsert(
        self,
        data: Mapping[str, Any] | BaseModel,
        key: str | Sequence[str],
        parent_id: str | int | None = None,
    ) -> Entity:
        """Update the row whose ``key`` field(s) equal those in ``data``, else create it."""
        parent = None if parent_id is None else str(parent_id)
        return self._client._run(_flows.entity_upsert(self._codec, self.name, data, key, parent))

    def delete(self, key: str | int | Sequence[str | int]) -> None:
        """Delete a row by identity."""
        self._client._run(_flows.entity_delete(self.name, specs.key(key)))

    def metadata(self) -> Any:
        """The property definitions of this entity type (``/api/metadata/{name}``)."""
        return self._client._run(_flows.fetch_one(specs.metadata(self.name), self._codec.decode))


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
    ) -> SyncPager[Activity]:
        """Activities, optionally of one party, one type, or changed after ``updated_since``."""
        spec = specs.activities(self._codec, party_id, activity_type, updated_since, filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, Activity), limit, offset, max_items
        )

    def create(self, party_id: str | int, activity_type: str, **properties: Any) -> Entity:
        """A new activity for a party (``PartyId`` and ``ACTIVITY_TYPE`` set for you)."""
        data = {"PartyId": str(party_id), "ACTIVITY_TYPE": activity_type, **properties}
        return self._client._run(_flows.entity_create(self._codec, "Activity", data, str(party_id)))


class Events(_Resource):
    """Events and registrations."""

    def list(
        self, *, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None, **filters: Any
    ) -> SyncPager[Event]:
        spec = specs.listing(self._codec, "Event", filters)
        return self._client._pager(spec, _decode.contract(self._codec, Event), limit, 0, max_items)

    def get(self, event_id: str) -> Event:
        return self._client._run(
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
    ) -> SyncPager[EventRegistration]:
        """Registrations, optionally for one event and/or one party."""
        spec = specs.listing(
            self._codec, "EventRegistration", {"EventId": event_id, "PartyId": party_id, **filters}
        )
        return self._client._pager(
            spec, _decode.contract(self._codec, EventRegistration), limit, 0, max_items
        )

    def register(
        self, event_id: str, party_id: str | int, *, functions: Sequence[str] = ()
    ) -> EventRegistration:
        """Register contact ``party_id`` for ``event_id`` (``RegisterEvent``); the new
        registration (id ``"{EventId}-{PartyId}"``, ``status`` 1).

        ``functions`` are event function codes: the first is sent as the registration option.
        Not retried once iMIS may have acted on it (a repeat would register twice). Raises
        :class:`NotFound` for an unknown event or contact, :class:`Conflict` when already
        registered.
        """
        return self._client._run(_flows.event_register(self._codec, event_id, party_id, functions))

    def cancel_registration(self, event_id: str, party_id: str | int) -> EventRegistration:
        """Cancel contact ``party_id``'s registration for ``event_id``
        (``CancelEventRegistration``); the registration, now ``status`` 0. Safe to repeat;
        raises :class:`NotFound` when there is no such registration."""
        return self._client._run(_flows.event_cancel_registration(self._codec, event_id, party_id))


class Financial(_Resource):
    """Invoices and payments."""

    def invoices(
        self, *, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None, **filters: Any
    ) -> SyncPager[Invoice]:
        spec = specs.listing(self._codec, "Invoice", filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, Invoice), limit, 0, max_items
        )

    def payments(
        self, *, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None, **filters: Any
    ) -> SyncPager[Payment]:
        spec = specs.listing(self._codec, "Payment", filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, Payment), limit, 0, max_items
        )


class Memberships(_Resource):
    """Member types, dues billing configuration and paid-through dates."""

    def customer_types(self) -> list[CustomerType]:
        spec = specs.listing(self._codec, "LegacyCustomerType", {})
        return self._client._pager(
            spec, _decode.contract(self._codec, CustomerType), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    def billing_cycles(self) -> list[BillingCycle]:
        spec = specs.listing(self._codec, "LegacyBillingCycle", {})
        return self._client._pager(
            spec, _decode.contract(self._codec, BillingCycle), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    def billing_items(self, **filters: Any) -> list[BillingItem]:
        spec = specs.listing(self._codec, "LegacyBillingItem", filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, BillingItem), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    def paid_through(self, party_id: str | int) -> datetime | None:
        """The party's paid-through date (``None`` when it has none)."""
        return self._client._run(_flows.party_paid_through(self._codec, str(party_id)))


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
    ) -> SyncPager[ChangeLogEntry]:
        spec = specs.changelog(self._codec, entity_type, identity, since, filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, ChangeLogEntry), limit, 0, max_items
        )


class Tasks(_Resource):
    """Process Automation tasks."""

    def list(self, **filters: Any) -> list[TaskDefinition]:
        spec = specs.listing(self._codec, "TaskDefinition", filters)
        return self._client._pager(
            spec, _decode.contract(self._codec, TaskDefinition), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()

    def execute_adhoc(
        self,
        name: str,
        *,
        actions: Sequence[Mapping[str, Any]] = (),
        stored_procedure: str | None = None,
        priority: int = 0,
    ) -> TaskResult:
        """Run a one-off task made of ``actions`` (or one ``stored_procedure``)."""
        return self._client._run(_flows.task_adhoc(name, actions, stored_procedure, priority))

    def run(self, name: str) -> TaskResult:
        """Run a saved task by name."""
        return self._client._run(_flows.task_run(self._codec, name))


class Metadata(_Resource):
    """Entity metadata and the business objects of the site."""

    def get(self, entity_type: str) -> Any:
        return self._client._run(_flows.fetch_one(specs.metadata(entity_type), self._codec.decode))

    def business_objects(self) -> list[Any]:
        """``BOEntityDefinition`` rows, decoded."""
        spec = specs.listing(self._codec, "BOEntityDefinition", {})
        return self._client._pager(
            spec, _decode.decoded(self._codec), DEFAULT_PAGE_SIZE, 0, None
        ).to_list()
