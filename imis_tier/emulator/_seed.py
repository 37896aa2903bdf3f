"""The one adapter from :class:`AssociationTables` to the emulator's entity tables.

Everything the emulator knows about the association arrives through :func:`entity_frames`, both
at start-up and for each month ``advance`` adds, so the mapping of generator columns to iMIS
properties lives in one place. Money stays integer cents; ids stay int64 until rendered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import numpy as np
import pandas as pd

from imis_tier.emulator._contact import contact_columns
from imis_tier.synthetic.tables import AssociationTables

DEFAULT_BILLING_CYCLE = "Regular Membership Fees"


def _s(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as plain object strings (categoricals decoded), NaN kept as None."""
    col = frame[column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    return col.astype(object).where(col.notna(), None)


def _dt(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column])


def _stamp(frame: pd.DataFrame, fallback: datetime) -> pd.Series:
    if "updated_on" in frame.columns:
        return pd.to_datetime(frame["updated_on"]).fillna(pd.Timestamp(fallback))
    return pd.Series([pd.Timestamp(fallback)] * len(frame), index=frame.index)


def _join_names(first: pd.Series, last: pd.Series) -> pd.Series:
    return (first.fillna("").astype(str) + " " + last.fillna("").astype(str)).str.strip()


def party_frame(parties: pd.DataFrame, tiers: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    """Person rows of the Party table (customer type description and IsMember looked up)."""
    codes = _s(parties, "customer_type_code")
    desc = (
        dict(zip(_s(tiers, "code"), _s(tiers, "description"), strict=False)) if len(tiers) else {}
    )
    member = (
        dict(zip(_s(tiers, "code"), tiers["is_member"].astype(bool), strict=False))
        if len(tiers)
        else {}
    )
    first, last = _s(parties, "first_name"), _s(parties, "last_name")
    contact = contact_columns(parties["party_id"], _s(parties, "region"))
    frame = pd.DataFrame(
        {
            "_Kind": "Person",
            "PartyId": parties["party_id"].astype("int64"),
            "Name": _join_names(first, last),
            "FirstName": first,
            "LastName": last,
            "Email": _s(parties, "email"),
            "OrganizationName": _s(parties, "organization_name"),
            "Status": _s(parties, "status"),
            "CustomerTypeCode": codes,
            "CustomerTypeDescription": codes.map(lambda c: desc.get(c, c)),
            "IsMember": codes.map(lambda c: bool(member.get(c, c not in (None, "NM")))),
            "JoinDate": _dt(parties, "join_date"),
            "PaidThruDate": _dt(parties, "paid_thru_date"),
            "Industry": _s(parties, "industry"),
            "OrgSize": _s(parties, "org_size"),
            "Region": _s(parties, "region"),
            "CareerStage": _s(parties, "career_stage"),
            "BirthYear": parties["birth_year"],
            "Autopay": parties["autopay"].astype("boolean"),
            "UpdatedOn": _stamp(parties, stamp),
        }
    )
    return pd.concat([frame, contact], axis=1)


def organization_frame(parties: pd.DataFrame, first_id: int, stamp: datetime) -> pd.DataFrame:
    """One Organization party per distinct organisation name (ids from ``first_id``)."""
    names = _s(parties, "organization_name").dropna()
    grouped = pd.DataFrame(
        {
            "name": names,
            "industry": _s(parties, "industry").loc[names.index],
            "org_size": _s(parties, "org_size").loc[names.index],
            "updated": _stamp(parties, stamp).loc[names.index],
        }
    )
    orgs = grouped.groupby("name", sort=True).agg(
        {"industry": "first", "org_size": "first", "updated": "max"}
    )
    return pd.DataFrame(
        {
            "_Kind": "Organization",
            "PartyId": np.arange(first_id, first_id + len(orgs), dtype=np.int64),
            "Name": orgs.index.astype(object),
            "OrganizationName": orgs.index.astype(object),
            "Status": "A",
            "CustomerTypeCode": "NM",
            "CustomerTypeDescription": "Non-member",
            "IsMember": False,
            "Industry": orgs["industry"].to_numpy(),
            "OrgSize": orgs["org_size"].to_numpy(),
            "UpdatedOn": orgs["updated"].to_numpy(),
        }
    )


def changelog_frame(history: pd.DataFrame) -> pd.DataFrame:
    pid = history["party_id"].astype("int64")
    when = _dt(history, "change_date")
    return pd.DataFrame(
        {
            "ChangeLogId": pid.astype(str)
            + "-"
            + when.dt.strftime("%Y%m%d%H%M%S")
            + "-"
            + _s(history, "new_value").astype(str),
            "IdentityEntityTypeName": "Party",
            "IdentityIdentityElement": pid.astype(str),
            "PartyId": pid,
            "ChangeDate": when,
            "PropertyName": "Name.MEMBER_TYPE",
            "OriginalValue": _s(history, "original_value"),
            "NewValue": _s(history, "new_value"),
            "UpdatedOn": when,
        }
    )


def customer_type_frame(tiers: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CustomerTypeCode": _s(tiers, "code"),
            "Description": _s(tiers, "description"),
            "IsMember": tiers["is_member"].astype(bool),
            "Rank": tiers["rank"],
            "UpdatedOn": _stamp(tiers, stamp),
        }
    )


