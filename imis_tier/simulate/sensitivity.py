"""How much a forecast hangs on each uncertain input: tornado tables and price sweeps.

- :func:`tornado` swings each uncertain model input (a coefficient, or a group moved together:
  the price sensitivity, a benefit's value, switching costs, a tier constant) across its
  confidence interval, or by a fixed share, and records the change in net revenue, lapse rate and
  members. Inputs are ranked by how far they move the first metric.
- :func:`price_sweep` moves one tier's price over a grid, the others held, and gives the expected
  revenue, members and lapse curves (vectorised for the conditional logit: a 200-point sweep is a
  single pass over members).

Both run on expected values from a :class:`~imis_tier.simulate.optimize.PriceResponse`, so they
are smooth and reproducible; forecast intervals come from the simulator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from imis_tier.simulate.optimize import (
    BoolArray,
    FloatArray,
    LogitPriceResponse,
    PriceResponse,
    expected_outcome,
)
from imis_tier.structure import LAPSE, TierStructure

if TYPE_CHECKING:
    from imis_tier.simulate.design import Members
    from imis_tier.simulate.model import TierChoiceModel

Outcomes = Callable[[FloatArray], Mapping[str, float]]
"""Expected outcomes (metric name -> value) of the structure studied, under a coefficient vector."""

DEFAULT_METRICS = ("net_revenue", "lapse_rate", "members")
_CHUNK_CELLS = 4_000_000  # points x members x alternatives evaluated at once in a sweep


# ---------------------------------------------------------------------- which inputs are uncertain


def default_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """The uncertain inputs of a tier-choice model, grouped for a tornado, from parameter names.

    ``price`` with its ``price_x_*`` interactions form *price sensitivity*; ``price_rise`` is
    *price-rise aversion* and ``benefit_loss`` *benefit-loss aversion*; ``switch_up`` /
    ``switch_down`` (or names with ``inertia``/``switch``) are *switching cost*; each
    ``use.<benefit>`` is that benefit's value; each ``asc.<tier>`` (or ``asc_<j>``) a tier
    constant. Parameters matching none (lapse traits, nest parameters) are
    left out: they describe members, not the structure.
    """
    groups: dict[str, list[str]] = {}

    def add(label: str, name: str) -> None:
        groups.setdefault(label, []).append(name)

    for name in names:
        low = name.lower()
        if low == "price_rise":
            add("price-rise aversion", name)
        elif low == "benefit_loss":
            add("benefit-loss aversion", name)
        elif low == "price" or low.startswith("price_x_") or low == "price_scaled":
            add("price sensitivity", name)
        elif low.startswith(("switch", "inertia", "current")):
            add("switching cost", name)
        elif low.startswith(("use.", "benefit.", "use_")):
            add(f"value of {re.split(r'[._]', name, maxsplit=1)[1]}", name)
        elif low.startswith(("asc.", "asc_")):
            add(f"constant {name[4:]}", name)
    return groups


# ---------------------------------------------------------------------- tornado


@dataclass(frozen=True)
class Tornado:
    """A tornado table: one row per (input, metric).

    ``frame`` columns: input, params, metric, base, low, high (the metric with the input at the
    low/high end of its swing), low_delta, high_delta, swing (``|high - low|``). Rows are ordered by
    the swing of the first metric, largest first.
    """

    frame: pd.DataFrame
    swing: str  # "95% CI" or "+/-10%"
    base: Mapping[str, float]

    def inputs(self) -> list[str]:
        return list(dict.fromkeys(self.frame["input"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "swing": self.swing,
            "base": dict(self.base),
            "rows": self.frame.to_dict(orient="records"),
        }


def tornado(
    outcomes: Outcomes,
    coef: ArrayLike,
    names: Sequence[str],
    *,
    se: ArrayLike | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    level: float = 0.95,
    pct: float | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
) -> Tornado:
    """Swing each uncertain input and record the change in ``metrics``.

    ``coef``/``names``/``se`` are the model's estimates, parameter names and standard errors.
    With ``se`` each parameter of an input moves to the ends of its ``level`` confidence interval
    (``coef +- z se``); with ``pct`` instead it moves by that share of its value
    (``coef * (1 +- pct)``). Parameters of a group move together, in the same direction.
    ``groups`` maps input labels to parameter names (default :func:`default_groups`).
    """
    theta = np.asarray(coef, dtype=np.float64)
    labels = list(names)
    if theta.shape != (len(labels),):
        raise ValueError(f"coef has shape {theta.shape} but {len(labels)} names were given")
    if (se is None) == (pct is None):
        raise ValueError("give exactly one of se (confidence-interval swings) or pct (+/- share)")
    if se is not None:
        half = np.asarray(se, dtype=np.float64)
        if half.shape != theta.shape or not np.isfinite(half).all() or (half < 0).any():
            raise ValueError(f"se must be {theta.shape[0]} non-negative finite numbers")
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        half = half * float(stats.norm.ppf(0.5 + level / 2))
        label = f"{level:.0%} CI"
    else:
        assert pct is not None
        if not pct > 0:
            raise ValueError(f"pct must be positive, got {pct}")
        half = np.abs(theta) * pct
        label = f"+/-{pct:.0%}"
    chosen = dict(groups) if groups is not None else default_groups(labels)
    if not chosen:
        raise ValueError(f"no uncertain inputs among the parameters {labels}")
    index = {n: i for i, n in enumerate(labels)}
    base = dict(outcomes(theta))
    unknown_metrics = [m for m in metrics if m not in base]
    if unknown_metrics:
        raise ValueError(f"outcomes do not report {unknown_metrics}; they report {sorted(base)}")
    rows: list[dict[str, Any]] = []
    for input_label, params in chosen.items():
        missing = [p for p in params if p not in index]
        if missing:
            raise ValueError(f"input {input_label!r}: no parameters {missing} in {labels}")
        idx = np.array([index[p] for p in params], dtype=np.intp)
        low_theta, high_theta = theta.copy(), theta.copy()
        low_theta[idx] -= half[idx]
        high_theta[idx] += half[idx]
        low, high = outcomes(low_theta), outcomes(high_theta)
        for m in metrics:
            rows.append(
                {
                    "input": input_label,
                    "params": ", ".join(params),
                    "metric": m,
                    "base": float(base[m]),
                    "low": float(low[m]),
                    "high": float(high[m]),
                    "low_delta": float(low[m]) - float(base[m]),
                    "high_delta": float(high[m]) - float(base[m]),
                    "swing": abs(float(high[m]) - float(low[m])),
                }
            )
    frame = pd.DataFrame(rows)
    lead = frame[frame["metric"] == metrics[0]].sort_values("swing", ascending=False, kind="stable")
    rank = {name: r for r, name in enumerate(lead["input"])}
    frame = (
        frame.assign(_r=frame["input"].map(rank), _m=frame["metric"].map(list(metrics).index))
        .sort_values(["_r", "_m"], kind="stable")
        .drop(columns=["_r", "_m"])
        .reset_index(drop=True)
    )
    return Tornado(frame=frame, swing=label, base={m: float(base[m]) for m in metrics})


def response_outcomes(
    make_response: Callable[[FloatArray], PriceResponse],
    prices: ArrayLike,
    costs: Mapping[str, Decimal | float] | None = None,
    *,
    discount: float = 0.9,
) -> Outcomes:
    """:data:`Outcomes` from a factory building a price response under given coefficients."""

    def run(theta: FloatArray) -> dict[str, float]:
        response = make_response(theta)
        out = expected_outcome(response, prices, costs, discount=discount)
        result = {
            "net_revenue": float(out.net_revenue),
            "dues_revenue": float(out.dues_revenue),
            "lifetime_value": float(out.lifetime_value),
            "lapse_rate": out.lapse_rate,
            "members": out.members,
        }
        result.update({f"members:{k}": v for k, v in out.members_by_tier.items()})
        return result

    return run


# ---------------------------------------------------------------------- price sweeps


def price_sweep(
    response: PriceResponse,
    tier: str,
    grid: ArrayLike,
    prices: ArrayLike,
    costs: Mapping[str, Decimal | float] | None = None,
) -> pd.DataFrame:
    """Expected outcomes as one tier's list price moves over ``grid``, the others at ``prices``.

    Columns: tier, price, net_revenue, dues_revenue, lapse_rate, members, then members_<code> per
    tier. Money is in dollars (floats: these are curves, not amounts to bill).
    """
    codes = response.tier_codes
    if tier not in codes:
        raise ValueError(f"no tier {tier!r} in the price response (tiers: {', '.join(codes)})")
    base = response.price_vector(prices)
    points = np.asarray(grid, dtype=np.float64).ravel()
    if points.size == 0 or not np.isfinite(points).all() or (points < 0).any():
        raise ValueError("grid must hold at least one finite, non-negative price")
    rows = np.repeat(base[None, :], points.size, axis=0)
    rows[:, codes.index(tier)] = points
    cost = response.cost_vector(costs)
    if isinstance(response, LogitPriceResponse):
        out = _logit_sweep(response, codes.index(tier), points, base, cost)
    else:
        out = _generic_sweep(response, rows, cost)
    tiers = np.concatenate(out["tiers"])
    frame = pd.DataFrame(
        {
            "tier": tier,
            "price": points,
            "net_revenue": np.concatenate(out["net"]),
            "dues_revenue": np.concatenate(out["dues"]),
            "lapse_rate": np.concatenate(out["lapse"]),
            "members": np.concatenate(out["members"]),
        }
    )
    for j, code in enumerate(codes):
        frame[f"members_{code}"] = tiers[:, j]
    return frame


def _generic_sweep(
    response: PriceResponse, rows: FloatArray, cost: FloatArray
) -> dict[str, list[FloatArray]]:
    """Sweep figures from full probability matrices, a chunk of points at a time."""
    w = response.weights
    lapse = response.lapse_column
    cols = response.tier_columns
    chunk = max(1, _CHUNK_CELLS // max(1, response.n_members * len(response.alternatives)))
    out: dict[str, list[FloatArray]] = {k: [] for k in ("net", "dues", "lapse", "members", "tiers")}
    for start in range(0, rows.shape[0], chunk):
        block = rows[start : start + chunk]
        P = response.probabilities_many(block)  # (points, members, alternatives)
        full = np.zeros((block.shape[0], len(response.alternatives)))
        full[:, cols] = block
        paid = response.price_factor[None, :, :] * full[:, None, :]
        dues = np.einsum("gna,gna,n->g", P, paid, w)
        served = np.einsum("gna,a,n->g", P, cost, w)
        extra = (1.0 - P[:, :, lapse]) @ (w * response.retained_value)
        out["dues"].append(dues)
        out["net"].append(dues - served + extra)
        out["lapse"].append((P[:, :, lapse] @ w) / w.sum())
        out["members"].append(w.sum() - P[:, :, lapse] @ w)
        out["tiers"].append(np.einsum("gna,n->ga", P[:, :, cols], w))
    return out


def _logit_sweep(
    response: LogitPriceResponse,
    j: int,
    points: FloatArray,
    base: FloatArray,
    cost: FloatArray,
) -> dict[str, list[FloatArray]]:
    """Sweep figures of a logit moving one tier's price: O(points x members), not x alternatives.

    Only the swept column's utility moves, so each member's other alternatives keep their
    relative odds: with ``Q`` their shares among themselves and ``P_c`` the swept tier's
    probability, every other probability is ``(1 - P_c) Q``. Totals are then dot products.
    """
    w = response.weights
    lapse = response.lapse_column
    cols = response.tier_columns
    c = int(cols[j])
    V = response._utilities(base[None, :])[0]
    others = response.available.copy()
    others[:, c] = False
    has_other: BoolArray = np.asarray(others.any(axis=1), dtype=bool)
    v_other = np.where(others, V, -np.inf)
    L = np.where(
        has_other, special.logsumexp(np.where(has_other[:, None], v_other, 0.0), axis=1), 0.0
    )
    Q = np.where(others, np.exp(np.where(others, V, 0.0) - L[:, None]), 0.0)
    full = response.list_prices(base)
    paid = response.price_factor * full[None, :]
    wD = w * (Q * paid).sum(axis=1)
    wC = w * (Q @ cost)
    wQ0 = w * Q[:, lapse]
    wQ0rv = wQ0 * response.retained_value
    wrv = float(w @ response.retained_value)
    W = float(w.sum())
    open_c = response.available[:, c]
    # expit(v - shift): a huge shift closes the swept tier, -huge leaves it as the only choice.
    shift = np.where(open_c, np.where(has_other, L, -1e300), 1e300)
    factor_c = response.price_factor[:, c]
    chunk = max(1, _CHUNK_CELLS // max(1, response.n_members))
    out: dict[str, list[FloatArray]] = {k: [] for k in ("net", "dues", "lapse", "members", "tiers")}
    for start in range(0, points.size, chunk):
        g = points[start : start + chunk]
        rows = np.repeat(base[None, :], g.size, axis=0)
        rows[:, j] = g
        vc = response._utilities_of(c, rows)  # (points, members)
        vc -= shift[None, :]
        Pc = special.expit(vc, out=vc)  # 1 with no other alternative, 0 when closed (via shift)
        r = 1.0 - Pc
        dues = (Pc * factor_c[None, :]) @ w * g + r @ wD
        served = Pc @ (w * cost[c]) + r @ wC
        lapsed = r @ wQ0
        out["dues"].append(dues)
        out["net"].append(dues - served + wrv - r @ wQ0rv)
        out["lapse"].append(lapsed / W)
        out["members"].append(W - lapsed)
        tiers = r @ (w[:, None] * Q[:, cols])
        tiers[:, j] = Pc @ w
        out["tiers"].append(tiers)
    return out


def price_sweeps(
    response: PriceResponse,
    prices: ArrayLike,
    costs: Mapping[str, Decimal | float] | None = None,
    *,
    points: int = 200,
    span: tuple[float, float] = (0.5, 1.5),
    tiers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`price_sweep` for each tier over ``span`` times its price (``points`` points each)."""
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    lo, hi = span
    if not 0 <= lo < hi:
        raise ValueError(f"span must be (low, high) multiples with 0 <= low < high, got {span}")
    base = response.price_vector(prices)
    frames = []
    for code in tiers or response.tier_codes:
        if code == LAPSE:
            continue
        p = base[response.tier_codes.index(code)]
        grid = np.linspace(lo * p, hi * p, points)
        frames.append(price_sweep(response, code, grid, base, costs))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------- on the tier-choice model


