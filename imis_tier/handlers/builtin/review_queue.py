"""``review-queue``: ASI's state-machine pattern for automation outside iMIS (imis-api.md §9).

Poll for rows in a state (an IQA query whose first prompt is the state, or the panel source
filtered on its state field), act on each row, then write the new state back to the row. Reruns
are idempotent: a row that has moved is no longer selected, and each action is itself idempotent
(an activity carries a marker that is looked up before creating it; a review item is upserted by
its key), so a run killed between acting and writing the state does not act twice.

Settings::

    source = "Tier_Review"            # panel source / custom object holding the queue rows
    query = "$/ImisTier/TierReviewQueue"  # optional; else the source is filtered on state_field
    key = ["ID", "Ordinal"]           # fields identifying a query row (listed rows use their identity)
    state_field = "Status"
    party_field = "ID"
    [[transitions]]
    from = "Proposed"
    to = "Notified"
    action = "activity"               # none | activity | review_item
    activity_type = "TIER_REVIEW"
    task = "Send tier review emails"  # optional: run once after this transition moved rows

A row moves at most one step per run, so states staff set between steps are respected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from typing import Any, Literal

from imis_tier.handlers.context import HandlerContext
from imis_tier.handlers.model import ActivityOutput, CustomObjectOutput, Handler, Manual, TaskOutput

_ACTIONS = ("none", "activity", "review_item")


@dataclass(frozen=True)
class Transition:
    """Move rows from state ``source_state`` to ``target_state``, doing ``action`` for each."""

    source_state: str
    target_state: str
    action: Literal["none", "activity", "review_item"] = "none"
    activity_type: str | None = None
    review_source: str | None = None
    task: str | None = None

    @classmethod
    def from_settings(cls, data: Mapping[str, Any], index: int) -> Transition:
        where = f"review-queue transitions[{index}]"
        try:
            source, target = str(data["from"]), str(data["to"])
        except KeyError as exc:
            raise ValueError(f"{where}: missing {exc.args[0]!r}") from None
        action = str(data.get("action", "none"))
        if action not in _ACTIONS:
            raise ValueError(f"{where}: action {action!r} is not one of {', '.join(_ACTIONS)}")
        if action == "activity" and not data.get("activity_type"):
            raise ValueError(f"{where}: action 'activity' needs activity_type")
        if action == "review_item" and not data.get("review_source"):
            raise ValueError(f"{where}: action 'review_item' needs review_source")
        return cls(
            source,
            target,
            action,  # type: ignore[arg-type]  # checked against _ACTIONS above
            data.get("activity_type"),
            data.get("review_source"),
            data.get("task"),
        )


@dataclass(frozen=True)
class _Settings:
    source: str
    query: str | None
    key: tuple[str, ...]
    state_field: str
    party_field: str
    transitions: tuple[Transition, ...]

    @classmethod
    def read(cls, settings: Mapping[str, Any]) -> _Settings:
        if not settings.get("source"):
            raise ValueError(
                "review-queue needs settings.source (the panel source holding the queue)"
            )
        raw = settings.get("transitions") or []
        if not isinstance(raw, Sequence) or not raw:
            raise ValueError(
                "review-queue needs settings.transitions (a list of {from, to, action})"
            )
        key = settings.get("key", ("ID", "Ordinal"))
        return cls(
            source=str(settings["source"]),
            query=settings.get("query"),
            key=(key,) if isinstance(key, str) else tuple(key),
            state_field=str(settings.get("state_field", "Status")),
            party_field=str(settings.get("party_field", "ID")),
            transitions=tuple(Transition.from_settings(t, i) for i, t in enumerate(raw)),
        )


def marker(handler: str, row_key: Sequence[str], target_state: str) -> str:
    """The tag written into an action's record, so it can be found again before acting twice."""
    return f"[imis-tier:{handler}:{'|'.join(map(str, row_key))}:{target_state}]"


def review_queue(ctx: HandlerContext) -> dict[str, Any]:
    """Move queue rows through their states exactly once, acting on each move."""
    s = _Settings.read(ctx.settings)
    imis = ctx.client
    tasks_run = _run_pending_tasks(ctx, imis)
    moved_now: set[tuple[str, ...]] = set()
    moved: dict[str, int] = {}
    for transition in s.transitions:
        rows = _rows_in_state(imis, s, transition.source_state)
        ctx.read(len(rows))
        todo = [r for r in rows if _row_key(r, s) not in moved_now]
        if not todo:
            continue
        if transition.task and not ctx.dry_run:
            _promise_task(ctx, transition.task)
        for row in todo:
            key = _row_key(row, s)
            _act(ctx, imis, s, transition, row, key)
            ctx.write(
                f"move {s.source} {'|'.join(key)} from {transition.source_state} to {transition.target_state}",
                partial(_write_state, imis, s, key, transition.target_state),
            )
            moved_now.add(key)
        moved[f"{transition.source_state}->{transition.target_state}"] = len(todo)
        if transition.task:
            ctx.write(
                f"run task {transition.task!r}", partial(_run_task, ctx, imis, transition.task)
            )
            tasks_run += 0 if ctx.dry_run else 1
    return {"moved": moved, "tasks_run": tasks_run}


