"""Typed iMIS records: pydantic v2 models with PascalCase wire aliases and snake_case attributes.

Every model keeps fields it does not know (``extra="allow"``; read them with ``model_extra``), so a
newer iMIS never loses data. Money is ``Decimal``; dates are timezone-aware ``datetime`` values in
the association's time zone.

Bulk reads build models with :func:`build` from already-decoded values (``model_construct``: no
second validation pass); construct them yourself with ``Model(...)`` or ``model_validate``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, Union, get_args, get_origin

import msgspec
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_pascal

M = TypeVar("M", bound="ImisModel")


class ImisModel(BaseModel):
    """Base of all iMIS records: PascalCase aliases, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_pascal)

    def to_wire(self) -> dict[str, Any]:
        """The record with its iMIS property names, nulls left out (as iMIS omits them)."""
        return self.model_dump(by_alias=True, exclude_none=True)


# ----------------------------------------------------------------- contacts
_EXTRA_SLOT: Any = BaseModel.__dict__["__pydantic_extra__"]  # where pydantic keeps the extras
# A party's composite parts, kept among its extras as received (``Status`` under
# ``StatusDetail``, since ``status`` is a field): wire member -> extras key. A bulk read keeps them
# as JSON text until the extras are first read.
_PARTS = {
    "PersonName": "PersonName",
    "PrimaryOrganization": "PrimaryOrganization",
    "Emails": "Emails",
    "Status": "StatusDetail",
    "UpdateInformation": "UpdateInformation",
    "Addresses": "Addresses",
    "Phones": "Phones",
}
_DEFERRED = tuple(_PARTS.values())
_decode_json = msgspec.json.decode


class Party(ImisModel):
    """A contact (``PartyData``): a :class:`Person` or an :class:`Organization`.

    Membership fields come from the party's ``AdditionalAttributes``.
    """

    party_id: str
    id: str | None = None
    uniform_id: str | None = None
    name: str | None = None
    email: str | None = None
    status: str | None = None
    customer_type_code: str | None = None
    customer_type_description: str | None = None
    is_member: bool | None = None
    join_date: datetime | None = None
    paid_thru_date: datetime | None = None
    renewed_thru_date: datetime | None = None
    chapter: str | None = None
    updated_on: datetime | None = None

    # A bulk read keeps a party's composite parts (``_DEFERRED``: its name, organization, emails,
    # status, update stamp, addresses and phones) among the extras as JSON text
    # (``msgspec.Raw``), decoded as received the first time the extras are read: the fields read
    # what they need from them, most extractions never look at the rest, and parsing them all
    # would cost half of reading the party.
    # Everything that reads the extras (``model_extra``, attributes, dumps, equality, copies,
    # pickling, pydantic's own serializer) goes through this property, so the text is never
    # seen. (Two threads reading at once may both decode: same result, harmless.)
    @property  # type: ignore[misc]
    def __pydantic_extra__(self) -> dict[str, Any] | None:
        extra: dict[str, Any] | None = _EXTRA_SLOT.__get__(self)
        if extra is not None:
            for key in _DEFERRED:
                value = extra.get(key)
                if type(value) is msgspec.Raw:
                    extra[key] = _decode_json(value)
        return extra

    @__pydantic_extra__.setter
    def __pydantic_extra__(self, extra: dict[str, Any] | None) -> None:
        _EXTRA_SLOT.__set__(self, extra)

    @property
    def addresses(self) -> tuple[PostalAddress, ...]:
        """The party's addresses, read from the wire's ``Addresses`` (``FullAddressData`` items,
        kept among the extras as received); empty when iMIS sent none."""
        return tuple(
            PostalAddress.from_wire(item)
            for item in _items(self, "Addresses")
            if isinstance(item, Mapping)
        )

    @property
    def mailing_address(self) -> PostalAddress | None:
        """The address marked preferred for mail, else the first; None without addresses."""
        addresses = self.addresses
        preferred = [address for address in addresses if address.is_preferred_mail]
        return next(iter(preferred or addresses), None)

    @property
    def phones(self) -> tuple[PhoneNumber, ...]:
        """The party's phone numbers, read from the wire's ``Phones`` (``PhoneData`` items)."""
        return tuple(
            PhoneNumber.from_wire(item)
            for item in _items(self, "Phones")
            if isinstance(item, Mapping)
        )


