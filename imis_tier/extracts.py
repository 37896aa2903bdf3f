"""What imis-tier extracts from iMIS: one named query per raw table, and how its rows map.

Each :class:`Extract` names the IQA query an administrator installs (``$/ImisTier/...``), its
display aliases, the raw table and column each alias fills, the column type, and the key. The same
specification reads an IQA CSV export of that query (the on-premise file route), so both routes fill
identical raw tables. ``docs/sync.md`` lists the queries with their columns and the SQL Server
statements behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    BIGINT = "bigint"
    MONEY = "money"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Column:
    alias: str  # the IQA display alias (a /api/query row key, a CSV header)
    name: str  # the raw table column
    type: ColumnType
    required: bool = False  # a row without it is refused (keys always are)


@dataclass(frozen=True)
class Extract:
    entity: str  # the name used in checkpoints, progress and error messages
    query: str  # the IQA path, with one prompt: UpdatedOn greater than (empty = everything)
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # raw column names forming the iMIS identity
    incremental: bool = True  # False: small configuration tables, re-read whole on every sync

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _cols(*spec: tuple[str, str, ColumnType] | tuple[str, str, ColumnType, bool]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


T = ColumnType

EXTRACTS: tuple[Extract, ...] = (
    Extract(
        "CustomerTypes", "$/ImisTier/CustomerTypes", "raw_customer_types",
        _cols(("Code", "code", T.TEXT, True), ("Description", "description", T.TEXT),
              ("IsMember", "is_member", T.BOOLEAN), ("Rank", "rank", T.INTEGER)),
        ("code",), incremental=False,
    ),
    Extract(
        "BillingItems", "$/ImisTier/BillingItems", "raw_billing_items",
        _cols(("ItemCode", "item_code", T.TEXT, True), ("TierCode", "tier_code", T.TEXT, True),
              ("Price", "price", T.MONEY, True), ("BillingCycle", "billing_cycle", T.TEXT),
              ("UpdatedOn", "updated_on", T.TIMESTAMP)),
        ("item_code",), incremental=False,
    ),
    Extract(
        "TierBenefits", "$/ImisTier/TierBenefits", "raw_tier_benefits",
        _cols(("TierCode", "tier_code", T.TEXT, True), ("Benefit", "benefit", T.TEXT, True),
              ("EffectiveFrom", "effective_from", T.DATE, True), ("EffectiveTo", "effective_to", T.DATE)),
        ("tier_code", "benefit", "effective_from"), incremental=False,
    ),
    Extract(
        "Benefits", "$/ImisTier/Benefits", "raw_benefits",
        _cols(("Benefit", "benefit", T.TEXT, True), ("Name", "name", T.TEXT),
              ("ActivityTypes", "activity_types", T.TEXT), ("CostToServe", "cost_to_serve", T.MONEY)),
        ("benefit",), incremental=False,
    ),
    Extract(
        "Parties", "$/ImisTier/Parties", "raw_parties",
        _cols(("PartyId", "party_id", T.TEXT, True), ("FirstName", "first_name", T.TEXT),
              ("LastName", "last_name", T.TEXT), ("Email", "email", T.TEXT),
              ("OrganizationName", "organization_name", T.TEXT), ("Industry", "industry", T.TEXT),
              ("OrgSize", "org_size", T.TEXT), ("Region", "region", T.TEXT),
              ("CareerStage", "career_stage", T.TEXT), ("BirthYear", "birth_year", T.INTEGER),
              ("JoinDate", "join_date", T.DATE), ("CustomerTypeCode", "customer_type_code", T.TEXT, True),
              ("PaidThruDate", "paid_thru_date", T.DATE), ("Status", "status", T.TEXT),
              ("Autopay", "autopay", T.BOOLEAN), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("party_id",),
    ),
    Extract(
        "MemberTypeHistory", "$/ImisTier/MemberTypeHistory", "raw_member_type_history",
        _cols(("PartyId", "party_id", T.TEXT, True), ("ChangeDate", "change_date", T.TIMESTAMP, True),
              ("OriginalValue", "original_value", T.TEXT), ("NewValue", "new_value", T.TEXT, True)),
        ("party_id", "change_date", "new_value"),
    ),
    Extract(
        "Invoices", "$/ImisTier/Invoices", "raw_invoices",
        _cols(("InvoiceId", "invoice_id", T.TEXT, True), ("PartyId", "party_id", T.TEXT, True),
              ("InvoiceDate", "invoice_date", T.DATE), ("DueDate", "due_date", T.DATE),
              ("Kind", "kind", T.TEXT), ("TierCode", "tier_code", T.TEXT),
              ("Amount", "amount", T.MONEY, True), ("Balance", "balance", T.MONEY),
              ("Status", "status", T.TEXT), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("invoice_id",),
    ),
    Extract(
        "Payments", "$/ImisTier/Payments", "raw_payments",
        _cols(("PaymentId", "payment_id", T.TEXT, True), ("InvoiceId", "invoice_id", T.TEXT),
              ("PartyId", "party_id", T.TEXT, True), ("PaymentDate", "payment_date", T.DATE),
              ("Amount", "amount", T.MONEY, True), ("Method", "method", T.TEXT),
              ("Status", "status", T.TEXT), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("payment_id",),
    ),
    Extract(
        "Events", "$/ImisTier/Events", "raw_events",
        _cols(("EventId", "event_id", T.TEXT, True), ("Name", "name", T.TEXT), ("Kind", "kind", T.TEXT),
              ("StartDate", "start_date", T.DATE), ("Price", "price", T.MONEY),
              ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("event_id",),
    ),
    Extract(
        "EventRegistrations", "$/ImisTier/EventRegistrations", "raw_event_registrations",
        _cols(("RegistrationId", "registration_id", T.TEXT, True), ("EventId", "event_id", T.TEXT, True),
              ("PartyId", "party_id", T.TEXT, True), ("RegisteredOn", "registered_on", T.DATE),
              ("Status", "status", T.INTEGER), ("Attended", "attended", T.BOOLEAN),
              ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("registration_id",),
    ),
    Extract(
        "Activities", "$/ImisTier/Activities", "raw_activities",
        _cols(("Seqn", "seqn", T.BIGINT, True), ("PartyId", "party_id", T.TEXT, True),
              ("ActivityType", "activity_type", T.TEXT, True),
              ("TransactionDate", "transaction_date", T.DATE), ("Units", "units", T.NUMBER),
              ("Description", "description", T.TEXT), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("seqn",),
    ),
    Extract(
        "Communications", "$/ImisTier/Communications", "raw_communications",
        _cols(("LogId", "log_id", T.TEXT, True), ("PartyId", "party_id", T.TEXT, True),
              ("SentOn", "sent_on", T.DATE), ("Channel", "channel", T.TEXT),
              ("Subject", "subject", T.TEXT), ("Opened", "opened", T.BOOLEAN),
              ("Clicked", "clicked", T.BOOLEAN), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("log_id",),
    ),
    Extract(
        "GroupMembers", "$/ImisTier/GroupMembers", "raw_group_members",
        _cols(("GroupId", "group_id", T.TEXT, True), ("PartyId", "party_id", T.TEXT, True),
              ("EffectiveDate", "effective_date", T.DATE, True), ("GroupName", "group_name", T.TEXT),
              ("GroupClass", "group_class", T.TEXT), ("Role", "role", T.TEXT),
              ("EndDate", "end_date", T.DATE), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("group_id", "party_id", "effective_date"),
    ),
    Extract(
        "Certifications", "$/ImisTier/Certifications", "raw_certifications",
        _cols(("RegistrationId", "registration_id", T.TEXT, True), ("PartyId", "party_id", T.TEXT, True),
              ("ProgramCode", "program_code", T.TEXT), ("RegisteredOn", "registered_on", T.DATE),
              ("Status", "status", T.TEXT), ("ProgressPct", "progress_pct", T.NUMBER),
              ("CompletedOn", "completed_on", T.DATE), ("UpdatedOn", "updated_on", T.TIMESTAMP, True)),
        ("registration_id",),
    ),
)

EXTRACTS_BY_ENTITY: dict[str, Extract] = {e.entity: e for e in EXTRACTS}


def extract_for(entity: str) -> Extract:
    try:
        return EXTRACTS_BY_ENTITY[entity]
    except KeyError:
        raise KeyError(f"unknown entity {entity!r}; known: {', '.join(EXTRACTS_BY_ENTITY)}") from None
