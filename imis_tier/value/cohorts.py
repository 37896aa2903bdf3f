"""Cohort retention from the warehouse: life tables, sBG / BdW fits, projections and DERL.

A cohort is a group of members, by default those who joined in the same year on the same tier;
any member column (``join_tier``, ``join_year``, ``career_stage``, ``industry``, ...) can group
them. Each member's history is read from ``renewal_decisions``: the renewal opportunity ``t`` of
a decision is the number of years since the member joined, the first lapse ends the history
(a later reinstatement starts no new life), and a member still active when observation stops
is right-censored at the renewals made so far. Members who joined before the warehouse's
history began are left-truncated (see :mod:`imis_tier.value._truncated`).

Each cohort gets the sBG and the BdW; the BdW is kept only when its likelihood-ratio test against
the sBG is significant and its AIC is lower. The chosen model projects survival and retention,
and values the members still active: DERL at a discount rate times net dues (price minus the
tier's cost to serve), in Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
from scipy.stats import chi2

from imis_tier.features import history_start
from imis_tier.value._mle import FitError
from imis_tier.value._truncated import Spells, fit_bdw_truncated, fit_sbg_truncated
from imis_tier.value.bdw import BdWFit
from imis_tier.value.economics import CENT, as_day, tier_economics
from imis_tier.value.retention import RetentionFit, as_discount_rate
from imis_tier.value.sbg import SBGFit
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS

GROUPINGS: dict[str, tuple[str, ...]] = {
    "tier": ("join_tier",),
    "join_year": ("join_year",),
    "join_year_tier": ("join_year", "join_tier"),
}
"""Named cohort groupings; any member column of :func:`member_durations` also works."""

_YEAR_DAYS = 365.25
_BDW_MIN_HORIZON = 3  # c needs lapses at three or more distinct renewal opportunities


def member_durations(
    warehouse: Warehouse, as_of: date | datetime | str | None = None
) -> pd.DataFrame:
    """One row per member who joined before ``as_of``: how many renewals she survived.

    Only decisions settled by ``as_of`` count (decision date plus the decision window). Columns:
    ``party_id``, ``join_date``, ``join_year``, ``join_tier``, ``entry`` (renewals made before
    observation began), ``renewals`` (the renewal opportunity of the lapse, or renewals made when
    censored), ``lapsed``, ``tier`` (held on ``as_of``, None after a lapse), the segment columns
    and ``autopay``.
    """
    day = as_day(as_of, warehouse)
    conn = warehouse.connection
    members = conn.execute(
        """
        WITH joins AS (
            SELECT party_id, arg_min(tier_code, start_at) AS join_tier, min(start_at) AS joined
            FROM tier_spells WHERE tier_code <> 'NM' GROUP BY party_id
        ), held AS (
            SELECT party_id, tier_code AS tier FROM tier_spells
            WHERE start_at < $as_of AND (end_at IS NULL OR end_at >= $as_of) AND tier_code <> 'NM'
        )
        SELECT m.party_id, coalesce(m.join_date, j.joined::DATE) AS join_date, j.join_tier,
               h.tier, m.industry, m.org_size, m.region, m.career_stage, m.autopay
        FROM members m JOIN joins j USING (party_id) LEFT JOIN held h USING (party_id)
        WHERE coalesce(m.join_date, j.joined::DATE) < $as_of
        ORDER BY m.party_id
        """,
        {"as_of": day},
    ).df()
    decisions = conn.execute(
        f"""
        SELECT party_id, decision_date, outcome FROM renewal_decisions
        WHERE outcome IS NOT NULL AND decision_date + INTERVAL {DECISION_WINDOW_DAYS[1]} DAY <= $as_of
        ORDER BY party_id, decision_date
        """,
        {"as_of": day},
    ).df()
    start = history_start(warehouse)
    observed_from = pd.Timestamp(start if start is not None else day)
    return _durations(members, decisions, observed_from)


def _durations(
    members: pd.DataFrame, decisions: pd.DataFrame, observed_from: pd.Timestamp
) -> pd.DataFrame:
    joined = pd.to_datetime(members["join_date"])
    out = members.copy()
    out["join_date"] = joined.dt.date
    out["join_year"] = joined.dt.year.astype("int64")
    # Anniversaries passed before billing history began: the entry of a member with no decision.
    before = ((observed_from - joined).dt.days / _YEAR_DAYS).clip(lower=0)
    out["entry"] = np.floor(before).astype("int64")
    out["renewals"] = out["entry"]
    out["lapsed"] = False
    if not decisions.empty:
        d = decisions.merge(members[["party_id", "join_date"]], on="party_id")
        days = (pd.to_datetime(d["decision_date"]) - pd.to_datetime(d["join_date"])).dt.days
        d["t"] = np.maximum(np.rint(days / _YEAR_DAYS), 1).astype("int64")
        d["lapse"] = d["outcome"] == "lapse"
        # The first lapse ends a member's life here; decisions after it (a reinstatement) are ignored.
        first_lapse = d[d["lapse"]].groupby("party_id")["t"].min()
        d = d.merge(first_lapse.rename("first_lapse"), on="party_id", how="left")
        d = d[d["first_lapse"].isna() | (d["t"] <= d["first_lapse"])]
        per = d.groupby("party_id").agg(
            first_t=("t", "min"), last_t=("t", "max"), lapsed=("lapse", "any")
        )
        idx = out["party_id"].map(lambda p: p in per.index)
        rows = per.reindex(out.loc[idx, "party_id"])
        out.loc[idx, "entry"] = (rows["first_t"].to_numpy() - 1).astype("int64")
        out.loc[idx, "renewals"] = rows["last_t"].to_numpy().astype("int64")
        out.loc[idx, "lapsed"] = rows["lapsed"].to_numpy().astype(bool)
    out["entry"] = out["entry"].astype("int64")
    out["renewals"] = np.maximum(out["renewals"].astype("int64"), out["entry"])
    out["lapsed"] = out["lapsed"].astype(bool)
    out.loc[out["lapsed"], "tier"] = None
    for column in ("industry", "org_size", "region", "career_stage", "join_tier"):
        out[column] = out[column].astype(str)
    columns = [
        "party_id",
        "join_date",
        "join_year",
        "join_tier",
        "entry",
        "renewals",
        "lapsed",
        "tier",
        "industry",
        "org_size",
        "region",
        "career_stage",
        "autopay",
    ]
    return out[columns].reset_index(drop=True)


def resolve_grouping(by: str | Sequence[str]) -> tuple[str, ...]:
    """Columns for a grouping name (``tier``, ``join_year``, ``join_year_tier``) or columns."""
    if isinstance(by, str):
        return GROUPINGS.get(by, (by,))
    return tuple(by)


def life_table(durations: pd.DataFrame, by: str | Sequence[str] = "join_year_tier") -> pd.DataFrame:
    """Survivor counts per cohort and renewal opportunity, with Kaplan-Meier survival.

    One row per cohort and ``t`` >= 1: ``at_risk`` (observed alive after t - 1 renewals),
    ``lapsed`` (lapsed at t), ``censored`` (observation stopped after t renewals) and
    ``survival`` (the product-limit estimate of S(t), valid under left truncation and right
    censoring). ``members`` is the cohort's size in the data.
    """
    keys = list(resolve_grouping(by))
    _check_columns(durations, keys)
    frames = []
    for key, group in durations.groupby(keys, observed=True, sort=True):
        horizon = int(group["renewals"].max())
        if horizon < 1:
            continue
        t = np.arange(1, horizon + 1)
        entry = group["entry"].to_numpy()[:, None]
        exit_ = group["renewals"].to_numpy()[:, None]
        lapsed = group["lapsed"].to_numpy()[:, None]
        at_risk = ((entry < t) & (exit_ >= t)).sum(axis=0)
        lapses = (lapsed & (exit_ == t)).sum(axis=0)
        censored = (~lapsed & (exit_ == t)).sum(axis=0)
        hazard = np.divide(lapses, at_risk, out=np.zeros(len(t)), where=at_risk > 0)
        frame = pd.DataFrame(
            {
                "t": t,
                "at_risk": at_risk,
                "lapsed": lapses,
                "censored": censored,
                "survival": np.cumprod(1.0 - hazard),
            }
        )
        values = key if isinstance(key, tuple) else (key,)
        for name, value in zip(keys, values, strict=True):
            frame.insert(0, name, [value] * len(frame))
        frame.insert(len(keys), "members", len(group))
        frames.append(frame)
    columns = [*keys, "members", "t", "at_risk", "lapsed", "censored", "survival"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


@dataclass(frozen=True)
class ModelChoice:
    """The chosen retention model for one cohort, both candidates and why."""

    model: RetentionFit
    sbg: SBGFit
    bdw: BdWFit | None
    lr_statistic: float
    p_value: float
    reason: str

    @property
    def name(self) -> str:
        return self.model.model_name


def fit_retention(durations: pd.DataFrame, *, significance: float = 0.05) -> ModelChoice:
    """Fit sBG and BdW to members' histories (``entry``, ``renewals``, ``lapsed``) and choose.

    The BdW is fitted when lapses span at least three renewal opportunities, and chosen when its
    likelihood-ratio test against the sBG has p < ``significance`` and its AIC is lower.
    Raises :class:`~imis_tier.value.FitError` when no member lapsed.
    """
    spells = Spells.from_members(
        durations["entry"].to_numpy(),
        durations["renewals"].to_numpy(),
        durations["lapsed"].to_numpy(dtype=bool),
    )
    if not spells.lapsed.any():
        raise FitError(f"no lapse among {spells.members} members: retention cannot be estimated")
    sbg = fit_sbg_truncated(spells)
    lapse_periods = np.unique(spells.exit[spells.lapsed])
    if len(lapse_periods) < _BDW_MIN_HORIZON:
        reason = (
            f"sBG: lapses seen at {len(lapse_periods)} renewal opportunity(ies), too few to "
            "estimate duration dependence"
        )
        return ModelChoice(sbg, sbg, None, 0.0, 1.0, reason)
    bdw = fit_bdw_truncated(spells, sbg)
    statistic = max(0.0, 2.0 * (bdw.log_likelihood - sbg.log_likelihood))
    p_value = float(chi2.sf(statistic, 1))
    figures = (
        f"LR = {statistic:.2f} (p = {p_value:.3g}), AIC sBG {sbg.aic:.1f} vs BdW {bdw.aic:.1f}, "
        f"c = {bdw.c:.3f}"
    )
    if p_value < significance and bdw.aic < sbg.aic:
        return ModelChoice(bdw, sbg, bdw, statistic, p_value, f"BdW: {figures}")
    return ModelChoice(sbg, sbg, bdw, statistic, p_value, f"sBG: {figures}")


@dataclass(frozen=True)
class CohortFit:
    """One cohort's fitted retention, its active members and their residual value.

    ``renewals`` and ``net_dues`` describe the members active at the as-of date (one entry each);
    ``residual_value`` is the sum over them of DERL(d | renewals) x net dues, in Decimal.
    """

    key: tuple[object, ...]
    members: int
    lapsed: int
    choice: ModelChoice
    renewals: np.ndarray
    net_dues: tuple[Decimal, ...]
    discount_rate: float
    pooled: bool = False

    @property
    def label(self) -> str:
        return " / ".join(str(k) for k in self.key)

    @property
    def model(self) -> RetentionFit:
        return self.choice.model

    @property
    def active(self) -> int:
        return len(self.renewals)

    def derl(self) -> np.ndarray:
        """DERL of each active member (periods of dues), at the fit's discount rate."""
        if not len(self.renewals):
            return np.zeros(0)
        return np.atleast_1d(self.model.derl(self.discount_rate, self.renewals))

    @property
    def mean_derl(self) -> float:
        values = self.derl()
        return float(values.mean()) if len(values) else float("nan")

    @property
    def residual_value(self) -> Decimal:
        """Sum over active members of DERL x net dues, rounded to the cent."""
        total = sum(
            (
                Decimal(repr(float(v))) * dues
                for v, dues in zip(self.derl(), self.net_dues, strict=True)
            ),
            Decimal(0),
        )
        return total.quantize(CENT, rounding=ROUND_HALF_EVEN)

    def next_renewal_probability(self) -> np.ndarray:
        """Each active member's probability of making her next renewal."""
        return np.atleast_1d(self.model.retention(self.renewals + 1))

    def expected_active(self, periods: int) -> np.ndarray:
        """Expected number of today's active members still active after 0 .. ``periods`` renewals."""
        h = np.arange(periods + 1)
        n = self.renewals.astype(float)
        if not len(n):
            return np.zeros(periods + 1)
        log_s = np.log(np.maximum(self.model.survival(n[:, None] + h[None, :]), 1e-300))
        base = np.log(np.maximum(self.model.survival(n), 1e-300))[:, None]
        return np.exp(log_s - base).sum(axis=0)


