"""Past renewal decisions as long-format choice data: one row per alternative a member could pick.

Each settled decision in the warehouse's ``renewal_decisions`` becomes a choice situation. The
alternatives are the tiers of the structure in force on the decision date (prices and benefits
then) that the member was eligible for, plus their current tier and the tier they chose (both
evidently open to them; demographics are only known as they are now), plus LAPSE. Member
attributes come from the panel built as of the first of the month the decision window opened
(75 days before the due date), so no feature sees the decision. Decisions whose panel date lies
less than ``min_history_months`` after the warehouse's history starts are left out: their
features would be computed from (almost) nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from imis_tier.features import add_months, build_panel, data_horizon, history_start
from imis_tier.simulate.design import (
    TRAITS,
    DesignSpec,
    HeldBenefits,
    Members,
    design,
    scale_traits,
)
from imis_tier.simulate.structure_io import current_structure, structure_at
from imis_tier.structure import LAPSE, Eligibility, TierStructure
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS

# Months of history a decision's panel needs behind it: the 90-day activity window, at least.
MIN_HISTORY_MONTHS = 3


@dataclass(frozen=True)
class ChoiceDataset:
    """Long-format renewal choices ready for an estimator.

    ``X`` holds the features (``spec.feature_names``); ``chosen`` is 1 on the picked row;
    ``situation`` numbers decisions, ``alternative`` names each row's alternative and
    ``party_id`` ties decisions of one member (a panel for the mixed logit).
    """

    X: pd.DataFrame
    chosen: np.ndarray
    situation: np.ndarray
    alternative: np.ndarray
    party_id: np.ndarray
    decisions: pd.DataFrame  # one row per situation: party_id, decision_date, from_tier, to_tier
    spec: DesignSpec

    @property
    def n_decisions(self) -> int:
        return len(self.decisions)


def _month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def settled_decisions(
    warehouse: Warehouse, *, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """Renewal decisions with a known outcome and ``start <= decision_date < end``."""
    sql = (
        "SELECT party_id, decision_date, from_tier, to_tier, outcome, price_offered "
        "FROM renewal_decisions WHERE outcome IS NOT NULL"
    )
    params: list[object] = []
    if start is not None:
        sql += " AND decision_date >= ?"
        params.append(start)
    if end is not None:
        sql += " AND decision_date < ?"
        params.append(end)
    frame = warehouse.query_df(sql + " ORDER BY decision_date, party_id", params)
    frame["decision_date"] = pd.to_datetime(frame["decision_date"]).dt.date
    frame["to_tier"] = frame["to_tier"].where(frame["to_tier"] != "NM", LAPSE)
    return frame


def _held_benefits(
    rows: pd.DataFrame, first: date | None, structure_at_month: Callable[[date], TierStructure]
) -> HeldBenefits:
    """Per decision: the benefits its tier gave at the renewal a year before (unknown before
    the history starts)."""
    benefits: dict[date, dict[str, frozenset[str]]] = {}
    held: list[frozenset[str] | None] = []
    for decided, tier in zip(rows["decision_date"], rows["tier"], strict=True):
        month = add_months(_month_start(decided), -12)
        if first is None or month < first:
            held.append(None)
            continue
        if month not in benefits:
            benefits[month] = {t.code: t.benefits for t in structure_at_month(month).tiers}
        held.append(benefits[month].get(tier))
    return HeldBenefits.of(held)


def _identified(spec: DesignSpec, long: pd.DataFrame) -> DesignSpec:
    """``spec`` without the features that are zero throughout the training data.

    Their coefficients are not identified (a benefit nobody used, a career stage nobody is in; a
    history without a price rise has no ``price_rise``). Traits are pruned before scaling.
    """
    seen = {name for name in spec.feature_names if long[name].to_numpy().any()}
    return replace(
        spec,
        usage_benefits=tuple(b for b in spec.usage_benefits if f"use.{b}" in seen),
        price_stages=tuple(s for s in spec.price_stages if f"price_x_{s}" in seen),
        lapse_stages=tuple(s for s in spec.lapse_stages if f"lapse.stage_{s}" in seen),
        price_rise="price_rise" in seen,
        benefit_loss="benefit_loss" in seen,
    )


def choice_dataset(
    warehouse: Warehouse,
    *,
    start: date | None = None,
    end: date | None = None,
    eligibility: dict[str, Eligibility] | None = None,
    min_history_months: int = MIN_HISTORY_MONTHS,
) -> ChoiceDataset:
    """Long-format data from the settled decisions with ``start <= decision_date < end``.

    Only decisions whose panel date is ``min_history_months`` or more after the first month of
    the warehouse's history are used.
    """
    if min_history_months < 0:
        raise ValueError(f"min_history_months must be 0 or more, got {min_history_months}")
    decisions = settled_decisions(warehouse, start=start, end=end)
    # A renewal settles when paid, a lapse only after the grace period: near the data horizon
    # the settled decisions are mostly renewals. Only decisions whose whole window has passed
    # count.
    horizon = data_horizon(warehouse)
    if horizon is not None:
        window = timedelta(days=DECISION_WINDOW_DAYS[1])
        closed = [d + window <= horizon for d in decisions["decision_date"]]
        decisions = decisions[closed].reset_index(drop=True)
    lag = timedelta(days=DECISION_WINDOW_DAYS[0])
    decisions["as_of"] = [_month_start(d - lag) for d in decisions["decision_date"]]
    first = history_start(warehouse)
    earliest = add_months(_month_start(first), min_history_months) if first else None
    if earliest is not None:
        decisions = decisions[decisions["as_of"] >= earliest].reset_index(drop=True)
    if decisions.empty:
        raise ValueError(
            f"no settled renewal decisions between {start or 'the start'} and {end or 'the end'}"
            + (
                f" with a panel date on or after {earliest} ({min_history_months} months into "
                f"the history, which starts {first})"
                if earliest is not None
                else ""
            )
        )
    rules = {t.code: t.eligibility for t in current_structure(warehouse).tiers}
    rules.update(eligibility or {})
    panels = []
    for as_of in sorted(decisions["as_of"].unique()):
        panel = build_panel(warehouse, as_of)
        panel["as_of_key"] = as_of
        panels.append(panel)
    panel = pd.concat(panels, ignore_index=True)
    for column in ("industry", "org_size", "region", "career_stage"):
        panel[column] = panel[column].astype(str)
    panel["party_id"] = panel["party_id"].astype("int64")
    decisions["party_id"] = decisions["party_id"].astype("int64")
    rows = decisions.merge(
        panel.drop(columns=["tier"]),
        left_on=["party_id", "as_of"],
        right_on=["party_id", "as_of_key"],
        how="inner",
        suffixes=("", "_panel"),
    )
    rows = rows.rename(columns={"from_tier": "tier"}).reset_index(drop=True)
    cache: dict[date, TierStructure] = {}

    def at(month: date) -> TierStructure:
        if month not in cache:
            cache[month] = structure_at(warehouse, month, eligibility=rules)
        return cache[month]

    structures = {d: at(d) for d in sorted({_month_start(x) for x in rows["decision_date"]})}
    ranks: dict[str, int] = {}
    for s in structures.values():
        ranks.update({t.code: t.rank for t in s.tiers})
    # Decisions from a tier no longer priced in the window cannot be laid out; drop them.
    rows = rows[
        rows["tier"].isin(ranks) & (rows["to_tier"].isin(ranks) | (rows["to_tier"] == LAPSE))
    ]
    rows = rows.reset_index(drop=True)
    benefits = tuple(sorted(c.removeprefix("use_") for c in panel.columns if c.startswith("use_")))
    members = Members.from_panel(rows, benefits, ranks)
    members = replace(members, held_benefits=_held_benefits(rows, first, at))
    # A trait no member differs in (say, payment lateness when no member's last renewal is in
    # the history) is not identified: it is left out.
    varies = members.raw_traits.std(axis=0) > 1e-9
    traits = tuple(t for t, v in zip(TRAITS, varies, strict=True) if v)
    center, scale = scale_traits(members.raw_traits[:, varies])
    tiers = tuple(sorted(ranks, key=lambda t: (ranks[t], t)))
    ref: dict[str, list[float]] = {}
    for st in structures.values():
        for t in st.tiers:
            ref.setdefault(t.code, []).append(float(t.price))
    spec = DesignSpec(
        benefit_loss=True,
        tiers=tiers,
        tier_ranks=dict(ranks),
        usage_benefits=benefits,
        traits=traits,
        trait_center=center,
        trait_scale=scale,
        ref_prices={code: float(np.mean(v)) for code, v in ref.items()},
    )
    varied = any(len(set(v)) > 1 for v in ref.values()) or any(
        st.discounts for st in structures.values()
    )
    if not varied:
        spec = replace(spec, constants="rank", ref_prices={})
    month = np.array([_month_start(x) for x in rows["decision_date"]], dtype=object)
    blocks: list[pd.DataFrame] = []
    for d, structure in structures.items():
        idx = np.flatnonzero(month == d)
        if idx.size == 0:
            continue
        sub = members.take(idx)
        alts = design(sub, structure, spec, dtype=np.float64)
        codes = np.array(alts.codes, dtype=object)
        chosen_code = rows["to_tier"].to_numpy(dtype=object)[idx]
        avail = alts.available | (codes[None, :] == chosen_code[:, None])
        m, j = np.nonzero(avail)
        block = pd.DataFrame(alts.X[m, j], columns=spec.feature_names)
        block["_situation"] = idx[m]
        block["_alternative"] = codes[j]
        block["_chosen"] = (codes[j] == chosen_code[m]).astype(np.int8)
        block["_party"] = sub.party_id[m]
        blocks.append(block)
    long = pd.concat(blocks, ignore_index=True).sort_values(["_situation"], kind="stable")
    long = long.reset_index(drop=True)
    spec = _identified(spec, long)
    return ChoiceDataset(
        X=long[spec.feature_names],
        chosen=long["_chosen"].to_numpy(),
        situation=long["_situation"].to_numpy(),
        alternative=long["_alternative"].to_numpy(),
        party_id=long["_party"].to_numpy(),
        decisions=rows[["party_id", "decision_date", "tier", "to_tier"]].rename(
            columns={"tier": "from_tier"}
        ),
        spec=spec,
    )
