"""Honest evaluation of the member scores: a temporal back-test.

Pick a date ``T`` in the past. Train exactly as a scoring run on ``T`` would (monthly panels
before ``T``, labels settled by ``T``), score the members holding a tier on ``T`` from history
before ``T``, then compare with what those members did at their next renewal, which the warehouse
knows because it has data after ``T``. Reported per outcome and per tier: AUC, log loss, Brier,
calibration curve, lift by decile, and for the per-tier churn models the lapse AUC.

On a synthetic association the hidden ground truth gives one more check, how close the predicted
probabilities are to the true ones (correlation and mean absolute error). The truth is read here
only, from the association passed in; it never reaches fitting or scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from imis_tier.features import add_months, build_labels, build_panel, data_horizon
from imis_tier.features.panel import _as_date
from imis_tier.scoring.member_model import OUTCOMES, MemberScoringModel, ScoringError, score_panel
from imis_tier.scoring.metrics import (
    ALL,
    Evaluation,
    calibration_curve,
    evaluate,
    lift_table,
    one_vs_rest_auc,
)
from imis_tier.scoring.pipeline import _DECISION_REACH_DAYS, training_panel
from imis_tier.structure import LAPSE, TierStructure
from imis_tier.warehouse import Warehouse


class TruthSource(Protocol):
    """What the back-test needs of a synthetic association (evaluation only)."""

    @property
    def truth(self) -> Any: ...

    def structure_at(self, day: date) -> TierStructure: ...


@dataclass(frozen=True)
class BacktestReport:
    """The result of :func:`backtest`.

    Attributes:
        at: the back-test date ``T``.
        training_window: (first training as-of date, label horizon ``T``).
        training_rows: rows the model learned from.
        evaluation: :class:`~imis_tier.scoring.metrics.Evaluation` overall and per tier
            (``by_outcome`` carries AUC, lift and, with a truth, ``truth_pearson/spearman/mae``).
        calibration: per tier (and ``(all)``) and outcome, quantile-binned reliability rows.
        lift: per outcome, the decile lift table over all members.
        churn: per tier, the lapse AUC and log loss of the tier churn model vs the multinomial.
        members: members scored at ``T`` whose next renewal is settled (the evaluated rows).
        unscorable: members at ``T`` left unscored, with reasons.
    """

    at: date
    training_window: tuple[date, date]
    training_rows: int
    evaluation: Evaluation
    calibration: pd.DataFrame
    lift: pd.DataFrame
    churn: pd.DataFrame
    members: int
    unscorable: pd.DataFrame

    @property
    def by_outcome(self) -> pd.DataFrame:
        return self.evaluation.by_outcome

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {
                    str(k): (None if isinstance(v, float) and np.isnan(v) else v)
                    for k, v in r.items()
                }
                for r in frame.to_dict("records")
            ]

        return {
            "at": self.at.isoformat(),
            "training_window": [d.isoformat() for d in self.training_window],
            "training_rows": self.training_rows,
            "members": self.members,
            "summary": records(self.evaluation.summary),
            "by_outcome": records(self.evaluation.by_outcome),
            "churn": records(self.churn),
            "calibration": records(self.calibration),
            "lift": records(self.lift),
            "unscorable": len(self.unscorable),
        }

    def to_text(self) -> str:
        """A readable report: per-outcome and per-tier figures, then the churn models."""
        lines = [
            f"back-test at {self.at}: trained on {self.training_rows:,} rows "
            f"({self.training_window[0]} .. labels settled by {self.training_window[1]}), "
            f"evaluated on {self.members:,} members' next renewal",
        ]
        summary = self.evaluation.summary.set_index("group")
        sizes = {str(g): int(n) for g, n in summary["n"].items()}
        table = self.evaluation.by_outcome
        truth = "truth_pearson" in table.columns
        header = f"  {'group':<8} {'outcome':<10} {'n':>6} {'rate':>7} {'mean p':>7} {'AUC':>6} {'lift10':>7}"
        if truth:
            header += f" {'r(true)':>8} {'MAE':>7}"
        lines.append(header)
        for row in table.to_dict("records"):
            line = (
                f"  {row['group']!s:<8} {row['outcome']:<10} {sizes[str(row['group'])]:>6} "
                f"{row['prevalence']:>7.2%} {row['mean_predicted']:>7.2%} "
                f"{_num(row['auc'], 3):>6} {_num(row['lift_top_decile'], 2):>7}"
            )
            if truth:
                line += f" {_num(row['truth_pearson'], 3):>8} {_num(row['truth_mae'], 4):>7}"
            lines.append(line)
        lines.append("  log loss by group: " + ", ".join(
            f"{g} {v:.3f}" for g, v in summary["log_loss"].items()
        ))  # fmt: skip
        lines.append("  churn by tier (lapse AUC: tier model / multinomial):")
        for c in self.churn.to_dict("records"):
            lines.append(
                f"    {c['tier']:<6} n={c['n']:<6} lapse rate {c['lapse_rate']:.1%}  "
                f"AUC {_num(c['auc_tier_model'], 3)} / {_num(c['auc_multinomial'], 3)}"
            )
        return "\n".join(lines)


def _num(value: Any, places: int) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{float(value):.{places}f}"


def default_backtest_date(warehouse: Warehouse, months_before: int = 9) -> date:
    """The month start ``months_before`` the data horizon: late enough to train, early enough
    that most members' next renewal is settled by the end of the data."""
    horizon = data_horizon(warehouse)
    if horizon is None:
        raise ScoringError("the warehouse is empty: nothing to back-test")
    return add_months(horizon, -months_before)


