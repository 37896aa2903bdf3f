"""Applying an approved change set: idempotent, journaled, resumable, audited.

Writing operations are marked ``pending`` in the journal (committed, a batch at a time) before
their requests go out and ``done`` after iMIS answers. Applying a change set again skips what is
done and, for what is ``pending`` (the run died between request and answer), first re-reads iMIS
by natural key: a create that reached iMIS is recognised and not repeated. Multi-instance panel sources answer a create with
``Ordinal`` 0; the real ordinal is found by re-reading before the operation is marked done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from imis_tier.warehouse import Warehouse
from imis_tier.writeback import _values, journal
from imis_tier.writeback._source import RowWriter, identity_text, run_task
from imis_tier.writeback.audit import record_audit
from imis_tier.writeback.changeset import ChangeSet, Operation, OpKind, key_text


class ApprovalRequired(PermissionError):
    """A change set was about to be applied without a named approver."""


class ApplyError(RuntimeError):
    """iMIS did not end up as the change set said (a created row that cannot be found, ...)."""


@dataclass
class ApplyResult:
    """What one :func:`apply` call did; ``resumed`` counts operations done by an earlier run."""

    change_set_hash: str
    target: str
    created: int = 0
    updated: int = 0
    deleted: int = 0
    triggered: int = 0
    found_existing: int = 0
    resumed: int = 0
    identities: list[str] = field(default_factory=list)
    audit_seq: int | None = None

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "triggered": self.triggered,
            "found_existing": self.found_existing,
            "resumed": self.resumed,
        }


def apply(
    change_set: ChangeSet,
    client: Any,
    warehouse: Warehouse,
    *,
    approved_by: str,
    tz: tzinfo = UTC,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int = 50,
) -> ApplyResult:
    """Apply ``change_set`` to iMIS through ``client``, journaled in ``warehouse``, then audit it.

    ``approved_by`` names the person who approved the diff; without it nothing is written. Safe to
    call again after a crash or kill: finished operations are skipped and uncertain ones are
    checked against iMIS first, so every row is written exactly once. ``on_progress(done, total)``
    is called as batches finish. ``batch_size`` operations share one journal commit on each
    side of their requests; a kill leaves at most that many to re-read on resume.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not isinstance(approved_by, str) or not approved_by.strip():
        raise ApprovalRequired(
            f"change set {change_set.hash[:12]} for {change_set.target.name} is not approved: "
            "pass approved_by='<who reviewed the diff>' to write to iMIS"
        )
    journal.stage(warehouse, change_set)
    journal.set_status(warehouse, change_set.hash, "applying", approved_by=approved_by)
    entries = journal.open_journal(warehouse, change_set)
    result = ApplyResult(change_set.hash, change_set.target.name)
    runner = _Runner(change_set, client, warehouse, tz)
    operations = change_set.changes
    try:
        for start in range(0, len(operations), batch_size):
            indices = range(start, min(start + batch_size, len(operations)))
            runner.run_batch([(i, operations[i], entries[i]) for i in indices], result)
            if on_progress is not None:
                on_progress(indices[-1] + 1, len(operations))
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        journal.set_status(warehouse, change_set.hash, "failed", error=message)
        record_audit(
            warehouse,
            actor=approved_by,
            action="apply_failed",
            change_set_hash=change_set.hash,
            target=change_set.target.name,
            counts=change_set.counts,
            inputs=_inputs(change_set),
            model_versions=dict(change_set.context.get("model_versions") or {}),
            outputs={**result.counts(), "error": message},
        )
        raise
    journal.set_status(warehouse, change_set.hash, "applied")
    journal.supersede_older(warehouse, change_set)
    record = record_audit(
        warehouse,
        actor=approved_by,
        action="apply",
        change_set_hash=change_set.hash,
        target=change_set.target.name,
        counts=change_set.counts,
        inputs=_inputs(change_set),
        model_versions=dict(change_set.context.get("model_versions") or {}),
        outputs={**result.counts(), **dict(change_set.context.get("outputs") or {})},
    )
    result.audit_seq = record.seq
    return result


def _inputs(change_set: ChangeSet) -> dict[str, Any]:
    return {k: v for k, v in change_set.context.items() if k not in ("model_versions", "outputs")}


