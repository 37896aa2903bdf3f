"""What the member-scoring pipeline feeds its models, and how it words their drivers.

Three tables live here so that an association can read (and override) them in one place:

* :data:`MODEL_FEATURES`: the panel columns the propensity and churn models use (plus every
  ``use_<benefit>`` column the panel has), and :func:`add_derived_features`, the few features
  computed from panel columns (a dues rise since the last payment, the change in activity);
* :data:`FEATURE_LABELS` / :data:`DRIVER_TEMPLATES`: plain words for each feature, as
  :func:`~imis_tier.scoring.drivers.describe_drivers` templates;
* :data:`ENGAGEMENT_KINDS`: how the warehouse's ``engagement_events.source`` values map onto
  :class:`~imis_tier.scoring.engagement.EngagementScore` activity kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.features import ACTIVITY_COUNTS, SEGMENT_COLUMNS

MODEL_FEATURES: tuple[str, ...] = (
    "tier",
    "tier_rank",
    "tenure_months",
    "months_in_tier",
    "upgrades_before",
    "downgrades_before",
    "lapses_before",
    "list_price",
    "price_paid",
    "price_rise",
    "discount_share",
    "dues_paid_count",
    "mean_days_late",
    "last_days_late",
    "failed_payments",
    "last_payment_method",
    "autopay",
    "days_to_renewal",
    "nondues_12m",
    *ACTIVITY_COUNTS,
    "events_12m",
    "conferences_12m",
    "activity_90d",
    "activity_change_90d",
    "days_since_activity",
    "committees_active",
    "volunteer_groups_active",
    "certifications_completed",
    "certifications_started",
    *SEGMENT_COLUMNS,
    "age",
)
"""Panel columns the models use; every ``use_<benefit>`` column is added to these."""

ZERO_WHEN_MISSING: tuple[str, ...] = (
    *ACTIVITY_COUNTS,
    "events_12m",
    "conferences_12m",
    "activity_90d",
    "activity_prev_90d_last_year",
)
"""Activity counts the panel leaves empty for a member with no activity at all: that is zero."""

ENGAGEMENT_KINDS: dict[str, str] = {
    "PORTAL_LOGIN": "login",
    "DOWNLOAD": "download",
    "WEBINAR": "webinar",
    "EVENT:WEBINAR": "webinar",
    "COMMUNITY_POST": "post",
    "CERT_PROGRESS": "certification",
    "VOLUNTEER": "volunteering",
    "MENTORING": "volunteering",
    "GROUP:VOLUNTEER": "volunteering",
    "GROUP:COMMITTEE": "committee",
    "EVENT:*": "event",
}
"""``engagement_events.source`` -> engagement kind; ``PREFIX:*`` matches any source so prefixed.

Email opens and clicks and gifts are not engagement with the association's offer: not counted.
"""


def model_features(panel: pd.DataFrame, base: tuple[str, ...] = MODEL_FEATURES) -> list[str]:
    """``base`` plus the panel's ``use_<benefit>`` columns, in a stable order."""
    usage = sorted(c for c in panel.columns if str(c).startswith("use_"))
    return [*base, *(c for c in usage if c not in base)]