@dataclass(frozen=True)
class CohortReport:
    """Retention fits of every cohort of one grouping, from one warehouse as of one date."""

    by: tuple[str, ...]
    as_of: date
    discount_rate: float
    fits: dict[tuple[object, ...], CohortFit]
    life_table: pd.DataFrame
    durations: pd.DataFrame = field(repr=False)
    skipped: dict[tuple[object, ...], str] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per cohort: size, lapses, model, parameters, retention, DERL, residual value."""
        rows = []
        for fit in self.fits.values():
            model = fit.model
            row: dict[str, object] = dict(zip(self.by, fit.key, strict=True))
            row.update(
                {
                    "members": fit.members,
                    "lapsed": fit.lapsed,
                    "active": fit.active,
                    "model": model.model_name,
                    "pooled": fit.pooled,
                    "alpha": getattr(model, "alpha", np.nan),
                    "beta": getattr(model, "beta", np.nan),
                    "c": getattr(model, "c", 1.0),
                    "degenerate": model.degenerate,
                    "retention_1": float(model.retention(1)),
                    "retention_5": float(model.retention(5)),
                    "survival_5": float(model.survival(5)),
                    "mean_derl": fit.mean_derl,
                    "residual_value": fit.residual_value,
                    "reason": fit.choice.reason,
                }
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def projection(self, periods: int = 10) -> pd.DataFrame:
        """Model survival S(t) and retention r_t for t = 0..periods per cohort, and the expected
        number of today's active members left after t more renewals."""
        frames = []
        for fit in self.fits.values():
            t = np.arange(periods + 1)
            frame = pd.DataFrame(
                {
                    "cohort": fit.label,
                    "t": t,
                    "survival": fit.model.survival(t),
                    "retention": np.r_[np.nan, fit.model.retention(t[1:])],
                    "expected_active": fit.expected_active(periods),
                }
            )
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    @property
    def residual_value(self) -> Decimal:
        """Residual value of all active members over all cohorts."""
        return sum((f.residual_value for f in self.fits.values()), Decimal("0.00"))

    def lapse_probability(self, party_ids: Sequence[object] | None = None) -> pd.Series:
        """Each active member's probability of lapsing at her next renewal, from her cohort."""
        frames = []
        active = self.durations[~self.durations["lapsed"]]
        for key, group in active.groupby(list(self.by), observed=True, sort=False):
            fit = self.fits.get(key if isinstance(key, tuple) else (key,))
            if fit is None:
                continue
            p = 1.0 - np.atleast_1d(fit.model.retention(group["renewals"].to_numpy() + 1))
            frames.append(pd.Series(p, index=group["party_id"].to_numpy()))
        out = pd.concat(frames) if frames else pd.Series(dtype=float)
        out.index.name = "party_id"
        return out if party_ids is None else out.reindex(list(party_ids))


