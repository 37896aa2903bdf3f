"""Turning the world's stores into the observable :class:`AssociationTables` (whole or a delta)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from imis_tier.structure import TierStructure
from imis_tier.synthetic._behaviour import (
    ACTIVITY_DESCRIPTIONS,
    CERT_STATUS,
    CHANNELS,
    EVENT_KINDS,
    GROUPS,
    PROGRAMS,
    ROLES,
    SUBJECTS,
)
from imis_tier.synthetic._calendar import NO_DAY, month_end, to_datetime
from imis_tier.synthetic._population import FIRST_NAMES, LAST_NAMES, METHODS, ORGANIZATIONS
from imis_tier.synthetic._store import Chunks, Table
from imis_tier.synthetic._world import (
    INVOICE_ID_BASE,
    INVOICE_KINDS,
    INVOICE_STATUS,
    PARTY_ID_BASE,
    PAYMENT_STATUS,
    World,
)
from imis_tier.synthetic.catalog import (
    ACTIVITY_TYPES,
    BENEFITS,
    CAREER_STAGES,
    INDUSTRIES,
    NON_MEMBER,
    ORG_SIZES,
    REGIONS,
)
from imis_tier.synthetic.tables import AssociationTables

PAYMENT_ID_BASE = 900_001
SEQN_BASE = 1
LOG_ID_BASE = 1
CERT_ID_BASE = 7_001

Timeline = list[tuple[date, TierStructure]]


@dataclass(frozen=True)
class Marks:
    """The month range and registry size before months were simulated (for deltas)."""

    month_first_day: int
    month_last_day: int
    codes: int


def mark(world: World) -> Marks:
    """Clear the touched flags and remember where we are, before simulating ``world.month``."""
    for table in (world.parties, world.invoices, world.groups, world.certs):
        table.reset_touched()
    first = int(month_end(world.month - 1)) + 1
    return Marks(first, int(month_end(world.month)), len(world.registry))


def _chunk_stores(world: World) -> dict[str, Chunks]:
    return {
        "payments": world.payments,
        "member_types": world.member_types,
        "activities": world.activities,
        "communications": world.communications,
        "events": world.events,
        "registrations": world.registrations,
    }


def categorical(
    codes: npt.NDArray[Any], categories: tuple[str, ...] | list[str]
) -> pd.Categorical[str]:
    """A categorical from integer codes (-1 is missing) without decoding to strings."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(list(categories))
    )


_cat = categorical


def _tier_codes(world: World, tiers: npt.NDArray[Any]) -> pd.Categorical[str]:
    # registry index -1 (no tier) becomes NM, the last category
    codes = np.asarray(tiers, dtype=np.int64)
    return _cat(np.where(codes < 0, len(world.registry), codes), [*world.registry, NON_MEMBER])


def _rows(table: Table, since: Marks | None) -> npt.NDArray[np.int64]:
    if since is None:
        return np.arange(table.n, dtype=np.int64)
    return np.flatnonzero(table.touched[: table.n])


def parties(world: World, since: Marks | None = None) -> pd.DataFrame:
    d = world.parties.data
    rows = _rows(world.parties, since)
    pid = PARTY_ID_BASE + rows
    first = np.asarray(FIRST_NAMES, dtype=object)[d["first"][rows]]
    last = np.asarray(LAST_NAMES, dtype=object)[d["last"][rows]]
    email = (
        pd.Series(first).str.lower()
        + "."
        + pd.Series(last).str.lower()
        + "."
        + pd.Series(pid.astype(str))
        + "@example.org"
    )
    paid_thru = np.where(
        d["paid_thru_month"][rows] >= 0, month_end(d["paid_thru_month"][rows]), NO_DAY
    )
    return pd.DataFrame(
        {
            "party_id": pid,
            "first_name": _cat(d["first"][rows], FIRST_NAMES),
            "last_name": _cat(d["last"][rows], LAST_NAMES),
            "email": email.to_numpy(dtype=object),
            "organization_name": _cat(d["org"][rows], ORGANIZATIONS),
            "industry": _cat(d["industry"][rows], INDUSTRIES),
            "org_size": _cat(d["org_size"][rows], ORG_SIZES),
            "region": _cat(d["region"][rows], REGIONS),
            "career_stage": _cat(d["stage"][rows], CAREER_STAGES),
            "birth_year": d["birth_year"][rows].astype(np.int64),
            "join_date": to_datetime(d["join_day"][rows]),
            "customer_type_code": _tier_codes(world, d["tier"][rows]),
            "paid_thru_date": to_datetime(paid_thru),
            "status": _cat(np.where(d["active"][rows], 0, 1), ("A", "I")),
            "autopay": d["autopay"][rows].copy(),
            "updated_on": to_datetime(d["updated_day"][rows]),
        },
        copy=False,
    )


