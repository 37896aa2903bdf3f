"""Price optimisation under guardrails: the tier prices that maximise net revenue or lifetime value.

The objective and the guardrails are *expected* values over the members about to renew: choice
probabilities, not sampled choices, so they are smooth in the prices and SLSQP can follow their
gradients. A :class:`PriceResponse` says how the probabilities move with the list prices:

- :class:`LogitPriceResponse` for a conditional logit whose utility is linear in price (analytic
  probabilities and gradients; a 200-point price sweep is one vectorised pass);
- :class:`ModelPriceResponse` for any fitted choice model with ``probabilities_wide`` and a
  function building its wide design from the prices (gradients by central differences).

:func:`optimize_prices` runs SLSQP from several starts (the status quo first, then seeded random
feasible points) and keeps the best feasible optimum; :class:`PriceOptimum` reports the proposal,
its expected outcome next to the status quo's, and which guardrails bind.

For a conditional logit with one price coefficient ``beta`` and identical members, the optimum
without guardrails has the multiproduct-logit property ``p_j - c_j = 1 / (-beta * P(lapse))`` for
every tier: equal markups.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize as sciopt

from imis_tier.choice import ConditionalLogit
from imis_tier.choice._wide import masked_softmax, wide_inputs
from imis_tier.simulate.design import Alternatives, Members, design
from imis_tier.simulate.guardrails import OBJECTIVES, Guardrails, GuardrailsError
from imis_tier.structure import LAPSE, TierStructure

if TYPE_CHECKING:
    from imis_tier.simulate.model import TierChoiceModel
    from imis_tier.simulate.scenario import Scenario

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_CENT = Decimal("0.01")
_FEAS_TOL = 1e-6  # largest scaled constraint violation still counted as feasible
_BIND_TOL = 1e-4  # a constraint within this (scaled) slack binds


class InfeasibleGuardrails(GuardrailsError):
    """No price vector satisfies every guardrail (from any start of the optimiser)."""


# ---------------------------------------------------------------------- how prices move choices


class PriceResponse:
    """Expected renewal choices of a population as a function of the tiers' list prices.

    Subclasses set the attributes below and implement :meth:`probabilities`; :meth:`jacobian`
    defaults to central differences.

    Attributes
    ----------
    tier_codes:
        The tiers whose prices are the arguments, in the order of the price vectors.
    alternatives:
        The columns of the probability matrix: tier codes and :data:`LAPSE`.
    price_factor:
        (members, alternatives) share of a tier's list price each member pays (1 minus their
        segment discount); 0 for LAPSE and unavailable tiers.
    weights:
        (members,) how many members each row stands for (ones by default).
    members:
        Optional (members, ...) frame of member traits (segments) for protected-segment guardrails.
    retained_value:
        (members,) what a member brings besides dues while they stay (non-dues revenue per
        cycle); counted in net revenue and lifetime value. Zeros by default.
    """

    tier_codes: tuple[str, ...]
    alternatives: tuple[str, ...]
    price_factor: FloatArray
    weights: FloatArray
    members: pd.DataFrame | None
    retained_value: FloatArray

    def _setup(
        self,
        tier_codes: Sequence[str],
        alternatives: Sequence[str],
        price_factor: ArrayLike | None,
        n_members: int,
        weights: ArrayLike | None,
        members: pd.DataFrame | None,
    ) -> None:
        self.tier_codes = tuple(str(c) for c in tier_codes)
        self.alternatives = tuple(str(a) for a in alternatives)
        if LAPSE not in self.alternatives:
            raise ValueError(f"alternatives must include {LAPSE!r}, got {list(self.alternatives)}")
        missing = [c for c in self.tier_codes if c not in self.alternatives]
        if missing:
            raise ValueError(
                f"tier codes {missing} are not among the alternatives {list(self.alternatives)}"
            )
        A = len(self.alternatives)
        self._cols = np.array([self.alternatives.index(c) for c in self.tier_codes], dtype=np.intp)
        self._lapse = self.alternatives.index(LAPSE)
        if price_factor is None:
            factor = np.ones((n_members, A))
        else:
            factor = np.array(price_factor, dtype=np.float64)
        if factor.shape != (n_members, A):
            raise ValueError(f"price_factor must have shape {(n_members, A)}, got {factor.shape}")
        factor[:, self._lapse] = 0.0
        priced = np.zeros(A, dtype=bool)
        priced[self._cols] = True
        factor[:, ~priced] = 0.0
        self.price_factor = factor
        w = np.ones(n_members) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (n_members,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(
                f"weights must be {n_members} non-negative numbers with a positive sum"
            )
        self.weights = w
        if members is not None and len(members) != n_members:
            raise ValueError(f"members has {len(members)} rows, the response has {n_members}")
        self.members = members
        self.retained_value = np.zeros(n_members)

    @property
    def n_members(self) -> int:
        return int(self.weights.shape[0])

    @property
    def lapse_column(self) -> int:
        return self._lapse

    @property
    def tier_columns(self) -> NDArray[np.intp]:
        return self._cols

    def price_vector(self, prices: ArrayLike) -> FloatArray:
        """``prices`` checked: one finite number per tier of ``tier_codes``."""
        return _price_vector(prices, len(self.tier_codes))

    def cost_vector(self, costs: Mapping[str, Decimal | float] | None) -> FloatArray:
        """Per alternative column, the cost to serve a member for a cycle (0 for LAPSE)."""
        return _cost_vector(self, costs)

    def list_prices(self, prices: ArrayLike) -> FloatArray:
        """The price of each alternative column (0 for LAPSE and unpriced columns)."""
        p = _price_vector(prices, len(self.tier_codes))
        out = np.zeros(len(self.alternatives))
        out[self._cols] = p
        return out

    def paid(self, prices: ArrayLike) -> FloatArray:
        """(members, alternatives) dues each member would pay for each alternative."""
        return self.price_factor * self.list_prices(prices)[None, :]

    def probabilities(self, prices: ArrayLike) -> FloatArray:
        """(members, alternatives) choice probabilities at the list ``prices``."""
        raise NotImplementedError

    def probabilities_many(self, price_rows: ArrayLike) -> FloatArray:
        """(points, members, alternatives) probabilities for each row of ``price_rows``."""
        rows = np.atleast_2d(np.asarray(price_rows, dtype=np.float64))
        return np.stack([self.probabilities(r) for r in rows])

    def jacobian(self, prices: ArrayLike) -> FloatArray:
        """(members, alternatives, tiers) derivatives of the probabilities by each list price."""
        p = _price_vector(prices, len(self.tier_codes))
        out = np.empty((self.n_members, len(self.alternatives), p.shape[0]))
        for j in range(p.shape[0]):
            h = 1e-4 * max(1.0, abs(p[j]))
            up, down = p.copy(), p.copy()
            up[j] += h
            down[j] -= h
            out[:, :, j] = (self.probabilities(up) - self.probabilities(down)) / (2.0 * h)
        return out

    def expectation_jacobians(
        self, prices: FloatArray, P: FloatArray, cells: Sequence[FloatArray]
    ) -> list[FloatArray]:
        """For each (members, alternatives) array ``g``, the (members, tiers) derivatives of
        ``sum_k P_ik g_ik`` by each list price, ``g`` held fixed. ``P`` is the probability at
        ``prices``. Subclasses with structure (the logit) avoid forming the full Jacobian.
        """
        dP = self.jacobian(prices)
        return [np.einsum("nkj,nk->nj", dP, g) for g in cells]


class LogitPriceResponse(PriceResponse):
    """Conditional-logit choices with utility linear in the paid price, plus an optional kink.

    ``V_ij = base_ij + slope_ij * p_j + kink_slope_ij * softplus(p_j - kink_at_ij)``: ``base``
    (members, alternatives) is the utility at zero prices and ``slope`` its change per dollar of
    list price ``p_j`` (the price coefficient times the price feature's scale times the member's
    price factor). The kink term carries a reaction to a *rise* over what a member last paid
    (``kink_at``: the list price where the rise starts); ``max(0, x)`` is smoothed over
    ``smoothing`` dollars so the objective has gradients everywhere. ``available`` masks the
    alternatives open to each member. Use :meth:`from_model` to build one from a fitted
    :class:`ConditionalLogit` and a wide design.
    """

    def __init__(
        self,
        base: ArrayLike,
        slope: ArrayLike,
        *,
        tier_codes: Sequence[str],
        alternatives: Sequence[str],
        available: ArrayLike | None = None,
        price_factor: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        members: pd.DataFrame | None = None,
        kink_slope: ArrayLike | None = None,
        kink_at: ArrayLike | None = None,
        smoothing: float = 1.0,
    ) -> None:
        b = np.asarray(base, dtype=np.float64)
        if b.ndim != 2:
            raise ValueError(f"base must be (members, alternatives), got shape {b.shape}")
        self._setup(tier_codes, alternatives, price_factor, b.shape[0], weights, members)
        s = np.asarray(slope, dtype=np.float64)
        if s.shape != b.shape:
            raise ValueError(f"slope must have the shape of base {b.shape}, got {s.shape}")
        mask = (
            np.ones(b.shape, dtype=bool) if available is None else np.asarray(available, dtype=bool)
        )
        if mask.shape != b.shape:
            raise ValueError(f"available must have shape {b.shape}, got {mask.shape}")
        if not mask.any(axis=1).all():
            raise ValueError("every member needs at least one available alternative")
        self.base = np.where(mask, b, 0.0)
        self.slope = np.where(mask, s, 0.0)
        self.available = mask
        self.kink_slope: FloatArray | None = None
        self.kink_at = np.zeros(b.shape)
        if kink_slope is not None:
            ks = np.asarray(kink_slope, dtype=np.float64)
            ka = np.asarray(kink_at if kink_at is not None else np.zeros(b.shape), dtype=np.float64)
            if ks.shape != b.shape or ka.shape != b.shape:
                raise ValueError(f"kink_slope and kink_at must have shape {b.shape}")
            if not np.isfinite(ka[mask & (ks != 0)]).all():
                raise ValueError("kink_at must be finite where kink_slope is not zero")
            self.kink_slope = np.where(mask, ks, 0.0)
            self.kink_at = np.where(mask & (ks != 0), ka, 0.0)
            # Kinked cells are few (a member's current tier): keep their coordinates.
            self._kink_cells = np.nonzero(self.kink_slope)
            self._tier_of_column = np.full(b.shape[1], -1, dtype=np.intp)
            self._tier_of_column[self._cols] = np.arange(self._cols.shape[0])
            if (self._tier_of_column[self._kink_cells[1]] < 0).any():
                raise ValueError("kink_slope must be zero outside the tier columns")
        if not smoothing > 0:
            raise ValueError(f"smoothing must be positive, got {smoothing}")
        self.smoothing = float(smoothing)

    @classmethod
    def from_model(
        cls,
        model: ConditionalLogit,
        X3d: ArrayLike,
        *,
        price_feature: str | int,
        tier_codes: Sequence[str],
        alternatives: Sequence[str],
        price_scale: float = 1.0,
        available: ArrayLike | None = None,
        price_factor: ArrayLike | None = None,
        coef: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        members: pd.DataFrame | None = None,
    ) -> LogitPriceResponse:
        """From a fitted conditional logit and its (members, alternatives, features) design.

        The price feature of each tier cell is ``price_scale * paid price`` (``price_scale`` 0.01
        when the model was fitted on prices in hundreds of dollars); its values in ``X3d`` are
        replaced, every other feature is kept.
        """
        theta = np.asarray(model.coef_ if coef is None else coef, dtype=np.float64)
        names = list(model.param_names_)
        k = (
            price_feature
            if isinstance(price_feature, int)
            else _feature_index(names, price_feature)
        )
        arr, mask = wide_inputs(X3d, available, model.n_features_in_)
        zeroed = arr.copy()
        zeroed[:, :, k] = 0.0
        base = zeroed @ theta[: model.n_features_in_]
        A = arr.shape[1]
        factor = (
            np.ones((arr.shape[0], A))
            if price_factor is None
            else np.asarray(price_factor, dtype=np.float64)
        )
        out = cls(
            base,
            np.zeros_like(base),
            tier_codes=tier_codes,
            alternatives=alternatives,
            available=mask,
            price_factor=factor,
            weights=weights,
            members=members,
        )
        out.slope = np.where(mask, float(theta[k]) * price_scale * out.price_factor, 0.0)
        return out

    def _utilities(self, price_rows: FloatArray) -> FloatArray:
        full = np.zeros((price_rows.shape[0], len(self.alternatives)))
        full[:, self._cols] = price_rows
        v = self.base[None, :, :] + self.slope[None, :, :] * full[:, None, :]
        if self.kink_slope is not None:
            rows, cols = self._kink_cells
            h = self.smoothing
            over = (full[:, cols] - self.kink_at[rows, cols][None, :]) / h
            v[:, rows, cols] += self.kink_slope[rows, cols][None, :] * (h * np.logaddexp(0.0, over))
        return v

    def _utilities_of(self, column: int, price_rows: FloatArray) -> FloatArray:
        """(points, members) utility of one alternative column at each row of prices."""
        j = int(np.flatnonzero(self._cols == column)[0])
        p = price_rows[:, j][:, None]
        v = self.base[None, :, column] + self.slope[None, :, column] * p
        if self.kink_slope is not None:
            # Only members whose current tier this is carry the kink: evaluate it for them alone.
            who = np.flatnonzero(self.kink_slope[:, column])
            h = self.smoothing
            over = (p - self.kink_at[who, column][None, :]) / h
            v[:, who] += self.kink_slope[who, column][None, :] * (h * np.logaddexp(0.0, over))
        return np.asarray(v, dtype=np.float64)

    def _marginal_utility(self, prices: FloatArray) -> FloatArray:
        """(members, tiers) d V_i,col(j) / d p_j."""
        cols = self._cols
        out = self.slope[:, cols].copy()
        if self.kink_slope is not None:
            rows, kcols = self._kink_cells
            tier = self._tier_of_column[kcols]
            over = (prices[tier] - self.kink_at[rows, kcols]) / self.smoothing
            out[rows, tier] += self.kink_slope[rows, kcols] * (0.5 * (1.0 + np.tanh(over / 2.0)))
        return out

    def probabilities(self, prices: ArrayLike) -> FloatArray:
        p = _price_vector(prices, len(self.tier_codes))
        return self.probabilities_many(p[None, :])[0]

    def probabilities_many(self, price_rows: ArrayLike) -> FloatArray:
        rows = np.atleast_2d(np.asarray(price_rows, dtype=np.float64))
        return masked_softmax(self._utilities(rows), self.available[None])

    def jacobian(self, prices: ArrayLike) -> FloatArray:
        # dP_ik / dp_j = P_ik (1[k = col j] - P_i,col j) * slope_i,col j
        p = self.price_vector(prices)
        P = self.probabilities(p)
        cols = self._cols
        Pj = P[:, cols]  # (n, J)
        sj = self._marginal_utility(p)
        out = -P[:, :, None] * (Pj * sj)[:, None, :]
        out[:, cols, np.arange(cols.shape[0])] += Pj * sj
        return out

    def expectation_jacobians(
        self, prices: FloatArray, P: FloatArray, cells: Sequence[FloatArray]
    ) -> list[FloatArray]:
        # d/dp_j sum_k P_ik g_ik = s_ij P_i,col j (g_i,col j - sum_k P_ik g_ik): O(members x tiers).
        cols = self._cols
        weight = self._marginal_utility(prices) * P[:, cols]
        return [weight * (g[:, cols] - (P * g).sum(axis=1)[:, None]) for g in cells]


class ModelPriceResponse(PriceResponse):
    """Any fitted choice model with ``probabilities_wide``, given a design function.

    ``design(prices)`` returns the (members, alternatives, features) design at the list
    ``prices`` (ordered as ``tier_codes``); ``probability_kwargs`` go to ``probabilities_wide``
    (e.g. ``alternatives=`` for a nested logit). Gradients are central differences.
    """

    def __init__(
        self,
        model: Any,
        design: Callable[[FloatArray], ArrayLike],
        *,
        tier_codes: Sequence[str],
        alternatives: Sequence[str],
        n_members: int,
        available: ArrayLike | None = None,
        price_factor: ArrayLike | None = None,
        coef: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        members: pd.DataFrame | None = None,
        probability_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._setup(tier_codes, alternatives, price_factor, n_members, weights, members)
        self.model = model
        self.design = design
        self.available = available
        self.coef = coef
        self.probability_kwargs = dict(probability_kwargs or {})

    def probabilities(self, prices: ArrayLike) -> FloatArray:
        p = _price_vector(prices, len(self.tier_codes))
        out = self.model.probabilities_wide(
            self.design(p), self.available, coef=self.coef, **self.probability_kwargs
        )
        return np.asarray(out, dtype=np.float64)


def _price_vector(prices: ArrayLike, n: int) -> FloatArray:
    p = np.asarray(prices, dtype=np.float64)
    if p.shape != (n,) or not np.isfinite(p).all():
        raise ValueError(f"prices must be {n} finite numbers, got {p!r}")
    return p


def _feature_index(names: list[str], name: str) -> int:
    if name not in names:
        raise ValueError(f"no feature {name!r} in the model; its parameters are {names}")
    return names.index(name)


# ---------------------------------------------------------------------- expected outcomes


@dataclass(frozen=True)
class ExpectedOutcome:
    """Expected results of one renewal cycle at a set of list prices.

    Money is in dollars (Decimal, to the cent); rates are fractions; members are expected counts
    (weighted) after the renewal.
    """

    prices: Mapping[str, Decimal]
    net_revenue: Decimal
    dues_revenue: Decimal
    lifetime_value: Decimal
    lapse_rate: float
    members: float
    members_by_tier: Mapping[str, float]
    segments: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prices": {k: str(v) for k, v in self.prices.items()},
            "net_revenue": str(self.net_revenue),
            "dues_revenue": str(self.dues_revenue),
            "lifetime_value": str(self.lifetime_value),
            "lapse_rate": self.lapse_rate,
            "members": self.members,
            "members_by_tier": dict(self.members_by_tier),
            "segments": {k: dict(v) for k, v in self.segments.items()},
        }


class _Metrics:
    """Values and price gradients of the objective and guardrail quantities at one price vector."""

    def __init__(
        self,
        response: PriceResponse,
        costs: FloatArray,
        discount: float,
        segment_masks: Mapping[str, BoolArray],
    ) -> None:
        self.r = response
        self.costs = costs  # per alternative column
        self.discount = discount
        self.masks = segment_masks
        self._key: bytes | None = None
        self._cache: dict[str, tuple[float, FloatArray]] = {}

    def at(self, prices: FloatArray) -> dict[str, tuple[float, FloatArray]]:
        key = prices.tobytes()
        if key == self._key:
            return self._cache
        r = self.r
        P = r.probabilities(prices)
        w = r.weights
        factor = r.price_factor
        paid = r.paid(prices)
        cols, lapse = r.tier_columns, r.lapse_column
        # d paid_ik / d p_j is factor_ik when k is the column of tier j.
        own = P[:, cols] * factor[:, cols]  # (n, J): P_i,col(j) * factor_i,col(j)
        margin_cell = paid - self.costs[None, :]
        margin_cell[:, lapse] = 0.0
        onehot = [np.zeros_like(P) for _ in range(len(cols) + 1)]
        for i, c in enumerate([lapse, *cols]):
            onehot[i][:, c] = 1.0
        d_margin, d_paid, d_lapse, *d_tiers = r.expectation_jacobians(
            prices, P, [margin_cell, paid, *onehot]
        )
        m = (P * margin_cell).sum(axis=1)
        dm = d_margin + own
        rev = (P * paid).sum(axis=1)
        drev = d_paid + own
        q = 1.0 - P[:, lapse]
        dq = -d_lapse
        extra = r.retained_value
        m = m + q * extra
        dm = dm + dq * extra[:, None]
        out: dict[str, tuple[float, FloatArray]] = {}
        W = w.sum()
        out["net_revenue"] = (float(w @ m), w @ dm)
        out["dues_revenue"] = (float(w @ rev), w @ drev)
        denom = 1.0 - self.discount * q
        ltv = m / denom
        dltv = dm / denom[:, None] + (m * self.discount / denom**2)[:, None] * dq
        out["lifetime_value"] = (float(w @ ltv), w @ dltv)
        out["lapse_rate"] = (float(w @ P[:, lapse]) / W, (w @ d_lapse) / W)
        out["members"] = (float(w @ q), w @ dq)
        for j, code in enumerate(r.tier_codes):
            out[f"members:{code}"] = (float(w @ P[:, cols[j]]), w @ d_tiers[j])
        for name, mask in self.masks.items():
            ws = np.where(mask, w, 0.0)
            Ws = ws.sum()
            if Ws <= 0:
                continue
            out[f"segment:{name}:lapse_rate"] = (
                float(ws @ P[:, lapse]) / Ws,
                (ws @ d_lapse) / Ws,
            )
            a, da = float(ws @ rev), ws @ drev
            b, db = float(ws @ q), ws @ dq
            b = max(b, 1e-12)
            out[f"segment:{name}:effective_price"] = (a / b, (da * b - a * db) / b**2)
            out[f"segment:{name}:members"] = (b, db)
        self._key, self._cache = key, out
        return out


def expected_outcome(
    response: PriceResponse,
    prices: ArrayLike,
    costs: Mapping[str, Decimal | float] | None = None,
    *,
    discount: float = 0.9,
    segments: Mapping[str, BoolArray] | None = None,
) -> ExpectedOutcome:
    """Expected one-cycle outcome at ``prices`` (ordered as ``response.tier_codes``)."""
    p = _price_vector(prices, len(response.tier_codes))
    metrics = _Metrics(response, _cost_vector(response, costs), discount, segments or {}).at(p)
    return _outcome(response, p, metrics, segments or {})


def _outcome(
    response: PriceResponse,
    p: FloatArray,
    metrics: Mapping[str, tuple[float, FloatArray]],
    segments: Mapping[str, BoolArray],
) -> ExpectedOutcome:
    seg: dict[str, dict[str, float]] = {}
    for name in segments:
        if f"segment:{name}:lapse_rate" in metrics:
            seg[name] = {
                key: float(metrics[f"segment:{name}:{key}"][0])
                for key in ("lapse_rate", "effective_price", "members")
            }
    return ExpectedOutcome(
        prices={c: _money(v) for c, v in zip(response.tier_codes, p, strict=True)},
        net_revenue=_money(metrics["net_revenue"][0]),
        dues_revenue=_money(metrics["dues_revenue"][0]),
        lifetime_value=_money(metrics["lifetime_value"][0]),
        lapse_rate=float(metrics["lapse_rate"][0]),
        members=float(metrics["members"][0]),
        members_by_tier={c: float(metrics[f"members:{c}"][0]) for c in response.tier_codes},
        segments=seg,
    )


def _money(x: float) -> Decimal:
    return Decimal(repr(float(x))).quantize(_CENT)


def _cost_vector(
    response: PriceResponse, costs: Mapping[str, Decimal | float] | None
) -> FloatArray:
    out = np.zeros(len(response.alternatives))
    for code, value in (costs or {}).items():
        if code not in response.alternatives:
            raise ValueError(
                f"cost given for {code!r}, which is not an alternative {list(response.alternatives)}"
            )
        out[response.alternatives.index(code)] = float(value)
    out[response.lapse_column] = 0.0
    return out


def segment_masks(response: PriceResponse, guardrails: Guardrails) -> dict[str, BoolArray]:
    """Which members fall in each protected segment of ``guardrails``."""
    out: dict[str, BoolArray] = {}
    for i, seg in enumerate(guardrails.protected_segments):
        if response.members is None:
            raise guardrails.error(
                f"protected_segments[{i}]",
                f"segment {seg.name!r} needs member traits, but the price response has none",
            )
        frame = response.members
        mask = np.ones(len(frame), dtype=bool)
        for fld, values in seg.where.items():
            if fld not in frame.columns:
                raise guardrails.error(
                    f"protected_segments[{i}].where.{fld}",
                    f"members have no field {fld!r}; known fields: {', '.join(map(str, frame.columns))}",
                )
            mask &= frame[fld].astype(str).isin(values).to_numpy()
        if not mask.any():
            raise guardrails.error(
                f"protected_segments[{i}].where",
                f"segment {seg.name!r} matches no member up for renewal",
            )
        out[seg.name] = mask
    return out


# ---------------------------------------------------------------------- the optimiser


@dataclass(frozen=True)
class GuardrailReport:
    """One guardrail at the proposal: its value, its limit and the slack between them.

    ``slack`` is in the guardrail's own units (dollars, or a rate), non-negative when met;
    ``binding`` when the proposal sits on the limit (the guardrail holds the optimum back).
    """

    name: str
    description: str
    value: float
    limit: float
    slack: float
    binding: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "value": self.value,
            "limit": self.limit,
            "slack": self.slack,
            "binding": self.binding,
        }


@dataclass(frozen=True)
class PriceOptimum:
    """The optimiser's proposal next to the status quo.

    ``prices`` are rounded to the cent; ``exact_prices`` are the optimiser's floats (in the order
    of ``tier_codes``). ``proposal`` and ``status_quo`` are expected outcomes; ``guardrails`` has
    one report per guardrail evaluated at the rounded prices. ``forecast`` is filled by callers
    that also run the simulator on the proposed structure.
    """

    objective: str
    tier_codes: tuple[str, ...]
    prices: Mapping[str, Decimal]
    current_prices: Mapping[str, Decimal]
    exact_prices: FloatArray
    proposal: ExpectedOutcome
    status_quo: ExpectedOutcome
    guardrails: tuple[GuardrailReport, ...]
    starts: int
    feasible_starts: int
    message: str
    guardrails_source: str = "(none)"
    forecast: Any = None

    @property
    def binding(self) -> tuple[GuardrailReport, ...]:
        return tuple(g for g in self.guardrails if g.binding)

    @property
    def gain(self) -> Decimal:
        """Objective at the proposal minus at the status quo."""
        return getattr(self.proposal, self.objective) - getattr(self.status_quo, self.objective)

    def structure(self, base: TierStructure) -> TierStructure:
        """``base`` with the proposed prices."""
        out = base
        for code, price in self.prices.items():
            out = out.with_price(code, price)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "prices": {k: str(v) for k, v in self.prices.items()},
            "current_prices": {k: str(v) for k, v in self.current_prices.items()},
            "gain": str(self.gain),
            "proposal": self.proposal.to_dict(),
            "status_quo": self.status_quo.to_dict(),
            "guardrails": [g.to_dict() for g in self.guardrails],
            "binding": [g.name for g in self.binding],
            "starts": self.starts,
            "feasible_starts": self.feasible_starts,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Constraint:
    """``fun(prices) >= 0`` in scaled units; ``unscale`` turns the scaled slack back into units."""

    name: str
    description: str
    kind: str  # "bound", "linear" or "nonlinear"
    value: Callable[[FloatArray], tuple[float, FloatArray]]  # (value in units, gradient)
    limit: float
    upper: bool  # value <= limit (True) or value >= limit (False)
    scale: float

    def slack(self, prices: FloatArray) -> tuple[float, FloatArray]:
        v, g = self.value(prices)
        if self.upper:
            return (self.limit - v) / self.scale, -g / self.scale
        return (v - self.limit) / self.scale, g / self.scale


def optimize_prices(
    response: PriceResponse,
    current_prices: Mapping[str, Decimal],
    *,
    guardrails: Guardrails | None = None,
    structure: TierStructure | None = None,
    costs: Mapping[str, Decimal | float] | None = None,
    objective: str = "net_revenue",
    discount: float = 0.9,
    starts: int = 6,
    seed: int = 0,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> PriceOptimum:
    """Maximise ``objective`` over the list prices of ``response.tier_codes`` under ``guardrails``.

    ``guardrails=None`` leaves prices free (only non-negative). ``current_prices`` is the status
    quo (every tier of the response); ``structure`` supplies the
    tier ranks for ordering and gap guardrails (by default the order of ``tier_codes`` is taken as
    rank order). ``costs`` is each tier's marginal cost per member per cycle (cost to serve), so
    net revenue is expected dues minus costs. ``lifetime_value`` values each member's expected
    margin over the cycles they are expected to stay at today's renewal probability,
    ``margin / (1 - discount * P(renew))``. ``starts`` SLSQP runs (the status quo first, the
    others from seeded random feasible points); the best feasible one wins. ``tol`` is SLSQP's
    tolerance on the (status-quo scaled) objective: the default settles prices to about a cent;
    much tighter values make SLSQP crawl along binding nonlinear guardrails.
    Raises :class:`InfeasibleGuardrails` when no start reaches a feasible point.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not 0 <= discount < 1:
        raise ValueError(f"discount must be in [0, 1), got {discount}")
    if starts < 1:
        raise ValueError(f"starts must be at least 1, got {starts}")
    # No guardrails means none at all, not even ordering (a file orders prices by default).
    g = guardrails if guardrails is not None else Guardrails(ordered_prices=False)
    codes = response.tier_codes
    missing = [c for c in codes if c not in current_prices]
    if missing:
        raise ValueError(f"current_prices has no price for tiers {missing}")
    p0 = np.array([float(current_prices[c]) for c in codes])
    order = _rank_order(codes, structure)
    if structure is not None:
        g.check_structure(structure)
    lo, hi = _bounds(g, codes, current_prices, structure)
    masks = segment_masks(response, g)
    metrics = _Metrics(response, _cost_vector(response, costs), discount, masks)
    status = metrics.at(p0)
    constraints = _constraints(g, codes, order, metrics, status, masks)

    free = np.flatnonzero(hi - lo > 1e-9)
    fixed_p = np.where(hi - lo > 1e-9, 0.0, lo)
    scale = np.maximum(np.abs(p0), 1.0)
    obj_scale = max(abs(status[objective][0]), 1.0)

    def full(x: FloatArray) -> FloatArray:
        p = fixed_p.copy()
        p[free] = x * scale[free]
        return p

    def fun(x: FloatArray) -> tuple[float, FloatArray]:
        val, grad = metrics.at(full(x))[objective]
        return -val / obj_scale, -grad[free] * scale[free] / obj_scale

    cons = [
        {
            "type": "ineq",
            "fun": (lambda x, c=c: c.slack(full(x))[0]),
            "jac": (lambda x, c=c: c.slack(full(x))[1][free] * scale[free]),
        }
        for c in constraints
    ]
    bounds = [(lo[j] / scale[j], (hi[j] / scale[j]) if np.isfinite(hi[j]) else None) for j in free]

    rng = np.random.default_rng(seed)
    best: tuple[float, FloatArray] | None = None
    best_violation = (np.inf, p0)
    feasible = 0
    messages: list[str] = []
    for s in range(starts):
        start = p0 if s == 0 else _random_start(rng, p0, lo, hi, order)
        start = _repair(np.clip(start, lo, hi), lo, hi, order, codes, g)
        if free.size == 0:
            x_opt = np.empty(0)
        else:
            res = sciopt.minimize(
                fun,
                start[free] / scale[free],
                jac=True,
                method="SLSQP",
                bounds=bounds,
                constraints=cons,
                options={"maxiter": max_iter, "ftol": tol},
            )
            x_opt = np.asarray(res.x, dtype=np.float64)
            messages.append(str(res.message))
        p = full(x_opt)
        violation = _violation(p, lo, hi, constraints)
        if violation > _FEAS_TOL:
            if violation < best_violation[0]:
                best_violation = (violation, p)
            continue
        feasible += 1
        value = metrics.at(p)[objective][0]
        if best is None or value > best[0]:
            best = (value, p)
    if best is None:
        worst = _violations(best_violation[1], constraints, lo, hi, codes)
        raise InfeasibleGuardrails(
            f"{g.source}: no prices satisfy every guardrail ({starts} starts); closest attempt "
            f"breaks: {'; '.join(worst)}"
        )
    p_best = best[1]
    rounded = np.array([float(_money(v)) for v in p_best])
    prop_metrics = metrics.at(rounded)
    proposal = _outcome(response, rounded, prop_metrics, masks)
    quo = _outcome(response, p0, metrics.at(p0), masks)
    reports = _reports(p_best, rounded, lo, hi, codes, constraints, current_prices, g)
    return PriceOptimum(
        objective=objective,
        tier_codes=codes,
        prices={c: _money(v) for c, v in zip(codes, p_best, strict=True)},
        current_prices={c: Decimal(str(current_prices[c])).quantize(_CENT) for c in codes},
        exact_prices=p_best,
        proposal=proposal,
        status_quo=quo,
        guardrails=reports,
        starts=starts,
        feasible_starts=feasible,
        message=messages[0] if messages else "all prices fixed by guardrails",
        guardrails_source=g.source if guardrails is not None else "(none)",
    )