@dataclass(frozen=True)
class PostalAddress:
    """One of a party's addresses (iMIS's ``FullAddressData`` and its ``AddressData``)."""

    purpose: str | None
    lines: tuple[str, ...]
    city: str | None
    region: str | None
    postal_code: str | None
    country_code: str | None
    country: str | None
    full_address: str | None
    address_id: str | None = None
    is_preferred_mail: bool = False
    is_preferred_bill: bool = False

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> PostalAddress:
        """From a ``FullAddressData`` as received (collections as ``$values``) or decoded."""
        inner = item.get("Address")
        address: Mapping[str, Any] = inner if isinstance(inner, Mapping) else {}
        return cls(
            purpose=_text(item.get("AddressPurpose")),
            lines=tuple(str(line) for line in _collection(address.get("AddressLines"))),
            city=_text(address.get("CityName")),
            region=_text(address.get("CountrySubEntityCode")),
            postal_code=_text(address.get("PostalCode")),
            country_code=_text(address.get("CountryCode")),
            country=_text(address.get("CountryName")),
            full_address=_text(address.get("FullAddress")),
            address_id=_text(address.get("AddressId")),
            is_preferred_mail=item.get("IsPreferredMail") is True,
            is_preferred_bill=item.get("IsPreferredBill") is True,
        )


@dataclass(frozen=True)
class PhoneNumber:
    """One of a party's phone numbers (iMIS's ``PhoneData``)."""

    number: str
    phone_type: str | None

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> PhoneNumber:
        """From a ``PhoneData``."""
        return cls(str(item.get("Number") or ""), _text(item.get("PhoneType")))


def _items(model: ImisModel, member: str) -> list[Any]:
    """The items of a collection member kept among a model's extras."""
    return _collection((model.model_extra or {}).get(member))


def _collection(value: Any) -> list[Any]:
    """The items of a collection as received (``{"$type": ..., "$values": [...]}``) or decoded
    (a list); none for anything else."""
    if isinstance(value, Mapping):
        value = value.get("$values")
    return list(value) if isinstance(value, list | tuple) else []


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class Person(Party):
    """A person (``PersonData``)."""

    first_name: str | None = None
    last_name: str | None = None
    organization_name: str | None = None


class Organization(Party):
    """An organization (``OrganizationData``)."""

    organization_name: str | None = None


# ----------------------------------------------------- membership and billing
class CustomerType(ImisModel):
    """A member type (``LegacyCustomerType``)."""

    code: str = Field(validation_alias=AliasChoices("CustomerTypeCode", "Code", "code"))
    description: str | None = None
    is_member: bool | None = Field(
        default=None, validation_alias=AliasChoices("IsMemberType", "IsMember", "is_member")
    )
    rank: int | None = None


class BillingCycle(ImisModel):
    """A dues billing cycle (``LegacyBillingCycle``)."""

    name: str = Field(validation_alias=AliasChoices("Name", "BillingCycleName", "EntityId", "name"))
    months: int | None = Field(
        default=None, validation_alias=AliasChoices("Months", "RenewMonths", "months")
    )
    description: str | None = None


class BillingItem(ImisModel):
    """A dues product (``LegacyBillingItem``); ``price`` is exact."""

    item_code: str = Field(validation_alias=AliasChoices("ItemCode", "ProductCode", "item_code"))
    customer_type_code: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CustomerTypeCode", "TierCode", "customer_type_code"),
    )
    price: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("Price", "Amount", "price")
    )
    billing_cycle: str | None = None
    effective_from: datetime | None = None


# ------------------------------------------------------------------- finance
class Invoice(ImisModel):
    """An invoice; ``amount`` and ``balance`` are exact."""

    invoice_id: str = Field(validation_alias=AliasChoices("InvoiceId", "Id", "invoice_id"))
    party_id: str | None = Field(
        default=None, validation_alias=AliasChoices("PartyId", "BillToPartyId", "party_id")
    )
    invoice_date: datetime | None = None
    due_date: datetime | None = None
    kind: str | None = None
    amount: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("Amount", "InvoiceAmount", "amount")
    )
    balance: Decimal | None = None
    status: str | None = None
    updated_on: datetime | None = None


class Payment(ImisModel):
    """A payment against an invoice."""

    payment_id: str = Field(validation_alias=AliasChoices("PaymentId", "Id", "payment_id"))
    invoice_id: str | None = None
    party_id: str | None = None
    payment_date: datetime | None = None
    amount: Decimal | None = None
    method: str | None = Field(
        default=None, validation_alias=AliasChoices("Method", "PaymentMethod", "method")
    )
    status: str | None = None
    updated_on: datetime | None = None


