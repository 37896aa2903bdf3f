"""Individual lifetime value: each active member's expected discounted future net revenue.

For a member who has made ``n`` renewals, with probability ``p`` of lapsing at her next renewal:

- **Residual dues.** Her discounted expected residual lifetime is
  ``(1 - p) x [1 + DERL(d | n + 1) / (1 + d)]``: the imminent renewal undiscounted, then her
  cohort's retention path from there (:mod:`imis_tier.value.cohorts`). ``p`` comes from a
  propensity score when one is given (``outcome_probabilities``, e.g. from
  :class:`imis_tier.scoring.PropensityModel`), else from the cohort model, where the formula
  reduces exactly to the cohort DERL. Each renewal is worth the *expected* net dues of the tier
  she renews into: with scored upgrade / downgrade probabilities, a mix of her tier and the tiers
  one rank up and down (the tier path); net dues = price minus the tier's cost to serve.
- **Non-dues value** (events, courses, products, donations, sponsorships): the BG/BB model of
  yes/no purchase years (:func:`imis_tier.value.fit_bgbb`) gives her expected purchase years in
  each future year; each is worth her average spend in a purchasing year, shrunk toward the
  association's average (``(x * own + k * all) / (x + k)``, ``k = 2``), weighted by the chance she
  is still a member then (member pricing ties most non-dues buying to membership, so this errs
  low) and discounted. Horizon: ``nondues_years``.

Money is Decimal at the surface (rounded to the cent); probabilities and DERL are floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.features import history_start
from imis_tier.value.bgbb import BGBBFit, fit_bgbb
from imis_tier.value.cohorts import CohortReport, cohort_retention
from imis_tier.value.economics import CENT, as_day, money, tier_economics
from imis_tier.warehouse import Warehouse

_SHRINK = 2.0


@dataclass(frozen=True)
class MemberValue:
    """One member's value, as :func:`member_values` computes it (money in Decimal)."""

    party_id: str
    tier: str
    renewals: int
    lapse_probability: float
    lapse_source: str
    derl: float
    expected_net_dues: Decimal
    residual_dues: Decimal
    nondues_value: Decimal
    lifetime_value: Decimal


