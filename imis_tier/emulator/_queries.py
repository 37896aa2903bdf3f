"""Named IQA queries the emulator answers on /api/query and /api/iqa.

A query is either declarative (an entity, display aliases for its properties, prompts that filter
a property) or computed (a function of the emulator's tables returning a frame of alias columns).
The built-in set covers imis-tier's own extraction queries (``$/ImisTier/*`` from
:mod:`imis_tier.extracts`) and the ``$/Tier/*`` member queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd

from imis_tier.extracts import EXTRACTS


class TableAccess(Protocol):
    """What a computed query may read: live table frames and the emulator's clock."""

    @property
    def clock(self) -> date: ...

    def table_frame(self, name: str) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Prompt:
    """One IQA prompt: a positional ``parameter=`` filtering ``property`` with ``operator``."""

    name: str
    property: str
    operator: str = "eq"
    required: bool = False


Compute = Callable[[TableAccess, Sequence[str | None]], pd.DataFrame]


@dataclass(frozen=True)
class QueryDefinition:
    """A named query: ``$/Folder/Name``, what it reads and which prompts it takes."""

    path: str
    entity: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)  # alias -> entity property
    prompts: tuple[Prompt, ...] = ()
    compute: Compute | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.path.startswith("$/"):
            raise ValueError(f"query path {self.path!r} must start with '$/'")
        if (self.entity is None) == (self.compute is None):
            raise ValueError(f"query {self.path}: give exactly one of entity= or compute=")

    @property
    def document_version_key(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"imis-emulator:{self.path.lower()}"))

    def to_dict(self) -> dict[str, Any]:
        if self.compute is not None:
            raise ValueError(f"query {self.path} is computed and cannot be saved")
        return {
            "path": self.path,
            "entity": self.entity,
            "columns": dict(self.columns),
            "prompts": [p.__dict__ for p in self.prompts],
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueryDefinition:
        return cls(
            path=str(data["path"]),
            entity=str(data["entity"]),
            columns=dict(data.get("columns") or {}),
            prompts=tuple(Prompt(**p) for p in data.get("prompts") or ()),
            description=str(data.get("description", "")),
        )


_SINCE = (Prompt("UpdatedOn", "UpdatedOn", "gt"),)

# Extraction aliases whose entity property has another name.
_EXTRACT_SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "CustomerTypes": ("LegacyCustomerType", {"Code": "CustomerTypeCode"}),
    "BillingItems": ("LegacyBillingItem", {}),
    "TierBenefits": ("Tier_Benefit", {}),
    "Benefits": ("Tier_BenefitCatalog", {}),
    "Parties": ("Person", {}),
    "MemberTypeHistory": ("ChangeLog", {}),
    "Invoices": ("Invoice", {}),
    "Payments": ("Payment", {}),
    "Events": ("Event", {}),
    "EventRegistrations": ("EventRegistration", {"RegistrationId": "EventRegistrationId"}),
    "Activities": (
        "Activity",
        {
            "Seqn": "SEQN",
            "ActivityType": "ACTIVITY_TYPE",
            "TransactionDate": "TRANSACTION_DATE",
            "Units": "UNITS",
            "Description": "DESCRIPTION",
        },
    ),
    "Communications": ("CommunicationLog", {"LogId": "CommunicationLogId"}),
    "GroupMembers": ("GroupMember", {}),
    "Certifications": (
        "CertificationProgramRegistration",
        {"RegistrationId": "CertificationProgramRegistrationId"},
    ),
}


def extraction_queries(entity_fields: Mapping[str, Mapping[str, str]]) -> list[QueryDefinition]:
    """One query per :data:`imis_tier.extracts.EXTRACTS` entry, over the matching entity."""
    queries = []
    for extract in EXTRACTS:
        entity, renames = _EXTRACT_SOURCES[extract.entity]
        fields = entity_fields[entity]
        columns = {}
        for column in extract.columns:
            prop = renames.get(column.alias, column.alias)
            if prop not in fields:
                raise ValueError(f"extraction {extract.query}: {entity} has no property {prop!r}")
            columns[column.alias] = prop
        queries.append(
            QueryDefinition(
                extract.query,
                entity=entity,
                columns=columns,
                prompts=_SINCE,
                description=f"imis-tier extraction of {extract.entity}",
            )
        )
    return queries