# -------------------------------------------------------------------- events
class Event(ImisModel):
    """An event."""

    event_id: str = Field(validation_alias=AliasChoices("EventId", "Id", "event_id"))
    name: str | None = None
    kind: str | None = Field(
        default=None, validation_alias=AliasChoices("Kind", "EventType", "kind")
    )
    start_date: datetime | None = Field(
        default=None, validation_alias=AliasChoices("StartDate", "StartDateTime", "start_date")
    )
    price: Decimal | None = None
    updated_on: datetime | None = None


class EventRegistration(ImisModel):
    """A registration (id ``"{EventId}-{PartyId}"``; ``status`` 1 active, 0 cancelled)."""

    event_registration_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EventRegistrationId", "Id", "event_registration_id"),
    )
    event_id: str | None = None
    party_id: str | None = Field(
        default=None, validation_alias=AliasChoices("PartyId", "RegistrantId", "party_id")
    )
    registered_on: datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("RegisteredOn", "RegistrationDate", "registered_on"),
    )
    status: int | None = None
    attended: bool | None = None
    updated_on: datetime | None = None

    @property
    def is_active(self) -> bool:
        """Whether the registration is active (``status`` 1) rather than cancelled."""
        return self.status == 1

    @property
    def function_codes(self) -> tuple[str, ...]:
        """Codes of the event functions (registration option, sessions) registered for, read
        from the wire's ``Functions.$values[].EventFunction`` (kept among the extras)."""
        codes = []
        for item in _items(self, "Functions"):
            inner = item.get("EventFunction", item) if isinstance(item, Mapping) else item
            code = inner.get("EventFunctionCode") if isinstance(inner, Mapping) else inner
            if code is not None:
                codes.append(str(code))
        return tuple(codes)


# ---------------------------------------------------------------- activities
class Activity(ImisModel):
    """An Activity row (``SEQN``-keyed GenericEntityData)."""

    seqn: int | None = Field(default=None, validation_alias=AliasChoices("SEQN", "Seqn", "seqn"))
    party_id: str | None = Field(
        default=None, validation_alias=AliasChoices("ID", "PartyId", "party_id")
    )
    activity_type: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ACTIVITY_TYPE", "ActivityType", "activity_type"),
    )
    transaction_date: datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("TRANSACTION_DATE", "TransactionDate", "transaction_date"),
    )
    units: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("UNITS", "Units", "units")
    )
    description: str | None = Field(
        default=None, validation_alias=AliasChoices("DESCRIPTION", "Description", "description")
    )
    updated_on: datetime | None = Field(
        default=None, validation_alias=AliasChoices("UpdatedOn", "UPDATED_ON", "updated_on")
    )


# ------------------------------------------------------------------- history
class Change(ImisModel):
    """One property change inside a change-log entry."""

    property_name: str
    original_value: Any = None
    new_value: Any = None


class ChangeLogEntry(ImisModel):
    """A ChangeLog entry: what changed on an entity, and when."""

    change_date: datetime | None = None
    identity: tuple[str, ...] = ()
    entity_type: str | None = Field(
        default=None,
        validation_alias=AliasChoices("IdentityEntityTypeName", "EntityTypeName", "entity_type"),
    )
    changes: list[Change] = Field(default_factory=list)
    user_name: str | None = Field(
        default=None, validation_alias=AliasChoices("UserName", "ChangedBy", "user_name")
    )


# --------------------------------------------------------------------- tasks
class TaskDefinition(ImisModel):
    """A Process Automation task definition."""

    task_definition_id: str | None = Field(
        default=None, validation_alias=AliasChoices("TaskDefinitionId", "Id", "task_definition_id")
    )
    name: str
    is_active: bool | None = None
    task_type: int | None = None
    priority: int | None = None


class TaskResult(ImisModel):
    """What running a task answered."""

    task_name: str | None = None
    status: str | None = None
    result: Any = None