def cohort_retention(
    warehouse: Warehouse,
    by: str | Sequence[str] = "join_tier",
    *,
    as_of: date | datetime | str | None = None,
    discount_rate: float | Decimal = 0.1,
    min_members: int = 50,
    significance: float = 0.05,
) -> CohortReport:
    """Fit one retention model per cohort and value its active members.

    ``by`` is a grouping name (``tier``, ``join_year``, ``join_year_tier``) or member columns
    (e.g. ``"career_stage"``). Cohorts smaller than ``min_members``, or whose fit fails (no lapse),
    borrow the model fitted to all members pooled (flagged ``pooled``). Net dues are the price of
    each member's tier on ``as_of`` minus the cost to serve its benefits.
    """
    keys = resolve_grouping(by)
    day = as_day(as_of, warehouse)
    d = as_discount_rate(discount_rate)
    durations = member_durations(warehouse, day)
    _check_columns(durations, keys)
    if durations.empty:
        raise ValueError(f"no member joined before {day}: nothing to fit")
    economics = tier_economics(warehouse, day).set_index("tier_code")
    net = {code: economics.at[code, "net_dues"] for code in economics.index}
    pooled_choice: ModelChoice | None = None
    fits: dict[tuple[object, ...], CohortFit] = {}
    skipped: dict[tuple[object, ...], str] = {}
    for key, group in durations.groupby(list(keys), observed=True, sort=True):
        tkey = key if isinstance(key, tuple) else (key,)
        pooled = False
        try:
            if len(group) < min_members:
                raise FitError(f"{len(group)} members, fewer than min_members={min_members}")
            fresh = int((group["entry"] == 0).sum())
            if fresh < max(1, min_members // 5):
                # Seen only from late renewals, a cohort cannot pin down its early survival.
                raise FitError(f"only {fresh} members observed from joining")
            choice = fit_retention(group, significance=significance)
        except FitError as exc:
            if pooled_choice is None:
                pooled_choice = fit_retention(durations, significance=significance)
            choice, pooled = pooled_choice, True
            skipped[tkey] = f"{exc}; using the pooled model"
        active = group[~group["lapsed"] & group["tier"].notna()]
        fits[tkey] = CohortFit(
            key=tkey,
            members=len(group),
            lapsed=int(group["lapsed"].sum()),
            choice=choice,
            renewals=active["renewals"].to_numpy(dtype=np.int64),
            net_dues=tuple(Decimal(str(net.get(str(t), "0.00"))) for t in active["tier"]),
            discount_rate=d,
            pooled=pooled,
        )
    return CohortReport(
        by=keys,
        as_of=day,
        discount_rate=d,
        fits=fits,
        life_table=life_table(durations, keys),
        durations=durations,
        skipped=skipped,
    )


def _check_columns(durations: pd.DataFrame, keys: Sequence[str]) -> None:
    missing = [k for k in keys if k not in durations.columns]
    if missing:
        names = ", ".join([*GROUPINGS, *[c for c in durations.columns if c not in ("party_id",)]])
        raise ValueError(f"cannot group cohorts by {missing}: use one of {names}")
