"""What every fitted contractual retention model offers, given its survivor function.

A subclass supplies ``log S(t)`` (the probability a member is still active after renewal
opportunity ``t``); survival, retention, churn probabilities, discounted expected residual
lifetime (DERL), residual value in money, projections and information criteria follow from it.

Timing follows Fader & Hardie (2010): a member who has made ``n`` renewals is at the end of
contract period ``n + 1``, about to decide on the next renewal. Her DERL counts that imminent
renewal undiscounted and each later one discounted by a further period::

    DERL(d | n) = sum_{j >= 0} S(n + 1 + j) / S(n) / (1 + d)^j
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

CENT = Decimal("0.01")
Periods = Sequence[int] | Sequence[float] | NDArray[Any]
"""Several periods at once: the array-friendly overloads return an array for these."""
_DERL_TAIL = 1e-12  # series truncation error bound, in units of one period's dues


def as_discount_rate(discount_rate: float | Decimal) -> float:
    """Validate a per-period discount rate (> 0, finite) and return it as a float."""
    try:
        d = float(discount_rate)
    except (TypeError, ValueError):
        raise ValueError(f"discount_rate must be a number, got {discount_rate!r}") from None
    if not math.isfinite(d) or d <= 0:
        raise ValueError(f"discount_rate must be positive and finite, got {discount_rate!r}")
    return d


def as_periods(values: ArrayLike, *, name: str, minimum: int) -> NDArray[np.float64]:
    """Validate whole-number periods >= ``minimum`` and return them as a float array."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be whole numbers, got {values!r}")
    if np.any(arr < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {values!r}")
    return arr


def _out(arr: NDArray[np.float64]) -> float | NDArray[np.float64]:
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True, kw_only=True)
class RetentionFit(ABC):
    """A fitted (or hand-specified) contractual retention model.

    ``log_likelihood`` is NaN for a model built from parameters rather than fitted;
    ``members`` is the number of members the fit saw (the observations behind BIC);
    ``cohort_size`` is the single fitted cohort's size (the default for :meth:`project`);
    ``degenerate`` is true when the data do not identify the parameters (an estimate diverged,
    or its standard error exceeds 10x its value): the fitted curve may still be right, as for a
    cohort without heterogeneity, but the parameters themselves should not be read.
    """

    log_likelihood: float = math.nan
    members: int = 0
    cohort_size: int | None = None
    degenerate: bool = False

    model_name: ClassVar[str] = "retention model"
    n_params: ClassVar[int] = 0

    @abstractmethod
    def _log_survival(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """log S(t) for t >= 0 (floats holding whole numbers); log S(0) = 0."""

    @overload
    def survival(self, t: int | np.integer[Any]) -> float: ...
    @overload
    def survival(self, t: Periods) -> NDArray[np.float64]: ...
    @overload
    def survival(self, t: ArrayLike) -> float | NDArray[np.float64]: ...
    def survival(self, t: ArrayLike) -> float | NDArray[np.float64]:
        """S(t): probability a member is still active after renewal opportunity t (t >= 0)."""
        periods = as_periods(t, name="t", minimum=0)
        return _out(np.exp(self._log_survival(periods)))

    @overload
    def retention(self, t: int | np.integer[Any]) -> float: ...
    @overload
    def retention(self, t: Periods) -> NDArray[np.float64]: ...
    @overload
    def retention(self, t: ArrayLike) -> float | NDArray[np.float64]: ...
    def retention(self, t: ArrayLike) -> float | NDArray[np.float64]:
        """r_t = S(t) / S(t - 1): probability of renewing at opportunity t given t - 1 (t >= 1)."""
        periods = as_periods(t, name="t", minimum=1)
        return _out(np.exp(self._log_survival(periods) - self._log_survival(periods - 1)))

    @overload
    def churn_probability(self, t: int | np.integer[Any]) -> float: ...
    @overload
    def churn_probability(self, t: Periods) -> NDArray[np.float64]: ...
    @overload
    def churn_probability(self, t: ArrayLike) -> float | NDArray[np.float64]: ...
    def churn_probability(self, t: ArrayLike) -> float | NDArray[np.float64]:
        """P(T = t) = S(t - 1) - S(t): probability a new member lapses at opportunity t (t >= 1)."""
        periods = as_periods(t, name="t", minimum=1)
        before = self._log_survival(periods - 1)
        step = self._log_survival(periods) - before
        # S(t-1) * (1 - r_t), with expm1 so tiny churn probabilities keep their digits.
        return _out(np.exp(before) * -np.expm1(step))

    @overload
    def derl(
        self, discount_rate: float | Decimal, renewals: int | np.integer[Any] = 0
    ) -> float: ...
    @overload
    def derl(self, discount_rate: float | Decimal, renewals: Periods) -> NDArray[np.float64]: ...
    @overload
    def derl(
        self, discount_rate: float | Decimal, renewals: ArrayLike
    ) -> float | NDArray[np.float64]: ...
    def derl(
        self, discount_rate: float | Decimal, renewals: ArrayLike = 0
    ) -> float | NDArray[np.float64]:
        """Discounted expected residual lifetime of a member who has made ``renewals`` renewals.

        In periods of dues: the imminent renewal counts 1 x its probability, undiscounted.
        Models without a closed form sum the series, truncated where the tail is below 1e-12.
        """
        d = as_discount_rate(discount_rate)
        n = as_periods(renewals, name="renewals", minimum=0)
        # Members share few distinct tenures: evaluate each once.
        distinct, inverse = np.unique(n, return_inverse=True)
        return _out(self._derl(d, distinct)[inverse].reshape(n.shape))

    def _derl(self, d: float, n: NDArray[np.float64]) -> NDArray[np.float64]:
        terms = math.ceil(math.log((1.0 + d) / (d * _DERL_TAIL)) / math.log1p(d))
        j = np.arange(terms, dtype=np.float64)
        flat = n.reshape(-1)
        log_s = self._log_survival(flat[:, None] + 1.0 + j[None, :])
        log_s -= self._log_survival(flat)[:, None]
        total = np.exp(log_s - j[None, :] * math.log1p(d)).sum(axis=1)
        return total.reshape(n.shape)

    def discounted_expected_lifetime(self, discount_rate: float | Decimal) -> float:
        """DEL: expected discounted number of payments of a member just acquired (first paid now).

        Equals ``1 + derl(d, 0) / (1 + d)``: the first payment, then the renewals from the end of
        the first period, discounted one period.
        """
        d = as_discount_rate(discount_rate)
        return 1.0 + float(self.derl(d, 0)) / (1.0 + d)

    def residual_value(
        self, net_dues: Decimal, discount_rate: float | Decimal, renewals: int = 0
    ) -> Decimal:
        """Expected discounted future net dues of a member who has made ``renewals`` renewals.

        ``net_dues`` is the dues net of the cost to serve, per period, as a Decimal; the result is
        DERL x net dues rounded to the cent (half-even).
        """
        if not isinstance(net_dues, Decimal):
            raise TypeError(f"net_dues must be a Decimal, got {type(net_dues).__name__}")
        if not net_dues.is_finite():
            raise ValueError(f"net_dues must be finite, got {net_dues}")
        if isinstance(renewals, bool) or not isinstance(renewals, int | np.integer):
            raise TypeError(f"renewals must be an int, got {renewals!r}")
        derl = float(self.derl(discount_rate, int(renewals)))
        # repr(float) round-trips exactly, so the Decimal product carries DERL's full precision.
        return (Decimal(repr(derl)) * net_dues).quantize(CENT, rounding=ROUND_HALF_EVEN)

    def project(self, n_periods: int, cohort_size: int | None = None) -> NDArray[np.float64]:
        """Expected survivors at t = 0 .. ``n_periods`` of a cohort (default: the fitted one)."""
        if isinstance(n_periods, bool) or not isinstance(n_periods, int | np.integer):
            raise TypeError(f"n_periods must be an int, got {n_periods!r}")
        if n_periods < 0:
            raise ValueError(f"n_periods must not be negative, got {n_periods}")
        size = self.cohort_size if cohort_size is None else cohort_size
        if size is None:
            raise ValueError(
                "cohort_size is required: this model was not fitted to a single cohort"
            )
        if size < 0:
            raise ValueError(f"cohort_size must not be negative, got {size}")
        t = np.arange(int(n_periods) + 1, dtype=np.float64)
        return float(size) * np.exp(self._log_survival(t))

    @property
    def aic(self) -> float:
        """Akaike information criterion, 2k - 2 LL."""
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """Bayesian information criterion, k ln(members) - 2 LL (members = observations)."""
        if self.members <= 0:
            return math.nan
        return self.n_params * math.log(self.members) - 2.0 * self.log_likelihood