def backtest(
    warehouse: Warehouse,
    at: date | datetime | str | None = None,
    *,
    months: int = 24,
    min_history_months: int = 12,
    model: MemberScoringModel | None = None,
    association: TruthSource | None = None,
    n_bins: int = 10,
) -> BacktestReport:
    """Train as of ``at`` (default :func:`default_backtest_date`), score, compare with what happened.

    Args:
        warehouse: must hold data after ``at`` (the outcomes being checked).
        at: the back-test date.
        months, min_history_months: the training window (as for scoring).
        model: an unfitted :class:`MemberScoringModel` to configure (default parameters otherwise).
        association: a synthetic association; its ground truth adds agreement figures.
        n_bins: bins for the calibration curves.
    """
    day = _as_date(at) if at is not None else default_backtest_date(warehouse)
    train = training_panel(warehouse, day, months=months, min_history_months=min_history_months)
    fitted = (model or MemberScoringModel()).fit(train.X, train.y)

    panel = build_panel(warehouse, day)
    labels = build_labels(warehouse, day)  # settled by the end of the data: after T, by design
    reach = (pd.to_datetime(labels["decision_date"]) - pd.Timestamp(day)).dt.days
    labels = labels[(reach < _DECISION_REACH_DAYS).to_numpy()]
    panel = panel[panel["party_id"].isin(labels["party_id"])].reset_index(drop=True)
    if panel.empty:
        raise ScoringError(
            f"no member at {day} has a settled next renewal in the warehouse: pick an earlier date"
        )
    scored = score_panel(fitted, panel, explain=False)
    frame = scored.scores.merge(
        labels[["party_id", "outcome", "from_tier", "decision_date"]].astype({"party_id": str}),
        on="party_id",
        how="inner",
    )
    proba = frame[[f"p_{o}" for o in OUTCOMES]].set_axis(list(OUTCOMES), axis=1)
    truth = None
    if association is not None:
        truth = true_outcome_probabilities(association, frame)
    evaluation = evaluate(frame["outcome"], proba, groups=frame["tier"], truth=truth, n_bins=n_bins)
    return BacktestReport(
        at=day,
        training_window=train.window,
        training_rows=len(train.X),
        evaluation=evaluation,
        calibration=_calibration_by_tier(frame, proba, n_bins),
        lift=pd.concat(
            [
                lift_table(frame["outcome"], proba, o).assign(outcome=o)
                for o in OUTCOMES
                if (frame["outcome"] == o).any()
            ],
            ignore_index=True,
        ),
        churn=_churn_by_tier(frame),
        members=len(frame),
        unscorable=scored.unscorable,
    )


