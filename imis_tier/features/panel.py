"""The member panel: one row per member as of a date, computed only from history before it.

``build_panel`` is the single place where features are made; scoring, value and simulation all
read it. Every input row is filtered on its own date (``< as_of``), so nothing that happened on or
after the as-of date can leak into a feature (the test suite checks this by mutating the future).
Demographics are the exception iMIS imposes: it keeps only their current value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd

from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS

ACTIVITY_COUNTS: dict[str, tuple[str, int]] = {
    # feature -> (engagement source, window in days)
    "logins_90d": ("PORTAL_LOGIN", 90),
    "downloads_12m": ("DOWNLOAD", 365),
    "webinars_12m": ("WEBINAR", 365),
    "posts_12m": ("COMMUNITY_POST", 365),
    "cert_progress_12m": ("CERT_PROGRESS", 365),
    "volunteer_12m": ("VOLUNTEER", 365),
    "mentoring_12m": ("MENTORING", 365),
    "donations_12m": ("GIFT", 365),
    "email_opens_12m": ("EMAIL_OPEN", 365),
    "email_clicks_12m": ("EMAIL_CLICK", 365),
}

SEGMENT_COLUMNS = ("industry", "org_size", "region", "career_stage")
LABELS = ("renew", "upgrade", "downgrade", "lapse")


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    return value


def _activity_sql() -> str:
    parts = []
    for feature, (source, days) in ACTIVITY_COUNTS.items():
        parts.append(
            f"coalesce(sum(units) FILTER (WHERE source = '{source}' AND event_date >= $as_of - INTERVAL {days} DAY), 0) AS {feature}"
        )
    parts.append(
        "coalesce(count(*) FILTER (WHERE source LIKE 'EVENT:%' AND event_date >= $as_of - INTERVAL 365 DAY), 0) AS events_12m"
    )
    parts.append(
        "coalesce(count(*) FILTER (WHERE source = 'EVENT:CONFERENCE' AND event_date >= $as_of - INTERVAL 365 DAY), 0) AS conferences_12m"
    )
    parts.append(
        "coalesce(sum(units) FILTER (WHERE event_date >= $as_of - INTERVAL 90 DAY), 0) AS activity_90d"
    )
    parts.append(
        "coalesce(sum(units) FILTER (WHERE event_date >= $as_of - INTERVAL 455 DAY AND event_date < $as_of - INTERVAL 365 DAY), 0) AS activity_prev_90d_last_year"
    )
    parts.append("max(event_date) AS last_activity_date")
    return ",\n            ".join(parts)


def _panel_sql() -> str:
    return f"""
    WITH holders AS (
        SELECT party_id, tier_code AS tier, start_at AS tier_since
        FROM tier_spells
        WHERE start_at < $as_of AND (end_at IS NULL OR end_at >= $as_of) AND tier_code <> 'NM'
    ), firsts AS (
        SELECT party_id, min(start_at) AS first_joined,
               count(*) FILTER (WHERE event = 'upgrade') AS upgrades_before,
               count(*) FILTER (WHERE event = 'downgrade') AS downgrades_before,
               count(*) FILTER (WHERE event = 'lapse') AS lapses_before
        FROM tier_spells WHERE start_at < $as_of GROUP BY party_id
    ), dues AS (
        SELECT party_id,
               count(*) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS dues_paid_count,
               arg_max(amount, invoice_date) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS price_paid,
               max(due_date) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS last_paid_due,
               avg(greatest(days_late, 0)) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS mean_days_late,
               arg_max(greatest(days_late, 0), invoice_date) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS last_days_late,
               arg_max(method, invoice_date) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS last_payment_method,
               sum(failed_payments) FILTER (WHERE invoice_date < $as_of) AS failed_payments,
               sum(amount) FILTER (WHERE paid_date IS NOT NULL AND paid_date < $as_of) AS dues_lifetime
        FROM dues_transactions WHERE invoice_date < $as_of AND due_date < $as_of GROUP BY party_id
    ), nondues AS (
        SELECT party_id,
               sum(amount) FILTER (WHERE invoice_date >= $as_of - INTERVAL 365 DAY) AS nondues_12m,
               sum(amount) AS nondues_lifetime
        FROM nondues_transactions WHERE invoice_date < $as_of GROUP BY party_id
    ), activity AS (
        SELECT party_id,
            {_activity_sql()}
        FROM engagement_events
        WHERE event_date < $as_of AND event_date >= $as_of - INTERVAL 455 DAY
        GROUP BY party_id
    ), committees AS (
        SELECT party_id,
               count(*) FILTER (WHERE group_class = 'COMMITTEE') AS committees_active,
               count(*) FILTER (WHERE group_class = 'VOLUNTEER') AS volunteer_groups_active
        FROM raw_group_members
        WHERE effective_date < $as_of AND (end_date IS NULL OR end_date >= $as_of) GROUP BY party_id
    ), certs AS (
        SELECT party_id,
               count(*) FILTER (WHERE completed_on IS NOT NULL AND completed_on < $as_of) AS certifications_completed,
               count(*) AS certifications_started
        FROM raw_certifications WHERE registered_on < $as_of GROUP BY party_id
    ), prices AS (
        SELECT tier_code, price AS list_price FROM tier_prices
        WHERE effective_from < $as_of AND (effective_to IS NULL OR effective_to >= $as_of)
    )
    SELECT h.party_id, h.tier, t.rank AS tier_rank,
           date_diff('month', f.first_joined, $as_of) AS tenure_months,
           date_diff('month', h.tier_since, $as_of) AS months_in_tier,
           f.upgrades_before, f.downgrades_before, f.lapses_before,
           p.list_price, d.price_paid,
           CASE WHEN p.list_price > 0 THEN 1 - d.price_paid / p.list_price END AS discount_share,
           coalesce(d.dues_paid_count, 0) AS dues_paid_count,
           d.dues_lifetime, d.mean_days_late, d.last_days_late,
           coalesce(d.failed_payments, 0) AS failed_payments,
           coalesce(d.last_payment_method, 'Unknown') AS last_payment_method,
           d.last_payment_method = 'Autopay' AS autopay,
           CASE WHEN d.last_paid_due IS NOT NULL
                THEN date_diff('day', $as_of, d.last_paid_due + INTERVAL 12 MONTH) END AS days_to_renewal,
           coalesce(n.nondues_12m, 0) AS nondues_12m, coalesce(n.nondues_lifetime, 0) AS nondues_lifetime,
           a.* EXCLUDE (party_id, last_activity_date),
           CASE WHEN a.last_activity_date IS NOT NULL THEN date_diff('day', a.last_activity_date, $as_of) END AS days_since_activity,
           coalesce(c.committees_active, 0) AS committees_active,
           coalesce(c.volunteer_groups_active, 0) AS volunteer_groups_active,
           coalesce(ce.certifications_completed, 0) AS certifications_completed,
           coalesce(ce.certifications_started, 0) AS certifications_started,
           m.industry, m.org_size, m.region, m.career_stage,
           year($as_of) - m.birth_year AS age
    FROM holders h
    JOIN members m USING (party_id)
    LEFT JOIN tiers t ON t.tier_code = h.tier
    LEFT JOIN firsts f USING (party_id)
    LEFT JOIN dues d USING (party_id)
    LEFT JOIN nondues n USING (party_id)
    LEFT JOIN activity a USING (party_id)
    LEFT JOIN committees c USING (party_id)
    LEFT JOIN certs ce USING (party_id)
    LEFT JOIN prices p ON p.tier_code = h.tier
    ORDER BY h.party_id
    """


def _benefit_sql(benefits: Sequence[str]) -> str:
    """Usage per benefit over 12 months, one column each (pivoted in the database)."""
    columns = ",\n        ".join(
        f"coalesce(sum(units) FILTER (WHERE benefit = '{b.replace(chr(39), chr(39) * 2)}'), 0) AS \"use_{b}\""
        for b in benefits
    )
    return f"""
    SELECT party_id,
        {columns}
    FROM benefit_usage
    WHERE usage_date < $as_of AND usage_date >= $as_of - INTERVAL 365 DAY
    GROUP BY party_id
    """


def build_panel(warehouse: Warehouse, as_of: date | datetime | str) -> pd.DataFrame:
    """One row per member holding a tier on ``as_of``, with features from history before it.

    Columns: identity and tier, tenure and tier history, prices and dues, payment behaviour,
    activity counts over 90-day / 12-month windows, committees and certifications, non-dues
    revenue, email engagement, ``use_<benefit>`` usage per benefit (12 months), demographics.
    """
    day = _as_date(as_of)
    params = {"as_of": day}
    conn = warehouse.connection
    panel = conn.execute(_panel_sql(), params).df()
    benefits = [str(b) for (b,) in warehouse.fetchall("SELECT DISTINCT benefit FROM benefit_map ORDER BY 1")]
    if benefits:
        wide = conn.execute(_benefit_sql(benefits), params).df().set_index("party_id")
        panel = panel.merge(wide, left_on="party_id", right_index=True, how="left")
        cols = [f"use_{b}" for b in benefits]
        panel[cols] = panel[cols].fillna(0).astype(float)
    panel.insert(1, "as_of", pd.Timestamp(day))
    for column in ("list_price", "price_paid", "dues_lifetime", "nondues_12m", "nondues_lifetime"):
        if column in panel:
            panel[column] = panel[column].astype(float)
    for column in SEGMENT_COLUMNS:
        panel[column] = panel[column].astype("category")
    return panel.reset_index(drop=True)


def history_start(warehouse: Warehouse) -> date | None:
    """The first day the warehouse has history for (its first dues invoice); None when empty.

    Features of an earlier as-of date would be computed from nothing, and members seen at it are
    left-truncated: models and back-tests start from here.
    """
    row = warehouse.fetchone("SELECT min(invoice_date) FROM dues_transactions")
    if not row or row[0] is None:
        return None
    value = row[0]
    return value.date() if isinstance(value, datetime) else value


def data_horizon(warehouse: Warehouse) -> date | None:
    """The last day the warehouse has data for (latest UpdatedOn of any synced party)."""
    row = warehouse.fetchone("SELECT max(updated_on) FROM raw_parties")
    return row[0].date() if row and row[0] is not None else None


def build_labels(warehouse: Warehouse, as_of: date | datetime | str, *, horizon: date | None = None) -> pd.DataFrame:
    """What each member did at their first renewal decision whose window opens after ``as_of``.

    A decision's window opens ``DECISION_WINDOW_DAYS[0]`` days before its due date (the renewal
    invoice, which already names the tier chosen, goes out then), so a label is never visible in
    the features of its own as-of date. Only decisions settled by ``horizon`` (default: the data
    horizon) are returned, so an open renewal invoice is never mistaken for a lapse.
    """
    day = _as_date(as_of)
    end = horizon or data_horizon(warehouse) or day
    return warehouse.connection.execute(
        f"""
        SELECT party_id, arg_min(outcome, decision_date) AS outcome, arg_min(to_tier, decision_date) AS to_tier,
               min(decision_date) AS decision_date, arg_min(from_tier, decision_date) AS from_tier,
               arg_min(price_offered, decision_date) AS price_offered
        FROM renewal_decisions
        WHERE decision_date - INTERVAL {DECISION_WINDOW_DAYS[0]} DAY >= $as_of AND outcome IS NOT NULL
        GROUP BY party_id
        HAVING min(decision_date) + INTERVAL {DECISION_WINDOW_DAYS[1]} DAY <= $horizon
        ORDER BY party_id
        """,
        {"as_of": day, "horizon": end},
    ).df()


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_starts(start: date, end: date) -> list[date]:
    out, current = [], date(start.year, start.month, 1)
    while current <= end:
        out.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return out


def build_monthly_panel(
    warehouse: Warehouse,
    start: date,
    end: date,
    *,
    with_labels: bool = True,
    as_of_dates: Sequence[date] | None = None,
) -> pd.DataFrame:
    """Panels stacked over month starts from ``start`` to ``end`` (for training on many dates).

    With labels, each row carries the outcome of the member's next renewal decision, and only
    members whose next decision falls within a year of its window opening and is settled are kept.
    """
    frames = []
    for day in as_of_dates or month_starts(start, end):
        panel = build_panel(warehouse, day)
        if with_labels:
            labels = build_labels(warehouse, day)
            panel = panel.merge(labels, on="party_id", how="inner", suffixes=("", "_label"))
            within = (pd.to_datetime(panel["decision_date"]) - pd.Timestamp(day)).dt.days < 366 + 75
            panel = panel[within]
        frames.append(panel)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    for column in SEGMENT_COLUMNS:
        if column in out:
            out[column] = out[column].astype("category")
    return out
