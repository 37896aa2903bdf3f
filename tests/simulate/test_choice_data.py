"""Which past renewals the tier-choice model learns from, and what it may read of them."""

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from _sim_world import dataset, model, panel, status_quo, world

from imis_tier.features import data_horizon, history_start
from imis_tier.simulate import Members, TierChoiceModel, choice_dataset
from imis_tier.simulate.choice_data import settled_decisions
from imis_tier.simulate.design import DesignSpec, design
from imis_tier.warehouse import Warehouse, canonical
from imis_tier.warehouse.canonical import DECISION_WINDOW_DAYS


def _months_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _panel_dates(decision_dates: list[date]) -> list[date]:
    lag = timedelta(days=DECISION_WINDOW_DAYS[0])
    return [date((d - lag).year, (d - lag).month, 1) for d in decision_dates]


def test_history_start_is_the_first_dues_invoice() -> None:
    wh, _ = world()
    first = wh.fetchone("SELECT min(invoice_date) FROM dues_transactions")[0]
    assert history_start(wh) == first
    empty = Warehouse(":memory:")
    empty.migrate()
    canonical.refresh(empty)
    assert history_start(empty) is None


def test_decisions_seen_before_the_history_has_enough_months_are_left_out() -> None:
    wh, _ = world()
    start = history_start(wh)
    assert start is not None
    every = settled_decisions(wh)
    early = [d for d in _panel_dates(list(every["decision_date"])) if d < start]
    assert early, "the synthetic history should hold decisions whose panel predates it"
    used = _panel_dates(list(dataset().decisions["decision_date"]))
    assert min(used) == _months_after(start, 3)  # the default: the 90-day activity window
    six = choice_dataset(wh, min_history_months=6)
    assert min(_panel_dates(list(six.decisions["decision_date"]))) == _months_after(start, 6)
    assert six.n_decisions < dataset().n_decisions


def test_negative_min_history_is_refused() -> None:
    with pytest.raises(ValueError, match="min_history_months must be 0 or more"):
        choice_dataset(world()[0], min_history_months=-1)


def test_only_decisions_whose_window_has_closed_are_used() -> None:
    # Near the horizon a renewal is settled (paid) long before a lapse is (grace period):
    # those settled decisions would teach the model that nobody lapses.
    wh, _ = world()
    horizon = data_horizon(wh)
    assert horizon is not None
    window = timedelta(days=DECISION_WINDOW_DAYS[1])
    settled = settled_decisions(wh)
    assert (settled["decision_date"] + window > horizon).any()
    assert (dataset().decisions["decision_date"] + window <= horizon).all()


def test_unknown_last_payment_is_no_price_rise() -> None:
    spec = dataset().spec
    ranks = {t.code: t.rank for t in status_quo().tiers}
    members = Members.from_panel(panel().iloc[:200], spec.usage_benefits, ranks)
    std = status_quo().with_price("STD", status_quo().tier("STD").price + 100)
    paid = members.paid.copy()
    paid[:100] = np.nan
    laid = design(replace(members, paid=paid), std, spec)
    rise = laid.X[:, :, spec.feature_names.index("price_rise")]
    holds_std = members.current == "STD"
    assert (rise[:100][holds_std[:100]] == 0).all()
    assert (rise[100:][holds_std[100:]].max(axis=1) > 0).all()


def test_features_the_training_data_never_shows_are_left_out() -> None:
    wh, assoc = world()
    change = assoc.events_log["price_change"]["date"]
    before = choice_dataset(wh, end=change)
    # No member faced a price above what they last paid before the first price change.
    assert not before.spec.price_rise and "price_rise" not in before.X.columns
    assert dataset().spec.price_rise and "price_rise" in dataset().X.columns
    for name in before.spec.feature_names:
        assert before.X[name].to_numpy().any(), name
    assert len(before.spec.trait_center) == len(before.spec.traits)


def test_the_price_rise_reaction_is_opt_in_and_has_the_sign_of_loss_aversion() -> None:
    assert "price_rise" not in model().spec_.feature_names
    assert "price_rise" not in model().summary().index
    averse = TierChoiceModel(price_rise=True).fit_dataset(dataset())
    # A price above what a member last paid drives them away. A model that read a payment
    # missing from the history as $0 paid found the opposite sign.
    assert averse.summary().loc["price_rise", "coef"] < 0
    assert "price_rise" in averse.spec_.feature_names


def test_a_spec_pickled_before_price_rise_could_be_left_out_still_has_it() -> None:
    state = dict(vars(DesignSpec(("STD",), {"STD": 2}, ())))
    del state["price_rise"]
    old = object.__new__(DesignSpec)
    object.__setattr__(old, "__dict__", state)
    assert old.price_rise and "price_rise" in old.feature_names


def test_a_benefit_lost_since_the_last_renewal_is_counted_on_the_current_tier_only() -> None:
    _wh, assoc = world()
    move = assoc.events_log["benefit_move"]
    ds = dataset()
    assert "benefit_loss" in ds.spec.feature_names
    loss = ds.X["benefit_loss"].to_numpy()
    decided = ds.decisions.reset_index(drop=True)
    rows = decided.iloc[ds.situation]
    on_current = (ds.alternative == rows["from_tier"].to_numpy()) & (ds.alternative != "LAPSE")
    assert (loss[~on_current] == 0).all()
    # STD renewals in the year after the webinars left STD had them at their previous renewal.
    after = pd.to_datetime(rows["decision_date"]).dt.date
    year = (after >= move["date"]) & (after < move["date"] + timedelta(days=300))
    std_year = on_current & (rows["from_tier"] == move["from"]).to_numpy() & year.to_numpy()
    assert std_year.any() and (loss[std_year] == 1).all()
    # A year before the move nothing had been lost.
    before = (after < move["date"]).to_numpy()
    assert (loss[before] == 0).all()


def test_losing_a_benefit_raises_lapse_once() -> None:
    # On 2,000 members the estimate is noise around zero (docs/scenarios.md has it on larger
    # associations); the mechanism is checked with an aversion set by hand.
    m = model()
    coef = m.coef_.copy()
    coef[m.spec_.feature_names.index("benefit_loss")] = -1.0
    ranks = {t.code: t.rank for t in status_quo().tiers}
    members = Members.from_panel(panel(), m.spec_.usage_benefits, ranks)
    moved = status_quo().with_benefit_moved("research_library", "STD", "PREM")
    felt, codes = m.probabilities(members.holding(status_quo()), moved, coef=coef)
    settled, _ = m.probabilities(members.holding(moved), moved, coef=coef)
    std = members.current == "STD"
    lapse = codes.index("LAPSE")
    assert felt[0, std, lapse].mean() > settled[0, std, lapse].mean()
    others = ~std
    np.testing.assert_allclose(felt[0, others], settled[0, others], atol=1e-6)


def test_the_benefit_loss_reaction_can_be_left_out() -> None:
    plain = TierChoiceModel(benefit_loss=False).fit_dataset(dataset())
    assert "benefit_loss" not in plain.spec_.feature_names
    assert "benefit_loss" not in plain.summary().index