def _rank_order(codes: tuple[str, ...], structure: TierStructure | None) -> NDArray[np.intp]:
    """Indices of ``codes`` from lowest to highest rank."""
    if structure is None:
        return np.arange(len(codes), dtype=np.intp)
    ranks = []
    for c in codes:
        try:
            ranks.append(structure.tier(c).rank)
        except KeyError:
            raise ValueError(f"tier {c!r} of the price response is not in the structure") from None
    return np.argsort(np.asarray(ranks), kind="stable").astype(np.intp)


def _bounds(
    g: Guardrails,
    codes: tuple[str, ...],
    current: Mapping[str, Decimal],
    structure: TierStructure | None,
) -> tuple[FloatArray, FloatArray]:
    if structure is None:
        from imis_tier.structure import Tier

        structure = TierStructure(
            tuple(
                Tier(c, c, Decimal(str(current[c])), frozenset(), rank=i)
                for i, c in enumerate(codes)
            )
        )
    else:
        structure = _with_prices(structure, {c: Decimal(str(current[c])) for c in codes})
    table = g.price_bounds(structure)
    lo = np.array([float(table[c][0]) for c in codes])
    hi = np.array([_or_inf(table[c][1]) for c in codes])
    return lo, hi


def _or_inf(value: Decimal | None) -> float:
    return float(value) if value is not None else float(np.inf)