def member_queries() -> list[QueryDefinition]:
    members = {
        "ID": "PartyId",
        "FirstName": "FirstName",
        "LastName": "LastName",
        "Email": "Email",
        "MemberType": "CustomerTypeCode",
        "IsMember": "IsMember",
        "JoinDate": "JoinDate",
        "PaidThrough": "PaidThruDate",
        "Status": "Status",
        "Industry": "Industry",
        "OrgSize": "OrgSize",
        "Region": "Region",
        "CareerStage": "CareerStage",
        "BirthYear": "BirthYear",
        "Autopay": "Autopay",
        "UpdatedOn": "UpdatedOn",
    }
    return [
        QueryDefinition(
            "$/Tier/Members",
            entity="Person",
            columns=members,
            prompts=_SINCE,
            description="Contacts with member type and segments, updated since",
        ),
        QueryDefinition(
            "$/Tier/MembersByType",
            entity="Person",
            columns={
                "ID": "PartyId",
                "FullName": "Name",
                "MemberType": "CustomerTypeCode",
                "PaidThrough": "PaidThruDate",
            },
            prompts=(Prompt("Member type", "CustomerTypeCode", "eq", required=True),),
            description="Contacts of one member type (a required prompt)",
        ),
        QueryDefinition(
            "$/Tier/Activity",
            entity="Activity",
            columns={
                "Seqn": "SEQN",
                "ID": "PartyId",
                "ActivityType": "ACTIVITY_TYPE",
                "TransactionDate": "TRANSACTION_DATE",
                "Units": "UNITS",
                "UpdatedOn": "UpdatedOn",
            },
            prompts=_SINCE,
            description="Activity rows updated since",
        ),
        QueryDefinition(
            "$/Tier/MemberFeatures",
            compute=member_features,
            prompts=(Prompt("As of", "AsOf", "le"),),
            description="Per-member engagement features over the 12 months before the as-of date",
        ),
    ]


_ACTIVITY_FEATURES = {
    "PORTAL_LOGIN": "Logins12m",
    "DOWNLOAD": "Downloads12m",
    "WEBINAR": "Webinars12m",
    "COMMUNITY_POST": "Posts12m",
    "CERT_PROGRESS": "CertProgress12m",
    "VOLUNTEER": "Volunteer12m",
    "MENTORING": "Mentoring12m",
}


def _as_of(params: Sequence[str | None], clock: date) -> pd.Timestamp:
    raw = params[0] if params else None
    if not raw:
        return pd.Timestamp(clock)
    try:
        return pd.Timestamp(datetime.fromisoformat(raw.strip()).replace(tzinfo=None))
    except ValueError:
        raise ValueError(f"As of: {raw!r} is not a date (use YYYY-MM-DD)") from None


def member_features(tables: TableAccess, params: Sequence[str | None]) -> pd.DataFrame:
    """Contacts who had joined by the as-of date, with their member type then and 12-month counts.

    Only history strictly before the as-of date is used, so the rows are what iMIS showed then.
    """
    as_of = _as_of(params, tables.clock)
    start = as_of - pd.DateOffset(months=12)
    parties = tables.table_frame("Party")
    parties = parties[(parties["_Kind"] == "Person") & (parties["JoinDate"] < as_of)]
    out = pd.DataFrame({"ID": parties["PartyId"].to_numpy()})
    changes = tables.table_frame("ChangeLog")
    changes = changes[changes["ChangeDate"] < as_of].sort_values("ChangeDate", kind="stable")
    last_type = changes.groupby("PartyId")["NewValue"].last()
    out["MemberType"] = out["ID"].map(last_type).fillna("NM").to_numpy()
    out["JoinDate"] = parties["JoinDate"].to_numpy()
    tenure = (as_of.year - parties["JoinDate"].dt.year) * 12 + (
        as_of.month - parties["JoinDate"].dt.month
    )
    out["TenureMonths"] = tenure.to_numpy().astype("int64")

    def window(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        return frame[(frame[column] >= start) & (frame[column] < as_of)]

    activity = window(tables.table_frame("Activity"), "TRANSACTION_DATE")
    counts = activity.groupby(["PartyId", "ACTIVITY_TYPE"]).size().unstack(fill_value=0)
    for activity_type, alias in _ACTIVITY_FEATURES.items():
        series = (
            counts[activity_type] if activity_type in counts.columns else pd.Series(dtype="int64")
        )
        out[alias] = out["ID"].map(series).fillna(0).astype("int64").to_numpy()
    regs = window(tables.table_frame("EventRegistration"), "RegisteredOn")
    attended = regs[regs["Attended"].fillna(False).astype(bool)].groupby("PartyId").size()
    out["EventsAttended12m"] = out["ID"].map(attended).fillna(0).astype("int64").to_numpy()
    comms = window(tables.table_frame("CommunicationLog"), "SentOn")
    opens = comms[comms["Opened"].fillna(False).astype(bool)].groupby("PartyId").size()
    out["EmailOpens12m"] = out["ID"].map(opens).fillna(0).astype("int64").to_numpy()
    invoices = window(tables.table_frame("Invoice"), "InvoiceDate")
    non_dues = invoices[invoices["Kind"] != "DUES"].groupby("PartyId")["Amount"].sum()
    cents = out["ID"].map(non_dues).fillna(0).astype("int64")
    out["NonDuesSpend12m"] = pd.Series([Decimal(int(c)) / 100 for c in cents], dtype=object)
    out["AsOf"] = as_of
    out["ID"] = out["ID"].astype(str)
    return out.reset_index(drop=True)


def frame_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Column kinds of a computed query frame, from its dtypes."""
    kinds = {}
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind = "bool"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "int"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "float"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "datetime"
        else:
            sample = frame[name].dropna()
            kind = "decimal" if len(sample) and isinstance(sample.iloc[0], Decimal) else "str"
        kinds[str(name)] = kind
    return kinds


def positions(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)