class _Runner:
    """Runs one operation at a time against iMIS, moving its journal row along."""

    def __init__(
        self, change_set: ChangeSet, client: Any, warehouse: Warehouse, tz: tzinfo
    ) -> None:
        self.change_set = change_set
        self.target = change_set.target
        self.client = client
        self.warehouse = warehouse
        self.tz = tz
        self.writer = RowWriter(client, self.target) if self.target.kind == "entity" else None

    def run_batch(
        self, batch: list[tuple[int, Operation, journal.JournalEntry]], result: ApplyResult
    ) -> None:
        """Run a batch: settle what an earlier run left, then pending -> send -> done."""
        cs_hash = self.change_set.hash
        found: list[tuple[int, str | None, str | None]] = []
        todo: list[tuple[int, Operation]] = []
        for index, op, entry in batch:
            if entry.status == journal.DONE:
                result.resumed += 1
                if entry.identity:
                    result.identities.append(entry.identity)
                continue
            if entry.status == journal.PENDING:
                # An earlier run may have sent this and died before hearing back: look first.
                identity = self._already_applied(op)
                if identity is not None:
                    found.append((index, identity, "found"))
                    result.found_existing += 1
                    result.identities.append(identity)
                    continue
            todo.append((index, op))
        journal.mark(self.warehouse, cs_hash, found, journal.DONE)
        journal.mark(self.warehouse, cs_hash, [(i, None, None) for i, _ in todo], journal.PENDING)
        sent: list[tuple[int, str | None, str | None]] = []
        try:
            for index, op in todo:
                identity = self._send(op, result)
                sent.append((index, identity, "sent"))
                result.identities.append(identity)
        finally:
            # also on an error: what iMIS confirmed is done; the rest of the batch stays pending.
            journal.mark(self.warehouse, cs_hash, sent, journal.DONE)

    # -- sending -----------------------------------------------------------------------------------
    def _send(self, op: Operation, result: ApplyResult) -> str:
        if self.target.kind == "task":
            run_task(self.client, self.target.name)
            result.triggered += 1
            return "|".join(op.key)
        assert self.writer is not None
        if op.kind is OpKind.CREATE:
            identity = self._create(op)
            result.created += 1
            return identity
        assert op.identity is not None, f"{op.kind.value} without an iMIS identity"
        if op.kind is OpKind.UPDATE:
            if self.writer.update(op.identity, op.wire_values()) is None:
                # Deleted in iMIS since the change set was computed: the desired row still holds.
                identity = self._create(op)
                result.created += 1
                return identity
            result.updated += 1
            return identity_text(op.identity)
        if op.kind is OpKind.DELETE:
            self.writer.delete(op.identity)
            result.deleted += 1
            return identity_text(op.identity)
        raise ApplyError(f"cannot apply a {op.kind.value} operation")

    def _create(self, op: Operation) -> str:
        assert self.writer is not None
        answer = self.writer.create(op.wire_values())
        identity = self._identity_of(answer)
        if identity is None:
            # Multi-instance sources answer Ordinal 0 (or nothing): find the row we just made.
            identity = self._find_by_key(op, require_match=True) or self._find_by_key(
                op, require_match=False
            )
            if identity is None:
                raise ApplyError(
                    f"{self.target.name} row {'/'.join(op.key)} was created but cannot be found "
                    "again by its natural key; check the source's filters in iMIS"
                )
        return identity

    def _identity_of(self, row: Mapping[str, Any]) -> str | None:
        folded = {str(k).casefold(): v for k, v in row.items()}
        parts = [key_text(folded.get(name.casefold()), self.tz) for name in self.target.identity]
        if any(p in ("", "0") for p in parts):
            return None
        return "|".join(parts)

    # -- reconciling -------------------------------------------------------------------------------
    def _matches(self, current: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
        folded = {str(k).casefold(): v for k, v in current.items()}
        return all(
            _values.same(_values.from_json(v), folded.get(name.casefold()), self.tz)
            for name, v in values.items()
        )

    def _find_by_key(self, op: Operation, *, require_match: bool) -> str | None:
        """The identity of the iMIS row holding ``op``'s natural key (highest if several)."""
        assert self.writer is not None
        filters = dict(zip(self.target.key, op.key, strict=True))
        candidates = []
        for row in self.writer.rows(**filters):
            folded = {str(k).casefold(): v for k, v in row.items()}
            key = tuple(key_text(folded.get(name.casefold()), self.tz) for name in self.target.key)
            if key != op.key or (require_match and not self._matches(row, op.values)):
                continue
            identity = self._identity_of(row)
            if identity is not None:
                candidates.append(identity)
        if not candidates:
            return None
        return max(candidates, key=_identity_order)

    def _already_applied(self, op: Operation) -> str | None:
        if self.target.kind == "task":
            return None  # a task run leaves nothing to read back: run it again (at least once)
        assert self.writer is not None
        if op.kind is OpKind.CREATE:
            return self._find_by_key(op, require_match=False)
        assert op.identity is not None
        current = self.writer.get(op.identity)
        if op.kind is OpKind.DELETE:
            return identity_text(op.identity) if current is None else None
        if current is not None and self._matches(current, op.values):
            return identity_text(op.identity)
        return None


def _identity_order(identity: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in identity.split("|"))