def _with_prices(structure: TierStructure, prices: Mapping[str, Decimal]) -> TierStructure:
    out = structure
    for code, price in prices.items():
        if out.tier(code).price != price:
            out = out.with_price(code, price)
    return out


def _constraints(
    g: Guardrails,
    codes: tuple[str, ...],
    order: NDArray[np.intp],
    metrics: _Metrics,
    status: Mapping[str, tuple[float, FloatArray]],
    masks: Mapping[str, BoolArray],
) -> list[_Constraint]:
    out: list[_Constraint] = []
    J = len(codes)
    if g.ordered_prices:
        for lower, upper in itertools.pairwise(order):
            gap = float(g.min_gap_below(codes[upper]))
            grad = np.zeros(J)
            grad[upper], grad[lower] = 1.0, -1.0

            def diff(
                p: FloatArray, a: int = int(upper), b: int = int(lower), gr: FloatArray = grad
            ) -> tuple[float, FloatArray]:
                return float(p[a] - p[b]), gr

            out.append(
                _Constraint(
                    name=f"gap:{codes[lower]}<{codes[upper]}",
                    description=f"{codes[upper]} at least ${gap:,.2f} above {codes[lower]}",
                    kind="linear",
                    value=diff,
                    limit=gap,
                    upper=False,
                    scale=100.0,
                )
            )

    def metric(key: str) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        return lambda p: metrics.at(p)[key]

    if g.max_lapse_rate_rise is not None:
        base = status["lapse_rate"][0]
        out.append(
            _Constraint(
                name="lapse_rate_rise",
                description=f"lapse rate at most {100 * g.max_lapse_rate_rise:.2f} points above {base:.2%}",
                kind="nonlinear",
                value=metric("lapse_rate"),
                limit=base + g.max_lapse_rate_rise,
                upper=True,
                scale=0.01,
            )
        )
    for seg in g.protected_segments:
        if seg.name not in masks:
            continue
        key = f"segment:{seg.name}"
        if seg.max_effective_price is not None:
            out.append(
                _Constraint(
                    name=f"{seg.name}:effective_price",
                    description=f"{seg.name}: expected dues per renewing member at most ${seg.max_effective_price}",
                    kind="nonlinear",
                    value=metric(f"{key}:effective_price"),
                    limit=float(seg.max_effective_price),
                    upper=True,
                    scale=100.0,
                )
            )
        if seg.max_lapse_rate is not None:
            out.append(
                _Constraint(
                    name=f"{seg.name}:lapse_rate",
                    description=f"{seg.name}: lapse rate at most {seg.max_lapse_rate:.2%}",
                    kind="nonlinear",
                    value=metric(f"{key}:lapse_rate"),
                    limit=seg.max_lapse_rate,
                    upper=True,
                    scale=0.01,
                )
            )
        if seg.max_lapse_rate_rise is not None:
            base = status[f"{key}:lapse_rate"][0]
            out.append(
                _Constraint(
                    name=f"{seg.name}:lapse_rate_rise",
                    description=f"{seg.name}: lapse rate at most {100 * seg.max_lapse_rate_rise:.2f} points above {base:.2%}",
                    kind="nonlinear",
                    value=metric(f"{key}:lapse_rate"),
                    limit=base + seg.max_lapse_rate_rise,
                    upper=True,
                    scale=0.01,
                )
            )
    return out


