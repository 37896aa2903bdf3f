from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from _sim_world import dataset, model, panel, status_quo, world

from imis_tier.simulate import Members, TierChoiceModel
from imis_tier.structure import LAPSE, Eligibility, Tier


def _members():
    m = model()
    ranks = {t.code: t.rank for t in status_quo().tiers}
    return Members.from_panel(panel(), m.spec_.usage_benefits, ranks)


def test_long_data_has_one_chosen_row_per_decision() -> None:
    ds = dataset()
    counts = np.bincount(ds.situation, weights=ds.chosen)
    assert set(np.unique(counts[np.unique(ds.situation)])) == {1.0}
    assert ds.n_decisions > 3000
    assert set(ds.alternative) == {"STU", "EARLY", "STD", "PREM", "LEAD", LAPSE}


def test_price_lowers_utility_and_wtp_is_reported() -> None:
    m = model()
    s = m.summary()
    assert s.loc["price", "coef"] < 0
    assert s.loc["switch_up", "coef"] < 0 and s.loc["switch_down", "coef"] < 0
    wtp = m.willingness_to_pay()
    assert set(wtp.index) == set(m.spec_.usage_benefits)
    assert wtp.loc["research_library", "wtp_per_log_use"] > 0
    assert m.version_.startswith("conditional-")


def test_probabilities_are_proper_and_respect_eligibility() -> None:
    p, codes = model().probabilities(_members(), status_quo())
    assert codes[-1] == LAPSE and p.shape[0] == 1
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-5)
    stages = panel()["career_stage"].astype(str).to_numpy()
    held = panel()["tier"].to_numpy()
    stu = codes.index("STU")
    blocked = (stages != "student") & (held != "STU")
    assert (p[0, blocked, stu] == 0).all()


def test_predicted_lapse_is_close_to_the_truth() -> None:
    _wh, assoc = world()
    p, _codes = model().probabilities(_members(), status_quo())
    truth = assoc.truth.choice_probabilities(panel()["party_id"].astype("int64"), status_quo())
    assert abs(p[0, :, -1].mean() - truth[LAPSE].mean()) < 0.03


def test_a_never_seen_tier_is_scored() -> None:
    new = Tier("LAUNCH", "Launch", Decimal(245), frozenset({"journal", "webinars"}), 3,
               Eligibility.from_dict({"career_stage": ["early"]}))  # fmt: skip
    structure = status_quo().with_tier(new)
    p, codes = model().probabilities(_members(), structure, like={"LAUNCH": "EARLY"})
    j = codes.index("LAUNCH")
    early = panel()["career_stage"].astype(str).to_numpy() == "early"
    assert (p[0, early, j] > 0).all() and (
        p[0, ~early & (panel()["tier"] != "LAUNCH").to_numpy(), j] == 0
    ).all()
    # A cheaper new tier takes members from the others.
    cheaper, _ = model().probabilities(
        _members(), structure.with_price("LAUNCH", Decimal(145)), like={"LAUNCH": "EARLY"}
    )
    assert cheaper[0, early, j].mean() > p[0, early, j].mean()


def test_a_price_rise_raises_lapse_for_that_tier() -> None:
    members = _members()
    base, _codes = model().probabilities(members, status_quo())
    up, _ = model().probabilities(members, status_quo().with_price("STD", Decimal(445)))
    std = members.current == "STD"
    assert up[0, std, -1].mean() > base[0, std, -1].mean() + 0.02


def test_coefficient_draws_give_one_layer_per_draw() -> None:
    m = model()
    draws = m.sample_coefs(7, seed=1)
    p, _ = m.probabilities(_members(), status_quo(), coef=draws)
    assert p.shape[0] == 7 and not np.allclose(p[0], p[1])


@pytest.mark.parametrize("kind", ["nested", "mixed"])
def test_other_kinds_fit_and_predict(kind: str) -> None:
    ds = dataset()
    keep = ds.situation % 3 == 0  # a third of the history, across all of it: faster
    small = replace(
        ds,
        X=ds.X[keep].reset_index(drop=True),
        chosen=ds.chosen[keep],
        situation=ds.situation[keep],
        alternative=ds.alternative[keep],
        party_id=ds.party_id[keep],
        decisions=ds.decisions.iloc[::3],
    )
    m = TierChoiceModel(kind, mixed_draws=10).fit_dataset(small)
    p, _ = m.probabilities(_members(), status_quo(), coef=m.sample_coefs(3))
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-5)
    assert m.version_.startswith(kind)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        TierChoiceModel("probit").fit_dataset(dataset())