def structure_tornado(
    model: TierChoiceModel,
    panel: pd.DataFrame,
    structure: TierStructure,
    *,
    benefit_costs: Mapping[str, Decimal | float] | None = None,
    status_quo: TierStructure | None = None,
    like: Mapping[str, str] | None = None,
    pct: float | None = None,
    level: float = 0.95,
    groups: Mapping[str, Sequence[str]] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
) -> Tornado:
    """:func:`tornado` of a fitted :class:`TierChoiceModel` for the members of ``panel``.

    The outcomes are the expected next-renewal figures of ``structure`` (net revenue counts
    dues, non-dues revenue of retained members and the cost to serve). Without ``pct`` inputs
    swing over their ``level`` confidence intervals (robust standard errors). ``status_quo``
    (when ``structure`` drops tiers members hold today) supplies the ranks of those tiers;
    ``like`` maps new tiers to the known tier whose constant they borrow.
    """
    from imis_tier.simulate.design import tier_costs
    from imis_tier.simulate.optimize import choice_model_response

    members = _members(model, panel, structure, status_quo)
    prices = np.array([float(t.price) for t in structure.tiers])
    per_tier = tier_costs(structure, dict(benefit_costs or {}))
    costs = {code: float(c) for code, c in zip(structure.codes, per_tier, strict=False)}
    outcomes = response_outcomes(
        lambda theta: choice_model_response(model, members, structure, coef=theta, like=like),
        prices,
        costs,
    )
    names = list(model.estimator_.param_names_)
    se = None if pct is not None else np.asarray(model.estimator_.bse_, dtype=np.float64)
    return tornado(
        outcomes, model.coef_, names, se=se, pct=pct, level=level, groups=groups, metrics=metrics
    )


