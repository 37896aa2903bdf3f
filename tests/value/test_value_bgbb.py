"""BG/BB: likelihood, expectations that must add up, recovery from simulated members."""

from __future__ import annotations

import numpy as np
import pytest

from imis_tier.value import BGBBFit, fit_bgbb
from imis_tier.value.bgbb import _histories, _loglik

FIT = BGBBFit(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)


def _all_histories(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (x, t_x) a member can show after n periods."""
    pairs = [(0, 0)] + [(x, t) for t in range(1, n + 1) for x in range(1, t + 1)]
    x, t_x = zip(*pairs, strict=True)
    return np.array(x), np.array(t_x)


def _simulate(
    rng: np.random.Generator, params: tuple[float, float, float, float], size: int, n: int
) -> np.ndarray:
    """Purchase indicators (members x periods) under the BG/BB story."""
    a, b, g, d = params
    p = rng.beta(a, b, size)
    theta = rng.beta(g, d, size)
    # Alive in period t while no dropout has occurred at the start of periods 1..t.
    alive = np.cumprod(rng.uniform(size=(size, n)) >= theta[:, None], axis=1).astype(bool)
    return alive & (rng.uniform(size=(size, n)) < p[:, None])


def _summarise(buys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = buys.sum(axis=1)
    periods = np.arange(1, buys.shape[1] + 1)
    t_x = np.where(x > 0, (buys * periods).max(axis=1), 0)
    return x, t_x


def test_history_probabilities_sum_to_one() -> None:
    for n in (1, 4, 6):
        x, t_x = _all_histories(n)
        assert FIT.probability(x, t_x, n).sum() == pytest.approx(1.0, rel=1e-12)


def test_conditional_expectations_average_to_the_unconditional() -> None:
    # Law of total expectation: weighting E[X(n, n+k) | history] by P(history) gives
    # E[X(n+k)] - E[X(n)].
    n, k = 6, 5
    x, t_x = _all_histories(n)
    weights = FIT.probability(x, t_x, n)
    conditional = FIT.conditional_expected_transactions(k, x, t_x, n)
    expected = FIT.expected_transactions(n + k) - FIT.expected_transactions(n)
    assert float(weights @ conditional) == pytest.approx(expected, rel=1e-10)
    # Same law for being alive in period n + 1.
    alive = float(weights @ FIT.p_alive(x, t_x, n))
    from scipy.special import betaln

    assert alive == pytest.approx(
        float(np.exp(betaln(FIT.gamma, FIT.delta + n + 1) - betaln(FIT.gamma, FIT.delta))),
        rel=1e-10,
    )


def test_recent_frequent_buyers_are_worth_more() -> None:
    p_alive = FIT.p_alive([6, 3, 3, 3, 3], [6, 6, 5, 4, 3], 6)
    assert p_alive[0] == pytest.approx(p_alive[1])  # bought in period 6: alive then either way
    assert np.all(np.diff(p_alive[1:]) < 0)  # a longer silence since the last purchase
    future = FIT.conditional_expected_transactions(5, [6, 3, 3, 3, 3], [6, 6, 5, 4, 3], 6)
    assert future[0] > future[1]  # as surely alive, and buys more often
    assert np.all(np.diff(future[1:]) < 0)
    assert np.all(future > 0)


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    x, t_x = _summarise(_simulate(rng, (1.2, 0.75, 0.66, 2.8), 500, 6))
    h = _histories(x, t_x, 6, None)
    params = np.array([1.0, 0.9, 0.8, 2.0])
    _, grad = _loglik(h, params)
    step = 1e-6
    numeric = [
        (_loglik(h, params + e)[0] - _loglik(h, params - e)[0]) / (2 * step)
        for e in np.eye(4) * step
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_recovers_parameters_from_simulated_members_with_mixed_tenure() -> None:
    rng = np.random.default_rng(2024)
    truth = (1.2, 0.75, 0.66, 2.8)
    xs, txs, ns = [], [], []
    for n in (4, 6, 8):  # members who joined in different years
        x, t_x = _summarise(_simulate(rng, truth, 10000, n))
        xs.append(x)
        txs.append(t_x)
        ns.append(np.full(len(x), n))
    fit = fit_bgbb(np.concatenate(xs), np.concatenate(txs), np.concatenate(ns))
    assert fit.members == 30000
    estimates = (fit.alpha, fit.beta, fit.gamma, fit.delta)
    ses = (fit.alpha_se, fit.beta_se, fit.gamma_se, fit.delta_se)
    for est, se, true in zip(estimates, ses, truth, strict=True):
        assert abs(est - true) < 3.5 * se


def test_per_member_rows_equal_weighted_patterns() -> None:
    x = np.array([0, 0, 0, 1, 2, 2])
    t_x = np.array([0, 0, 0, 3, 4, 4])
    per_member = fit_bgbb(x, t_x, 5)
    weighted = fit_bgbb([0, 1, 2], [0, 3, 4], 5, weights=[3, 1, 2])
    assert weighted.log_likelihood == pytest.approx(per_member.log_likelihood, rel=1e-10)


@pytest.mark.parametrize(
    ("x", "t_x", "n", "message"),
    [
        ([2], [1], [6], "frequency cannot exceed recency"),
        ([1], [7], [6], "recency cannot exceed periods"),
        ([0], [2], [6], "recency must be 0 exactly when frequency is 0"),
        ([1.5], [2], [6], r"frequency\[0\] must be a non-negative whole number"),
        ([0], [0], [0], "periods must be at least 1"),
    ],
)
def test_invalid_histories_are_rejected(
    x: list[float], t_x: list[float], n: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fit_bgbb(x, t_x, n)