def invoices(world: World, since: Marks | None = None) -> pd.DataFrame:
    d = world.invoices.data
    rows = _rows(world.invoices, since)
    tier = d["tier"][rows]
    return pd.DataFrame(
        {
            "invoice_id": INVOICE_ID_BASE + rows,
            "party_id": PARTY_ID_BASE + d["party"][rows],
            "invoice_date": to_datetime(d["invoice_day"][rows]),
            "due_date": to_datetime(d["due_day"][rows]),
            "kind": _cat(d["kind"][rows], INVOICE_KINDS),
            # non-dues invoices carry no tier: NaN rather than NM
            "tier_code": categorical(np.where(tier < 0, -1, tier), world.registry),
            "amount_cents": d["amount"][rows],
            "balance_cents": d["balance"][rows],
            "status": _cat(d["status"][rows], INVOICE_STATUS),
            "updated_on": to_datetime(d["updated_day"][rows]),
        },
        copy=False,
    )


def _pending(world: World, name: str) -> tuple[dict[str, npt.NDArray[Any]], int]:
    """Move the rows of store ``name`` not yet in a frame out of the world (memory stays flat).

    Returns their columns and the count of rows handed over before them (the id offset).
    """
    store = _chunk_stores(world)[name]
    offset = store.released
    columns = {c: store.take(c) for c in store.columns}
    store.release()
    return columns, offset


def payments(world: World) -> pd.DataFrame:
    c, offset = _pending(world, "payments")
    day = to_datetime(c.pop("day"))
    return pd.DataFrame(
        {
            "payment_id": np.arange(
                PAYMENT_ID_BASE + offset, PAYMENT_ID_BASE + offset + len(day), dtype=np.int64
            ),
            "invoice_id": INVOICE_ID_BASE + c.pop("invoice").astype(np.int64),
            "party_id": PARTY_ID_BASE + c.pop("party").astype(np.int64),
            "payment_date": day,
            "amount_cents": c.pop("amount").astype(np.int64),
            "method": _cat(c.pop("method"), METHODS),
            "status": _cat(c.pop("status"), PAYMENT_STATUS),
            "updated_on": day,
        },
        copy=False,
    )


def member_type_history(world: World) -> pd.DataFrame:
    c, _ = _pending(world, "member_types")
    return pd.DataFrame(
        {
            "party_id": PARTY_ID_BASE + c["party"].astype(np.int64),
            "change_date": to_datetime(c["day"]),
            "original_value": _tier_codes(world, c["old"]),
            "new_value": _tier_codes(world, c["new"]),
        },
        copy=False,
    )


def activities(world: World) -> pd.DataFrame:
    # The largest table: columns are converted one at a time and their sources dropped at once.
    store = world.activities
    offset = store.released
    party = store.take("party", np.int64)
    party += PARTY_ID_BASE
    kind = store.take("type")
    day = to_datetime(store.take("day", np.int64), consume=True)
    units = store.take("units")
    store.release()
    return pd.DataFrame(
        {
            "seqn": np.arange(SEQN_BASE + offset, SEQN_BASE + offset + len(party), dtype=np.int64),
            "party_id": party,
            "activity_type": _cat(kind, ACTIVITY_TYPES),
            "transaction_date": day,
            "units": units,
            "description": _cat(kind, ACTIVITY_DESCRIPTIONS),
            "updated_on": day,  # shares memory with transaction_date: activities never change
        },
        copy=False,
    )


