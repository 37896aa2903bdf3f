"""The built-in iMIS entities: their tables, visible properties, identities and wire rendering.

An :class:`EntitySpec` is one URL name (``/api/Person``) seen through a physical table: a view
can rename columns (``CsContact.MemberType`` is ``Party.CustomerTypeCode``) and select rows
(``Person`` is the person rows of ``Party``). Renderers build the JSON document of one row with
:mod:`._wire`; rows are encoded once and cached until written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.emulator import _wire as w
from imis_tier.emulator._contact import COUNTRY_NAMES

Render = Callable[["EntitySpec", Mapping[str, Any], "RenderContext"], dict[str, Any]]

_NS_MEMBERSHIP = "Asi.Soa.Membership.DataContracts"
_NS_COMMERCE = "Asi.Soa.Commerce.DataContracts"
_NS_EVENTS = "Asi.Soa.Events.DataContracts"
_NS_COMMS = "Asi.Soa.Communications.DataContracts"
_NS_CORE = "Asi.Soa.Core.DataContracts"
_NS_CERT = "Asi.Soa.Certification.DataContracts"

_UUID_NS = uuid.UUID("6f1c2b7e-3d4a-4c55-9e0b-1a2b3c4d5e6f")


@dataclass
class RenderContext:
    """Facts a renderer needs from outside its row (kept small on purpose)."""

    renew_months: int = 12


@dataclass
class EntitySpec:
    """One entity name served under /api."""

    name: str
    table: str
    fields: dict[str, str]  # visible property -> table column
    key: str  # the visible property that is the id in /api/{name}/{id}
    item_type: str  # CLR type in the PagedResult envelope
    render: Render
    where: Callable[[pd.DataFrame], np.ndarray] | None = None
    writes: frozenset[str] = frozenset({"POST", "PUT", "DELETE"})
    not_supported: Mapping[str, str] = field(default_factory=dict)  # verb -> fault text
    generic: bool = False
    description: str = ""
    cache_key: str = ""  # views rendering rows identically share encoded bytes

    @property
    def encoded_as(self) -> str:
        return self.cache_key or self.name

    @property
    def names(self) -> dict[str, str]:
        """Lower-case property name -> canonical visible name."""
        return {name.lower(): name for name in self.fields}


def uniform_id(party_id: str) -> str:
    """iMIS's UniformId GUID for a party, stable across runs."""
    return str(uuid.uuid5(_UUID_NS, f"party:{party_id}"))


def stable_guid(text: str) -> str:
    return str(uuid.uuid5(_UUID_NS, text))


# -- Party / Person / Organization ----------------------------------------------------------
PARTY_KINDS: dict[str, str] = {
    "_Kind": "str",
    "PartyId": "id",
    "Name": "str",
    "FirstName": "str",
    "LastName": "str",
    "Email": "str",
    "OrganizationName": "str",
    "Status": "str",
    "CustomerTypeCode": "str",
    "CustomerTypeDescription": "str",
    "IsMember": "bool",
    "JoinDate": "datetime",
    "PaidThruDate": "datetime",
    "Industry": "str",
    "OrgSize": "str",
    "Region": "str",
    "CareerStage": "str",
    "BirthYear": "int",
    "Autopay": "bool",
    "UpdatedOn": "datetime",
    "AddressLine": "str",
    "City": "str",
    "StateCode": "str",
    "StateName": "str",
    "PostalCode": "str",
    "CountryCode": "str",
    "Phone": "str",
}
_PARTY_FIELDS = {name: name for name in PARTY_KINDS if not name.startswith("_")}
_ADDITIONAL = (
    "CustomerTypeCode",
    "CustomerTypeDescription",
    "IsMember",
    "JoinDate",
    "PaidThruDate",
    "Industry",
    "OrgSize",
    "Region",
    "CareerStage",
    "BirthYear",
    "Autopay",
)
_NO_DATE_ATTRIBUTES = ("JoinDate", "PaidThruDate")  # iMIS Name dates default to 0001-01-01
_STATUS_NAMES = {"A": "Active", "I": "Inactive", "D": "Marked for deletion", "S": "Suspended"}