def member_values(
    warehouse: Warehouse,
    *,
    as_of: date | datetime | str | None = None,
    discount_rate: float = 0.1,
    outcome_probabilities: pd.DataFrame | None = None,
    cohort_by: str = "join_tier",
    nondues_years: int = 10,
    cohorts: CohortReport | None = None,
) -> pd.DataFrame:
    """Lifetime value of every member active on ``as_of`` (default: the data horizon).

    ``outcome_probabilities``: optional scores indexed by party_id with a ``lapse`` column and
    optionally ``upgrade`` / ``downgrade`` / ``renew`` (members missing from it use the cohort
    model). Returns one row per member, indexed by party_id: ``tier``, ``renewals``,
    ``lapse_probability``, ``lapse_source`` (``score`` / ``cohort``), ``derl``,
    ``expected_price``, ``expected_cost``, ``expected_net_dues``, ``residual_dues``,
    ``nondues_value``, ``lifetime_value`` (money columns Decimal), sorted by value descending.
    """
    day = as_day(as_of, warehouse)
    report = cohorts or cohort_retention(
        warehouse, cohort_by, as_of=day, discount_rate=discount_rate
    )
    d = report.discount_rate
    active = report.durations[~report.durations["lapsed"] & report.durations["tier"].notna()].copy()
    if active.empty:
        raise ValueError(f"no active members on {day}: nothing to value")
    economics = tier_economics(warehouse, day).sort_values("rank").reset_index(drop=True)
    price: dict[str, Decimal] = {
        str(r["tier_code"]): r["price"] for r in economics.to_dict("records")
    }
    cost: dict[str, Decimal] = {
        str(r["tier_code"]): r["cost_to_serve"] for r in economics.to_dict("records")
    }
    order = list(economics["tier_code"])

    cohort_p = report.lapse_probability(list(active["party_id"])).to_numpy()
    p = cohort_p.copy()
    source = np.full(len(active), "cohort", dtype=object)
    mix = {
        "renew": np.ones(len(active)),
        "upgrade": np.zeros(len(active)),
        "downgrade": np.zeros(len(active)),
    }
    if outcome_probabilities is not None:
        if "lapse" not in outcome_probabilities:
            raise ValueError("outcome_probabilities needs a 'lapse' column")
        scores = outcome_probabilities.copy()
        scores.index = scores.index.astype(str)
        found = active["party_id"].astype(str).isin(scores.index).to_numpy()
        rows = scores.reindex(active["party_id"].astype(str))
        p = np.where(found, rows["lapse"].to_numpy(dtype=float), p)
        source[found] = "score"
        stay = np.clip(1.0 - p, 1e-12, None)
        for outcome in ("upgrade", "downgrade"):
            if outcome in rows:
                mix[outcome] = np.where(
                    found, rows[outcome].fillna(0).to_numpy(dtype=float) / stay, 0.0
                )
        mix["renew"] = np.clip(1.0 - mix["upgrade"] - mix["downgrade"], 0.0, 1.0)

    derl = np.empty(len(active))
    for key, group in active.groupby(list(report.by), observed=True, sort=False):
        fit = report.fits[key if isinstance(key, tuple) else (key,)]
        at = active.index.get_indexer(group.index)
        n = group["renewals"].to_numpy()
        continuation = 1.0 + np.atleast_1d(fit.model.derl(d, n + 1)) / (1.0 + d)
        derl[at] = (1.0 - p[at]) * continuation

    tiers = active["tier"].astype(str).to_numpy()
    expected_price, expected_cost = [], []
    for i, tier in enumerate(tiers):
        k = order.index(tier) if tier in order else None
        up = order[k + 1] if k is not None and k + 1 < len(order) else tier
        down = order[k - 1] if k is not None and k > 0 else tier
        weights = ((tier, mix["renew"][i]), (up, mix["upgrade"][i]), (down, mix["downgrade"][i]))
        expected_price.append(_weighted(price, weights))
        expected_cost.append(_weighted(cost, weights))

    nondues = _nondues_values(warehouse, day, active, report, p, d, nondues_years)
    out = pd.DataFrame(
        {
            "tier": tiers,
            "renewals": active["renewals"].to_numpy(),
            "lapse_probability": p,
            "lapse_source": source,
            "derl": derl,
            "expected_price": expected_price,
            "expected_cost": expected_cost,
        },
        index=pd.Index(active["party_id"].astype(str).to_numpy(), name="party_id"),
    )
    out["expected_net_dues"] = [
        a - b for a, b in zip(out["expected_price"], out["expected_cost"], strict=True)
    ]
    out["residual_dues"] = [
        (Decimal(repr(float(x))) * net).quantize(CENT)
        for x, net in zip(derl, out["expected_net_dues"], strict=True)
    ]
    out["nondues_value"] = pd.Series([money(v) for v in nondues], index=out.index, dtype=object)
    out["lifetime_value"] = [
        a + b for a, b in zip(out["residual_dues"], out["nondues_value"], strict=True)
    ]
    return out.sort_values("lifetime_value", ascending=False, key=lambda s: s.map(float))


def member_value(warehouse: Warehouse, party_id: str, **kwargs: object) -> MemberValue:
    """:func:`member_values` for one member; ``KeyError`` when she is not an active member."""
    table = member_values(warehouse, **kwargs)  # type: ignore[arg-type]
    key = str(party_id)
    if key not in table.index:
        raise KeyError(f"party {party_id!r} is not an active member on the valuation date")
    r: dict[Any, Any] = table.loc[key].to_dict()
    return MemberValue(
        party_id=key,
        tier=str(r["tier"]),
        renewals=int(r["renewals"]),
        lapse_probability=float(r["lapse_probability"]),
        lapse_source=str(r["lapse_source"]),
        derl=float(r["derl"]),
        expected_net_dues=r["expected_net_dues"],
        residual_dues=r["residual_dues"],
        nondues_value=r["nondues_value"],
        lifetime_value=r["lifetime_value"],
    )


def _weighted(values: dict[str, Decimal], weights: tuple[tuple[str, float], ...]) -> Decimal:
    total = sum(
        (values.get(t, Decimal(0)) * Decimal(repr(float(w))) for t, w in weights), Decimal(0)
    )
    return total.quantize(CENT)