# ------------------------------------------------------------- fast building
def _to_decimal(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _to_str(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _to_int(value: Any) -> Any:
    return value if value is None or isinstance(value, int) else int(value)


def _to_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    return bool(value)


def _to_tuple(value: Any) -> Any:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else value


def _plain(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, type(int | None)):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else Any
    return annotation


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    Decimal: _to_decimal,
    str: _to_str,
    int: _to_int,
    bool: _to_bool,
}


_Target = tuple[str, Callable[[Any], Any] | None, type | None]


@cache
def _field_map(cls: type[ImisModel]) -> dict[str, _Target]:
    """Wire name (alias, alias choices, field name) -> (field name, converter, the type that
    needs no conversion)."""
    out: dict[str, _Target] = {}
    for name, info in cls.model_fields.items():
        plain = _plain(info.annotation)
        converter = _CONVERTERS.get(plain)
        exact: type | None = plain if converter is not None else None
        if get_origin(plain) is tuple:
            converter, exact = _to_tuple, None
        names = {name, info.alias or to_pascal(name)}
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(c for c in alias.choices if isinstance(c, str))
        for wire in names:
            out[wire] = (name, converter, exact)
    return out


def build(cls: type[M], values: Mapping[str, Any]) -> M:
    """A model from decoded wire values (PascalCase keys), without re-validation.

    Known fields are coerced cheaply (ids to ``str``, money to ``Decimal``); unknown keys are
    kept as extras under their wire names. Nested ``Change`` lists are built too. When two keys
    name the same field (``PartyId`` and ``party_id``), the first one wins.
    """
    plan = _shape_plan(cls, tuple(values))
    row = plan.values(values)
    known = dict(zip(plan.known_names, row[: plan.split], strict=True))
    extra = dict(zip(plan.extra_keys, row[plan.split :], strict=True))
    for exact, names, converter in plan.converted:
        current = tuple(map(known.__getitem__, names))
        if set(map(type, current)) <= exact:
            continue  # the common case: every value already has the field's type (or is None)
        for name, value in zip(names, current, strict=True):
            if value is not None and type(value) not in exact:
                known[name] = converter(value)
    return _construct(cls, known, extra)


class _ShapePlan(NamedTuple):
    """How to build ``cls`` from values with one particular sequence of keys."""

    values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # known first, then extras
    split: int
    known_names: tuple[str, ...]
    extra_keys: tuple[str, ...]
    converted: tuple[tuple[frozenset[type], tuple[str, ...], Callable[[Any], Any]], ...]


@functools.lru_cache(maxsize=1024)
def _shape_plan(cls: type[ImisModel], keys: tuple[str, ...]) -> _ShapePlan:
    # Bulk rows of one endpoint nearly always share their keys, so the per-key work (which
    # field, which converter, first one wins) is done once per shape, not once per row.
    fields = _field_map(cls)
    known: dict[str, str] = {}  # field name -> the wire key that fills it
    extra: list[str] = []
    for key in keys:
        target = fields.get(key)
        if target is None:
            extra.append(key)
        elif target[0] not in known:
            known[target[0]] = key
    groups: dict[tuple[type | None, Callable[[Any], Any]], list[str]] = {}
    for name in known:
        _, converter, exact = fields[known[name]]
        if converter is not None:  # exact None: converts whatever it is given (tuples)
            groups.setdefault((exact, converter), []).append(name)
    ordered = (*known.values(), *extra)
    return _ShapePlan(
        values=_getter(ordered),
        split=len(known),
        known_names=tuple(known),
        extra_keys=tuple(extra),
        converted=tuple(
            (frozenset(t for t in (exact, type(None)) if t is not None), tuple(names), converter)
            for (exact, converter), names in groups.items()
        ),
    )


def _getter(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(keys) == 1:
        key = keys[0]
        return lambda values: (values[key],)
    if not keys:
        return lambda values: ()
    return itemgetter(*keys)


def _construct(cls: type[M], known: dict[str, Any], extra: dict[str, Any]) -> M:
    if cls is ChangeLogEntry and isinstance(known.get("changes"), list):
        known["changes"] = [
            build(Change, c) if isinstance(c, Mapping) else c for c in known["changes"]
        ]
    plan = _plan(cls)
    if plan is None:
        return cls.model_construct(**known, **extra)
    # What model_construct does, without its per-field alias and default bookkeeping. The
    # template lists every field in declaration order, so __dict__ (and repr) keep that order.
    template, required = plan
    state = {**template, **known}
    for name in required:
        if name not in known:
            del state[name]  # model_construct leaves a missing required field unset too
    model = cls.__new__(cls)
    _set(model, "__dict__", state)
    _set(model, "__pydantic_fields_set__", set(known))
    _set(model, "__pydantic_extra__", extra)
    _set(model, "__pydantic_private__", None)
    return model


_set = object.__setattr__


@cache
def _plan(cls: type[ImisModel]) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """Every field with its default (``None`` for required ones) in declaration order, and the
    required fields; ``None`` when a default needs a factory or the model has private
    attributes (then ``model_construct`` builds it)."""
    if cls.__private_attributes__:
        return None
    template: dict[str, Any] = {}
    required: list[str] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            return None
        if info.is_required():
            required.append(name)
            template[name] = None
        else:
            template[name] = info.default
    return template, tuple(required)


def validate_wire(cls: type[M], values: Mapping[str, Any]) -> M:
    """A model from decoded wire values with full pydantic validation (for user-supplied data)."""
    return cls.model_validate(dict(values))
