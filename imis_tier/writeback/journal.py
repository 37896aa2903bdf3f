"""Staged change sets and the per-operation journal, kept in the warehouse.

A change set is stored once under its hash (``staged`` after a dry run, ``applying`` while being
applied, then ``applied`` or ``failed``; ``superseded`` once a newer one for the same source is
applied). Applying one writes a journal row per writing operation;
each moves ``planned -> pending -> done``. A batch of operations is marked ``pending`` (committed)
before its first request goes out and ``done`` after the answers came back, so a run killed at any
instant leaves at most one batch uncertain, and only those operations are re-read on resume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from imis_tier.warehouse import Warehouse
from imis_tier.writeback.changeset import ChangeSet

PLANNED = "planned"
PENDING = "pending"
DONE = "done"


@dataclass(frozen=True)
class JournalEntry:
    op_index: int
    status: str
    identity: str | None
    resolution: str | None
    attempts: int


@dataclass(frozen=True)
class StagedChangeSet:
    """A change set's row in the warehouse (without its body)."""

    change_set_hash: str
    target: str
    target_kind: str
    counts: dict[str, int]
    computed_at: datetime
    status: str
    approved_by: str | None
    applied_at: datetime | None
    error: str | None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stage(warehouse: Warehouse, change_set: ChangeSet) -> None:
    """Store the change set under its hash (once; staging it again changes nothing)."""
    c = change_set.counts
    warehouse.execute(
        "INSERT INTO writeback_change_sets (change_set_hash, target, target_kind, body, creates,"
        " updates, deletes, noops, computed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'staged')"
        " ON CONFLICT (change_set_hash) DO NOTHING",
        [
            change_set.hash, change_set.target.name, change_set.target.kind, change_set.to_json(),
            c["create"], c["update"], c["delete"], c["noop"],
            change_set.computed_at.astimezone(UTC).replace(tzinfo=None),
        ],
    )  # fmt: skip


def set_status(
    warehouse: Warehouse,
    change_set_hash: str,
    status: str,
    *,
    approved_by: str | None = None,
    error: str | None = None,
) -> None:
    applied_at = _now() if status == "applied" else None
    warehouse.execute(
        "UPDATE writeback_change_sets SET status = ?, approved_by = coalesce(?, approved_by),"
        " applied_at = coalesce(?, applied_at), error = ? WHERE change_set_hash = ?",
        [status, approved_by, applied_at, error, change_set_hash],
    )


def open_journal(warehouse: Warehouse, change_set: ChangeSet) -> dict[int, JournalEntry]:
    """Journal rows for every writing operation (created ``planned`` on first use); by index."""
    ops = change_set.changes
    with warehouse.transaction() as conn:
        # fetchall, not fetchone: duckdb refuses further work while a result is half read.
        ((known,),) = conn.execute(
            "SELECT count(*) FROM writeback_journal WHERE change_set_hash = ?", [change_set.hash]
        ).fetchall()
        if int(known) == 0 and ops:
            planned = pd.DataFrame(
                {
                    "change_set_hash": change_set.hash,
                    "op_index": range(len(ops)),
                    "kind": [op.kind.value for op in ops],
                    "natural_key": ["/".join(op.key) for op in ops],
                    "status": PLANNED,
                    "identity": ["|".join(op.identity) if op.identity else None for op in ops],
                    "updated_at": _now(),
                }
            )
            # a registered frame inserts thousands of rows in one statement, not one per row.
            conn.register("_writeback_planned", planned)
            try:
                conn.execute(
                    "INSERT INTO writeback_journal (change_set_hash, op_index, kind, natural_key,"
                    " status, identity, updated_at) SELECT change_set_hash, op_index, kind,"
                    " natural_key, status, identity, updated_at FROM _writeback_planned"
                )
            finally:
                conn.unregister("_writeback_planned")
    return journal_entries(warehouse, change_set.hash)


def journal_entries(warehouse: Warehouse, change_set_hash: str) -> dict[int, JournalEntry]:
    rows = warehouse.execute(
        "SELECT op_index, status, identity, resolution, attempts FROM writeback_journal"
        " WHERE change_set_hash = ? ORDER BY op_index",
        [change_set_hash],
    ).fetchall()
    return {int(r[0]): JournalEntry(int(r[0]), str(r[1]), r[2], r[3], int(r[4])) for r in rows}