def communications(world: World) -> pd.DataFrame:
    c, offset = _pending(world, "communications")
    day = to_datetime(c.pop("day"))
    return pd.DataFrame(
        {
            "log_id": np.arange(
                LOG_ID_BASE + offset, LOG_ID_BASE + offset + len(day), dtype=np.int64
            ),
            "party_id": PARTY_ID_BASE + c.pop("party").astype(np.int64),
            "sent_on": day,
            "channel": _cat(c.pop("channel"), CHANNELS),
            "subject": _cat(c.pop("subject"), SUBJECTS),
            "opened": c.pop("opened").astype(bool),
            "clicked": c.pop("clicked").astype(bool),
            "updated_on": day,
        },
        copy=False,
    )


def events(world: World) -> pd.DataFrame:
    c, _ = _pending(world, "events")
    day = to_datetime(c["day"])
    return pd.DataFrame(
        {
            "event_id": c["event_id"].astype(object),
            "name": c["name"].astype(object),
            "kind": _cat(c["kind"], EVENT_KINDS),
            "start_date": day,
            "price_cents": c["price"].astype(np.int64),
            "updated_on": day,
        },
        copy=False,
    )


def registrations(world: World) -> pd.DataFrame:
    c, _ = _pending(world, "registrations")
    day = to_datetime(c["day"])
    return pd.DataFrame(
        {
            "event_id": c["event_id"].astype(object),
            "party_id": PARTY_ID_BASE + c["party"].astype(np.int64),
            "registered_on": day,
            "status": c["status"].astype(np.int8),
            "attended": c["attended"].astype(bool),
            "updated_on": day,
        },
        copy=False,
    )


def group_members(world: World, since: Marks | None = None) -> pd.DataFrame:
    d = world.groups.data
    rows = _rows(world.groups, since)
    group = d["group"][rows].astype(np.int64)
    return pd.DataFrame(
        {
            "group_id": _cat(group, [g[0] for g in GROUPS]),
            "group_name": _cat(group, [g[1] for g in GROUPS]),
            "group_class": pd.Categorical(np.asarray([g[2] for g in GROUPS], dtype=object)[group]),
            "party_id": PARTY_ID_BASE + d["party"][rows],
            "role": _cat(d["role"][rows], ROLES),
            "effective_date": to_datetime(d["start_day"][rows]),
            "end_date": to_datetime(d["end_day"][rows]),
            "updated_on": to_datetime(d["updated_day"][rows]),
        },
        copy=False,
    )


def certifications(world: World, since: Marks | None = None) -> pd.DataFrame:
    d = world.certs.data
    rows = _rows(world.certs, since)
    return pd.DataFrame(
        {
            "registration_id": CERT_ID_BASE + rows,
            "party_id": PARTY_ID_BASE + d["party"][rows],
            "program_code": _cat(d["program"][rows], PROGRAMS),
            "registered_on": to_datetime(d["registered_day"][rows]),
            "status": _cat(d["status"][rows], CERT_STATUS),
            "progress_pct": np.round(d["progress"][rows].astype(np.float64), 1),
            "completed_on": to_datetime(d["completed_day"][rows]),
            "updated_on": to_datetime(d["updated_day"][rows]),
        },
        copy=False,
    )