def _calibration_by_tier(frame: pd.DataFrame, proba: pd.DataFrame, n_bins: int) -> pd.DataFrame:
    parts = [calibration_curve(frame["outcome"], proba, n_bins=n_bins, strategy="quantile")
             .assign(group=ALL)]  # fmt: skip
    for tier in sorted(frame["tier"].unique()):
        rows = (frame["tier"] == tier).to_numpy()
        bins = max(2, min(n_bins, int(rows.sum()) // 50))  # keep ~50 members a bin
        parts.append(
            calibration_curve(frame.loc[rows, "outcome"], proba[rows], n_bins=bins, strategy="quantile")
            .assign(group=tier)
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    return out[["group", *[c for c in out.columns if c != "group"]]]


def _churn_by_tier(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for tier in [ALL, *sorted(frame["tier"].unique())]:
        part = frame if tier == ALL else frame[frame["tier"] == tier]
        lapsed = np.where(part["outcome"] == "lapse", "lapse", "stay")
        rows.append(
            {
                "tier": tier,
                "n": len(part),
                "lapse_rate": float((lapsed == "lapse").mean()),
                "mean_churn_risk": float(part["churn_risk"].mean()),
                "auc_tier_model": _lapse_auc(lapsed, part["churn_risk"].to_numpy()),
                "auc_multinomial": _lapse_auc(lapsed, part["p_lapse"].to_numpy()),
            }
        )
    return pd.DataFrame(rows)


def _lapse_auc(lapsed: np.ndarray, risk: np.ndarray) -> float:
    proba = np.column_stack([risk, 1.0 - risk])
    return float(one_vs_rest_auc(lapsed, proba, ["lapse", "stay"])["lapse"])


def true_outcome_probabilities(
    association: TruthSource, frame: pd.DataFrame, *, tier_ranks: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """The ground truth's probabilities of renew/upgrade/downgrade/lapse at each member's decision.

    ``frame`` has ``party_id``, ``from_tier`` and ``decision_date`` (the labelled decision).
    The truth gives one probability per tier plus LAPSE at the member's first renewal decision in
    or after a month; it is asked once per decision month, with the structure then in force, and
    the tiers are mapped by rank relative to ``from_tier``: the same tier is renew, a higher one
    upgrade, a lower one downgrade. Rows are in ``frame``'s order.
    """
    out = np.full((len(frame), len(OUTCOMES)), np.nan)
    months = pd.to_datetime(frame["decision_date"]).dt.to_period("M")
    for month in sorted(months.unique()):
        rows = np.flatnonzero((months == month).to_numpy())
        first = month.to_timestamp().date()
        structure = association.structure_at(first)
        ranks = dict(tier_ranks) if tier_ranks else {t.code: t.rank for t in structure.tiers}
        ids = frame["party_id"].iloc[rows].astype(int).to_numpy()
        true = association.truth.choice_probabilities(ids, structure, as_of=first)
        true = true.reindex(ids)
        codes = [c for c in true.columns if c != LAPSE]
        matrix = true[codes].to_numpy(dtype=np.float64)
        tier_rank = np.array([ranks.get(c, -1) for c in codes])
        current = frame["from_tier"].iloc[rows].map(ranks).to_numpy(dtype=np.float64)
        same = tier_rank[None, :] == current[:, None]
        out[rows, 0] = (matrix * same).sum(axis=1)
        out[rows, 1] = (matrix * (tier_rank[None, :] > current[:, None])).sum(axis=1)
        out[rows, 2] = (matrix * (tier_rank[None, :] < current[:, None])).sum(axis=1)
        out[rows, 3] = true[LAPSE].to_numpy(dtype=np.float64)
    return pd.DataFrame(out, columns=list(OUTCOMES), index=frame.index)