def _status(code: str | None) -> dict[str, Any]:
    code = code or "A"
    name = _STATUS_NAMES.get(code, code)
    return w.typed(
        w.data_type("PartyStatusData", _NS_MEMBERSHIP),
        {"PartyStatusId": code, "Name": name, "Description": name},
    )


def _collection(type_name: str, values: list[Any]) -> dict[str, Any]:
    return {"$type": w.data_type(type_name, _NS_MEMBERSHIP), "$values": values}


def _address(row: Mapping[str, Any]) -> dict[str, Any]:
    """The party's one address (``FullAddressData``, purpose ``Address``, preferred for all)."""
    country = row.get("CountryCode")
    city_line = " ".join(
        part for part in (f"{row['City']},", row.get("StateCode"), row.get("PostalCode")) if part
    )
    lines = [row.get("AddressLine"), city_line, COUNTRY_NAMES.get(country or "", country)]
    address = w.typed(
        w.data_type("AddressData", _NS_MEMBERSHIP),
        {
            "AddressId": stable_guid(f"address:{row['PartyId']}"),
            "AddressLines": _collection("AddressLineDataCollection", [row.get("AddressLine")]),
            "CityName": row["City"],
            "CountryCode": country,
            "CountryName": COUNTRY_NAMES.get(country or ""),
            "CountrySubEntityCode": row.get("StateCode"),
            "CountrySubEntityName": row.get("StateName"),
            "FullAddress": "\r\n".join(line for line in lines if line),
            "PostalCode": row.get("PostalCode"),
        },
    )
    return w.typed(
        w.data_type("FullAddressData", _NS_MEMBERSHIP),
        {
            "AdditionalLines": _collection("AddressLineDataCollection", []),
            "Address": address,
            "AddressPurpose": "Address",
            "Email": row.get("Email"),
            "Phone": row.get("Phone"),
            "IsPreferredMail": True,
            "IsPreferredBill": True,
        },
    )


def _render_party(spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext) -> dict[str, Any]:
    pid = row["PartyId"]
    person = row.get("_Kind", "Person") == "Person"
    updated = row.get("UpdatedOn")
    fields: dict[str, Any] = {"PartyId": pid, "Id": pid, "UniformId": uniform_id(pid)}
    fields["Name"] = row.get("Name")
    if person:
        fields["PersonName"] = w.typed(
            w.data_type("PersonNameData", _NS_MEMBERSHIP),
            {
                "FirstName": row.get("FirstName"),
                "LastName": row.get("LastName"),
                "FullName": row.get("Name"),
            },
        )
        if row.get("OrganizationName"):
            fields["PrimaryOrganization"] = w.typed(
                w.data_type("PrimaryOrganizationInformationData", _NS_MEMBERSHIP),
                {"Name": row.get("OrganizationName")},
            )
    else:
        fields["OrganizationName"] = row.get("OrganizationName") or row.get("Name")
    if row.get("Email"):
        email = w.typed(
            w.data_type("EmailData", _NS_MEMBERSHIP),
            {"Address": row["Email"], "EmailType": "_Primary", "IsPrimary": True},
        )
        fields["Emails"] = _collection("EmailDataCollection", [email])
    if row.get("City"):
        fields["Addresses"] = _collection("FullAddressDataCollection", [_address(row)])
    if row.get("Phone"):
        phone = w.typed(
            w.data_type("PhoneData", _NS_MEMBERSHIP), {"Number": row["Phone"], "PhoneType": "_Phone"}
        )
        fields["Phones"] = _collection("PhoneDataCollection", [phone])
    fields["Status"] = _status(row.get("Status"))
    fields["UpdateInformation"] = w.typed(
        w.data_type("EntityUpdateInformationData"),
        {
            "CreatedBy": "MANAGER",
            "CreatedOn": row.get("JoinDate") or updated,
            "UpdatedBy": "MANAGER",
            "UpdatedOn": updated,
        },
    )
    attributes = []
    for name in _ADDITIONAL:
        value = row.get(name)
        if value is None and name in _NO_DATE_ATTRIBUTES:
            value = w.NO_DATE
        attributes.append((name, value))
    fields["AdditionalAttributes"] = w.property_collection(attributes)
    type_name = "PersonData" if person else "OrganizationData"
    return w.typed(w.data_type(type_name, _NS_MEMBERSHIP), fields)


