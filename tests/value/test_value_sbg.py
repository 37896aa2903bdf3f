"""sBG likelihood, censoring across cohorts, validation, standard errors and money."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from imis_tier.value import (
    SBGFit,
    fit_sbg,
    fit_sbg_by_segment,
    fit_sbg_cohorts,
    segment_lr_test,
)
from imis_tier.value._data import cohort_table, single_cohort
from imis_tier.value._mle import numeric_hessian, standard_errors
from imis_tier.value.sbg import sbg_hessian, sbg_loglik

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def _loglik_from_definition(alpha: float, beta: float, cohorts: list[list[int]]) -> float:
    """Fader & Hardie's likelihood written from scratch: lapses at t by P(T=t), last by S(T)."""
    total = 0.0
    for counts in cohorts:
        for t in range(1, len(counts)):
            lapsed = counts[t - 1] - counts[t]
            p = math.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))
            total += lapsed * math.log(p)
        last = len(counts) - 1
        total += counts[-1] * (betaln(alpha, beta + last) - betaln(alpha, beta))
    return total


def _simulate_sbg(
    rng: np.random.Generator, alpha: float, beta: float, size: int, periods: int
) -> list[int]:
    theta = rng.beta(alpha, beta, size)
    lifetime = rng.geometric(theta)  # renewal opportunity at which each member lapses
    return [int((lifetime > t).sum()) for t in range(periods + 1)]


def test_loglik_matches_the_definition_at_any_parameters() -> None:
    cohorts = [REGULAR, HIGH_END[:4]]
    data = cohort_table(cohorts, min_periods=2)
    for alpha, beta in ((0.3, 0.9), (1.0, 1.0), (4.0, 25.0)):
        value, _ = sbg_loglik(data, np.array([alpha, beta]))
        assert value == pytest.approx(_loglik_from_definition(alpha, beta, cohorts), rel=1e-12)


def test_gradient_and_hessian_are_analytic_and_right() -> None:
    data = single_cohort(HIGH_END, min_periods=2)
    params = np.array([0.9, 2.5])
    _, grad = sbg_loglik(data, params)
    step = 1e-6
    numeric = [
        (sbg_loglik(data, params + e)[0] - sbg_loglik(data, params - e)[0]) / (2 * step)
        for e in np.eye(2) * step
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)
    hessian = sbg_hessian(data, params)
    np.testing.assert_allclose(
        hessian, numeric_hessian(lambda p: sbg_loglik(data, p)[1], params), rtol=1e-6
    )


def test_the_fit_is_a_maximum_with_zero_gradient() -> None:
    fit = fit_sbg(REGULAR)
    _, grad = sbg_loglik(single_cohort(REGULAR, min_periods=2), np.array([fit.alpha, fit.beta]))
    assert np.all(np.abs(grad) < 1e-4)
    expected_se = standard_errors(
        sbg_hessian(single_cohort(REGULAR, min_periods=2), np.array([fit.alpha, fit.beta]))
    )
    assert (fit.alpha_se, fit.beta_se) == pytest.approx(tuple(expected_se))


def test_survival_churn_and_retention_agree() -> None:
    fit = SBGFit(alpha=0.7, beta=1.2)
    t = np.arange(1, 30)
    assert fit.survival(0) == 1.0
    np.testing.assert_allclose(
        fit.churn_probability(t), fit.survival(t - 1) - fit.survival(t), rtol=1e-12
    )
    np.testing.assert_allclose(fit.survival(t), np.cumprod(fit.retention(t)), rtol=1e-12)
    assert fit.churn_probability(1) == pytest.approx(0.7 / 1.9)
    assert isinstance(fit.survival(3), float)


def test_one_row_table_equals_the_single_cohort_fit() -> None:
    single = fit_sbg(REGULAR)
    table = fit_sbg_cohorts([REGULAR])
    assert (table.alpha, table.beta) == pytest.approx((single.alpha, single.beta), rel=1e-9)
    assert table.cohort_size == 1000


def test_ragged_rows_and_nan_padded_frames_are_the_same_table() -> None:
    rows = [REGULAR, REGULAR[:5], REGULAR[:3]]
    frame = pd.DataFrame([r + [np.nan] * (8 - len(r)) for r in rows], columns=range(8))
    from_rows = fit_sbg_cohorts(rows)
    from_frame = fit_sbg_cohorts(frame)
    assert from_frame.alpha == pytest.approx(from_rows.alpha, rel=1e-12)
    assert from_frame.log_likelihood == pytest.approx(from_rows.log_likelihood, rel=1e-12)
    assert from_rows.members == 3000
    assert from_rows.cohort_size is None
    with pytest.raises(ValueError, match="cohort_size is required"):
        from_rows.project(5)
    assert from_rows.project(2, cohort_size=100)[0] == 100.0


def test_censored_cohorts_pool_the_right_likelihood() -> None:
    # The pooled log-likelihood is the sum of each cohort's own, censored where it stops.
    rows = [REGULAR, HIGH_END[:4], [500, 400, 350]]
    fit = fit_sbg_cohorts(rows)
    assert fit.log_likelihood == pytest.approx(
        _loglik_from_definition(fit.alpha, fit.beta, rows), rel=1e-12
    )


