"""Reproduce the published sBG and BG/BB estimates on the papers' own data."""

from __future__ import annotations

import numpy as np
import pytest

from imis_tier.value import BdWFit, SBGFit, fit_bgbb, fit_sbg

# Fader & Hardie (2007), "How to Project Customer Retention", J. Interactive Marketing 21(1):
# survivors of 1000-member cohorts, years 0..7 (calibration) and 8..12 (holdout), from Berry &
# Linoff (2004).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
REGULAR_HOLDOUT = [223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
HIGH_END_HOLDOUT = [468, 445, 427, 409, 394]


@pytest.fixture(scope="module")
def regular() -> SBGFit:
    return fit_sbg(REGULAR)


@pytest.fixture(scope="module")
def high_end() -> SBGFit:
    return fit_sbg(HIGH_END)


def test_regular_estimates_match_the_paper(regular: SBGFit) -> None:
    assert regular.alpha == pytest.approx(0.704, abs=1e-3)
    assert regular.beta == pytest.approx(1.182, abs=1e-3)
    assert regular.log_likelihood == pytest.approx(-1680.3, abs=0.05)
    assert not regular.degenerate


def test_high_end_estimates_match_the_paper(high_end: SBGFit) -> None:
    assert high_end.alpha == pytest.approx(0.668, abs=1e-3)
    assert high_end.beta == pytest.approx(3.806, abs=1e-3)
    assert high_end.log_likelihood == pytest.approx(-1611.2, abs=0.05)


def test_projection_tracks_the_holdout_years(regular: SBGFit, high_end: SBGFit) -> None:
    # The paper's point: seven years of data project years 8-12 closely.
    for fit, holdout in ((regular, REGULAR_HOLDOUT), (high_end, HIGH_END_HOLDOUT)):
        projected = fit.project(12)[8:]
        np.testing.assert_allclose(projected, holdout, rtol=0.05)
    # ... and the High End projection is a slight under-forecast, as the paper's figure shows.
    assert np.all(high_end.project(12)[8:] < HIGH_END_HOLDOUT)


def test_retention_is_the_papers_closed_form(regular: SBGFit) -> None:
    a, b = regular.alpha, regular.beta
    t = np.arange(1, 13)
    np.testing.assert_allclose(regular.retention(t), (b + t - 1) / (a + b + t - 1), rtol=1e-12)
    # Retention rises with tenure: the sorting effect of a heterogeneous cohort.
    assert np.all(np.diff(regular.retention(t)) > 0)


def test_derl_at_ten_percent(regular: SBGFit, high_end: SBGFit) -> None:
    # Fader & Hardie (2010) eq. 6 at d = 10% for members who have made n renewals. The High End
    # value after 7 renewals (7.530) is also the figure of an independent public replication.
    assert regular.derl(0.1, 0) == pytest.approx(2.964, abs=1e-3)
    assert regular.derl(0.1, 4) == pytest.approx(5.894, abs=1e-3)
    assert regular.derl(0.1, 7) == pytest.approx(6.842, abs=1e-3)
    assert high_end.derl(0.1, 0) == pytest.approx(5.414, abs=1e-3)
    assert high_end.derl(0.1, 4) == pytest.approx(6.897, abs=1e-3)
    assert high_end.derl(0.1, 7) == pytest.approx(7.530, abs=1e-3)


def test_closed_form_derl_equals_the_summed_series(regular: SBGFit, high_end: SBGFit) -> None:
    # BdW with c = 1 is the same model but computes DERL by summing S(t) numerically.
    for fit in (regular, high_end):
        twin = BdWFit(alpha=fit.alpha, beta=fit.beta, c=1.0)
        renewals = np.arange(0, 15)
        for d in (0.05, 0.1, 0.25):
            np.testing.assert_allclose(fit.derl(d, renewals), twin.derl(d, renewals), rtol=1e-10)


def test_derl_is_the_series_from_its_definition(high_end: SBGFit) -> None:
    # sum_{j>=0} S(n+1+j)/S(n) / (1+d)^j, written out directly from the survivor function.
    d, n = 0.1, 3
    j = np.arange(2000)
    series = high_end.survival(n + 1 + j) / high_end.survival(n) / (1 + d) ** j
    assert high_end.derl(d, n) == pytest.approx(float(series.sum()), rel=1e-10)


def test_standard_errors_are_plausible(regular: SBGFit) -> None:
    # 1000 members: the estimates are known to about +-0.07 and +-0.15.
    assert 0.03 < regular.alpha_se < 0.15
    assert 0.05 < regular.beta_se < 0.4


# Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual
# Setting", Marketing Science 29(6): 11,104 donors of the 1995 cohort over six years, as
# (repeat donations x, year of last donation t_x, members).
DONATIONS = [
    (0, 0, 3464), (1, 1, 1091), (1, 2, 277), (1, 3, 129), (1, 4, 78), (1, 5, 119), (1, 6, 129),
    (2, 2, 613), (2, 3, 255), (2, 4, 155), (2, 5, 173), (2, 6, 234), (3, 3, 322), (3, 4, 181),
    (3, 5, 225), (3, 6, 357), (4, 4, 240), (4, 5, 284), (4, 6, 512), (5, 5, 335), (5, 6, 728),
    (6, 6, 1203),
]  # fmt: skip


def test_bgbb_reproduces_the_donation_estimates() -> None:
    x, t_x, count = (np.array(col) for col in zip(*DONATIONS, strict=True))
    fit = fit_bgbb(x, t_x, 6, weights=count)
    assert fit.members == 11104
    assert fit.alpha == pytest.approx(1.204, abs=1e-3)
    assert fit.beta == pytest.approx(0.750, abs=1e-3)
    assert fit.gamma == pytest.approx(0.657, abs=1e-3)
    assert fit.delta == pytest.approx(2.783, abs=1e-3)
    assert fit.log_likelihood == pytest.approx(-33225.6, abs=0.05)
    # Expected repeat donations in the six calibration years track the observed mean.
    observed = float((x * count).sum() / count.sum())
    assert fit.expected_transactions(6) == pytest.approx(observed, rel=0.01)
