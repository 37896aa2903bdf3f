"""The association's tables as the rows of imis-tier's extraction queries (``$/ImisTier/...``).

The emulator serves these rows through ``/api/query`` and ``/api/iqa``, and ``write_exports``
saves them as IQA CSV exports for the on-premise file route: one source of rows for both routes,
so a test can prove that both fill identical warehouse tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from imis_tier.extracts import EXTRACTS, Extract
from imis_tier.synthetic.tables import AssociationTables


def _money(cents: pd.Series) -> pd.Series:
    return cents.astype("float64") / 100.0


def _ids(values: pd.Series) -> pd.Series:
    return values.astype("int64").astype(str) if values.dtype.kind in "iu" else values.astype(str)


def _billing_items(t: AssociationTables, clock: date) -> pd.DataFrame:
    prices = t.prices[pd.to_datetime(t.prices["effective_from"]) <= pd.Timestamp(clock)]
    current = prices.sort_values("effective_from").groupby("tier_code", observed=True).tail(1)
    return pd.DataFrame(
        {
            "ItemCode": current["item_code"].astype(str),
            "TierCode": current["tier_code"].astype(str),
            "Price": _money(current["price_cents"]),
            "BillingCycle": current["billing_cycle"].astype(str),
            "UpdatedOn": pd.to_datetime(current["effective_from"]),
        }
    )


def _benefits(t: AssociationTables, clock: date) -> pd.DataFrame:
    kinds = t.benefits["activity_types"].map(
        lambda v: ",".join(v) if isinstance(v, (list, tuple, set, frozenset, np.ndarray)) else str(v)
    )
    return pd.DataFrame(
        {
            "Benefit": t.benefits["benefit"].astype(str),
            "Name": t.benefits["name"].astype(str),
            "ActivityTypes": kinds,
            "CostToServe": _money(t.benefits["cost_to_serve_cents"]),
        }
    )


def _renamed(frame: pd.DataFrame, extract: Extract, overrides: dict[str, Callable[[pd.Series], pd.Series]]) -> pd.DataFrame:
    out = {}
    for column in extract.columns:
        source = column.name
        if source == "price" or source == "amount" or source == "balance" or source == "cost_to_serve":
            values = _money(frame[f"{source}_cents"])
        elif source in frame.columns:
            values = frame[source]
        else:
            continue
        if source in overrides:
            values = overrides[source](values)
        out[column.alias] = values.reset_index(drop=True) if hasattr(values, "reset_index") else values
    return pd.DataFrame(out)


_ID_COLUMNS = ("party_id", "invoice_id", "payment_id", "log_id", "registration_id", "seqn")


def iqa_exports(tables: AssociationTables, clock: date) -> dict[str, pd.DataFrame]:
    """Rows of every extraction query, keyed by entity, with the queries' display aliases."""
    frames: dict[str, pd.DataFrame] = {}
    ids = {name: _ids for name in _ID_COLUMNS if name != "seqn"}
    registrations = tables.event_registrations.assign(
        registration_id=tables.event_registrations["event_id"].astype(str)
        + "-"
        + _ids(tables.event_registrations["party_id"])
    )
    sources: dict[str, pd.DataFrame] = {
        "CustomerTypes": tables.tiers,
        "TierBenefits": tables.tier_benefits,
        "Parties": tables.parties,
        "MemberTypeHistory": tables.member_type_history,
        "Invoices": tables.invoices,
        "Payments": tables.payments,
        "Events": tables.events,
        "EventRegistrations": registrations,
        "Activities": tables.activities,
        "Communications": tables.communications,
        "GroupMembers": tables.group_members,
        "Certifications": tables.certifications,
    }
    for extract in EXTRACTS:
        if extract.entity == "BillingItems":
            frames[extract.entity] = _billing_items(tables, clock)
        elif extract.entity == "Benefits":
            frames[extract.entity] = _benefits(tables, clock)
        else:
            frames[extract.entity] = _renamed(sources[extract.entity], extract, ids)  # type: ignore[arg-type]
    return frames