def structure_sweeps(
    model: TierChoiceModel,
    panel: pd.DataFrame,
    structure: TierStructure,
    *,
    benefit_costs: Mapping[str, Decimal | float] | None = None,
    points: int = 200,
    span: tuple[float, float] = (0.5, 1.5),
    tiers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`price_sweeps` of a fitted :class:`TierChoiceModel` around ``structure``'s prices."""
    from imis_tier.simulate.design import tier_costs
    from imis_tier.simulate.optimize import choice_model_response

    unknown = [t for t in tiers or () if t not in structure.codes]
    if unknown:
        raise ValueError(
            f"no tier(s) {unknown} in the structure (tiers: {', '.join(structure.codes)})"
        )
    members = _members(model, panel, structure)
    response = choice_model_response(model, members, structure)
    per_tier = tier_costs(structure, dict(benefit_costs or {}))
    costs = {code: float(c) for code, c in zip(structure.codes, per_tier, strict=False)}
    prices = np.array([float(t.price) for t in structure.tiers])
    return price_sweeps(response, prices, costs, points=points, span=span, tiers=tiers)


def _members(
    model: TierChoiceModel,
    panel: pd.DataFrame,
    structure: TierStructure,
    status_quo: TierStructure | None = None,
) -> Members:
    from imis_tier.simulate.design import Members

    ranks = {t.code: t.rank for t in (status_quo or structure).tiers}
    ranks.update({t.code: t.rank for t in structure.tiers if t.code not in ranks})
    members = Members.from_panel(panel, model.spec_.usage_benefits, ranks)
    if len(members) == 0:
        raise ValueError("the panel has no members holding a tier")
    return members.holding(status_quo or structure)
