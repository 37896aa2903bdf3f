"""Benefit value: who uses each benefit, whether use goes with renewing, and what members pay for it.

Four views of every benefit in the catalogue, all from the warehouse:

- :func:`utilisation`: by period (quarter by default) and tier or segment, the share of members
  using it, the intensity of use among users, whether their tier includes it, its cost to serve;
  :func:`utilisation_trend` fits the yearly change of the share.
- :func:`benefit_associations`: the association of using a benefit with renewing (and with
  upgrading), *adjusted* for engagement (all other activity), tenure, tier and career stage, as an
  odds ratio with a member-clustered 95% interval. Among members whose tier includes it.
- :func:`willingness_to_pay`: perceived value from a conditional logit of renewal choices (tiers
  a member may hold, plus lapsing), where a benefit enters as its inclusion in the tier times the
  member's own use: WTP = benefit coefficient / -price coefficient, with delta-method intervals.
- :func:`rank_benefits`: the ranking and its verdicts: benefits that define a tier, under-used
  ones to promote or retire, and candidate bundles for a new tier.

What counts as using a benefit comes from the canonical ``benefit_map`` (activity types and
``EVENT:<KIND>`` sources per benefit); pass ``mapping={"benefit": ["SOURCE", ...]}`` to override
or extend it. Benefits without any mapped activity (a journal) have no observable use: they get
no utilisation or association figures, and their WTP comes from inclusion alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from scipy import stats

from imis_tier.choice import ConditionalLogit
from imis_tier.features import history_start
from imis_tier.value._logit import fit_logit
from imis_tier.value.economics import as_day
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS

Mapping_ = Mapping[str, Sequence[str]]
_Z = float(stats.norm.ppf(0.975))
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


# ------------------------------------------------------------------------------------ catalogue


def benefit_catalogue(warehouse: Warehouse, mapping: Mapping_ | None = None) -> pd.DataFrame:
    """One row per benefit: ``benefit``, ``name``, ``cost_to_serve`` (float, per member-year),
    ``sources`` (tuple of activity sources counted as use, after ``mapping`` overrides)."""
    catalogue = warehouse.connection.execute(
        "SELECT benefit, name, coalesce(cost_to_serve, 0)::DOUBLE AS cost_to_serve FROM raw_benefits ORDER BY 1"
    ).df()
    sources = (
        _mapping_frame(warehouse, mapping)
        .groupby("benefit")["source"]
        .apply(lambda s: tuple(sorted(s)))
    )
    catalogue["sources"] = [sources.get(b, ()) for b in catalogue["benefit"]]
    extra = sorted(set(sources.index) - set(catalogue["benefit"]))
    if extra:
        raise ValueError(f"mapping names benefits not in the catalogue: {extra}")
    return catalogue


def _mapping_frame(warehouse: Warehouse, mapping: Mapping_ | None) -> pd.DataFrame:
    base = warehouse.connection.execute("SELECT benefit, source FROM benefit_map").df()
    if mapping:
        for benefit, sources in mapping.items():
            if isinstance(sources, str):
                raise TypeError(f"mapping[{benefit!r}] must be a list of sources, not a string")
        base = base[~base["benefit"].isin(list(mapping))]
        extra = pd.DataFrame(
            [(b, str(s)) for b, sources in mapping.items() for s in sources],
            columns=["benefit", "source"],
        )
        base = pd.concat([base, extra], ignore_index=True)
    return base.drop_duplicates().reset_index(drop=True)


@dataclass
class _Registered:
    """The benefit mapping as a temporary DuckDB view, dropped on exit."""

    warehouse: Warehouse
    mapping: Mapping_ | None
    name: str = "_value_benefit_map"

    def __enter__(self) -> str:
        self.warehouse.connection.register(self.name, _mapping_frame(self.warehouse, self.mapping))
        return self.name

    def __exit__(self, *exc: object) -> None:
        self.warehouse.connection.unregister(self.name)


# ---------------------------------------------------------------------------------- utilisation


def utilisation(
    warehouse: Warehouse,
    by: str | Sequence[str] = "tier",
    *,
    period: str = "quarter",
    start: date | None = None,
    end: date | datetime | str | None = None,
    mapping: Mapping_ | None = None,
) -> pd.DataFrame:
    """Use of every observable benefit per period and group of members.

    Members are those holding a tier at the period's start, grouped by ``by`` (``tier`` and/or
    segment columns: ``industry``, ``org_size``, ``region``, ``career_stage``). Columns:
    ``period_start``, the group columns, ``benefit``, ``members``, ``users``, ``share``
    (users / members), ``intensity`` (mean units per user), ``included`` (share of members whose
    tier includes it), ``cost_to_serve``. Periods run from ``start`` (default: the first dues
    invoice) to ``end`` (default: the data horizon); only complete periods are reported.
    """
    if period not in _PERIOD_MONTHS:
        raise ValueError(f"period must be one of {sorted(_PERIOD_MONTHS)}, got {period!r}")
    keys = [by] if isinstance(by, str) else list(by)
    allowed = {"tier", "industry", "org_size", "region", "career_stage"}
    bad = [k for k in keys if k not in allowed]
    if bad:
        raise ValueError(f"cannot group utilisation by {bad}: use {sorted(allowed)}")
    stop = as_day(end, warehouse)
    first = start or _first_invoice(warehouse)
    months = _PERIOD_MONTHS[period]
    starts = []
    current = pd.Timestamp(first)
    while current + pd.DateOffset(months=months) <= pd.Timestamp(stop):
        starts.append(current.date())
        current = current + pd.DateOffset(months=months)
    if not starts:
        raise ValueError(f"no complete {period} between {first} and {stop}")
    periods = pd.DataFrame(
        {
            "period_start": starts,
            "period_end": [(pd.Timestamp(s) + pd.DateOffset(months=months)).date() for s in starts],
        }
    )
    catalogue = benefit_catalogue(warehouse, mapping)
    conn = warehouse.connection
    conn.register("_value_periods", periods)
    try:
        with _Registered(warehouse, mapping) as bmap:
            group_sql = ", ".join(f"h.{k}" for k in keys)
            frame = conn.execute(
                f"""
                WITH holders AS (
                    SELECT p.period_start, p.period_end, s.party_id, s.tier_code AS tier,
                           m.industry, m.org_size, m.region, m.career_stage
                    FROM _value_periods p
                    JOIN tier_spells s ON s.start_at <= p.period_start
                         AND (s.end_at IS NULL OR s.end_at > p.period_start) AND s.tier_code <> 'NM'
                    JOIN members m USING (party_id)
                ), used AS (
                    SELECT h.period_start, h.party_id, b.benefit, sum(e.units) AS units
                    FROM holders h
                    JOIN engagement_events e ON e.party_id = h.party_id
                         AND e.event_date >= h.period_start AND e.event_date < h.period_end
                    JOIN {bmap} b ON b.source = e.source
                    GROUP BY ALL
                ), benefits AS (SELECT DISTINCT benefit FROM {bmap}),
                grid AS (SELECT h.*, b.benefit FROM holders h CROSS JOIN benefits b)
                SELECT h.period_start, {group_sql}, h.benefit, count(*) AS members,
                       count(u.units) AS users,
                       coalesce(avg(u.units), 0) AS intensity,
                       avg(CASE WHEN tb.benefit IS NOT NULL THEN 1.0 ELSE 0.0 END) AS included
                FROM grid h
                LEFT JOIN used u ON u.period_start = h.period_start AND u.party_id = h.party_id
                     AND u.benefit = h.benefit
                LEFT JOIN raw_tier_benefits tb ON tb.tier_code = h.tier AND tb.benefit = h.benefit
                     AND tb.effective_from <= h.period_start
                     AND (tb.effective_to IS NULL OR tb.effective_to > h.period_start)
                GROUP BY ALL
                ORDER BY ALL
                """
            ).df()
    finally:
        conn.unregister("_value_periods")
    frame["share"] = frame["users"] / frame["members"]
    cost = dict(zip(catalogue["benefit"], catalogue["cost_to_serve"], strict=True))
    frame["cost_to_serve"] = frame["benefit"].map(cost).astype(float)
    columns = [
        "period_start",
        *keys,
        "benefit",
        "members",
        "users",
        "share",
        "intensity",
        "included",
        "cost_to_serve",
    ]
    return frame[columns]


def utilisation_trend(table: pd.DataFrame) -> pd.DataFrame:
    """Per group and benefit of a :func:`utilisation` table: the mean share and its yearly
    change (least-squares slope over periods), with the latest period's share."""
    keys = [
        c
        for c in table.columns
        if c
        not in {
            "period_start",
            "members",
            "users",
            "share",
            "intensity",
            "included",
            "cost_to_serve",
        }
    ]
    rows = []
    for key, g in table.groupby(keys, observed=True, sort=True):
        years = (pd.to_datetime(g["period_start"]) - pd.Timestamp("2000-01-01")).dt.days / 365.25
        slope = float(np.polyfit(years, g["share"], 1)[0]) if len(g) > 1 else 0.0
        values = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, values, strict=True))
        row.update(
            {
                "mean_share": float(np.average(g["share"], weights=g["members"])),
                "latest_share": float(g.sort_values("period_start")["share"].iloc[-1]),
                "share_change_per_year": slope,
                "intensity": float(np.average(g["intensity"], weights=g["members"])),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _first_invoice(warehouse: Warehouse) -> date:
    start = history_start(warehouse)
    if start is None:
        raise ValueError("the warehouse has no dues invoices: sync before analysing benefits")
    return start


# ------------------------------------------------------------------------ renewal decision data


def decision_usage(
    warehouse: Warehouse,
    *,
    as_of: date | datetime | str | None = None,
    mapping: Mapping_ | None = None,
) -> pd.DataFrame:
    """Settled renewal decisions with the member's use of each benefit in the year before.

    Columns: ``party_id``, ``decision_date``, ``from_tier``, ``to_tier``, ``outcome``,
    ``career_stage``, ``tenure_years``, ``activity`` (all engagement units in the year before),
    ``last_paid`` (the dues last paid before the decision), ``units_<benefit>`` per observable
    benefit, ``has_<benefit>`` (the from-tier included it).
    """
    day = as_day(as_of, warehouse)
    catalogue = benefit_catalogue(warehouse, mapping)
    conn = warehouse.connection
    with _Registered(warehouse, mapping) as bmap:
        base = conn.execute(
            f"""
            SELECT r.party_id, r.decision_date, r.from_tier, r.to_tier, r.outcome,
                   m.career_stage,
                   date_diff('day', m.join_date, r.decision_date) / 365.25 AS tenure_years,
                   prev.amount::DOUBLE AS last_paid
            FROM renewal_decisions r JOIN members m USING (party_id)
            ASOF LEFT JOIN (
                SELECT party_id, invoice_date, amount FROM dues_transactions WHERE paid_date IS NOT NULL
            ) prev ON prev.party_id = r.party_id AND prev.invoice_date < r.decision_date - INTERVAL 60 DAY
            WHERE r.outcome IS NOT NULL
              AND r.decision_date + INTERVAL {DECISION_WINDOW_DAYS[1]} DAY <= $as_of
            ORDER BY r.party_id, r.decision_date
            """,
            {"as_of": day},
        ).df()
        usage = conn.execute(
            f"""
            SELECT r.party_id, r.decision_date, b.benefit, sum(e.units) AS units
            FROM renewal_decisions r
            JOIN engagement_events e ON e.party_id = r.party_id
                 AND e.event_date < r.decision_date AND e.event_date >= r.decision_date - INTERVAL 365 DAY
            JOIN {bmap} b ON b.source = e.source
            WHERE r.outcome IS NOT NULL
            GROUP BY ALL
            """
        ).df()
        activity = conn.execute(
            """
            SELECT r.party_id, r.decision_date, sum(e.units) AS activity
            FROM renewal_decisions r
            JOIN engagement_events e ON e.party_id = r.party_id
                 AND e.event_date < r.decision_date AND e.event_date >= r.decision_date - INTERVAL 365 DAY
            WHERE r.outcome IS NOT NULL
            GROUP BY ALL
            """
        ).df()
    held = conn.execute(
        "SELECT tier_code, benefit, effective_from, effective_to FROM raw_tier_benefits"
    ).df()
    frame = base.merge(activity, on=["party_id", "decision_date"], how="left")
    frame["activity"] = frame["activity"].fillna(0.0).astype(float)
    observable = [b for b, s in zip(catalogue["benefit"], catalogue["sources"], strict=True) if s]
    if not usage.empty:
        wide = usage.pivot_table(
            index=["party_id", "decision_date"], columns="benefit", values="units", aggfunc="sum"
        )
        wide = wide.reindex(columns=observable).add_prefix("units_").reset_index()
        frame = frame.merge(wide, on=["party_id", "decision_date"], how="left")
    for b in observable:
        column = f"units_{b}"
        frame[column] = frame[column].fillna(0.0).astype(float) if column in frame else 0.0
    when = pd.to_datetime(frame["decision_date"])
    for b in catalogue["benefit"]:
        rows = held[held["benefit"] == b]
        has = np.zeros(len(frame), dtype=bool)
        for r in rows.itertuples(index=False):
            start = pd.Timestamp(r.effective_from)
            stop = pd.Timestamp(r.effective_to) if pd.notna(r.effective_to) else pd.Timestamp.max
            has |= (
                (frame["from_tier"] == r.tier_code) & (when >= start) & (when < stop)
            ).to_numpy()
        frame[f"has_{b}"] = has
    return frame


# --------------------------------------------------------------------------------- associations


def benefit_associations(
    warehouse: Warehouse,
    *,
    as_of: date | datetime | str | None = None,
    mapping: Mapping_ | None = None,
    decisions: pd.DataFrame | None = None,
    min_rows: int = 50,
) -> pd.DataFrame:
    """Adjusted association of using each benefit with renewing and with upgrading.

    For each observable benefit, among renewal decisions of members whose tier included it, a
    logistic regression of the outcome on ``used`` (any use in the year before) with controls:
    log1p of all *other* activity (engagement), log1p tenure in years, from-tier and career-stage
    dummies. Renewal = any outcome but lapse; upgrade = an upgrade, among decisions from a tier
    with one above it. Returns per benefit: ``holders``, ``use_share``, ``renew_log_or``,
    ``renew_or``, ``renew_or_low``/``renew_or_high`` (95%, clustered by member), ``renew_p``, and
    the same ``upgrade_*`` columns. Benefits with fewer than ``min_rows`` decisions get NaN.
    """
    frame = (
        decision_usage(warehouse, as_of=as_of, mapping=mapping) if decisions is None else decisions
    )
    catalogue = benefit_catalogue(warehouse, mapping)
    top_rank = warehouse.connection.execute(
        "SELECT max(rank) FROM tiers WHERE is_member"
    ).fetchone()
    ranks = dict(warehouse.connection.execute("SELECT tier_code, rank FROM tiers").fetchall())
    highest = top_rank[0] if top_rank else None
    rows = []
    for b, sources in zip(catalogue["benefit"], catalogue["sources"], strict=True):
        row: dict[str, object] = {"benefit": b}
        if not sources:
            rows.append(row)
            continue
        holders = frame[frame[f"has_{b}"]]
        row["holders"] = len(holders)
        row["use_share"] = float((holders[f"units_{b}"] > 0).mean()) if len(holders) else np.nan
        renew = (holders["outcome"] != "lapse").astype(float)
        row.update(_association(holders, b, renew, "renew", min_rows))
        can_up = holders[holders["from_tier"].map(ranks) < (highest if highest is not None else 0)]
        upgrade = (can_up["outcome"] == "upgrade").astype(float)
        row.update(_association(can_up, b, upgrade, "upgrade", min_rows))
        rows.append(row)
    return pd.DataFrame(rows)


def _association(
    rows: pd.DataFrame, benefit: str, y: pd.Series, label: str, min_rows: int
) -> dict[str, float]:
    empty = {f"{label}_{k}": np.nan for k in ("log_or", "or", "or_low", "or_high", "p")}
    used = (rows[f"units_{benefit}"] > 0).astype(float)
    if len(rows) < min_rows or y.nunique() < 2 or used.nunique() < 2:
        return empty
    other = np.log1p(np.maximum(rows["activity"] - rows[f"units_{benefit}"], 0.0))
    design = pd.DataFrame(
        {
            "intercept": 1.0,
            "used": used.to_numpy(),
            "engagement": np.asarray(other),
            "tenure": np.log1p(np.maximum(rows["tenure_years"].to_numpy(dtype=float), 0.0)),
        },
        index=rows.index,
    )
    for column in ("from_tier", "career_stage"):
        dummies = pd.get_dummies(
            rows[column].astype(str), prefix=column, drop_first=True, dtype=float
        )
        design = pd.concat([design, dummies], axis=1)
    fit = fit_logit(
        design.to_numpy(dtype=float),
        y.to_numpy(dtype=float),
        tuple(design.columns),
        rows["party_id"].astype(str).to_numpy(),  # type: ignore[arg-type]
    )
    b, se = fit.estimate("used"), fit.se("used")
    return {
        f"{label}_log_or": b,
        f"{label}_or": float(np.exp(b)),
        f"{label}_or_low": float(np.exp(b - _Z * se)),
        f"{label}_or_high": float(np.exp(b + _Z * se)),
        f"{label}_p": float(2.0 * stats.norm.sf(abs(b / se))) if se > 0 else np.nan,
    }


# ------------------------------------------------------------------------ willingness to pay


@dataclass(frozen=True)
class ChoiceSet:
    """Long-format renewal choices: one row per alternative open at each decision."""

    X: pd.DataFrame
    chosen: pd.Series
    situation: pd.Series
    alternative: pd.Series
    benefit_features: tuple[str, ...]


def choice_data(
    warehouse: Warehouse,
    *,
    as_of: date | datetime | str | None = None,
    mapping: Mapping_ | None = None,
    decisions: pd.DataFrame | None = None,
) -> ChoiceSet:
    """Long-format renewal choices for a conditional logit.

    Alternatives at each settled renewal decision: the member's current tier, every tier her
    career stage was seen to hold (iMIS stores no eligibility rules), and ``LAPSE``. Features:

    - ``asc_<tier>``: a constant per tier (the lowest tier is the reference), so unobserved tier
      quality does not masquerade as a price effect; ``price`` is then identified by price
      changes over time and ``price_<stage>`` lets sensitivity differ by career stage;
      ``price_rise`` is the increase over what the member last paid, on her current tier
      (members weigh a rise more than a level price);
    - ``upgrade`` / ``downgrade``: switching costs relative to staying;
    - ``lapse`` and ``lapse_<stage>``, ``lapse_activity`` (log1p of all activity in the year
      before), ``lapse_tenure`` (log1p years): who leaves, so benefit use is not a proxy for it;
    - ``use_<b>``: the tier includes b x log1p(the member's use of b in the year before), for
      observable benefits; ``has_<b>``: inclusion, for benefits whose tier map changed in the
      data (inclusion is otherwise the tier constant itself).
    """
    frame = (
        decision_usage(warehouse, as_of=as_of, mapping=mapping) if decisions is None else decisions
    )
    catalogue = benefit_catalogue(warehouse, mapping)
    conn = warehouse.connection
    tiers = conn.execute(
        "SELECT tier_code, rank FROM tiers WHERE is_member ORDER BY rank, tier_code"
    ).df()
    prices = conn.execute(
        "SELECT tier_code, effective_from, effective_to, price::DOUBLE AS price FROM tier_prices"
    ).df()
    held = conn.execute(
        "SELECT tier_code, benefit, effective_from, effective_to FROM raw_tier_benefits"
    ).df()
    moved = set(held.loc[held["effective_to"].notna(), "benefit"])
    rank = dict(zip(tiers["tier_code"], tiers["rank"], strict=True))
    eligible = _eligible_stages(frame, list(tiers["tier_code"]))
    codes = list(tiers["tier_code"])
    n = len(frame)
    when = pd.to_datetime(frame["decision_date"]).to_numpy()
    stage = frame["career_stage"].astype(str).to_numpy()
    stages = pd.Series(stage).value_counts()
    other_stages = (
        sorted(stages.index[1:]) if len(stages) else []
    )  # the modal stage is the reference
    current = frame["from_tier"].astype(str).to_numpy()
    outcome_tier = np.where(frame["outcome"] == "lapse", "LAPSE", frame["to_tier"].astype(str))
    activity = np.log1p(frame["activity"].to_numpy(dtype=float))
    tenure = np.log1p(np.maximum(frame["tenure_years"].to_numpy(dtype=float), 0.0))
    blocks = []
    for code in [*codes, "LAPSE"]:
        is_lapse = code == "LAPSE"
        if is_lapse:
            open_ = np.ones(n, dtype=bool)
        else:
            open_ = (current == code) | np.isin(stage, sorted(eligible.get(code, set())))
        idx = np.flatnonzero(open_)
        block = pd.DataFrame({"situation": idx, "alternative": code})
        block["chosen"] = (outcome_tier[idx] == code).astype(np.int64)
        for other in codes[1:]:
            block[f"asc_{other}"] = float(code == other)
        price = np.zeros(len(idx)) if is_lapse else _price_on(prices, code, when[idx]) / 100.0
        block["price"] = price
        for st in other_stages:
            block[f"price_{st}"] = price * (stage[idx] == st)
        own = np.array([rank.get(c, 0) for c in current[idx]])
        paid = (
            frame["last_paid"].to_numpy(dtype=float)[idx] / 100.0 if "last_paid" in frame else price
        )
        rise = np.where(np.isfinite(paid), np.maximum(price - paid, 0.0), 0.0)
        block["price_rise"] = 0.0 if is_lapse else rise * (current[idx] == code)
        block["upgrade"] = 0.0 if is_lapse else (rank[code] > own).astype(float)
        block["downgrade"] = 0.0 if is_lapse else (rank[code] < own).astype(float)
        block["lapse"] = float(is_lapse)
        for st in other_stages:
            block[f"lapse_{st}"] = float(is_lapse) * (stage[idx] == st)
        block["lapse_activity"] = float(is_lapse) * activity[idx]
        block["lapse_tenure"] = float(is_lapse) * tenure[idx]
        for b, sources in zip(catalogue["benefit"], catalogue["sources"], strict=True):
            has = np.zeros(len(idx), dtype=bool) if is_lapse else _held_on(held, code, b, when[idx])
            if sources:
                block[f"use_{b}"] = has * np.log1p(frame[f"units_{b}"].to_numpy()[idx])
            elif b in moved:
                block[f"has_{b}"] = has.astype(float)
        blocks.append(block)
    long = pd.concat(blocks, ignore_index=True).sort_values(["situation", "alternative"])
    # Keep situations whose chosen alternative was open (a stage change can hide it).
    long = long[long.groupby("situation")["chosen"].transform("sum") == 1]
    long = long[long.groupby("situation")["chosen"].transform("size") >= 2]
    features = [c for c in long.columns if c not in {"situation", "alternative", "chosen"}]
    X = long[features].astype(float)
    # Features constant within every situation carry no information (e.g. a tier nobody may pick).
    grouped = X.groupby(long["situation"].to_numpy())
    spread = (grouped.transform("max") - grouped.transform("min")).max()
    X = X.loc[:, spread > 0].reset_index(drop=True)
    benefit_features = tuple(c for c in X.columns if c.startswith(("use_", "has_")))
    return ChoiceSet(
        X=X,
        chosen=long["chosen"].reset_index(drop=True),
        situation=long["situation"].reset_index(drop=True),
        alternative=long["alternative"].reset_index(drop=True),
        benefit_features=benefit_features,
    )


def _eligible_stages(frame: pd.DataFrame, codes: Sequence[str]) -> dict[str, set[str]]:
    # iMIS does not store eligibility rules: infer them from who was seen holding each tier.
    seen = pd.concat(
        [
            frame[["from_tier", "career_stage"]].rename(columns={"from_tier": "tier"}),
            frame.loc[frame["outcome"] != "lapse", ["to_tier", "career_stage"]].rename(
                columns={"to_tier": "tier"}
            ),
        ]
    )
    out: dict[str, set[str]] = {}
    for code in codes:
        stages = seen.loc[seen["tier"] == code, "career_stage"].astype(str).value_counts()
        if stages.empty:
            continue
        out[code] = set(stages[stages >= max(3, 0.02 * stages.sum())].index)
    return out


def _price_on(prices: pd.DataFrame, code: str, when: np.ndarray) -> np.ndarray:
    rows = prices[prices["tier_code"] == code].sort_values("effective_from")
    out = np.full(len(when), rows["price"].iloc[0] if len(rows) else 0.0)
    for r in rows.to_dict("records"):
        out = np.where(when >= np.datetime64(pd.Timestamp(r["effective_from"])), r["price"], out)
    return out


def _held_on(held: pd.DataFrame, code: str, benefit: str, when: np.ndarray) -> np.ndarray:
    rows = held[(held["tier_code"] == code) & (held["benefit"] == benefit)]
    has = np.zeros(len(when), dtype=bool)
    for r in rows.to_dict("records"):
        start = np.datetime64(pd.Timestamp(r["effective_from"]))
        stop = (
            np.datetime64(pd.Timestamp(r["effective_to"])) if pd.notna(r["effective_to"]) else None
        )
        has |= (when >= start) & (True if stop is None else when < stop)
    return has


def willingness_to_pay(
    warehouse: Warehouse,
    *,
    as_of: date | datetime | str | None = None,
    mapping: Mapping_ | None = None,
    decisions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Perceived value of each benefit from a conditional logit of renewal choices, in dollars.

    WTP = benefit coefficient / -(the price coefficient averaged over the members' career
    stages), with a delta-method interval from the robust covariance. Per benefit: ``feature``,
    ``coef``, ``p`` (the benefit coefficient's two-sided p-value: does it matter at all),
    ``wtp_unit`` (dollars per unit of the feature: per log1p-unit of use, or for inclusion),
    ``value`` (dollars a year to a holder who uses it: ``wtp_unit`` x mean log1p use among using
    holders; ``wtp_unit`` for inclusion features), ``value_low``/``value_high`` (95%). Benefits
    with no observable use and an unchanged tier map are not identified and are left out.
    """
    frame = (
        decision_usage(warehouse, as_of=as_of, mapping=mapping) if decisions is None else decisions
    )
    data = choice_data(warehouse, mapping=mapping, decisions=frame)
    model = ConditionalLogit(max_iter=1000).fit(data.X, data.chosen, data.situation)
    names = list(model.param_names_)
    coef, cov = np.asarray(model.coef_), np.asarray(model.cov_)
    # d(denominator)/d(coef): the price coefficient of each stage, weighted by its share.
    weights = np.zeros(len(names))
    weights[names.index("price")] = 1.0
    stage_share = frame["career_stage"].astype(str).value_counts(normalize=True)
    for j, name in enumerate(names):
        if name.startswith("price_") and name != "price_rise":
            weights[j] = float(stage_share.get(name.removeprefix("price_"), 0.0))
    denominator = -float(weights @ coef)
    if denominator <= 0:
        raise ValueError(
            f"the fitted price coefficient is not negative ({-denominator:.3g}): willingness to "
            "pay is undefined; price varied too little in the data"
        )
    rows = []
    for feature in data.benefit_features:
        j = names.index(feature)
        wtp = coef[j] / denominator
        grad = weights * coef[j] / denominator**2
        grad[j] += 1.0 / denominator
        se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
        coef_se = float(np.sqrt(max(cov[j, j], 0.0)))
        benefit = feature.split("_", 1)[1]
        if feature.startswith("use_"):
            units = frame.loc[frame[f"has_{benefit}"], f"units_{benefit}"]
            scale = float(np.log1p(units[units > 0]).mean()) if (units > 0).any() else 0.0
        else:
            scale = 1.0
        rows.append(
            {
                "benefit": benefit,
                "feature": feature,
                "coef": float(coef[j]),
                "p": float(2.0 * stats.norm.sf(abs(coef[j] / coef_se))) if coef_se > 0 else np.nan,
                "wtp_unit": 100.0 * wtp,
                "value": 100.0 * wtp * scale,
                "value_low": 100.0 * (wtp - _Z * se) * scale,
                "value_high": 100.0 * (wtp + _Z * se) * scale,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class BenefitReport:
    """Everything :func:`benefit_report` computed, and the ranked verdicts."""

    ranking: pd.DataFrame
    utilisation: pd.DataFrame
    trend: pd.DataFrame
    associations: pd.DataFrame
    wtp: pd.DataFrame
    bundles: pd.DataFrame
    tier_map: dict[str, frozenset[str]] = field(default_factory=dict)


def rank_benefits(
    catalogue: pd.DataFrame,
    trend: pd.DataFrame,
    associations: pd.DataFrame,
    wtp: pd.DataFrame,
    tier_map: Mapping[str, frozenset[str]],
    tier_rank: Mapping[str, int],
) -> pd.DataFrame:
    """Rank benefits by perceived value per holder and give each a verdict.

    ``value`` is the WTP-based dollar value to a typical holder; ``value_score`` orders benefits
    by it, falling back to the adjusted renewal log odds ratio (x 100) where no WTP is identified.
    Verdicts: ``defines tier`` (the benefit's choice coefficient is significant at 5%, its value
    exceeds its cost to serve, and it ranks in the top third), ``promote`` (valuable but used by fewer holders than the median benefit),
    ``retire`` (value not above cost to serve, its interval not above zero, and no significant
    renewal association), ``not measured`` (no observable use and no identified WTP), else
    ``keep``.
    ``defines`` names the lowest-ranked tier that carries a ``defines tier`` benefit.
    """
    table = catalogue[["benefit", "name", "cost_to_serve"]].copy()
    share = (
        trend.groupby("benefit")["latest_share"].mean()
        if "benefit" in trend
        else pd.Series(dtype=float)
    )
    change = (
        trend.groupby("benefit")["share_change_per_year"].mean()
        if "benefit" in trend
        else pd.Series(dtype=float)
    )
    table["use_share"] = table["benefit"].map(
        associations.set_index("benefit").get("use_share", pd.Series(dtype=float))
    )
    table["latest_share"] = table["benefit"].map(share)
    table["share_change_per_year"] = table["benefit"].map(change)
    assoc = associations.set_index("benefit")
    for column in (
        "renew_or",
        "renew_or_low",
        "renew_or_high",
        "renew_log_or",
        "upgrade_or",
        "upgrade_or_low",
        "upgrade_or_high",
    ):
        table[column] = table["benefit"].map(assoc[column]) if column in assoc else np.nan
    w = (
        wtp.set_index("benefit")
        if len(wtp)
        else pd.DataFrame(columns=["value", "value_low", "value_high"])
    )
    for column in ("value", "value_low", "value_high", "p"):
        name = "value_p" if column == "p" else column
        table[name] = table["benefit"].map(w[column]) if column in w else np.nan
    table["value_score"] = table["value"].where(
        table["value"].notna(), 100.0 * table["renew_log_or"]
    )
    table = table.sort_values("value_score", ascending=False, na_position="last").reset_index(
        drop=True
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    median_share = table["use_share"].median()
    third = max(1, int(np.ceil(len(table) / 3)))
    verdicts, defines = [], []
    for i, r in table.iterrows():
        significant = pd.notna(r["value_p"]) and r["value_p"] < 0.05 and r["value"] > 0
        valuable = significant and r["value"] > r["cost_to_serve"]
        if pd.isna(r["value"]) and pd.isna(r["renew_or"]):
            verdict = "not measured"
        elif valuable and int(i) < third:  # type: ignore[call-overload]
            verdict = "defines tier"
        elif valuable and pd.notna(r["use_share"]) and r["use_share"] < median_share:
            verdict = "promote"
        elif (pd.isna(r["value"]) or r["value"] <= r["cost_to_serve"]) and not significant:
            verdict = "retire" if pd.isna(r["renew_or_low"]) or r["renew_or_low"] <= 1.0 else "keep"
        else:
            verdict = "keep"
        verdicts.append(verdict)
        carriers = sorted(
            (t for t, bs in tier_map.items() if r["benefit"] in bs),
            key=lambda t: tier_rank.get(t, 0),
        )
        defines.append(carriers[0] if verdict == "defines tier" and carriers else None)
    table["verdict"] = verdicts
    table["defines"] = defines
    return table


def candidate_bundles(
    ranking: pd.DataFrame, decisions: pd.DataFrame, *, size: int = 2, top: int = 5
) -> pd.DataFrame:
    """Bundles of valuable benefits for a new tier, scored by combined value net of cost.

    Candidates are combinations of ``size`` benefits with positive value; ``co_use`` is the share
    of decisions whose member used all of them (only for observable benefits; NaN otherwise), and
    ``net_value`` the sum of values minus costs to serve.
    """
    good = ranking[ranking["value"].fillna(0) > 0]
    rows = []
    for combo in itertools.combinations(good["benefit"], size):
        part = good.set_index("benefit").loc[list(combo)]
        cols = [f"units_{b}" for b in combo]
        co_use = (
            float((decisions[cols] > 0).all(axis=1).mean())
            if all(c in decisions for c in cols)
            else np.nan
        )
        rows.append(
            {
                "bundle": " + ".join(combo),
                "value": float(part["value"].sum()),
                "cost_to_serve": float(part["cost_to_serve"].sum()),
                "net_value": float((part["value"] - part["cost_to_serve"]).sum()),
                "co_use": co_use,
            }
        )
    frame = pd.DataFrame(rows, columns=["bundle", "value", "cost_to_serve", "net_value", "co_use"])
    return frame.sort_values("net_value", ascending=False).head(top).reset_index(drop=True)


def benefit_report(
    warehouse: Warehouse,
    *,
    as_of: date | datetime | str | None = None,
    by: str | Sequence[str] = "tier",
    period: str = "quarter",
    mapping: Mapping_ | None = None,
) -> BenefitReport:
    """Utilisation, adjusted associations, WTP, the ranking and candidate bundles in one call."""
    day = as_day(as_of, warehouse)
    catalogue = benefit_catalogue(warehouse, mapping)
    use = utilisation(warehouse, by, period=period, end=day, mapping=mapping)
    trend = utilisation_trend(use)
    decisions = decision_usage(warehouse, as_of=day, mapping=mapping)
    associations = benefit_associations(warehouse, mapping=mapping, decisions=decisions)
    wtp = willingness_to_pay(warehouse, mapping=mapping, decisions=decisions)
    held = warehouse.connection.execute(
        """
        SELECT tier_code, benefit FROM raw_tier_benefits
        WHERE effective_from <= $on AND (effective_to IS NULL OR effective_to > $on)
        """,
        {"on": day},
    ).df()
    tier_map = {str(t): frozenset(map(str, g["benefit"])) for t, g in held.groupby("tier_code")}
    ranks = dict(warehouse.connection.execute("SELECT tier_code, rank FROM tiers").fetchall())
    ranking = rank_benefits(catalogue, trend, associations, wtp, tier_map, ranks)
    bundles = candidate_bundles(ranking, decisions)
    return BenefitReport(ranking, use, trend, associations, wtp, bundles, tier_map)
