"""The observable tables of a synthetic association: what an iMIS database would hold.

This is the contract between the generator (which fills them), the emulator (which serves them as
iMIS entities) and the tests (which recompute features from them). Every table is a pandas
DataFrame with at least the columns listed here; generators may add columns, never drop one.

Conventions: dates are ``datetime64[ns]`` naive values in the association's local time zone, as
iMIS stores them; money is integer cents (``*_cents``, exact) and becomes ``Decimal`` at the API
surface; numeric identifiers (party_id, seqn, invoice_id, payment_id, log_id, registration_id) are
int64 here for scale and become iMIS's strings (``"40125"``) on the wire; other ids are strings; ``updated_on`` is the last change stamp that
incremental reads filter on. Nothing here is hidden truth: latent traits and true probabilities
live in :mod:`imis_tier.synthetic.truth` and are never served by the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

COLUMNS: dict[str, tuple[str, ...]] = {
    # Contacts. customer_type_code is the current tier code, or "NM" once lapsed / never a member.
    "parties": (
        "party_id", "first_name", "last_name", "email", "organization_name", "industry",
        "org_size", "region", "career_stage", "birth_year", "join_date", "customer_type_code",
        "paid_thru_date", "status", "autopay", "updated_on",
    ),
    # iMIS ChangeLog rows for Name.MEMBER_TYPE: every join, tier change, lapse ("NM") and reinstatement.
    "member_type_history": ("party_id", "change_date", "original_value", "new_value"),
    # LegacyCustomerType: the tiers plus the non-member type.
    "tiers": ("code", "description", "rank", "is_member"),
    # LegacyBillingItem history: dues price per tier from effective_from (the emulator serves the
    # price in force at its clock).
    "prices": ("tier_code", "item_code", "effective_from", "price_cents", "billing_cycle"),
    # The tier-to-benefit map, a custom business object in iMIS; effective_to NaT while in force.
    "tier_benefits": ("tier_code", "benefit", "effective_from", "effective_to"),
    # Benefit catalogue: the activity types that count as using it and its yearly cost to serve.
    "benefits": ("benefit", "name", "activity_types", "cost_to_serve_cents"),
    # Invoices; kind is DUES, EVENT, COURSE, PRODUCT, DONATION or SPONSORSHIP; status Paid/Open/Cancelled.
    "invoices": (
        "invoice_id", "party_id", "invoice_date", "due_date", "kind", "tier_code",
        "amount_cents", "balance_cents", "status", "updated_on",
    ),
    # Payments against invoices; method CreditCard, ACH, Check or Autopay; failed payments have status Failed.
    "payments": (
        "payment_id", "invoice_id", "party_id", "payment_date", "amount_cents", "method",
        "status", "updated_on",
    ),
    # Events; kind CONFERENCE, WEBINAR, WORKSHOP or CHAPTER.
    "events": ("event_id", "name", "kind", "start_date", "price_cents", "updated_on"),
    # EventRegistration; id is f"{event_id}-{party_id}"; status 1 active, 0 cancelled.
    "event_registrations": (
        "event_id", "party_id", "registered_on", "status", "attended", "updated_on",
    ),
    # Activity rows (SEQN-keyed), site-defined types: PORTAL_LOGIN, DOWNLOAD, WEBINAR,
    # COMMUNITY_POST, CERT_PROGRESS, VOLUNTEER, MENTORING, plus GIFT for donations.
    "activities": (
        "seqn", "party_id", "activity_type", "transaction_date", "units", "description",
        "updated_on",
    ),
    # CommunicationLog recipients: marketing and renewal emails with open / click flags.
    "communications": (
        "log_id", "party_id", "sent_on", "channel", "subject", "opened", "clicked", "updated_on",
    ),
    # GroupMember rows; group_class COMMITTEE or VOLUNTEER; end_date NaT while current.
    "group_members": (
        "group_id", "group_name", "group_class", "party_id", "role", "effective_date",
        "end_date", "updated_on",
    ),
    # CertificationProgramRegistration; status InProgress, Completed or Lapsed.
    "certifications": (
        "registration_id", "party_id", "program_code", "registered_on", "status",
        "progress_pct", "completed_on", "updated_on",
    ),
}


@dataclass
class AssociationTables:
    """All observable tables of one association, one DataFrame each (see :data:`COLUMNS`)."""

    parties: pd.DataFrame
    member_type_history: pd.DataFrame
    tiers: pd.DataFrame
    prices: pd.DataFrame
    tier_benefits: pd.DataFrame
    benefits: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    events: pd.DataFrame
    event_registrations: pd.DataFrame
    activities: pd.DataFrame
    communications: pd.DataFrame
    group_members: pd.DataFrame
    certifications: pd.DataFrame

    def validate(self) -> None:
        """Raise ``ValueError`` naming the table and columns that break the contract."""
        for f in fields(self):
            frame = getattr(self, f.name)
            missing = [c for c in COLUMNS[f.name] if c not in frame.columns]
            if missing:
                raise ValueError(f"table {f.name!r} is missing columns {missing}")

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]