def purchase_histories(warehouse: Warehouse, as_of: date) -> tuple[pd.DataFrame, int]:
    """Yearly non-dues purchase histories: per party ``x`` (purchase years), ``t_x`` (last one),
    ``n`` (years observed), ``spend`` (mean spend in a purchasing year); and the number of
    complete years. Years run from the first dues invoice; a member's start in the year she
    joined (only complete years before ``as_of`` count)."""
    conn = warehouse.connection
    first = history_start(warehouse)
    start = pd.Timestamp(first if first is not None else as_of)
    years = int((pd.Timestamp(as_of) - start).days // 365.25)
    if years < 1:
        return pd.DataFrame(columns=["x", "t_x", "n", "spend"]), 0
    end = start + pd.DateOffset(years=years)
    sales = conn.execute(
        """
        SELECT party_id, invoice_date, amount::DOUBLE AS amount FROM nondues_transactions
        WHERE invoice_date >= $start AND invoice_date < $end
        """,
        {"start": start.date(), "end": end.date()},
    ).df()
    joined = (
        conn.execute("SELECT party_id, join_date FROM members")
        .df()
        .set_index("party_id")["join_date"]
    )

    def year_of(values: pd.Series) -> pd.Series:
        days = (pd.to_datetime(values) - start).dt.days
        return (days // 365.25).astype(int)

    sales["year"] = year_of(sales["invoice_date"]).clip(0, years - 1)
    per_year = sales.groupby(["party_id", "year"])["amount"].sum().reset_index()
    g = per_year.groupby("party_id")
    first_year = year_of(pd.Series(joined.to_numpy(), index=joined.index)).clip(lower=0)
    frame = pd.DataFrame({"first": first_year})
    frame = frame[frame["first"] < years]
    frame["n"] = years - frame["first"]
    frame["x"] = g.size().reindex(frame.index).fillna(0).astype(int)
    last = g["year"].max().reindex(frame.index)
    frame["t_x"] = np.where(frame["x"] > 0, last - frame["first"] + 1, 0).astype(int)
    frame["spend"] = g["amount"].mean().reindex(frame.index)
    frame["x"] = np.minimum(frame["x"], frame["t_x"])
    return frame[["x", "t_x", "n", "spend"]], years


def _nondues_values(
    warehouse: Warehouse,
    day: date,
    active: pd.DataFrame,
    report: CohortReport,
    p: np.ndarray,
    d: float,
    horizon: int,
) -> np.ndarray:
    histories, years = purchase_histories(warehouse, day)
    ids = active["party_id"].astype(str).to_numpy()
    if years < 1 or histories.empty or histories["x"].sum() == 0:
        return np.zeros(len(ids))
    fit: BGBBFit = fit_bgbb(histories["x"], histories["t_x"], histories["n"])
    pop_spend = float(histories["spend"].mean())
    h = histories.reindex(ids)
    known = h["n"].notna().to_numpy()
    x = h["x"].fillna(0).to_numpy()
    own = h["spend"].fillna(pop_spend).to_numpy()
    spend = (x * own + _SHRINK * pop_spend) / (x + _SHRINK)
    cumulative = np.zeros((len(ids), horizon + 1))
    if known.any():
        hx = h[known]
        for s in range(1, horizon + 1):
            cumulative[known, s] = fit.conditional_expected_transactions(
                s, hx["x"].to_numpy(), hx["t_x"].to_numpy(), hx["n"].to_numpy()
            )
    for s in range(1, horizon + 1):
        # Never observed a full year (joined in the last, incomplete one): a new member's rate.
        cumulative[~known, s] = fit.expected_transactions(s)
    per_year = np.diff(cumulative, axis=1)
    # Still a member in future year s: (1 - p) x S(n + s) / S(n + 1), from her cohort.
    alive = np.ones((len(ids), horizon))
    for key, group in active.groupby(list(report.by), observed=True, sort=False):
        model = report.fits[key if isinstance(key, tuple) else (key,)].model
        at = active.index.get_indexer(group.index)
        n = group["renewals"].to_numpy(dtype=float)
        steps = np.arange(1, horizon + 1)
        ratio = model.survival(n[:, None] + steps[None, :]) / model.survival(n + 1)[:, None]
        alive[at] = (1.0 - p[at])[:, None] * ratio
    discount = (1.0 + d) ** -np.arange(horizon)
    return np.asarray((per_year * alive * discount[None, :]).sum(axis=1) * spend)
