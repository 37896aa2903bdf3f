from decimal import Decimal

from _sim_world import costs, model, panel, status_quo, today, world

from imis_tier.simulate import (
    backtest_change,
    compare_with_truth,
    list_runs,
    parse_scenario,
    record_run,
    reproduce_run,
    simulate,
)
from imis_tier.simulate.backtest import known_changes
from imis_tier.writeback import audit_records, verify_audit_chain


def test_known_changes_are_found_in_the_warehouse() -> None:
    wh, assoc = world()
    found = dict((d, label) for label, d in known_changes(wh))
    assert set(found) == {e["date"] for e in assoc.events_log.values()}


def test_backtest_of_the_price_change_is_close_to_what_happened() -> None:
    wh, assoc = world()
    r = backtest_change(wh, assoc.events_log["price_change"]["date"], draws=30)
    assert r.decisions > 1000
    # Loose bounds for a 2,000-member association; docs/scenarios.md has the measured errors.
    assert abs(r.errors["lapse_rate_pp"]) < 4
    assert r.errors["max_share_pp"] < 4
    assert abs(r.errors["dues_revenue_pct"]) < 5


def test_forecast_change_has_the_sign_of_the_truth() -> None:
    wh, assoc = world()
    rise = status_quo().with_price("STD", Decimal("445.00"))
    sq = compare_with_truth(
        wh, assoc.truth, status_quo(), model(), status_quo(), as_of=today(), draws=20
    )
    up = compare_with_truth(wh, assoc.truth, rise, model(), status_quo(), as_of=today(), draws=20)
    assert up.actual["lapse_rate"] > sq.actual["lapse_rate"]
    assert up.forecast["lapse_rate"] > sq.forecast["lapse_rate"]
    assert abs(sq.errors["lapse_rate_pp"]) < 5


def test_a_recorded_run_is_audited_and_reproduced_exactly() -> None:
    wh, _ = world()
    scenario = parse_scenario("name: rec\nchanges:\n  - set_price: {tier: PREM, price: 645}\n")
    f = simulate(
        scenario, panel(), model(), status_quo=status_quo(), draws=25, seed=4, costs=costs()
    )
    record = record_run(wh, f, scenario, model(), as_of=today(), costs=costs(), actor="tester")
    audit = [a for a in audit_records(wh) if a.action == "simulate"][-1]
    assert audit.inputs["run_id"] == record.run_id
    assert audit.inputs["scenario_hash"] == scenario.digest()
    assert audit.model_versions == {"tier_choice": model().version_}
    assert verify_audit_chain(wh)
    again, same = reproduce_run(wh, record.run_id[:8])
    assert same and again.to_json() == f.to_json()
    assert record.run_id in [r.run_id for r in list_runs(wh)]