def _kind_is(kind: str) -> Callable[[pd.DataFrame], np.ndarray]:
    def where(frame: pd.DataFrame) -> np.ndarray:
        return (frame["_Kind"] == kind).to_numpy(dtype=bool)

    return where


# -- CsContact (business object over Party) ------------------------------------------------
_CSCONTACT_FIELDS = {
    "ID": "PartyId",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "FullName": "Name",
    "Email": "Email",
    "Company": "OrganizationName",
    "MemberType": "CustomerTypeCode",
    "Status": "Status",
    "JoinDate": "JoinDate",
    "PaidThrough": "PaidThruDate",
    "UpdatedOn": "UpdatedOn",
}


def _render_cscontact(
    spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext
) -> dict[str, Any]:
    props = [(name, row.get(column)) for name, column in spec.fields.items()]
    props.insert(-1, ("RenewMonths", ctx.renew_months))
    pid = row["PartyId"]
    return w.generic_entity("CsContact", [pid], props, "Party", [pid])


# -- Generic business objects (Activity, custom sources) -----------------------------------
def generic_renderer(
    entity_type: str, identity: tuple[str, ...], parent: str | None, parent_key: str | None
) -> Render:
    """A renderer for a GenericEntityData row with the given identity properties."""

    def render(spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext) -> dict[str, Any]:
        elements = [_element(row.get(spec.fields[name])) for name in identity]
        props = [(name, _generic_value(row.get(column))) for name, column in spec.fields.items()]
        parent_elements = (
            [_element(row.get(spec.fields[parent_key]))] if parent and parent_key else []
        )
        return w.generic_entity(entity_type, elements, props, parent, parent_elements)

    return render


def _element(value: Any) -> str:
    return "" if value is None else str(value)


def _generic_value(value: Any) -> Any:
    if isinstance(value, float):  # money-like numerics travel as Decimal in iMIS BOs
        return Decimal(repr(value))
    return value


# -- Typed contracts ------------------------------------------------------------------------
def typed_renderer(
    type_name: str, extra: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
) -> Render:
    """A renderer for a flat typed contract: visible properties in order, nulls omitted."""

    def render(spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext) -> dict[str, Any]:
        fields = {name: row.get(column) for name, column in spec.fields.items()}
        if extra is not None:
            fields.update(extra(row))
        return w.typed(type_name, fields)

    return render


