"""EngagementScore: recency weighting, windows, scaling and group percentiles, hand-checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from imis_tier.scoring import EngagementScore, percentile_within

AS_OF = datetime(2024, 7, 1)


def _activity(rows: list[tuple[int, str, datetime, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["party_id", "kind", "date", "units"])


def test_recency_weighting_by_half_life() -> None:
    activity = _activity(
        [
            (1, "event", AS_OF - timedelta(days=180), 1),  # one half-life old: 3 * 0.5
            (1, "login", AS_OF - timedelta(days=1), 10),  # 0.2 * 10 * 0.5 ** (1/180)
            (1, "event", AS_OF, 1),  # on the as-of date: not before it, excluded
            (1, "event", AS_OF + timedelta(days=3), 1),  # the future: excluded
            (2, "event", AS_OF - timedelta(days=800), 5),  # outside the 730-day window
            (2, "gift", AS_OF - timedelta(days=2), 100),  # a kind with no weight
            (2, "webinar", AS_OF - timedelta(days=360), 2),  # 1.5 * 2 * 0.25
        ]
    )
    scores = EngagementScore().score(activity, AS_OF, members=[1, 2, 3])
    expected_1 = 3 * 0.5 + 0.2 * 10 * 0.5 ** (1 / 180)
    assert scores.loc[1, "raw"] == pytest.approx(expected_1)
    assert scores.loc[1, "raw_event"] == pytest.approx(1.5)
    assert scores.loc[2, "raw"] == pytest.approx(0.75)
    assert scores.loc[3, "raw"] == 0.0 and scores.loc[3, "score"] == 0.0
    assert scores.loc[1, "score"] == pytest.approx(100 * (1 - 0.5 ** (expected_1 / 8)))
    assert scores.index.name == "party_id"
    assert list(scores.index) == [1, 2, 3]


def test_recent_activity_outscores_old_activity_of_the_same_kind() -> None:
    activity = _activity(
        [(1, "post", AS_OF - timedelta(days=10), 3), (2, "post", AS_OF - timedelta(days=400), 3)]
    )
    scores = EngagementScore().score(activity, AS_OF)
    assert scores.loc[1, "score"] > scores.loc[2, "score"] > 0


def test_saturating_scale_is_fixed_and_bounded() -> None:
    engagement = EngagementScore(half_saturation=5.0)
    np.testing.assert_allclose(engagement.scale(np.array([0.0, 5.0, 10.0, 1e6])), [0, 50, 75, 100])


def test_custom_weights_and_half_life() -> None:
    activity = _activity([(7, "committee", AS_OF - timedelta(days=30), 1)])
    custom = EngagementScore(weights={"committee": 10.0}, half_life_days=30.0)
    assert custom.score(activity, AS_OF).loc[7, "raw"] == pytest.approx(5.0)
    assert list(custom.score(activity, AS_OF).columns) == ["raw", "score", "raw_committee"]


def test_aware_as_of_reads_naive_dates_as_local_wall_time() -> None:
    activity = _activity([(1, "event", datetime(2024, 6, 30, 23, 0), 1)])
    aware = datetime(2024, 6, 30, 23, 30, tzinfo=UTC)
    assert EngagementScore().score(activity, aware).loc[1, "raw"] > 0
    before = datetime(2024, 6, 30, 22, 30, tzinfo=UTC)
    assert EngagementScore().score(activity, before).loc[1, "raw"] == 0
    tz_activity = activity.assign(date=pd.to_datetime(activity["date"]).dt.tz_localize("UTC"))
    with pytest.raises(ValueError, match="as_of is naive"):
        EngagementScore().score(tz_activity, AS_OF)


def test_percentile_within_groups_hand_checked() -> None:
    scores = pd.Series([10.0, 20.0, 20.0, 40.0, 5.0, 7.0], index=list("abcdef"))
    groups = pd.DataFrame(
        {"tier": ["pro", "pro", "pro", "pro", "basic", None]}, index=list("abcdef")
    )
    pct = percentile_within(scores, groups)
    assert pct["a"] == 12.5 and pct["b"] == 50.0 and pct["c"] == 50.0 and pct["d"] == 87.5
    assert pct["e"] == 50.0
    assert np.isnan(pct["f"])
    overall = percentile_within(scores)
    assert overall["d"] == pytest.approx(100 * 5.5 / 6)


def test_percentiles_across_several_group_columns() -> None:
    activity = _activity(
        [
            (p, "event", AS_OF - timedelta(days=5), units)
            for p, units in [(1, 1), (2, 2), (3, 3), (4, 4)]
        ]
    )
    groups = pd.DataFrame(
        {"tier": ["pro", "pro", "pro", "basic"], "segment": ["x", "x", "y", "x"]},
        index=[1, 2, 3, 4],
    )
    scores = EngagementScore().score(activity, AS_OF, groups=groups)
    assert scores["percentile"].to_dict() == {1: 25.0, 2: 75.0, 3: 50.0, 4: 50.0}
    with pytest.raises(ValueError, match="groups has no row"):
        EngagementScore().score(activity, AS_OF, groups=groups.iloc[:2])


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['units'\]"):
        EngagementScore().score(pd.DataFrame({"party_id": [], "kind": [], "date": []}), AS_OF)
    with pytest.raises(ValueError, match="half_life_days must be positive"):
        EngagementScore(half_life_days=0)
    with pytest.raises(ValueError, match="must not be negative"):
        EngagementScore(weights={"event": -1.0})