def test_recovers_parameters_from_staggered_cohorts() -> None:
    # Eight yearly cohorts of one population, the youngest seen for one renewal only: treating
    # the last survivors as lapsed, or dropping short cohorts, would bias the estimates.
    rng = np.random.default_rng(20240611)
    alpha, beta = 0.8, 2.5
    rows = [_simulate_sbg(rng, alpha, beta, 4000, periods) for periods in range(8, 0, -1)]
    fit = fit_sbg_cohorts(rows)
    assert abs(fit.alpha - alpha) < 3 * fit.alpha_se
    assert abs(fit.beta - beta) < 3 * fit.beta_se
    assert fit.alpha_se < 0.1


@pytest.mark.parametrize(
    ("survivors", "message"),
    [
        ([1000, 600, 700], r"survivors\[2\]: survivors must not increase"),
        ([1000, 600, -1], r"survivors\[2\]: survivor counts must not be negative"),
        ([1000, 600.5, 300], r"survivors\[1\]: survivor counts must be integers"),
        ([0, 0, 0], r"survivors\[0\]: the cohort size at t=0 must be positive"),
        ([1000, 600], r"at least 3 periods"),
        ([1000, 1000, 1000], "no member lapsed"),
        ([1000, "x", 10], r"survivors\[1\]"),
        ([True, 1, 1], r"survivors\[0\]"),
    ],
)
def test_invalid_survivors_are_rejected_clearly(survivors: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_sbg(survivors)


def test_table_errors_name_the_cohort() -> None:
    with pytest.raises(ValueError, match=r"cohort 1\[2\]"):
        fit_sbg_cohorts([REGULAR, [100, 90, 95]])
    with pytest.raises(ValueError, match="no cohorts"):
        fit_sbg_cohorts([])


def test_integral_floats_and_numpy_counts_are_accepted() -> None:
    as_floats = fit_sbg([float(v) for v in REGULAR])
    as_numpy = fit_sbg(np.array(REGULAR, dtype=np.int64))
    assert as_floats.alpha == pytest.approx(as_numpy.alpha, rel=1e-12)


def test_segments_fit_separately_and_the_lr_test_sees_the_difference() -> None:
    rows = [REGULAR, REGULAR[:6], HIGH_END, HIGH_END[:5]]
    labels = ["regular", "regular", "high_end", "high_end"]
    fits = fit_sbg_by_segment(rows, labels)
    assert set(fits) == {"regular", "high_end"}
    assert fits["high_end"].beta > fits["regular"].beta
    test = segment_lr_test(rows, labels)
    assert test["df"] == 2
    assert test["p_value"] < 1e-6
    # Two copies of one segment cannot differ.
    same = segment_lr_test([REGULAR, REGULAR], ["a", "b"])
    assert same["statistic"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="2 labels but the survivor table has 4"):
        fit_sbg_by_segment(rows, ["a", "b"])


def test_residual_value_is_decimal_money() -> None:
    fit = SBGFit(alpha=0.668, beta=3.806)
    value = fit.residual_value(Decimal("250.00"), 0.1, renewals=7)
    assert isinstance(value, Decimal)
    assert value == (Decimal(repr(float(fit.derl(0.1, 7)))) * 250).quantize(Decimal("0.01"))
    assert value.as_tuple().exponent == -2
    assert fit.residual_value(Decimal("250"), Decimal("0.1"), 7) == value
    with pytest.raises(TypeError, match="net_dues must be a Decimal"):
        fit.residual_value(250.0, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="discount_rate must be positive"):
        fit.residual_value(Decimal("250"), 0.0)
    with pytest.raises(ValueError, match="renewals must be >= 0"):
        fit.derl(0.1, -1)


def test_derl_grows_with_tenure_and_falls_with_the_discount_rate() -> None:
    fit = SBGFit(alpha=0.704, beta=1.182)
    by_tenure = fit.derl(0.1, np.arange(10))
    assert np.all(np.diff(by_tenure) > 0)
    assert fit.derl(0.05, 3) > fit.derl(0.1, 3) > fit.derl(0.2, 3)
    # A just-acquired member: first dues now, then the renewals discounted one more period.
    assert fit.discounted_expected_lifetime(0.1) == pytest.approx(
        1 + fit.derl(0.1, 0) / 1.1, rel=1e-12
    )


def test_information_criteria() -> None:
    fit = fit_sbg(REGULAR)
    assert fit.aic == pytest.approx(4 - 2 * fit.log_likelihood)
    assert fit.bic == pytest.approx(2 * math.log(1000) - 2 * fit.log_likelihood)


def test_parameters_must_be_positive() -> None:
    with pytest.raises(ValueError, match="sBG beta must be positive"):
        SBGFit(alpha=1.0, beta=0.0)


def test_a_homogeneous_cohort_collapses_to_the_geometric_model() -> None:
    # Everyone renews with probability 1/2: no heterogeneity, so alpha and beta diverge together
    # (flagged) while retention and DERL stay right: DERL = r / (1 - r / (1 + d)).
    fit = fit_sbg([64000, 32000, 16000, 8000, 4000, 2000])
    assert fit.degenerate
    assert fit.retention(5) == pytest.approx(0.5, abs=2e-3)
    assert fit.derl(0.1, 2) == pytest.approx(0.5 / (1 - 0.5 / 1.1), abs=5e-3)
