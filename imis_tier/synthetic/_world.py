"""The simulated world's state: every contact's observable fields and hidden traits, and the row
stores that become the observable tables.

One row per contact in :attr:`World.parties` (row ``r`` is party ``PARTY_ID_BASE + r``); other
stores refer to contacts by row. Hidden traits never leave this module except through
:mod:`imis_tier.synthetic.truth`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from imis_tier.synthetic._calendar import NO_DAY, month_start
from imis_tier.synthetic._choice import ChoiceInputs
from imis_tier.synthetic._store import Chunks, Table
from imis_tier.synthetic.catalog import BENEFITS
from imis_tier.synthetic.params import TruthParameters

PARTY_ID_BASE = 100_001
INVOICE_ID_BASE = 500_001
INVOICE_KINDS: tuple[str, ...] = ("DUES", "EVENT", "COURSE", "PRODUCT", "DONATION", "SPONSORSHIP")
INVOICE_STATUS: tuple[str, ...] = ("Paid", "Open", "Cancelled")
PAYMENT_STATUS: tuple[str, ...] = ("Succeeded", "Failed")
DECISION_KINDS: tuple[str, ...] = ("renewal", "join", "reinstate")

_NB = len(BENEFITS)
_PARTY_COLUMNS: dict[str, tuple[npt.DTypeLike, int]] = {
    # observable
    "first": (np.int16, 0),
    "last": (np.int16, 0),
    "org": (np.int16, 0),
    "industry": (np.int8, 0),
    "org_size": (np.int8, 0),
    "region": (np.int8, 0),
    "stage": (np.int8, 0),
    "birth_year": (np.int16, 0),
    "autopay": (np.bool_, 0),
    "method": (np.int8, 0),
    "join_day": (np.int32, 0),
    "tier": (np.int16, 0),
    "paid_thru_month": (np.int32, 0),
    "active": (np.bool_, 0),
    "updated_day": (np.int32, 0),
    # hidden traits
    "laxity": (np.float32, 0),
    "mu": (np.float32, 0),
    "engagement": (np.float32, 0),
    "alpha": (np.float32, 0),
    "habit": (np.float32, 0),
    "value": (np.float32, _NB),
    "use": (np.float32, _NB),
    "login": (np.float32, 0),
    "volunteer": (np.float32, 0),
    # membership bookkeeping
    "since_day": (np.int32, 0),
    "last_paid": (np.int64, 0),
    "lapse_day": (np.int32, 0),
    "pending": (np.bool_, 0),
    "pend_invoice": (np.int64, 0),
    "pend_tier": (np.int16, 0),
    "pend_price": (np.int64, 0),
    "pend_pay_day": (np.int32, 0),
    "pend_fail_day": (np.int32, 0),
    "pend_lapse_day": (np.int32, 0),
    # groups and certifications
    "group_row": (np.int64, 0),
    "group_end_month": (np.int32, 0),
    "cert_row": (np.int64, 0),
    "cert_progress": (np.float32, 0),
    "cert_deadline": (np.int32, 0),
    "cert_done": (np.int8, 0),
}
_INVOICE_COLUMNS: dict[str, tuple[npt.DTypeLike, int]] = {
    "party": (np.int64, 0),
    "invoice_day": (np.int32, 0),
    "due_day": (np.int32, 0),
    "kind": (np.int8, 0),
    "tier": (np.int16, 0),
    "amount": (np.int64, 0),
    "balance": (np.int64, 0),
    "status": (np.int8, 0),
    "updated_day": (np.int32, 0),
}
_GROUP_COLUMNS: dict[str, tuple[npt.DTypeLike, int]] = {
    "group": (np.int8, 0),
    "party": (np.int64, 0),
    "role": (np.int8, 0),
    "start_day": (np.int32, 0),
    "end_day": (np.int32, 0),
    "updated_day": (np.int32, 0),
}
_CERT_COLUMNS: dict[str, tuple[npt.DTypeLike, int]] = {
    "party": (np.int64, 0),
    "program": (np.int8, 0),
    "registered_day": (np.int32, 0),
    "status": (np.int8, 0),
    "progress": (np.float32, 0),
    "completed_day": (np.int32, 0),
    "updated_day": (np.int32, 0),
}
_DEFAULTS = {
    "tier": -1,
    "paid_thru_month": -1,
    "lapse_day": NO_DAY,
    "pend_invoice": -1,
    "pend_tier": -1,
    "pend_pay_day": NO_DAY,
    "pend_fail_day": NO_DAY,
    "pend_lapse_day": NO_DAY,
    "group_row": -1,
    "group_end_month": -1,
    "cert_row": -1,
    "cert_deadline": -1,
}


@dataclass
class Decision:
    """One batch of choices made in a month (hidden truth): who, what, and the true odds."""

    rows: npt.NDArray[np.int64]
    month: int
    day: npt.NDArray[np.int32]
    kind: int
    from_tier: npt.NDArray[np.int16]
    to_tier: npt.NDArray[np.int16]
    price: npt.NDArray[np.int64]
    codes: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]  # n x (len(codes) + 1), LAPSE last
    state: dict[str, npt.NDArray[Any]]  # the time-varying ChoiceInputs fields at the decision


TIME_VARYING: tuple[str, ...] = ("engagement", "stage", "tier", "tenure_years", "last_paid_cents")
"""ChoiceInputs fields that change over time; the others are fixed traits read from the parties."""


@dataclass
class World:
    """Everything the simulation knows; advanced one month at a time by ``_engine.step``."""

    params: TruthParameters
    key: tuple[int, ...]
    registry: list[str]
    month: int = 0
    parties: Table = field(default_factory=lambda: Table(_PARTY_COLUMNS))
    invoices: Table = field(default_factory=lambda: Table(_INVOICE_COLUMNS))
    groups: Table = field(default_factory=lambda: Table(_GROUP_COLUMNS))
    certs: Table = field(default_factory=lambda: Table(_CERT_COLUMNS))
    payments: Chunks = field(
        default_factory=lambda: Chunks(("invoice", "party", "day", "amount", "method", "status"))
    )
    member_types: Chunks = field(default_factory=lambda: Chunks(("party", "day", "old", "new")))
    activities: Chunks = field(default_factory=lambda: Chunks(("party", "type", "day", "units")))
    communications: Chunks = field(
        default_factory=lambda: Chunks(("party", "day", "channel", "subject", "opened", "clicked"))
    )
    events: Chunks = field(
        default_factory=lambda: Chunks(("event_id", "name", "kind", "day", "price"))
    )
    registrations: Chunks = field(
        default_factory=lambda: Chunks(("event_id", "party", "day", "status", "attended"))
    )
    decisions: list[Decision] = field(default_factory=list)
    emit: bool = True
    reminders: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    def rng(self, month: int, purpose: int) -> np.random.Generator:
        """An independent stream per (seed key, month, purpose): adding a purpose moves nothing else."""
        return np.random.default_rng([*self.key, month, purpose])

    @property
    def n(self) -> int:
        return self.parties.n

    def col(self, name: str) -> npt.NDArray[Any]:
        return self.parties.view(name)

    def add_parties(self, columns: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.int64]:
        """Append contacts (traits from ``_population.draw`` plus membership fields)."""
        k = len(columns["stage"])
        full = {
            name: np.full(k, _DEFAULTS.get(name, 0), dtype=np.dtype(t))
            for name, (t, w) in _PARTY_COLUMNS.items()
            if not w
        }
        full["value"] = columns["value"]
        full["use"] = columns["use"]
        full.update({k2: v for k2, v in columns.items() if k2 not in ("value", "use")})
        return self.parties.append(**full)

    def inputs(self, rows: npt.NDArray[np.int64], month: int) -> ChoiceInputs:
        """The decision state of ``rows`` at the start of ``month``."""
        d = self.parties.data
        tier = d["tier"][rows]
        tenure = np.where(tier >= 0, (month_start(month) - d["since_day"][rows]) / 365.25, 0.0)
        return ChoiceInputs(
            stage=d["stage"][rows],
            industry=d["industry"][rows],
            org_size=d["org_size"][rows],
            region=d["region"][rows],
            birth_year=d["birth_year"][rows],
            engagement=d["engagement"][rows],
            alpha=d["alpha"][rows],
            habit=d["habit"][rows],
            autopay=d["autopay"][rows],
            laxity=d["laxity"][rows],
            tier=tier,
            tenure_years=np.maximum(tenure, 0.0).astype(np.float32),
            last_paid_cents=np.where(tier >= 0, d["last_paid"][rows], 0),
            value=d["value"][rows],
            use=d["use"][rows],
        )

    def fork(self, key: tuple[int, ...]) -> World:
        """A copy for a what-if run: same contacts and pending renewals, no tables, no log."""
        return World(
            params=self.params,
            key=key,
            registry=list(self.registry),
            month=self.month,
            parties=self.parties.copy(),
            emit=False,
        )