def billing_item_frame(prices: pd.DataFrame, clock: date) -> pd.DataFrame:
    """Billing items with the price in force at ``clock`` (the latest effective_from <= clock)."""
    eff = _dt(prices, "effective_from")
    current = prices[eff <= pd.Timestamp(clock)].assign(_eff=eff).sort_values("_eff")
    current = current.groupby(_s(current, "item_code"), sort=False).tail(1)
    return pd.DataFrame(
        {
            "ItemCode": _s(current, "item_code"),
            "TierCode": _s(current, "tier_code"),
            "BillingCycle": _s(current, "billing_cycle").fillna(DEFAULT_BILLING_CYCLE),
            "Price": current["price_cents"].astype("int64"),
            "EffectiveFrom": current["_eff"],
            "UpdatedOn": current["_eff"],
        }
    )


def billing_cycle_frame(prices: pd.DataFrame, months: int, stamp: datetime) -> pd.DataFrame:
    names = sorted(
        {str(v) for v in _s(prices, "billing_cycle").dropna()} or {DEFAULT_BILLING_CYCLE}
    )
    return pd.DataFrame({"Name": names, "RenewMonths": months, "UpdatedOn": pd.Timestamp(stamp)})


def tier_benefit_frame(
    tier_benefits: pd.DataFrame, stamp: datetime, first_ordinal: int = 1
) -> pd.DataFrame:
    n = len(tier_benefits)
    return pd.DataFrame(
        {
            "Ordinal": np.arange(first_ordinal, first_ordinal + n, dtype=np.int64),
            "TierCode": _s(tier_benefits, "tier_code").to_numpy(),
            "Benefit": _s(tier_benefits, "benefit").to_numpy(),
            "EffectiveFrom": _dt(tier_benefits, "effective_from").to_numpy(),
            "EffectiveTo": _dt(tier_benefits, "effective_to").to_numpy(),
            "UpdatedOn": pd.Timestamp(stamp),
        }
    )


def _activity_types(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def benefit_catalogue_frame(benefits: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    from decimal import Decimal

    return pd.DataFrame(
        {
            "Ordinal": np.arange(1, len(benefits) + 1, dtype=np.int64),
            "Benefit": _s(benefits, "benefit").to_numpy(),
            "Name": _s(benefits, "name").to_numpy(),
            "ActivityTypes": [_activity_types(v) for v in benefits["activity_types"]],
            "CostToServe": [Decimal(int(c)) / 100 for c in benefits["cost_to_serve_cents"]],
            "UpdatedOn": pd.Timestamp(stamp),
        }
    )


def invoice_frame(invoices: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "InvoiceId": invoices["invoice_id"].astype("int64"),
            "PartyId": invoices["party_id"].astype("int64"),
            "InvoiceDate": _dt(invoices, "invoice_date"),
            "DueDate": _dt(invoices, "due_date"),
            "Kind": _s(invoices, "kind"),
            "TierCode": _s(invoices, "tier_code"),
            "Amount": invoices["amount_cents"],
            "Balance": invoices["balance_cents"],
            "Status": _s(invoices, "status"),
            "UpdatedOn": _stamp(invoices, stamp),
        }
    )


def payment_frame(payments: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PaymentId": payments["payment_id"].astype("int64"),
            "InvoiceId": payments["invoice_id"].astype("int64"),
            "PartyId": payments["party_id"].astype("int64"),
            "PaymentDate": _dt(payments, "payment_date"),
            "Amount": payments["amount_cents"],
            "Method": _s(payments, "method"),
            "Status": _s(payments, "status"),
            "UpdatedOn": _stamp(payments, stamp),
        }
    )


def event_frame(events: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "EventId": _s(events, "event_id"),
            "Name": _s(events, "name"),
            "Kind": _s(events, "kind"),
            "StartDate": _dt(events, "start_date"),
            "Price": events["price_cents"],
            "UpdatedOn": _stamp(events, stamp),
        }
    )