def configuration(world: World, timeline: Timeline) -> dict[str, pd.DataFrame]:
    """tiers, prices, tier_benefits and benefits from the structures in force over time."""
    names: dict[str, tuple[str, int]] = {}
    price_rows: list[tuple[str, str, date, int, str]] = []
    spells: dict[tuple[str, str], list[date | None]] = {}
    benefit_rows: list[tuple[str, str, date, date | None]] = []
    last_price: dict[str, int] = {}
    for effective, structure in timeline:
        for tier in structure.tiers:
            names[tier.code] = (tier.name, tier.rank)
            cents = int(tier.price * 100)
            if last_price.get(tier.code) != cents:
                cycle = (
                    "ANNUAL"
                    if structure.billing_cycle_months == 12
                    else f"{structure.billing_cycle_months}M"
                )
                price_rows.append((tier.code, f"DUES-{tier.code}", effective, cents, cycle))
                last_price[tier.code] = cents
        held = {(t.code, b) for t in structure.tiers for b in t.benefits}
        for key in held - {k for k, v in spells.items() if v[1] is None}:
            spells[key] = [effective, None]
            benefit_rows.append((key[0], key[1], effective, None))
        for key, spell in spells.items():
            if spell[1] is None and key not in held:
                spell[1] = effective
                index = benefit_rows.index((key[0], key[1], spell[0], None))  # type: ignore[arg-type]
                benefit_rows[index] = (key[0], key[1], spell[0], effective)  # type: ignore[assignment]
    codes = [*world.registry]
    tiers = pd.DataFrame(
        {
            "code": [*codes, NON_MEMBER],
            "description": [names.get(c, (c, 0))[0] for c in codes] + ["Non-member"],
            "rank": [names.get(c, (c, 0))[1] for c in codes] + [0],
            "is_member": [True] * len(codes) + [False],
        }
    )
    prices = pd.DataFrame(
        price_rows,
        columns=["tier_code", "item_code", "effective_from", "price_cents", "billing_cycle"],
    )
    prices["effective_from"] = pd.to_datetime(prices["effective_from"]).astype("datetime64[ns]")
    benefit_rows.sort(key=lambda r: (r[0], r[1], r[2]))
    tier_benefits = pd.DataFrame(
        benefit_rows, columns=["tier_code", "benefit", "effective_from", "effective_to"]
    )
    for col in ("effective_from", "effective_to"):
        tier_benefits[col] = pd.to_datetime(tier_benefits[col]).astype("datetime64[ns]")
    benefits = pd.DataFrame(
        {
            "benefit": [b.code for b in BENEFITS],
            "name": [b.name for b in BENEFITS],
            "activity_types": [b.activity_types for b in BENEFITS],
            "cost_to_serve_cents": np.array([b.cost_to_serve_cents for b in BENEFITS], np.int64),
        }
    )
    return {"tiers": tiers, "prices": prices, "tier_benefits": tier_benefits, "benefits": benefits}


def build(world: World, timeline: Timeline, since: Marks | None = None) -> AssociationTables:
    """All observable tables, or (``since`` given) only rows added or changed after ``since``."""
    config = configuration(world, timeline)
    if since is not None:
        first = pd.Timestamp(np.datetime64(int(since.month_first_day), "D"))
        last = pd.Timestamp(np.datetime64(int(since.month_last_day), "D"))
        tiers = config["tiers"]
        config["tiers"] = tiers[tiers["code"].isin(world.registry[since.codes :])].reset_index(
            drop=True
        )
        prices = config["prices"]
        config["prices"] = prices[prices["effective_from"].between(first, last)].reset_index(
            drop=True
        )
        tb = config["tier_benefits"]
        touched = tb["effective_from"].between(first, last) | tb["effective_to"].between(
            first, last
        )
        config["tier_benefits"] = tb[touched].reset_index(drop=True)
        config["benefits"] = config["benefits"].iloc[0:0]
    return AssociationTables(
        parties=parties(world, since),
        member_type_history=member_type_history(world),
        invoices=invoices(world, since),
        payments=payments(world),
        events=events(world),
        event_registrations=registrations(world),
        activities=activities(world),
        communications=communications(world),
        group_members=group_members(world, since),
        certifications=certifications(world, since),
        **config,
    )


def build_mutable(world: World, timeline: Timeline) -> dict[str, pd.DataFrame]:
    """The whole of every table whose rows change in place (and the configuration tables)."""
    return {
        "parties": parties(world),
        "invoices": invoices(world),
        "group_members": group_members(world),
        "certifications": certifications(world),
        **configuration(world, timeline),
    }
