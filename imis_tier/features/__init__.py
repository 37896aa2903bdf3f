"""The member feature panel, as-of correct: one function builds it, everything reads it."""

from imis_tier.features.panel import (
    ACTIVITY_COUNTS,
    LABELS,
    SEGMENT_COLUMNS,
    add_months,
    build_labels,
    build_monthly_panel,
    build_panel,
    data_horizon,
    history_start,
    month_starts,
)

__all__ = [
    "ACTIVITY_COUNTS",
    "LABELS",
    "SEGMENT_COLUMNS",
    "add_months",
    "build_labels",
    "build_monthly_panel",
    "build_panel",
    "data_horizon",
    "history_start",
    "month_starts",
]