def mark(
    warehouse: Warehouse,
    change_set_hash: str,
    moves: Sequence[tuple[int, str | None, str | None]],
    status: str,
) -> None:
    """Move operations on in one committed transaction (that commit is the point of a journal).

    ``moves`` holds ``(op_index, identity, resolution)``; ``None`` keeps the stored value. One
    commit per batch, not per operation: on a DuckDB file each commit costs milliseconds.
    """
    if not moves:
        return
    frame = pd.DataFrame(
        {
            "op_index": pd.Series([m[0] for m in moves], dtype="int64"),
            "identity": pd.Series([m[1] for m in moves], dtype="object"),
            "resolution": pd.Series([m[2] for m in moves], dtype="object"),
        }
    )
    bump = 1 if status == PENDING else 0
    with warehouse.transaction() as conn:
        conn.register("_writeback_moves", frame)
        try:
            conn.execute(
                "UPDATE writeback_journal AS j SET status = ?, identity = coalesce(m.identity, j.identity),"
                " resolution = coalesce(m.resolution, j.resolution), attempts = j.attempts + ?,"
                " updated_at = ? FROM _writeback_moves AS m"
                " WHERE j.change_set_hash = ? AND j.op_index = m.op_index",
                [status, bump, _now(), change_set_hash],
            )
        finally:
            conn.unregister("_writeback_moves")


def load_change_set(warehouse: Warehouse, hash_prefix: str) -> ChangeSet:
    """A stored change set by its hash or a unique prefix of it (at least 6 characters)."""
    if len(hash_prefix) < 6:
        raise LookupError(f"change set id {hash_prefix!r} is too short: give at least 6 characters")
    rows = warehouse.execute(
        "SELECT body FROM writeback_change_sets WHERE change_set_hash LIKE ? || '%'",
        [hash_prefix.lower()],
    ).fetchall()
    if not rows:
        raise LookupError(f"no stored change set starts with {hash_prefix!r}")
    if len(rows) > 1:
        raise LookupError(
            f"{len(rows)} change sets start with {hash_prefix!r}; give more characters"
        )
    return ChangeSet.from_json(str(rows[0][0]))


def staged_change_sets(warehouse: Warehouse, *, limit: int = 20) -> list[StagedChangeSet]:
    """The most recently computed change sets, newest first."""
    rows = warehouse.execute(
        "SELECT change_set_hash, target, target_kind, creates, updates, deletes, noops, computed_at,"
        " status, approved_by, applied_at, error FROM writeback_change_sets"
        " ORDER BY computed_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [_staged(row) for row in rows]


def _staged(row: tuple[Any, ...]) -> StagedChangeSet:
    return StagedChangeSet(
        change_set_hash=str(row[0]),
        target=str(row[1]),
        target_kind=str(row[2]),
        counts={
            "create": int(row[3]),
            "update": int(row[4]),
            "delete": int(row[5]),
            "noop": int(row[6]),
        },
        computed_at=row[7].replace(tzinfo=UTC),
        status=str(row[8]),
        approved_by=row[9],
        applied_at=None if row[10] is None else row[10].replace(tzinfo=UTC),
        error=row[11],
    )


def supersede_older(warehouse: Warehouse, change_set: ChangeSet) -> int:
    """Mark older unfinished change sets of the same source ``superseded``; return how many.

    Once a newer change set for a source is fully applied, iMIS holds the desired state, so what
    an interrupted or merely staged older one had left to do is obsolete.
    """
    if change_set.target.kind != "entity":
        return 0
    rows = warehouse.execute(
        "UPDATE writeback_change_sets SET status = 'superseded' WHERE target = ?"
        " AND target_kind = 'entity' AND status IN ('staged', 'applying', 'failed')"
        " AND change_set_hash <> ? AND computed_at <= ? RETURNING change_set_hash",
        [
            change_set.target.name,
            change_set.hash,
            change_set.computed_at.astimezone(UTC).replace(tzinfo=None),
        ],
    ).fetchall()
    return len(rows)