def _random_start(
    rng: np.random.Generator,
    p0: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    order: NDArray[np.intp],
) -> FloatArray:
    top = np.where(np.isfinite(hi), hi, np.maximum(2.0 * p0, lo + 100.0))
    draw = lo + rng.random(p0.shape[0]) * (top - lo)
    out = np.empty_like(draw)
    out[order] = np.sort(draw)  # ranked tiers get ascending prices
    return np.clip(out, lo, top)


def _repair(
    p: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    order: NDArray[np.intp],
    codes: tuple[str, ...],
    g: Guardrails,
) -> FloatArray:
    """Push prices up the ranks so ordering and gaps hold where bounds allow (a good start)."""
    if not g.ordered_prices:
        return p
    out = p.copy()
    for lower, upper in itertools.pairwise(order):
        need = out[lower] + float(g.min_gap_below(codes[upper]))
        if out[upper] < need:
            out[upper] = min(need, hi[upper])
    return np.clip(out, lo, hi)


def _violation(
    p: FloatArray, lo: FloatArray, hi: FloatArray, constraints: Sequence[_Constraint]
) -> float:
    scale = np.maximum(np.abs(p), 1.0)
    worst = float(np.max(np.r_[(lo - p) / scale, (p - hi) / scale, 0.0]))
    for c in constraints:
        worst = max(worst, -c.slack(p)[0])
    return worst