def registration_frame(regs: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    event = _s(regs, "event_id").astype(str)
    party = regs["party_id"].astype("int64")
    return pd.DataFrame(
        {
            "EventRegistrationId": event + "-" + party.astype(str),
            "EventId": event,
            "PartyId": party,
            "RegisteredOn": _dt(regs, "registered_on"),
            "Status": regs["status"],
            "Attended": regs["attended"].astype("boolean"),
            "UpdatedOn": _stamp(regs, stamp),
        }
    )


def activity_frame(activities: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SEQN": activities["seqn"].astype("int64"),
            "PartyId": activities["party_id"].astype("int64"),
            "ACTIVITY_TYPE": _s(activities, "activity_type"),
            "TRANSACTION_DATE": _dt(activities, "transaction_date"),
            "UNITS": pd.to_numeric(activities["units"]).astype("float64"),
            "DESCRIPTION": _s(activities, "description"),
            "UpdatedOn": _stamp(activities, stamp),
        }
    )


def communication_frame(comms: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CommunicationLogId": comms["log_id"].astype("int64"),
            "PartyId": comms["party_id"].astype("int64"),
            "SentOn": _dt(comms, "sent_on"),
            "Channel": _s(comms, "channel"),
            "Subject": _s(comms, "subject"),
            "Opened": comms["opened"].astype("boolean"),
            "Clicked": comms["clicked"].astype("boolean"),
            "UpdatedOn": _stamp(comms, stamp),
        }
    )


def group_member_frame(groups: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    party = groups["party_id"].astype("int64")
    effective = _dt(groups, "effective_date")
    gid = _s(groups, "group_id").astype(str)
    return pd.DataFrame(
        {
            "GroupMemberId": gid + "-" + party.astype(str) + "-" + effective.dt.strftime("%Y%m%d"),
            "GroupId": gid,
            "GroupName": _s(groups, "group_name"),
            "GroupClass": _s(groups, "group_class"),
            "PartyId": party,
            "Role": _s(groups, "role"),
            "EffectiveDate": effective,
            "EndDate": _dt(groups, "end_date"),
            "UpdatedOn": _stamp(groups, stamp),
        }
    )


def certification_frame(certs: pd.DataFrame, stamp: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CertificationProgramRegistrationId": certs["registration_id"].astype("int64"),
            "PartyId": certs["party_id"].astype("int64"),
            "ProgramCode": _s(certs, "program_code"),
            "RegisteredOn": _dt(certs, "registered_on"),
            "Status": _s(certs, "status"),
            "ProgressPct": pd.to_numeric(certs["progress_pct"]).astype("float64"),
            "CompletedOn": _dt(certs, "completed_on"),
            "UpdatedOn": _stamp(certs, stamp),
        }
    )


def entity_frames(
    tables: AssociationTables,
    clock: date,
    renew_months: int,
    known_tiers: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Frames per emulator table for ``tables`` (a whole association or one month's delta).

    ``known_tiers`` (code, description, is_member) resolves customer type descriptions of a delta
    whose own ``tiers`` table is empty. Tier_Benefit and the benefit catalogue come back under
    their source names; the caller assigns ordinals.
    """
    stamp = datetime(clock.year, clock.month, clock.day)
    tiers = tables.tiers if len(tables.tiers) or known_tiers is None else known_tiers
    frames: dict[str, pd.DataFrame] = {
        "Party": party_frame(tables.parties, tiers, stamp),
        "ChangeLog": changelog_frame(tables.member_type_history),
        "Invoice": invoice_frame(tables.invoices, stamp),
        "Payment": payment_frame(tables.payments, stamp),
        "Event": event_frame(tables.events, stamp),
        "EventRegistration": registration_frame(tables.event_registrations, stamp),
        "Activity": activity_frame(tables.activities, stamp),
        "CommunicationLog": communication_frame(tables.communications, stamp),
        "GroupMember": group_member_frame(tables.group_members, stamp),
        "CertificationProgramRegistration": certification_frame(tables.certifications, stamp),
    }
    if len(tables.tiers):
        frames["LegacyCustomerType"] = customer_type_frame(tables.tiers, stamp)
    if len(tables.prices):
        frames["LegacyBillingItem"] = billing_item_frame(tables.prices, clock)
        frames["LegacyBillingCycle"] = billing_cycle_frame(tables.prices, renew_months, stamp)
    if len(tables.tier_benefits):
        frames["Tier_Benefit"] = tier_benefit_frame(tables.tier_benefits, stamp)
    if len(tables.benefits):
        frames["Tier_BenefitCatalog"] = benefit_catalogue_frame(tables.benefits, stamp)
    return frames
