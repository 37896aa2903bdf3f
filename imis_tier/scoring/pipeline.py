"""The member-scoring pipeline: warehouse in, scores in the warehouse and (optionally) in iMIS.

::

    from imis_tier.scoring.pipeline import score_members, store_scores, score_and_write_back

    run = score_members(warehouse, as_of="2026-10-01")     # fits a model if none is registered
    store_scores(warehouse, run)                            # table `scores`, one row per member
    run.top("upgrade", 10)                                  # best upgrade candidates
    score_and_write_back(warehouse=wh, client=imis, dry_run=False, as_of=...)  # iMIS + review

Training never looks past the scoring date: the model is fitted on monthly panels of as-of dates
before it, each labelled with the member's next renewal decision *settled before the scoring
date* (``build_labels(..., horizon=as_of)``). See ``docs/scoring.md``.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.features import (
    add_months,
    build_labels,
    build_panel,
    data_horizon,
    history_start,
    month_starts,
)
from imis_tier.features.panel import _as_date
from imis_tier.scoring.drivers import describe_drivers
from imis_tier.scoring.drivers_config import FEATURE_LABELS, driver_templates, engagement_kind_sql
from imis_tier.scoring.engagement import EngagementScore, percentile_within
from imis_tier.scoring.member_model import (
    OUTCOMES,
    MemberScoringModel,
    ScoringError,
    prepare_panel,
    score_panel,
)
from imis_tier.scoring.registry import ModelCard, ModelRegistry, data_hash
from imis_tier.warehouse import Warehouse

DEFAULT_MODEL_NAME = "member-scoring"
SCORE_TABLE_COLUMNS = (
    "run_id", "model_ref", "as_of", "party_id", "tier", "engagement", "engagement_pct_tier",
    "engagement_pct_segment", "p_renew", "p_upgrade", "p_downgrade", "p_lapse", "churn_risk",
    "driver_outcome", "driver_1", "driver_2", "driver_3", "scored_at",
)  # fmt: skip
"""Columns of the warehouse ``scores`` table (migration 0300), in order."""

DEFAULT_REVIEW_THRESHOLDS: dict[str, float] = {"upgrade": 0.25, "lapse": 0.5}
"""Probability above which a member gets a review item, per outcome."""

_DECISION_REACH_DAYS = 366 + 75  # as build_monthly_panel: the next decision within a year
_STALE_DATA_DAYS = 31
_TEMP_REGISTRIES: dict[str, Path] = {}


# ------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class TrainingPanel:
    """Stacked monthly panels with settled next-renewal outcomes, all before ``horizon``.

    Attributes:
        X: panel rows (one per member and as-of month).
        y: the observed outcome of each row's next renewal decision.
        as_of_dates: the month starts stacked (those with at least one settled label).
        horizon: labels are settled on or before this date (the scoring date).
    """

    X: pd.DataFrame
    y: pd.Series
    as_of_dates: tuple[date, ...]
    horizon: date

    @property
    def window(self) -> tuple[date, date]:
        """(first as-of date, label horizon): what the model card records."""
        return (self.as_of_dates[0], self.horizon)


def training_panel(
    warehouse: Warehouse,
    as_of: date | datetime | str,
    *,
    months: int = 24,
    min_history_months: int = 12,
) -> TrainingPanel:
    """Training rows for a model that scores on ``as_of``, with no look past it.

    Month starts from ``months`` before ``as_of`` (but not before ``min_history_months`` after
    the warehouse's first dues invoice, so a 12-month feature always has 12 months behind it) up to
    the month before ``as_of``; each labelled with the member's next renewal decision, kept only
    when that decision was settled on or before ``as_of`` and falls within a year of its window.
    """
    day = _as_date(as_of)
    if months < 1:
        raise ScoringError(f"months must be at least 1, got {months}")
    start = history_start(warehouse)
    if start is None:
        raise ScoringError("the warehouse has no dues history: sync or load exports first")
    first = max(add_months(day, -months), add_months(start, min_history_months))
    frames, used = [], []
    for month in month_starts(first, add_months(day, -1)):
        if month >= day:
            break
        labels = build_labels(warehouse, month, horizon=day)
        if labels.empty:
            continue
        panel = build_panel(warehouse, month)
        rows = panel.merge(
            labels[["party_id", "outcome", "decision_date"]], on="party_id", how="inner"
        )
        reach = (pd.to_datetime(rows["decision_date"]) - pd.Timestamp(month)).dt.days
        rows = rows[(reach < _DECISION_REACH_DAYS).to_numpy()]
        if len(rows):
            frames.append(rows)
            used.append(month)
    if not frames:
        raise ScoringError(
            f"no renewal decisions settled before {day} to train on (history starts {start}; "
            f"a model needs {min_history_months} months of history plus a settled renewal): "
            "score a later date or load more history"
        )
    X = pd.concat(frames, ignore_index=True)
    for column in X.columns:  # stacking re-infers categoricals per month; make them one again
        if isinstance(frames[0][column].dtype, pd.CategoricalDtype):
            X[column] = X[column].astype("category")
    y = X.pop("outcome").astype(object)
    X = X.drop(columns=["decision_date"])
    return TrainingPanel(X, y, tuple(used), day)


def fit_model(
    warehouse: Warehouse,
    as_of: date | datetime | str,
    *,
    registry: ModelRegistry | None = None,
    name: str = DEFAULT_MODEL_NAME,
    months: int = 24,
    min_history_months: int = 12,
    model: MemberScoringModel | None = None,
) -> tuple[MemberScoringModel, ModelCard | None]:
    """Fit a :class:`MemberScoringModel` for scoring on ``as_of``; save it when given a registry."""
    panel = training_panel(warehouse, as_of, months=months, min_history_months=min_history_months)
    fitted = (model or MemberScoringModel()).fit(panel.X, panel.y)
    if registry is None:
        return fitted, None
    rates = panel.y.value_counts(normalize=True)
    card = registry.save(
        fitted,
        name,
        training_window=panel.window,
        metrics={
            "training_rows": len(panel.X),
            "training_members": int(panel.X["party_id"].nunique()),
            "as_of_dates": len(panel.as_of_dates),
            "outcome_rates": {str(k): float(v) for k, v in rates.items()},
        },
        data_hash=data_hash(panel.X, panel.y),
        description="next-renewal propensity (renew/upgrade/downgrade/lapse) + per-tier churn",
    )
    return fitted, card


def default_registry(warehouse: Warehouse) -> ModelRegistry:
    """``models/`` beside the warehouse file; a per-process temporary one for ``:memory:``."""
    if warehouse.path != ":memory:":
        return ModelRegistry(Path(warehouse.path).parent / "models")
    if "memory" not in _TEMP_REGISTRIES:
        _TEMP_REGISTRIES["memory"] = Path(tempfile.mkdtemp(prefix="imis-tier-models-"))
    return ModelRegistry(_TEMP_REGISTRIES["memory"])


def load_or_fit(
    warehouse: Warehouse,
    as_of: date | datetime | str,
    *,
    registry: ModelRegistry | None = None,
    name: str = DEFAULT_MODEL_NAME,
    model_ref: str | None = None,
    refit: bool = False,
    max_model_age_days: int = 92,
    months: int = 24,
    min_history_months: int = 12,
) -> tuple[MemberScoringModel, ModelCard, bool]:
    """The model to score ``as_of`` with: ``model_ref`` if given, else the newest registered model
    trained on labels settled by ``as_of`` and at most ``max_model_age_days`` older; otherwise a
    newly fitted and registered one. Returns (model, card, newly fitted)."""
    day = _as_date(as_of)
    registry = registry or default_registry(warehouse)
    if model_ref is not None:
        model, card = registry.load(model_ref)
        _check_no_leak(card, day)
        return model, card, False
    if not refit:
        for card in reversed(registry.cards(name)):
            window = card.training_window
            if window is None or window[1] > day or (day - window[1]).days > max_model_age_days:
                continue
            model, card = registry.load(card.ref)
            return model, card, False
    model, saved = fit_model(
        warehouse, day, registry=registry, name=name, months=months,
        min_history_months=min_history_months,
    )  # fmt: skip
    assert saved is not None
    return model, saved, True


def _check_no_leak(card: ModelCard, day: date) -> None:
    if card.training_window is not None and card.training_window[1] > day:
        raise ScoringError(
            f"model {card.ref} learned from renewals settled up to {card.training_window[1]}, "
            f"after the scoring date {day}: scoring with it would leak the future"
        )


# ---------------------------------------------------------------------------------- engagement


def engagement_table(
    warehouse: Warehouse,
    panel: pd.DataFrame,
    as_of: date | datetime | str,
    *,
    score: EngagementScore | None = None,
    segment: str = "career_stage",
) -> pd.DataFrame:
    """Engagement 0-100 of every panel member, with percentiles within tier and tier x segment.

    Reads ``engagement_events`` (mapped to kinds by
    :data:`~imis_tier.scoring.drivers_config.ENGAGEMENT_KINDS`) strictly before ``as_of``.
    Indexed by ``party_id``: ``engagement, engagement_pct_tier, engagement_pct_segment``.
    """
    day = _as_date(as_of)
    scorer = score or EngagementScore()
    activity = warehouse.query_df(
        f"""
        SELECT party_id, kind, event_date AS date, units FROM (
            SELECT party_id, {engagement_kind_sql()} AS kind, event_date, units
            FROM engagement_events
            WHERE event_date < ? AND event_date >= ? - INTERVAL {int(scorer.window_days) + 1} DAY
        ) WHERE kind IS NOT NULL
        """,
        [day, day],
    )
    members = pd.Index(panel["party_id"].astype(str), name="party_id")
    activity["party_id"] = activity["party_id"].astype(str)
    groups = pd.DataFrame(
        {"tier": panel["tier"].astype(str).to_numpy(), segment: panel[segment].to_numpy()},
        index=members,
    )
    scored = scorer.score(activity, day, members=members, groups=groups[["tier"]])
    return pd.DataFrame(
        {
            "engagement": scored["score"],
            "engagement_pct_tier": scored["percentile"],
            "engagement_pct_segment": percentile_within(scored["score"], groups),
        },
        index=members,
    )


# ------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class ScoreRun:
    """One scoring run: every member's scores, the unscorable with reasons, and provenance.

    ``scores`` has the columns of the warehouse ``scores`` table (:data:`SCORE_TABLE_COLUMNS`).
    """

    run_id: str
    as_of: date
    scored_at: datetime
    model_ref: str
    card: ModelCard
    trained: bool
    scores: pd.DataFrame
    unscorable: pd.DataFrame
    warnings: tuple[str, ...] = ()
    tier_filter: str | None = None
    members_read: int = 0
    panel: pd.DataFrame | None = field(default=None, repr=False)

    def top(self, outcome: str, n: int = 10) -> pd.DataFrame:
        """The ``n`` members most likely to ``outcome`` (``renew/upgrade/downgrade/lapse``)."""
        if outcome not in OUTCOMES:
            raise ScoringError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
        column = f"p_{outcome}"
        return self.scores.nlargest(n, column)[
            ["party_id", "tier", column, "engagement", "driver_1"]
        ].reset_index(drop=True)


def _scoring_date(warehouse: Warehouse, as_of: date | datetime | str | None) -> date:
    if as_of is None:
        horizon = data_horizon(warehouse)
        if horizon is None:
            raise ScoringError("the warehouse is empty: sync or load exports before scoring")
        return horizon + timedelta(days=1)
    return _as_date(as_of)


def score_members(
    warehouse: Warehouse,
    as_of: date | datetime | str | None = None,
    *,
    tier: str | None = None,
    registry: ModelRegistry | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    model_ref: str | None = None,
    refit: bool = False,
    months: int = 24,
    min_history_months: int = 12,
    driver_outcome: str | None = "auto",
    explain: bool = True,
    engagement: EngagementScore | None = None,
    chunk_rows: int = 50_000,
) -> ScoreRun:
    """Score every member holding a tier on ``as_of`` (default: the day after the data ends).

    Fits and registers a model if none suits (see :func:`load_or_fit`). ``tier`` scores only that
    tier's members (the model still learns from all). Nothing is written; see :func:`store_scores`.
    """
    day = _scoring_date(warehouse, as_of)
    notes: list[str] = []
    horizon = data_horizon(warehouse)
    if horizon is not None and (day - horizon).days > _STALE_DATA_DAYS:
        notes.append(
            f"the warehouse data end on {horizon}, {(day - horizon).days} days before the scoring "
            f"date {day}: recent activity is missing; sync first"
        )
    model, card, trained = load_or_fit(
        warehouse, day, registry=registry, name=model_name, model_ref=model_ref, refit=refit,
        months=months, min_history_months=min_history_months,
    )  # fmt: skip
    panel = build_panel(warehouse, day)
    if tier is not None:
        known = sorted(panel["tier"].astype(str).unique())
        if tier not in known:
            raise ScoringError(f"no member holds tier {tier!r} on {day}; tiers held: {known}")
        panel = panel[(panel["tier"].astype(str) == tier).to_numpy()].reset_index(drop=True)
    if panel.empty:
        raise ScoringError(f"no member holds a tier on {day}: nothing to score")
    engaged = engagement_table(warehouse, panel, day, score=engagement)
    scored = score_panel(
        model, panel, engagement=engaged, explain=explain, driver_outcome=driver_outcome,
        chunk_rows=chunk_rows,
    )  # fmt: skip
    scored_at = datetime.now(UTC).replace(microsecond=0)
    run_id = f"{day:%Y%m%d}-{scored_at:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    frame = scored.scores
    frame.insert(0, "run_id", run_id)
    frame.insert(1, "model_ref", str(card.ref))
    frame.insert(2, "as_of", day)
    frame["scored_at"] = scored_at.replace(tzinfo=None)
    for column in SCORE_TABLE_COLUMNS:
        if column not in frame:
            frame[column] = None
    return ScoreRun(
        run_id=run_id,
        as_of=day,
        scored_at=scored_at,
        model_ref=str(card.ref),
        card=card,
        trained=trained,
        scores=frame[list(SCORE_TABLE_COLUMNS)],
        unscorable=scored.unscorable,
        warnings=(*notes, *scored.warnings),
        tier_filter=tier,
        members_read=len(panel),
        panel=panel,
    )


def store_scores(warehouse: Warehouse, run: ScoreRun) -> int:
    """Write a run into ``score_runs``, ``scores`` and ``score_unscorable``; returns rows stored."""
    unscorable = run.unscorable.assign(run_id=run.run_id, as_of=run.as_of)[
        ["run_id", "as_of", "party_id", "tier", "reason"]
    ]
    with warehouse.transaction() as conn:
        conn.execute(
            "INSERT INTO score_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id, run.model_ref, run.as_of, run.scored_at.replace(tzinfo=None),
                len(run.scores), len(run.unscorable), run.tier_filter, json.dumps(list(run.warnings)),
            ],
        )  # fmt: skip
        conn.register("_new_scores", run.scores)
        conn.register("_new_unscorable", unscorable)
        try:
            conn.execute(
                f"INSERT INTO scores ({', '.join(SCORE_TABLE_COLUMNS)}) "
                f"SELECT {', '.join(SCORE_TABLE_COLUMNS)} FROM _new_scores"
            )
            conn.execute("INSERT INTO score_unscorable SELECT * FROM _new_unscorable")
        finally:
            conn.unregister("_new_scores")
            conn.unregister("_new_unscorable")
    return len(run.scores)


def latest_scores(warehouse: Warehouse, run_id: str | None = None) -> pd.DataFrame:
    """The stored scores of ``run_id`` (default: the most recent run)."""
    if run_id is None:
        row = warehouse.fetchone(
            "SELECT run_id FROM score_runs ORDER BY scored_at DESC, run_id DESC LIMIT 1"
        )
        if row is None:
            raise ScoringError("no scores stored yet: run `imis-tier score` first")
        run_id = str(row[0])
    frame = warehouse.query_df("SELECT * FROM scores WHERE run_id = ? ORDER BY party_id", [run_id])
    if frame.empty:
        raise ScoringError(f"no scores stored for run {run_id!r}")
    return frame


# --------------------------------------------------------------------------------- explanation


@dataclass(frozen=True)
class MemberExplanation:
    """Why one member got their scores.

    Attributes:
        contributions: one row per feature: ``feature, value`` and, per outcome, ``logit_<o>``
            (the feature's term in the outcome's calibrated logit) and ``points_<o>`` (probability
            points). Per outcome, ``baseline_logit + sum(logit) == logit`` and
            ``sum(points) == 100 * (probability - baseline_probability)`` exactly.
        drivers: outcome -> the strongest driver sentences.
    """

    party_id: str
    as_of: date
    model_ref: str
    tier: str
    probability: pd.Series
    logit: pd.Series
    baseline_logit: pd.Series
    baseline_probability: pd.Series
    contributions: pd.DataFrame
    drivers: Mapping[str, list[str]]
    churn_risk: float
    engagement: float

    def to_text(self) -> str:
        lines = [
            f"member {self.party_id} on the {self.tier} tier, as of {self.as_of} ({self.model_ref})",
            "  " + "  ".join(f"{o} {p:.1%}" for o, p in self.probability.items()),
            f"  churn risk (tier model) {self.churn_risk:.1%}, engagement {self.engagement:.0f}/100",
        ]
        for outcome, sentences in self.drivers.items():
            lines.append(
                f"  toward {outcome} ({self.probability[outcome]:.1%}, "
                f"baseline {self.baseline_probability[outcome]:.1%}):"
            )
            lines += [f"    - {s}" for s in sentences]
        return "\n".join(lines)


def explain_member(
    warehouse: Warehouse,
    party_id: str | int,
    as_of: date | datetime | str | None = None,
    *,
    registry: ModelRegistry | None = None,
    model_ref: str | None = None,
    k: int = 5,
) -> MemberExplanation:
    """Explain one member's scores with the model of the latest stored run (or ``model_ref``)."""
    member = str(party_id)
    if model_ref is None or as_of is None:
        row = warehouse.fetchone(
            "SELECT model_ref, as_of FROM scores WHERE party_id = ? "
            "ORDER BY scored_at DESC, run_id DESC LIMIT 1",
            [member],
        )
        if row is None and (model_ref is None or as_of is None):
            raise ScoringError(
                f"member {member} has no stored scores: run `imis-tier score` first "
                "(or pass the model and as-of date)"
            )
        if row is not None:
            model_ref = model_ref or str(row[0])
            as_of = as_of if as_of is not None else row[1]
    assert model_ref is not None and as_of is not None
    day = _as_date(as_of)
    model, card = (registry or default_registry(warehouse)).load(model_ref)
    panel = build_panel(warehouse, day)
    panel = panel[(panel["party_id"].astype(str) == member).to_numpy()].reset_index(drop=True)
    if panel.empty:
        raise ScoringError(f"member {member} holds no tier on {day}: nothing to explain")
    ready, unscorable, _ = prepare_panel(model, panel)
    if ready.empty:
        raise ScoringError(f"member {member} is unscorable: {unscorable['reason'].iloc[0]}")
    X = ready.loc[:, list(model.features_)]
    explanation = model.propensity_.explain(X)
    outcomes = [str(o) for o in explanation.outcomes]
    templates = driver_templates(list(model.features_))
    drivers = {
        outcome: list(
            describe_drivers(
                explanation,
                ready[["tier"]],
                templates=templates,
                labels=FEATURE_LABELS,
                k=k,
                outcome=outcome,
            ).iloc[0]
        )
        for outcome in outcomes
    }
    table = pd.DataFrame({"feature": list(explanation.features), "value": X.iloc[0].to_numpy()})
    for j, outcome in enumerate(outcomes):
        table[f"logit_{outcome}"] = explanation.logit[0, :, j]
        table[f"points_{outcome}"] = explanation.points[0, :, j]
    engaged = engagement_table(warehouse, panel, day)
    return MemberExplanation(
        party_id=member,
        as_of=day,
        model_ref=str(card.ref),
        tier=str(ready["tier"].iloc[0]),
        probability=explanation.probability.iloc[0],
        logit=explanation.score.iloc[0],
        baseline_logit=explanation.baseline,
        baseline_probability=explanation.baseline_probability,
        contributions=table,
        drivers=drivers,
        churn_risk=float(model.churn_.predict(ready)[0]),
        engagement=float(engaged["engagement"].iloc[0]),
    )


# ---------------------------------------------------------------------------------- write-back


def review_candidates(
    scores: pd.DataFrame, tier_ranks: Mapping[str, int], outcome: str
) -> pd.DataFrame:
    """Candidates for review items toward ``outcome`` (``upgrade`` names the next tier up)."""
    frame = pd.DataFrame(
        {
            "party_id": scores["party_id"].astype(str).to_numpy(),
            "current_tier": scores["tier"].to_numpy(),
            "propensity": scores[f"p_{outcome}"].to_numpy(dtype=np.float64),
            "reason": {"upgrade": "Upgrade candidate", "lapse": "Lapse risk"}.get(
                outcome, f"{outcome.capitalize()} propensity"
            ),
        }
    )
    if outcome in ("upgrade", "downgrade"):
        ranked = sorted(tier_ranks.items(), key=lambda kv: kv[1])
        step = 1 if outcome == "upgrade" else -1
        nxt: dict[str, str | None] = {}
        for i, (code, _) in enumerate(ranked):
            j = i + step
            nxt[code] = ranked[j][0] if 0 <= j < len(ranked) else None
        frame["recommended_tier"] = frame["current_tier"].map(nxt)
    return frame


def _tier_ranks(warehouse: Warehouse) -> dict[str, int]:
    rows = warehouse.execute("SELECT tier_code, rank FROM tiers WHERE is_member").fetchall()
    return {str(code): int(rank) for code, rank in rows}


def score_and_write_back(
    *,
    warehouse: Warehouse,
    client: Any = None,
    dry_run: bool = True,
    as_of: date | datetime | str | None = None,
    source: str = "Member_Tier_Score",
    review_source: str = "Tier_Review",
    review_thresholds: Mapping[str, float] | None = None,
    review_task: str | None = None,
    approved_by: str | None = None,
    tier: str | None = None,
    registry: str | Path | ModelRegistry | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    refit: bool = False,
    months: int = 24,
    min_history_months: int = 12,
    driver_outcome: str | None = "auto",
) -> dict[str, Any]:
    """Score every member, store the scores, and write them (and review items) into iMIS.

    The function the ``score`` automation handler calls. Scores always land in the warehouse
    ``scores`` table. With a ``client``, the iMIS change sets are computed and staged: the scores
    into ``source`` (an idempotent upsert keyed by member) and a review item in ``review_source``
    for each member above a ``review_thresholds`` probability (default
    :data:`DEFAULT_REVIEW_THRESHOLDS`). Unless ``dry_run``, they are applied (as ``approved_by``,
    default: the configured actor) and audited. A dry run without a client only scores.

    Returns the run's figures: ``run_id, as_of, model_ref, trained, rows_read, scored,
    unscorable, rows_planned, rows_written, review_items, change_sets, warnings``.
    """
    from imis_tier.writeback import stage_review_items, write_scores
    from imis_tier.writeback.audit import default_actor

    if not dry_run and client is None:
        raise ScoringError("writing scores back needs an iMIS client (or dry_run=True)")
    if isinstance(registry, str | Path):
        registry = ModelRegistry(registry)
    thresholds = dict(DEFAULT_REVIEW_THRESHOLDS if review_thresholds is None else review_thresholds)
    unknown = sorted(set(thresholds) - set(OUTCOMES))
    if unknown:
        raise ScoringError(f"review_thresholds has unknown outcome(s) {unknown}")
    run = score_members(
        warehouse, as_of, tier=tier, registry=registry, model_name=model_name, refit=refit,
        months=months, min_history_months=min_history_months, driver_outcome=driver_outcome,
    )  # fmt: skip
    store_scores(warehouse, run)
    figures: dict[str, Any] = {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "model_ref": run.model_ref,
        "trained": run.trained,
        "rows_read": run.members_read,
        "scored": len(run.scores),
        "unscorable": len(run.unscorable),
        "rows_planned": len(run.scores),
        "rows_written": 0,
        "review_items": 0,
        "change_sets": [],
        "warnings": list(run.warnings),
    }
    if client is None:
        return figures
    actor = approved_by or default_actor()
    context = {"run_id": run.run_id, "model_ref": run.model_ref}
    outcome = write_scores(
        run.scores, client, warehouse, source=source, apply=not dry_run,
        approved_by=actor, context=context,
    )  # fmt: skip
    counts = outcome.change_set.counts
    figures["rows_planned"] = counts["create"] + counts["update"]
    figures["change_sets"].append(outcome.change_set.hash)
    if outcome.result is not None:
        figures["rows_written"] += outcome.result.created + outcome.result.updated
    ranks = _tier_ranks(warehouse)
    for wanted, threshold in thresholds.items():
        candidates = review_candidates(run.scores, ranks, wanted)
        if candidates.empty:
            continue
        review = stage_review_items(
            candidates, client, warehouse, threshold=threshold, source=review_source,
            task=review_task, apply=not dry_run, reason=str(candidates["reason"].iloc[0]),
            as_of=run.as_of, approved_by=actor, context={**context, "outcome": wanted},
        )  # fmt: skip
        figures["change_sets"].append(review.items.hash)
        figures["review_items"] += review.items.counts["create"]
        if review.items_result is not None:
            figures["rows_written"] += review.items_result.created
    return figures
