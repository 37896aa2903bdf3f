from decimal import Decimal

import numpy as np
import pytest
from _sim_world import costs, model, panel, status_quo

from imis_tier.simulate import Scenario, parse_scenario, simulate
from imis_tier.structure import LAPSE

RISE = parse_scenario("name: rise\nchanges:\n  - set_price: {tier: STD, price: '445.00'}\n")


def _run(scenario: Scenario | object, **kw: object):
    kw.setdefault("draws", 40)
    return simulate(scenario, panel(), model(), status_quo=status_quo(), costs=costs(), **kw)  # type: ignore[arg-type]


def test_the_status_quo_against_itself_changes_nothing() -> None:
    f = _run(status_quo())
    table = f.table().set_index("metric")
    assert (table["change"].abs() < 1e-9).all()
    assert table.loc["members_start", "scenario"] == len(panel())


def test_a_price_rise_loses_members_and_moves_them_up() -> None:
    f = _run(RISE, draws=60, by=["career_stage"])
    t = f.table().set_index("metric")
    assert t.loc["churn_rate", "change_lower"] > 0
    assert t.loc["count.STD", "change_upper"] < 0
    assert t.loc["count.PREM", "change"] > 0
    for side in ("scenario", "status_quo", "change"):
        assert (
            t.loc["dues_revenue", f"{side}_lower"]
            <= t.loc["dues_revenue", side]
            <= t.loc["dues_revenue", f"{side}_upper"]
        )
    # The breakdown adds up to the total.
    groups = f.table(by_group=True)
    start = groups[groups["metric"] == "members_start"]["scenario"].sum()
    assert start == pytest.approx(t.loc["members_start", "scenario"])
    assert set(groups["career_stage"]) == set(panel()["career_stage"].astype(str))
    # Money is Decimal at the surface.
    s = f.summary()
    assert isinstance(s["change"]["dues_revenue"].mean, Decimal)
    assert f.migration().loc["STD", LAPSE] > f.migration("status_quo").loc["STD", LAPSE]


def test_same_seed_same_forecast_other_seed_differs() -> None:
    a, b, c = _run(RISE, seed=5), _run(RISE, seed=5), _run(RISE, seed=6)
    assert a.to_json() == b.to_json()
    assert a.to_json()["summary"] != c.to_json()["summary"]


def test_results_do_not_depend_on_workers() -> None:
    a = _run(RISE, n_jobs=1).to_json()
    b = _run(RISE, n_jobs=2).to_json()
    assert a == b


def test_dask_backend_gives_the_same_forecast() -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        via_dask = _run(RISE, backend="dask", scheduler=client).to_json()
    assert via_dask == _run(RISE).to_json()


def test_a_merge_empties_the_removed_tier() -> None:
    merge = parse_scenario(
        "name: m\nchanges:\n  - remove_tier: {tier: STU, members_go_to: EARLY}\n"
    )
    f = _run(merge)
    assert "STU" not in f.to_codes
    mig = f.migration()
    assert mig.loc["STU"].sum() == pytest.approx((panel()["tier"] == "STU").sum())
    assert mig.loc["STU", "EARLY"] > 0
    t = f.table().set_index("metric")
    assert t.loc["members_start", "scenario"] == len(panel())


def test_longer_horizons_lose_more_members() -> None:
    one = _run(RISE, horizon=1, draws=20).table().set_index("metric")
    three = _run(RISE, horizon=3, draws=20).table().set_index("metric")
    assert three.loc["churn_rate", "scenario"] > one.loc["churn_rate", "scenario"] + 0.05
    assert three.loc["dues_revenue", "scenario"] > 2 * one.loc["dues_revenue", "scenario"]


def test_intervals_carry_parameter_uncertainty() -> None:
    point = _run(RISE, draws=1)
    many = _run(RISE, draws=80)
    assert point.draws == 1 and many.draws == 80
    t = many.table().set_index("metric")
    assert t.loc["churn_rate", "scenario_upper"] - t.loc["churn_rate", "scenario_lower"] > 0.01


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="horizon"):
        _run(RISE, horizon=4)
    with pytest.raises(ValueError, match="nope"):
        _run(RISE, by=["nope"])
    bad = parse_scenario(
        "name: b\nchanges:\n  - add_tier: {code: X, price: 1, rank: 9, eligibility: {shoe_size: ['9']}}\n"
    )
    with pytest.raises(ValueError, match="shoe_size"):
        _run(bad)


def test_engagement_rises_when_webinars_return_to_standard() -> None:
    back = parse_scenario("name: w\nchanges:\n  - add_benefit: {tier: STD, benefit: webinars}\n")
    t = _run(back).table().set_index("metric")
    assert t.loc["engagement", "change"] > 0
    assert t.loc["cost_to_serve", "change"] > 0
    assert np.isfinite(t["change"]).all()