def add_derived_features(panel: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``panel`` with activity gaps filled with 0 and the derived features added.

    ``price_rise``: how much the current list price exceeds what the member last paid (0 when it
    does not); members react to a rise at the renewal after it. ``activity_change_90d``: activity in
    the last 90 days minus the same 90 days a year earlier (a member who stopped engaging).
    """
    out = panel.copy()
    for column in ZERO_WHEN_MISSING:
        if column in out:
            out[column] = out[column].astype("float64").fillna(0.0)
    if "list_price" in out and "price_paid" in out:
        rise = out["list_price"].astype("float64") - out["price_paid"].astype("float64")
        out["price_rise"] = rise.clip(lower=0.0)
    if "activity_90d" in out and "activity_prev_90d_last_year" in out:
        out["activity_change_90d"] = out["activity_90d"] - out["activity_prev_90d_last_year"]
    for column in ("events_12m", "conferences_12m", "days_since_activity"):
        if column in out:
            out[column] = out[column].astype("float64")
    return out


# ------------------------------------------------------------------------------------ wording


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _count(
    noun: str, window: str, plural: str | None = None
) -> Callable[[Mapping[str, Any]], str | None]:
    """A phrase for a count: 'no webinars in 12 months', '1 webinar ...', '4 webinars ...'."""
    nouns = plural or f"{noun}s"

    def phrase(fields: Mapping[str, Any]) -> str | None:
        value = fields["value"]
        if _missing(value):
            return None
        n = float(value)
        if n == 0:
            return f"no {nouns} {window}"
        return f"{n:.0f} {noun if n == 1 else nouns} {window}"

    return phrase


def _number(text: str, *, none: str | None = None) -> Callable[[Mapping[str, Any]], str | None]:
    """``text`` formatted with the value; ``none`` when the value is missing."""

    def phrase(fields: Mapping[str, Any]) -> str | None:
        if _missing(fields["value"]):
            return none
        return text.format(**{**fields, "value": float(fields["value"])})

    return phrase


def _benefit_use(benefit: str) -> Callable[[Mapping[str, Any]], str | None]:
    name = benefit.replace("_", " ")

    def phrase(fields: Mapping[str, Any]) -> str | None:
        value = fields["value"]
        if _missing(value):
            return None
        n = float(value)
        if n == 0:
            return f"has not used {name} in 12 months"
        return f"used {name} {n:.0f} time{'' if n == 1 else 's'} in 12 months"

    return phrase


def _price_rise(fields: Mapping[str, Any]) -> str | None:
    value = fields["value"]
    if _missing(value):
        return "no dues paid yet"
    if float(value) == 0:
        return "dues not raised since the last payment"
    return f"dues ${float(value):,.0f} higher than last paid"


def _autopay(fields: Mapping[str, Any]) -> str | None:
    value = fields["value"]
    if _missing(value):
        return None
    return "renews by autopay" if str(value) == "True" else "does not use autopay"


def _change(fields: Mapping[str, Any]) -> str | None:
    value = fields["value"]
    if _missing(value):
        return None
    n = float(value)
    if n == 0:
        return "activity level unchanged from a year ago"
    noun = "activity" if abs(n) == 1 else "activities"
    return f"{abs(n):.0f} {noun} {'more' if n > 0 else 'fewer'} than a year ago (90 days)"


DRIVER_TEMPLATES: dict[str, Any] = {
    "tier": "on the {value} tier",
    "tier_rank": "on the {tier} tier",
    "tenure_months": _number("member for {value:.0f} months"),
    "months_in_tier": _number("{value:.0f} months on the {tier} tier"),
    "upgrades_before": _count("earlier upgrade", "on record"),
    "downgrades_before": _count("earlier downgrade", "on record"),
    "lapses_before": _count("earlier lapse", "on record"),
    "list_price": _number("{tier} dues of ${value:,.0f}"),
    "price_paid": _number("last paid ${value:,.0f}", none="no dues paid yet"),
    "price_rise": _price_rise,
    "discount_share": _number("paid {value:.0%} below list price", none="no dues paid yet"),
    "dues_paid_count": _count("dues payment", "so far"),
    "mean_days_late": _number("pays {value:.0f} days late on average", none="no dues paid yet"),
    "last_days_late": _number("paid the last invoice {value:.0f} days late"),
    "failed_payments": _count("failed payment", "on record"),
    "last_payment_method": "pays by {value}",
    "autopay": _autopay,
    "days_to_renewal": _number("renewal due in {value:.0f} days", none="renewal date unknown"),
    "nondues_12m": _number("spent ${value:,.0f} beyond dues in 12 months"),
    "logins_90d": _count("portal login", "in 90 days"),
    "downloads_12m": _count("download", "in 12 months"),
    "webinars_12m": _count("webinar", "in 12 months"),
    "posts_12m": _count("community post", "in 12 months"),
    "cert_progress_12m": _count("certification step", "in 12 months"),
    "volunteer_12m": _count("volunteer hour", "in 12 months"),
    "mentoring_12m": _count("mentoring session", "in 12 months"),
    "donations_12m": _count("donation", "in 12 months"),
    "email_opens_12m": _count("email open", "in 12 months"),
    "email_clicks_12m": _count("email click", "in 12 months"),
    "events_12m": _count("event", "attended in 12 months"),
    "conferences_12m": _count("conference", "attended in 12 months"),
    "activity_90d": _count("activity", "in 90 days", "activities"),
    "activity_change_90d": _change,
    "days_since_activity": _number(
        "last active {value:.0f} days ago", none="no activity on record"
    ),
    "committees_active": _count("committee seat", "now"),
    "volunteer_groups_active": _count("volunteer group", "now"),
    "certifications_completed": _count("certification", "completed"),
    "certifications_started": _count("certification", "started"),
    "industry": "works in {value}",
    "org_size": "employer size {value}",
    "region": "based in the {value} region",
    "career_stage": "{value} career stage",
    "age": _number("aged {value:.0f}"),
}
"""Phrase per feature (``describe_drivers`` templates); ``use_<benefit>`` phrases are generated."""

FEATURE_LABELS: dict[str, str] = {
    "tier_rank": "tier rank",
    "tenure_months": "months of membership",
    "price_rise": "dues rise since last payment",
    "days_since_activity": "days since last activity",
}
"""Readable names for features whose template falls back to ``label = value``."""


def driver_templates(features: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """:data:`DRIVER_TEMPLATES` plus a usage phrase for each ``use_<benefit>`` feature."""
    templates = dict(DRIVER_TEMPLATES)
    for feature in features:
        if feature.startswith("use_") and feature not in templates:
            templates[feature] = _benefit_use(feature[len("use_") :])
    return templates


def engagement_kind_sql(column: str = "source", kinds: Mapping[str, str] | None = None) -> str:
    """A SQL ``CASE`` mapping a source column onto engagement kinds (NULL when not counted)."""
    mapping = dict(kinds if kinds is not None else ENGAGEMENT_KINDS)
    exact = [(s, k) for s, k in mapping.items() if not s.endswith(":*")]
    prefixes = [(s[:-1], k) for s, k in mapping.items() if s.endswith(":*")]
    whens = [f"WHEN {column} = '{_sql_text(s)}' THEN '{_sql_text(k)}'" for s, k in exact]
    whens += [
        f"WHEN starts_with({column}, '{_sql_text(p)}') THEN '{_sql_text(k)}'" for p, k in prefixes
    ]
    return "CASE " + " ".join(whens) + " END" if whens else "NULL"


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