def _money(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return w.typed(
        w.data_type("MonetaryAmountData"),
        {"Amount": value, "Currency": _CURRENCY, "IsAmountDefined": True},
    )


_CURRENCY = {
    "$type": w.data_type("CurrencyData"),
    "CurrencyCode": "USD",
    "DecimalPositions": 2,
}


def _render_changelog(
    spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext
) -> dict[str, Any]:
    change = w.typed(
        w.data_type("ChangeLogChangeData"),
        {
            "PropertyName": row.get("PropertyName"),
            "OriginalValue": row.get("OriginalValue"),
            "NewValue": row.get("NewValue"),
        },
    )
    return w.typed(
        w.data_type("ChangeLogData"),
        {
            "ChangeLogId": row.get("ChangeLogId"),
            "ChangeDate": row.get("ChangeDate"),
            "ChangedBy": "MANAGER",
            "Identity": w.identity(
                row.get("IdentityEntityTypeName") or "Party", [row["IdentityIdentityElement"]]
            ),
            "Changes": {
                "$type": w.data_type("ChangeLogChangeDataCollection"),
                "$values": [change],
            },
            "UpdatedOn": row.get("UpdatedOn"),
        },
    )


def _render_task(spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext) -> dict[str, Any]:
    doc = json.loads(row.get("Document") or "{}")
    doc["$type"] = w.data_type("TaskDefinitionData", _NS_COMMS)
    for name, column in spec.fields.items():
        value = row.get(column)
        if value is not None:
            doc[name] = w.plain(value)
    return {"$type": doc.pop("$type"), **doc}


# -- the catalogue ----------------------------------------------------------------------------
TABLE_KINDS: dict[str, dict[str, str]] = {
    "Party": PARTY_KINDS,
    "ChangeLog": {
        "ChangeLogId": "str",
        "IdentityEntityTypeName": "str",
        "IdentityIdentityElement": "str",
        "PartyId": "id",
        "ChangeDate": "datetime",
        "PropertyName": "str",
        "OriginalValue": "str",
        "NewValue": "str",
        "UpdatedOn": "datetime",
    },
    "LegacyCustomerType": {
        "CustomerTypeCode": "str",
        "Description": "str",
        "IsMember": "bool",
        "Rank": "int",
        "UpdatedOn": "datetime",
    },
    "LegacyBillingCycle": {"Name": "str", "RenewMonths": "int", "UpdatedOn": "datetime"},
    "LegacyBillingItem": {
        "ItemCode": "str",
        "TierCode": "str",
        "BillingCycle": "str",
        "Price": "cents",
        "EffectiveFrom": "datetime",
        "UpdatedOn": "datetime",
    },
    "Invoice": {
        "InvoiceId": "id",
        "PartyId": "id",
        "InvoiceDate": "datetime",
        "DueDate": "datetime",
        "Kind": "str",
        "TierCode": "str",
        "Amount": "cents",
        "Balance": "cents",
        "Status": "str",
        "UpdatedOn": "datetime",
    },
    "Payment": {
        "PaymentId": "id",
        "InvoiceId": "id",
        "PartyId": "id",
        "PaymentDate": "datetime",
        "Amount": "cents",
        "Method": "str",
        "Status": "str",
        "UpdatedOn": "datetime",
    },
    "Event": {
        "EventId": "str",
        "Name": "str",
        "Kind": "str",
        "StartDate": "datetime",
        "Price": "cents",
        "UpdatedOn": "datetime",
    },
    "EventRegistration": {
        "EventRegistrationId": "str",
        "EventId": "str",
        "PartyId": "id",
        "RegisteredOn": "datetime",
        "Status": "int",
        "Attended": "bool",
        "Functions": "str",  # JSON list of event function codes (RegisterEvent); not a property
        "UpdatedOn": "datetime",
    },
    "Activity": {
        "SEQN": "int",
        "PartyId": "id",
        "ACTIVITY_TYPE": "str",
        "TRANSACTION_DATE": "datetime",
        "UNITS": "float",
        "DESCRIPTION": "str",
        "UpdatedOn": "datetime",
    },
    "CommunicationLog": {
        "CommunicationLogId": "id",
        "PartyId": "id",
        "SentOn": "datetime",
        "Channel": "str",
        "Subject": "str",
        "Opened": "bool",
        "Clicked": "bool",
        "UpdatedOn": "datetime",
    },
    "GroupMember": {
        "GroupMemberId": "str",
        "GroupId": "str",
        "GroupName": "str",
        "GroupClass": "str",
        "PartyId": "id",
        "Role": "str",
        "EffectiveDate": "datetime",
        "EndDate": "datetime",
        "UpdatedOn": "datetime",
    },
    "CertificationProgramRegistration": {
        "CertificationProgramRegistrationId": "id",
        "PartyId": "id",
        "ProgramCode": "str",
        "RegisteredOn": "datetime",
        "Status": "str",
        "ProgressPct": "float",
        "CompletedOn": "datetime",
        "UpdatedOn": "datetime",
    },
    "TaskDefinition": {
        "TaskDefinitionId": "str",
        "Name": "str",
        "Description": "str",
        "IsActive": "bool",
        "Priority": "int",
        "TaskType": "int",
        "Document": "str",
        "UpdatedOn": "datetime",
    },
}

TABLE_KEYS: dict[str, str] = {
    "Party": "PartyId",
    "ChangeLog": "ChangeLogId",
    "LegacyCustomerType": "CustomerTypeCode",
    "LegacyBillingCycle": "Name",
    "LegacyBillingItem": "ItemCode",
    "Invoice": "InvoiceId",
    "Payment": "PaymentId",
    "Event": "EventId",
    "EventRegistration": "EventRegistrationId",
    "Activity": "SEQN",
    "CommunicationLog": "CommunicationLogId",
    "GroupMember": "GroupMemberId",
    "CertificationProgramRegistration": "CertificationProgramRegistrationId",
    "TaskDefinition": "TaskDefinitionId",
}


def _same(table: str, hidden: tuple[str, ...] = ()) -> dict[str, str]:
    return {n: n for n in TABLE_KINDS[table] if not n.startswith("_") and n not in hidden}


def _t(name: str, ns: str = _NS_CORE) -> str:
    return w.data_type(name, ns)


def _invoice_extra(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"Amount": _money(row.get("Amount")), "Balance": _money(row.get("Balance"))}


def _payment_extra(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"Amount": _money(row.get("Amount"))}


def _price_extra(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"Price": _money(row.get("Price"))}


def _event_extra(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"Price": _money(row.get("Price"))}


REGISTRATION_ACTIVE, REGISTRATION_CANCELLED = 1, 0
"""EventRegistration ``Status`` values (imis-api.md: 1 = active; the seed writes 0 when cancelled)."""


def registration_functions(row: Mapping[str, Any]) -> list[str]:
    """The event function codes stored on a registration row (none for seeded rows)."""
    raw = row.get("Functions")
    return [str(c) for c in json.loads(raw)] if raw else []


def _registration_extra(row: Mapping[str, Any]) -> dict[str, Any]:
    """``Functions.$values[].EventFunction`` as S9 reads it (left out when there are none)."""
    codes = registration_functions(row)
    if not codes:
        return {"Functions": None}
    event = row.get("EventId")
    values = [
        w.typed(
            _t("EventRegistrationFunctionData", _NS_EVENTS),
            {
                "EventFunction": w.typed(
                    _t("EventFunctionData", _NS_EVENTS),
                    {"EventFunctionId": f"{event}/{code}", "EventFunctionCode": code, "Name": code},
                )
            },
        )
        for code in codes
    ]
    return {
        "Functions": {
            "$type": _t("EventRegistrationFunctionDataCollection", _NS_EVENTS),
            "$values": values,
        }
    }


def _receipt_where(frame: pd.DataFrame) -> np.ndarray:
    return (frame["Status"].fillna("") != "Failed").to_numpy(dtype=bool)


_READ_ONLY = frozenset[str]()


def builtin_specs() -> list[EntitySpec]:
    """Every built-in entity, in the order BOEntityDefinition lists them."""
    party_fields = dict(_PARTY_FIELDS)
    contracts = [
        EntitySpec(
            "Party",
            "Party",
            party_fields,
            "PartyId",
            _t("PartyData", _NS_MEMBERSHIP),
            _render_party,
            cache_key="party",
        ),
        EntitySpec(
            "Person",
            "Party",
            party_fields,
            "PartyId",
            _t("PersonData", _NS_MEMBERSHIP),
            _render_party,
            where=_kind_is("Person"),
            cache_key="party",
        ),
        EntitySpec(
            "Organization",
            "Party",
            party_fields,
            "PartyId",
            _t("OrganizationData", _NS_MEMBERSHIP),
            _render_party,
            where=_kind_is("Organization"),
            cache_key="party",
        ),
        EntitySpec(
            "CsContact",
            "Party",
            _CSCONTACT_FIELDS,
            "ID",
            w.GENERIC_ENTITY,
            _render_cscontact,
            where=_kind_is("Person"),
            writes=frozenset({"PUT"}),
            generic=True,
            description="Contact business object (Name table)",
        ),
        EntitySpec(
            "ChangeLog",
            "ChangeLog",
            _same("ChangeLog"),
            "ChangeLogId",
            _t("ChangeLogData"),
            _render_changelog,
            writes=_READ_ONLY,
            not_supported={"POST": "OperationNotSupportedFault: ChangeLog does not support Add"},
        ),
        EntitySpec(
            "LegacyCustomerType",
            "LegacyCustomerType",
            _same("LegacyCustomerType"),
            "CustomerTypeCode",
            _t("CustomerTypeData", _NS_MEMBERSHIP),
            typed_renderer(_t("CustomerTypeData", _NS_MEMBERSHIP)),
        ),
        EntitySpec(
            "LegacyBillingCycle",
            "LegacyBillingCycle",
            _same("LegacyBillingCycle"),
            "Name",
            _t("BillingCycleData", _NS_MEMBERSHIP),
            typed_renderer(_t("BillingCycleData", _NS_MEMBERSHIP)),
        ),
        EntitySpec(
            "LegacyBillingItem",
            "LegacyBillingItem",
            _same("LegacyBillingItem"),
            "ItemCode",
            _t("BillingItemData", _NS_MEMBERSHIP),
            typed_renderer(_t("BillingItemData", _NS_MEMBERSHIP), _price_extra),
        ),
        EntitySpec(
            "Invoice",
            "Invoice",
            _same("Invoice"),
            "InvoiceId",
            _t("InvoiceSummaryData", _NS_COMMERCE),
            typed_renderer(_t("InvoiceSummaryData", _NS_COMMERCE), _invoice_extra),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "Payment",
            "Payment",
            _same("Payment"),
            "PaymentId",
            _t("PaymentSummaryData", _NS_COMMERCE),
            typed_renderer(_t("PaymentSummaryData", _NS_COMMERCE), _payment_extra),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "Receipt",
            "Payment",
            {
                "ReceiptId": "PaymentId",
                "PaymentId": "PaymentId",
                "InvoiceId": "InvoiceId",
                "PartyId": "PartyId",
                "ReceiptDate": "PaymentDate",
                "Amount": "Amount",
                "Method": "Method",
                "UpdatedOn": "UpdatedOn",
            },
            "ReceiptId",
            _t("ReceiptData", _NS_COMMERCE),
            typed_renderer(_t("ReceiptData", _NS_COMMERCE), _payment_extra),
            where=_receipt_where,
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "Event",
            "Event",
            _same("Event"),
            "EventId",
            _t("EventData", _NS_EVENTS),
            typed_renderer(_t("EventData", _NS_EVENTS), _event_extra),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "EventRegistration",
            "EventRegistration",
            _same("EventRegistration", ("Functions",)),
            "EventRegistrationId",
            _t("EventRegistrationData", _NS_EVENTS),
            typed_renderer(_t("EventRegistrationData", _NS_EVENTS), _registration_extra),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "Activity",
            "Activity",
            _same("Activity"),
            "SEQN",
            w.GENERIC_ENTITY,
            generic_renderer("Activity", ("SEQN",), "Party", "PartyId"),
            generic=True,
            description="Activity (SEQN-keyed)",
        ),
        EntitySpec(
            "CommunicationLog",
            "CommunicationLog",
            _same("CommunicationLog"),
            "CommunicationLogId",
            _t("CommunicationLogData", _NS_COMMS),
            typed_renderer(_t("CommunicationLogData", _NS_COMMS)),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "CommunicationLogRecipient",
            "CommunicationLog",
            _same("CommunicationLog"),
            "CommunicationLogId",
            _t("CommunicationLogRecipientData", _NS_COMMS),
            typed_renderer(_t("CommunicationLogRecipientData", _NS_COMMS)),
            writes=_READ_ONLY,
            not_supported={"PUT": "The requested resource does not support http method 'PUT'."},
        ),
        EntitySpec(
            "GroupMember",
            "GroupMember",
            _same("GroupMember"),
            "GroupMemberId",
            _t("GroupMemberData", _NS_MEMBERSHIP),
            typed_renderer(_t("GroupMemberData", _NS_MEMBERSHIP)),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "CertificationProgramRegistration",
            "CertificationProgramRegistration",
            _same("CertificationProgramRegistration"),
            "CertificationProgramRegistrationId",
            _t("CertificationProgramRegistrationData", _NS_CERT),
            typed_renderer(_t("CertificationProgramRegistrationData", _NS_CERT)),
            writes=_READ_ONLY,
        ),
        EntitySpec(
            "TaskDefinition",
            "TaskDefinition",
            _same("TaskDefinition", ("Document",)),
            "TaskDefinitionId",
            _t("TaskDefinitionData", _NS_COMMS),
            _render_task,
        ),
    ]
    return contracts