def _violations(
    p: FloatArray,
    constraints: Sequence[_Constraint],
    lo: FloatArray,
    hi: FloatArray,
    codes: tuple[str, ...],
) -> list[str]:
    out = []
    for j, c in enumerate(codes):
        if p[j] < lo[j] - 1e-6 or p[j] > hi[j] + 1e-6:
            out.append(f"{c} price {p[j]:.2f} outside [{lo[j]:.2f}, {hi[j]:.2f}]")
    for con in constraints:
        value, _ = con.value(p)
        if con.slack(p)[0] < -_FEAS_TOL:
            out.append(f"{con.description} (is {value:.4g})")
    return out or ["(numerical tolerance only)"]


_WHY = {
    "floor": "floor",
    "ceiling": "ceiling",
    "max_cut": "largest cut allowed",
    "max_rise": "largest rise allowed",
}


def _reports(
    exact: FloatArray,
    rounded: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    codes: tuple[str, ...],
    constraints: Sequence[_Constraint],
    current: Mapping[str, Decimal],
    g: Guardrails,
) -> tuple[GuardrailReport, ...]:
    """Each guardrail at the rounded proposal; binding is judged at the optimiser's exact prices."""
    out: list[GuardrailReport] = []
    for j, code in enumerate(codes):
        rule = g.rule(code)
        p = float(rounded[j])
        if rule.frozen:
            text = f"{code} price frozen at ${current[code]}"
            out.append(GuardrailReport(f"frozen:{code}", text, p, float(lo[j]), 0.0, True))
            continue
        tol = _BIND_TOL * max(abs(float(exact[j])), 1.0)
        if lo[j] > 0:
            why = "floor" if rule.floor is not None and float(rule.floor) == lo[j] else "max_cut"
            out.append(
                GuardrailReport(
                    f"{why}:{code}",
                    f"{code} at least ${lo[j]:,.2f} ({_WHY[why]})",
                    p,
                    float(lo[j]),
                    p - float(lo[j]),
                    bool(exact[j] - lo[j] <= tol),
                )
            )
        if np.isfinite(hi[j]):
            why = (
                "ceiling"
                if rule.ceiling is not None and float(rule.ceiling) == hi[j]
                else "max_rise"
            )
            out.append(
                GuardrailReport(
                    f"{why}:{code}",
                    f"{code} at most ${hi[j]:,.2f} ({_WHY[why]})",
                    p,
                    float(hi[j]),
                    float(hi[j]) - p,
                    bool(hi[j] - exact[j] <= tol),
                )
            )
    for c in constraints:
        value, _ = c.value(rounded)
        slack = (c.limit - value) if c.upper else (value - c.limit)
        binding = c.slack(exact)[0] <= _BIND_TOL
        out.append(
            GuardrailReport(
                c.name, c.description, float(value), float(c.limit), float(slack), bool(binding)
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------- the tier-choice model


def choice_model_response(
    model: TierChoiceModel,
    members: Members,
    structure: TierStructure,
    *,
    coef: ArrayLike | None = None,
    like: Mapping[str, str] | None = None,
    smoothing: float = 1.0,
) -> PriceResponse:
    """The price response of a fitted :class:`TierChoiceModel` for ``members`` under ``structure``.

    Prices of ``structure``'s tiers are the arguments (in rank order); everything else about the
    structure (benefits, eligibility, discounts) stays. For the conditional logit the utilities
    are split exactly into a part linear in each tier's price (price and its career-stage
    interactions) and the price-rise term on the member's current tier, smoothed over
    ``smoothing`` dollars (:class:`LogitPriceResponse`, analytic gradients). Nested and mixed
    logits are scored through their own ``probabilities_wide`` on the rebuilt design
    (:class:`ModelPriceResponse`).
    """
    spec = model.spec_
    theta = model.coef_ if coef is None else np.asarray(coef, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError("coef must be one parameter vector here; loop over draws instead")
    codes = structure.codes
    alternatives = (*codes, LAPSE)
    traits = pd.DataFrame({k: v for k, v in members.segments.items()})

    def laid_out(prices: Sequence[float]) -> Alternatives:
        priced = structure
        for code, p in zip(codes, prices, strict=True):
            priced = priced.with_price(code, Decimal(repr(float(p))))
        return design(members, priced, spec, like=like, dtype=np.float64)

    hundred = laid_out([100.0] * len(codes))
    factor = np.asarray(hundred.prices, dtype=np.float64) / 100.0
    if model.kind != "conditional":
        kwargs: dict[str, Any] = {}
        if model.kind == "nested":
            # Nest membership is all the alternative ids carry: any known tier stands for a tier.
            kwargs["alternatives"] = [LAPSE if c == LAPSE else spec.tiers[0] for c in alternatives]
        generic = ModelPriceResponse(
            model.estimator_,
            lambda p: laid_out(list(p)).X,
            tier_codes=codes,
            alternatives=alternatives,
            n_members=len(members),
            available=hundred.available,
            price_factor=factor,
            coef=theta,
            members=traits,
            probability_kwargs=kwargs,
        )
        generic.retained_value = np.asarray(members.nondues, dtype=np.float64)
        return generic
    zero = laid_out([0.0] * len(codes))
    names = spec.feature_names
    rise = names.index("price_rise") if "price_rise" in names else None
    X0 = np.asarray(zero.X, dtype=np.float64)
    step = np.asarray(hundred.X, dtype=np.float64) - X0
    if rise is not None:
        X0[:, :, rise] = 0.0
        step[:, :, rise] = 0.0
    base = X0 @ theta
    slope = (step @ theta) / 100.0
    kink_slope = kink_at = None
    if rise is not None:
        current = members.current[:, None] == np.asarray(alternatives, dtype=object)[None, :]
        current &= (factor > 0) & ~np.isnan(members.paid)[:, None]  # no reference price, no kink
        kink_slope = np.where(current, theta[rise] * factor / 100.0, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kink_at = np.where(current, members.paid[:, None] / factor, 0.0)
    out = LogitPriceResponse(
        base,
        slope,
        tier_codes=codes,
        alternatives=alternatives,
        available=hundred.available,
        price_factor=factor,
        members=traits,
        kink_slope=kink_slope,
        kink_at=kink_at,
        smoothing=smoothing,
    )
    out.retained_value = np.asarray(members.nondues, dtype=np.float64)
    return out


_DEFAULT_GUARDRAILS = Guardrails(source="(default: prices ordered by rank)")


def price_scenario(optimum: PriceOptimum, name: str | None = None) -> Scenario:
    """The proposal as a scenario of ``set_price`` changes (to forecast, record or hand on).

    The description names the objective and the guardrails that bind, so a recorded run says
    why the prices are what they are.
    """
    from imis_tier.simulate.scenario import Change, Scenario, SetPrice

    changes = [
        Change(set_price=SetPrice(tier=code, price=price))
        for code, price in optimum.prices.items()
        if price != optimum.current_prices[code]
    ]
    binding = ", ".join(g.name for g in optimum.binding) or "none"
    return Scenario(
        name=name or f"optimised prices ({optimum.objective})",
        description=(
            f"imis-tier optimize prices: maximise {optimum.objective}; guardrails "
            f"{optimum.guardrails_source}; binding: {binding}"
        ),
        changes=changes,
    )


def optimize_structure(
    model: TierChoiceModel,
    panel: pd.DataFrame,
    structure: TierStructure,
    *,
    guardrails: Guardrails | None = None,
    benefit_costs: Mapping[str, Decimal | float] | None = None,
    objective: str = "net_revenue",
    discount: float = 0.9,
    starts: int = 6,
    seed: int = 0,
    draws: int = 200,
    level: float = 0.9,
    backend: str = "joblib",
    n_jobs: int = 1,
) -> PriceOptimum:
    """Optimise ``structure``'s tier prices for the members of ``panel``, then forecast the result.

    ``panel`` is :func:`imis_tier.features.build_panel` output (members holding a tier),
    ``benefit_costs`` the yearly cost to serve of each benefit (a tier costs the sum of its
    benefits'). The optimum's ``forecast`` is :func:`imis_tier.simulate.engine.simulate` of the
    proposal against the status quo with ``draws`` parameter draws (0 skips it), carrying the
    intervals of net revenue, lapse and members per tier.
    """
    from imis_tier.simulate.design import tier_costs
    from imis_tier.simulate.engine import simulate

    ranks = {t.code: t.rank for t in structure.tiers}
    members = Members.from_panel(panel, model.spec_.usage_benefits, ranks).holding(structure)
    if len(members) == 0:
        raise ValueError("the panel has no members holding a tier: nothing to optimise")
    response = choice_model_response(model, members, structure)
    per_tier = tier_costs(structure, dict(benefit_costs or {}))
    costs = {code: float(c) for code, c in zip(structure.codes, per_tier, strict=False)}
    optimum = optimize_prices(
        response,
        {t.code: t.price for t in structure.tiers},
        guardrails=guardrails if guardrails is not None else _DEFAULT_GUARDRAILS,
        structure=structure,
        costs=costs,
        objective=objective,
        discount=discount,
        starts=starts,
        seed=seed,
    )
    if draws < 1:
        return optimum
    forecast = simulate(
        price_scenario(optimum),
        panel,
        model,
        status_quo=structure,
        draws=draws,
        seed=seed,
        costs=benefit_costs,
        level=level,
        backend=backend,
        n_jobs=n_jobs,
    )
    return replace(optimum, forecast=forecast)