_IDENTITY = "__identity__"


def _rows_in_state(imis: Any, s: _Settings, state: str) -> list[dict[str, Any]]:
    """Every row in ``state``, read in full before any moves (moving rows shifts the pages)."""
    if s.query:
        found = [dict(r) for r in imis.query(s.query, parameters=[state])]
        # The query narrows by state; keep only rows still in it (IQA results may be cached).
        return [r for r in found if str(r.get(s.state_field, state)) == state]
    rows = []
    for entity in imis.entities(s.source).list(**{s.state_field: state}):
        row = entity.to_dict()
        row[_IDENTITY] = tuple(entity.identity)
        if str(row.get(s.state_field)) == state:
            rows.append(row)
    return rows


def _row_key(row: Mapping[str, Any], s: _Settings) -> tuple[str, ...]:
    if row.get(_IDENTITY):
        return tuple(str(v) for v in row[_IDENTITY])
    missing = [k for k in s.key if k not in row]
    if missing:
        raise ValueError(
            f"review-queue row from {s.query or s.source} lacks key field(s) {missing}: {dict(row)}"
        )
    return tuple(str(row[k]) for k in s.key)


def _write_state(imis: Any, s: _Settings, key: tuple[str, ...], state: str) -> Any:
    return imis.entities(s.source).update(key if len(key) > 1 else key[0], {s.state_field: state})


def _act(
    ctx: HandlerContext,
    imis: Any,
    s: _Settings,
    t: Transition,
    row: Mapping[str, Any],
    key: tuple[Any, ...],
) -> None:
    if t.action == "none":
        return
    tag = marker(ctx.name, key, t.target_state)
    # Listed multi-instance rows may carry the contact only in their identity ([ID, Ordinal]).
    party = str(row.get(s.party_field) or (row.get(_IDENTITY) or ("",))[0])
    if t.action == "activity":
        assert t.activity_type
        existing = imis.activities.list(party_id=party, activity_type=t.activity_type)
        if any(tag in (a.description or "") for a in existing):
            return  # acted before a crash; the state write is what is missing
        properties = {
            "TRANSACTION_DATE": ctx.now(),
            "DESCRIPTION": f"Tier review {t.source_state} -> {t.target_state} {tag}",
        }
        ctx.write(
            f"add {t.activity_type} activity for {party}",
            lambda: imis.activities.create(party, t.activity_type, **properties),
        )
    elif t.action == "review_item":
        assert t.review_source
        item = {
            s.party_field: party,
            "ItemKey": tag,
            "State": t.target_state,
            "CreatedOn": ctx.now(),
        }
        ctx.write(
            f"upsert review item {tag} in {t.review_source}",
            lambda: imis.entities(t.review_source).upsert(item, key="ItemKey", parent_id=party),
        )


def _promise_task(ctx: HandlerContext, task: str) -> None:
    now = ctx.now().astimezone(UTC).replace(tzinfo=None)
    with ctx.warehouse.transaction() as conn:
        conn.execute(
            "INSERT INTO handler_pending_tasks VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [ctx.name, task, ctx.run_id, now],
        )


def _run_task(ctx: HandlerContext, imis: Any, task: str) -> None:
    imis.tasks.run(task)
    with ctx.warehouse.transaction() as conn:
        conn.execute(
            "DELETE FROM handler_pending_tasks WHERE handler = ? AND task = ?", [ctx.name, task]
        )


def _run_pending_tasks(ctx: HandlerContext, imis: Any) -> int:
    """Run tasks a killed run promised after moving rows but did not get to."""
    with ctx.warehouse.transaction() as conn:
        pending = [r[0] for r in conn.execute(
            "SELECT task FROM handler_pending_tasks WHERE handler = ? ORDER BY created_at", [ctx.name]
        ).fetchall()]  # fmt: skip
    for task in pending:
        ctx.write(
            f"run task {task!r} left by an interrupted run", partial(_run_task, ctx, imis, task)
        )
    return 0 if ctx.dry_run else len(pending)


REVIEW_QUEUE = Handler(
    "review-queue",
    review_queue,
    Manual(),
    None,
    (
        ActivityOutput("(settings)"),
        CustomObjectOutput("(settings.source)", ("(settings.key)",)),
        TaskOutput("(settings)"),
    ),
)
