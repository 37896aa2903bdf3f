"""Beta-discrete-Weibull fits and choosing between it and the sBG."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import betaln

from imis_tier.value import (
    BdWFit,
    SBGFit,
    fit_bdw,
    fit_bdw_cohorts,
    fit_sbg,
    select_retention_model,
)
from imis_tier.value._data import single_cohort
from imis_tier.value.bdw import bdw_loglik
from imis_tier.value.sbg import sbg_loglik

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def _simulate_bdw(
    rng: np.random.Generator, alpha: float, beta: float, c: float, size: int, periods: int
) -> list[int]:
    # Member survives past t while U < (1 - theta)^(t^c), i.e. t < (ln U / ln(1 - theta))^(1/c).
    theta = rng.beta(alpha, beta, size)
    horizon = (np.log(rng.uniform(size=size)) / np.log1p(-theta)) ** (1.0 / c)
    return [int((horizon > t).sum()) for t in range(periods + 1)]


def _naive_bdw_loglik(params: np.ndarray, survivors: list[int]) -> float:
    alpha, beta, c = params
    t = np.arange(len(survivors))
    s = np.exp(betaln(alpha, beta + t.astype(float) ** c) - betaln(alpha, beta))
    lapsed = -np.diff(survivors)
    return float(np.dot(lapsed, np.log(s[:-1] - s[1:])) + survivors[-1] * np.log(s[-1]))


def test_c_equal_one_is_the_sbg() -> None:
    data = single_cohort(REGULAR, min_periods=3)
    for alpha, beta in ((0.7, 1.2), (2.0, 9.0)):
        bdw_value, bdw_grad = bdw_loglik(data, np.array([alpha, beta, 1.0]))
        sbg_value, sbg_grad = sbg_loglik(data, np.array([alpha, beta]))
        assert bdw_value == pytest.approx(sbg_value, rel=1e-12)
        np.testing.assert_allclose(bdw_grad[:2], sbg_grad, rtol=1e-8)
    twin = BdWFit(alpha=0.7, beta=1.2, c=1.0)
    t = np.arange(0, 20)
    np.testing.assert_allclose(twin.survival(t), SBGFit(alpha=0.7, beta=1.2).survival(t))


def test_analytic_gradient_matches_finite_differences() -> None:
    data = single_cohort(HIGH_END, min_periods=3)
    params = np.array([0.6, 2.0, 0.8])
    _, grad = bdw_loglik(data, params)
    step = 1e-6
    numeric = [
        (bdw_loglik(data, params + e)[0] - bdw_loglik(data, params - e)[0]) / (2 * step)
        for e in np.eye(3) * step
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_fit_matches_an_independent_maximisation() -> None:
    fit = fit_bdw(HIGH_END)
    naive = minimize(
        lambda p: -_naive_bdw_loglik(np.exp(p), HIGH_END),
        np.log([1.0, 1.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000},
    )
    assert fit.log_likelihood == pytest.approx(-naive.fun, abs=1e-6)
    np.testing.assert_allclose([fit.alpha, fit.beta, fit.c], np.exp(naive.x), rtol=1e-3)
    # Nested models: the BdW can only do at least as well as the sBG.
    assert fit.log_likelihood >= fit_sbg(HIGH_END).log_likelihood


def test_recovers_duration_dependence() -> None:
    rng = np.random.default_rng(7)
    survivors = _simulate_bdw(rng, alpha=0.8, beta=2.0, c=0.6, size=20000, periods=10)
    fit = fit_bdw(survivors)
    assert abs(fit.c - 0.6) < 3 * fit.c_se
    assert fit.c_se < 0.1
    choice = select_retention_model(survivors)
    assert choice.name == "BdW"
    assert choice.reason.startswith("BdW")
    assert "falls with tenure" in choice.reason


def test_keeps_the_sbg_when_there_is_no_duration_dependence() -> None:
    rng = np.random.default_rng(11)
    survivors = _simulate_bdw(rng, alpha=0.8, beta=2.0, c=1.0, size=5000, periods=8)
    choice = select_retention_model(survivors)
    assert choice.name == "sBG"
    assert isinstance(choice.model, SBGFit)
    assert choice.p_value > 0.05
    assert "no significant duration dependence" in choice.reason


def test_paper_cohorts_choice() -> None:
    regular = select_retention_model(REGULAR)
    assert regular.name == "sBG"
    assert regular.lr_statistic == pytest.approx(
        2 * (regular.bdw.log_likelihood - regular.sbg.log_likelihood)
    )
    high_end = select_retention_model(HIGH_END)
    assert high_end.name == "BdW"
    assert high_end.bdw.c > 1
    assert high_end.bdw.aic < high_end.sbg.aic


def test_selection_accepts_a_table_of_cohorts() -> None:
    choice = select_retention_model([REGULAR, REGULAR[:5]])
    assert choice.model.members == 2000
    with pytest.raises(ValueError, match="significance"):
        select_retention_model(REGULAR, significance=1.5)


def test_bdw_derl_and_money_surface() -> None:
    fit = fit_bdw(REGULAR)
    values = fit.derl(0.1, [0, 3, 7])
    assert values.shape == (3,)
    assert np.all(np.diff(values) > 0)
    expected = (Decimal("100") * Decimal(repr(float(values[1])))).quantize(Decimal("0.01"))
    assert fit.residual_value(Decimal("100"), 0.1, 3) == expected


def test_bdw_cohorts_and_minimum_length() -> None:
    fit = fit_bdw_cohorts([REGULAR, REGULAR[:4]])
    assert fit.members == 2000
    with pytest.raises(ValueError, match="at least 4 periods"):
        fit_bdw([1000, 600, 400])
    with pytest.raises(ValueError, match="BdW c must be positive"):
        BdWFit(alpha=1.0, beta=1.0, c=-1.0)
