"""``EngagementScore``: a documented, configurable 0-100 engagement score with group percentiles.

Input is a long activity table with columns ``party_id``, ``kind``, ``date``, ``units`` (one row
per activity record: an event attended, a login, a post...). As of a date, only activity strictly
before it and within ``window_days`` counts. Each record contributes

    weight[kind] * units * 0.5 ** (age_days / half_life_days)

so an activity ``half_life_days`` old counts half as much as one today. The member's raw total is
mapped to 0-100 by a fixed saturating curve,

    score = 100 * (1 - 0.5 ** (raw / half_saturation))

which is 50 at ``raw == half_saturation``, rises steeply for the first activities and flattens
for the most active. The curve does not depend on who else is scored, so a member's score is
stable across populations and over time; relative standing is reported separately as a percentile
within arbitrary group columns (tier, segment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

DEFAULT_WEIGHTS: dict[str, float] = {
    "event": 3.0,
    "webinar": 1.5,
    "login": 0.2,
    "download": 0.5,
    "post": 1.0,
    "committee": 4.0,
    "volunteering": 3.0,
    "certification": 2.0,
}
"""Default weight per activity kind: in-person and leadership activity count most."""

IMIS_ACTIVITY_KINDS: dict[str, str] = {
    "PORTAL_LOGIN": "login",
    "DOWNLOAD": "download",
    "WEBINAR": "webinar",
    "COMMUNITY_POST": "post",
    "CERT_PROGRESS": "certification",
    "VOLUNTEER": "volunteering",
    "MENTORING": "volunteering",
    "COMMITTEE": "committee",
    "EVENT": "event",
}
"""A mapping from the synthetic association's iMIS activity types to engagement kinds."""

_REQUIRED = ("party_id", "kind", "date", "units")


@dataclass(frozen=True)
class EngagementScore:
    """Recency-weighted engagement on a 0-100 scale.

    Attributes:
        weights: weight per activity kind; kinds not listed are ignored.
        half_life_days: age at which an activity counts half.
        window_days: activity older than this is ignored.
        half_saturation: weighted, decayed activity that scores 50.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    half_life_days: float = 180.0
    window_days: float = 730.0
    half_saturation: float = 8.0

    def __post_init__(self) -> None:
        if self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be positive, got {self.half_life_days}")
        if self.window_days <= 0:
            raise ValueError(f"window_days must be positive, got {self.window_days}")
        if self.half_saturation <= 0:
            raise ValueError(f"half_saturation must be positive, got {self.half_saturation}")
        negative = {k: w for k, w in self.weights.items() if w < 0}
        if negative:
            raise ValueError(f"engagement weights must not be negative: {negative}")

    def score(
        self,
        activity: pd.DataFrame,
        as_of: date | datetime | str | pd.Timestamp,
        *,
        members: Sequence[object] | pd.Index | None = None,
        groups: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Score every member as of a date.

        Args:
            activity: long table with ``party_id, kind, date, units``. Naive dates are local
                time; if ``as_of`` is timezone-aware, naive dates are read in its zone.
            as_of: only activity strictly before this instant counts.
            members: party ids to score (members with no activity score 0); default: every
                party in ``activity``.
            groups: optional grouping columns indexed by party id (e.g. the panel's ``tier``,
                ``segment``); adds ``percentile``, the score's mid-rank percentile within its group
                (see :func:`percentile_within`).

        Returns:
            Indexed by ``party_id``: ``raw`` (weighted, decayed activity), ``score`` (0-100), one
            ``raw_<kind>`` column per weighted kind, and ``percentile`` when ``groups`` is given.
        """
        missing = [c for c in _REQUIRED if c not in activity.columns]
        if missing:
            raise ValueError(
                f"activity table is missing column(s) {missing}; it needs {list(_REQUIRED)}"
            )
        dates, cutoff = _align(activity["date"], as_of)
        age_days = (cutoff - dates).to_numpy(dtype="timedelta64[ns]").astype(np.int64) / 86_400e9
        kinds = list(self.weights)
        kind_col = activity["kind"].astype(str)
        in_window = (
            (age_days > 0) & (age_days <= self.window_days) & kind_col.isin(kinds).to_numpy()
        )
        units = activity["units"].to_numpy(dtype=np.float64, na_value=0.0)
        weight = kind_col.map(dict(self.weights)).to_numpy(dtype=np.float64, na_value=0.0)
        decayed = np.where(in_window, units * weight * 0.5 ** (age_days / self.half_life_days), 0.0)

        parts = pd.DataFrame(
            {"party_id": activity["party_id"].to_numpy(), "kind": kind_col.to_numpy(), "v": decayed}
        )[in_window]
        wide = parts.pivot_table(index="party_id", columns="kind", values="v", aggfunc="sum")
        wide = wide.reindex(columns=kinds, fill_value=0.0).fillna(0.0)
        index = pd.Index(
            members if members is not None else activity["party_id"].unique(), name="party_id"
        )
        wide = wide.reindex(index, fill_value=0.0).fillna(0.0)
        raw = wide.sum(axis=1)
        out = pd.DataFrame({"raw": raw, "score": self.scale(raw.to_numpy())}, index=index)
        for kind in kinds:
            out[f"raw_{kind}"] = wide[kind].to_numpy()
        if groups is not None:
            absent = index.difference(groups.index)
            if len(absent):
                raise ValueError(
                    f"groups has no row for {len(absent)} scored party id(s), e.g. {list(absent[:3])}"
                )
            out["percentile"] = percentile_within(out["score"], groups.loc[index])
        return out

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """The saturating map from raw weighted activity to 0-100."""
        return 100.0 * (
            1.0 - np.power(0.5, np.asarray(raw, dtype=np.float64) / self.half_saturation)
        )


def percentile_within(
    values: pd.Series, groups: pd.DataFrame | pd.Series | None = None
) -> pd.Series:
    """Mid-rank percentile (0-100) of each value within its group.

    The percentile is ``100 * (number below + half the number equal) / group size``: a member
    tied with everyone in the group is at 50, the single highest of ``n`` at ``100 * (1 - 0.5/n)``.
    ``groups`` holds the grouping column(s), aligned on ``values``' index; ``None`` ranks all
    together. Rows whose group key is missing get NaN.
    """
    if groups is None:
        ranks = values.rank(method="average")
        return (100.0 * (ranks - 0.5) / values.notna().sum()).rename("percentile")
    keys = groups.loc[values.index] if not groups.index.equals(values.index) else groups
    by = [keys[c] for c in keys.columns] if isinstance(keys, pd.DataFrame) else [keys]
    grouped = values.groupby(by, dropna=True)
    ranks = grouped.rank(method="average")
    sizes = grouped.transform("count")
    return (100.0 * (ranks - 0.5) / sizes).rename("percentile")


def _align(
    dates: pd.Series, as_of: date | datetime | str | pd.Timestamp
) -> tuple[pd.Series, pd.Timestamp]:
    """Put the activity dates and the cutoff on one clock."""
    cutoff = pd.Timestamp(as_of)
    values = pd.to_datetime(dates)
    aware = values.dt.tz is not None
    if aware and cutoff.tzinfo is None:
        raise ValueError(
            "activity dates are timezone-aware but as_of is naive; pass an aware as_of"
        )
    if not aware and cutoff.tzinfo is not None:
        # iMIS stores zone-less local times: read them as wall time in as_of's zone.
        cutoff = cutoff.tz_localize(None)
    return values, cutoff
