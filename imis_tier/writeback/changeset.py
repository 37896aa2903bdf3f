"""Change sets: what a write-back would do to iMIS, computed without writing anything.

A :class:`ChangeSet` compares desired rows (keyed by a natural key) with the rows iMIS holds now
and lists one :class:`Operation` per key: create, update (with each field's old and new value),
no-op, or delete. Values are compared in canonical form (see :mod:`._values`), so once a change set
is applied, computing it again yields only no-ops. The content hash names the change set in the
journal and the audit trail; it covers the target and the operations, not the time it was made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any

from imis_tier.writeback import _values
from imis_tier.writeback._source import RowReader
from imis_tier.writeback.target import Target


class ChangeSetError(ValueError):
    """Desired rows that cannot form a change set (a missing or repeated natural key, a NaN)."""


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NOOP = "noop"
    DELETE = "delete"


@dataclass(frozen=True)
class Operation:
    """One intended write. ``values`` and ``changes`` hold typed JSON forms (see ``to_json``)."""

    kind: OpKind
    key: tuple[str, ...]
    identity: tuple[str, ...] | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "key": list(self.key)}
        if self.identity is not None:
            data["identity"] = list(self.identity)
        if self.values:
            data["values"] = dict(self.values)
        if self.changes:
            data["changes"] = {name: [old, new] for name, (old, new) in self.changes.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        identity = data.get("identity")
        return cls(
            kind=OpKind(data["kind"]),
            key=tuple(data["key"]),
            identity=None if identity is None else tuple(identity),
            values=dict(data.get("values") or {}),
            changes={
                name: (pair[0], pair[1]) for name, pair in (data.get("changes") or {}).items()
            },
        )

    def wire_values(self) -> dict[str, Any]:
        """The desired values as Python objects for the client (Decimal, naive datetime, ...)."""
        return {name: _values.from_json(value) for name, value in self.values.items()}


_SYMBOL = {OpKind.CREATE: "+", OpKind.UPDATE: "~", OpKind.DELETE: "-", OpKind.NOOP: "="}


@dataclass(frozen=True)
class ChangeSet:
    """Intended operations against one :class:`Target`; computing one never writes to iMIS.

    ``context`` carries what the audit trail records beside it (inputs' data hash, as-of date,
    model versions); it is not part of :attr:`hash`.
    """

    target: Target
    operations: tuple[Operation, ...]
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        """SHA-256 of the target and operations in canonical JSON: equal content, equal hash."""
        body = {
            "target": self.target.to_dict(),
            "operations": [op.to_dict() for op in self.operations],
        }
        return hashlib.sha256(_canonical_json(body).encode()).hexdigest()

    @property
    def counts(self) -> dict[str, int]:
        totals = {kind.value: 0 for kind in OpKind}
        for op in self.operations:
            totals[op.kind.value] += 1
        return totals

    @property
    def changes(self) -> tuple[Operation, ...]:
        """The operations that write something (everything but no-ops)."""
        return tuple(op for op in self.operations if op.kind is not OpKind.NOOP)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.target.name}: {c['create']} create, {c['update']} update, "
            f"{c['delete']} delete, {c['noop']} unchanged  [change set {self.hash[:12]}]"
        )

    def diff(self, *, limit: int | None = None) -> str:
        """A readable diff: per changed row, ``field: old -> new`` (no-ops are counted, not listed)."""
        lines = [self.summary()]
        shown = self.changes if limit is None else self.changes[:limit]
        for op in shown:
            label = "/".join(op.key)
            if op.kind is OpKind.CREATE:
                fields = ", ".join(f"{k}={_values.display(v)}" for k, v in op.values.items())
                lines.append(f"{_SYMBOL[op.kind]} {label}  create  {fields}")
            elif op.kind is OpKind.UPDATE:
                fields = "; ".join(
                    f"{k}: {_values.display(old)} -> {_values.display(new)}"
                    for k, (old, new) in op.changes.items()
                )
                lines.append(f"{_SYMBOL[op.kind]} {label}  update  {fields}")
            else:
                lines.append(
                    f"{_SYMBOL[op.kind]} {label}  delete  (iMIS row {'|'.join(op.identity or ())})"
                )
        hidden = len(self.changes) - len(shown)
        if hidden > 0:
            lines.append(f"... and {hidden} more change(s)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "target": self.target.to_dict(),
            "computed_at": self.computed_at.isoformat(),
            "counts": self.counts,
            "context": _jsonable(self.context),
            "operations": [op.to_dict() for op in self.operations],
        }

    def to_json(self) -> str:
        return _canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> ChangeSet:
        """Rebuild a change set (for example a staged one from the warehouse); checks its hash."""
        data = json.loads(text) if isinstance(text, str) else text
        change_set = cls(
            target=Target.from_dict(data["target"]),
            operations=tuple(Operation.from_dict(op) for op in data["operations"]),
            computed_at=datetime.fromisoformat(data["computed_at"]),
            context=dict(data.get("context") or {}),
        )
        if "hash" in data and data["hash"] != change_set.hash:
            raise ChangeSetError(
                f"change set {data['hash'][:12]} does not match its content (hash {change_set.hash[:12]})"
            )
        return change_set


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _jsonable(value: Any) -> Any:
    return json.loads(_canonical_json(value))


def key_text(value: Any, tz: tzinfo = UTC) -> str:
    """A natural-key element as text: ``40125`` and ``"40125"`` are the same member."""
    form = _values.canonical(value, tz)
    if form is None:
        return ""
    if isinstance(form, tuple):
        return str(form[1])
    return str(form)


def _folded(row: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    # iMIS property names are case-insensitive: look them up casefolded.
    return {str(name).casefold(): (str(name), value) for name, value in row.items()}


def _get(row: Mapping[str, tuple[str, Any]], name: str) -> Any:
    found = row.get(name.casefold())
    return None if found is None else found[1]


def _row_key(
    row: Mapping[str, Any], key: tuple[str, ...], tz: tzinfo, *, where: str
) -> tuple[str, ...]:
    folded = _folded(row)
    values = tuple(key_text(_get(folded, name), tz) for name in key)
    missing = [name for name, text in zip(key, values, strict=True) if not text]
    if missing:
        raise ChangeSetError(
            f"{where}: natural key field(s) {missing} are empty in row {dict(row)!r}"
        )
    return values


def _identity(row: Mapping[str, Any], target: Target, tz: tzinfo) -> tuple[str, ...]:
    folded = _folded(row)
    return tuple(key_text(_get(folded, name), tz) for name in target.identity)


def plan(
    target: Target,
    desired: Iterable[Mapping[str, Any]],
    current: Iterable[Mapping[str, Any]],
    *,
    tz: tzinfo = UTC,
    create_only: bool = False,
    delete_missing: bool = False,
    context: Mapping[str, Any] | None = None,
) -> ChangeSet:
    """Compare desired rows with current iMIS rows (both as property dicts) into a change set.

    ``create_only``: an existing row is left alone even where it differs (review items, whose
    status belongs to the reviewer). ``delete_missing``: current rows whose key is not desired are
    deleted. Operations come in the order of the desired rows, deletes last.
    """
    existing: dict[tuple[str, ...], Mapping[str, Any]] = {}
    for row in current:
        existing.setdefault(_row_key(row, target.key, tz, where=f"iMIS {target.name}"), row)

    operations: list[Operation] = []
    seen: set[tuple[str, ...]] = set()
    for position, row in enumerate(desired):
        key = _row_key(row, target.key, tz, where=f"desired row {position} for {target.name}")
        if key in seen:
            raise ChangeSetError(
                f"desired rows for {target.name} repeat the natural key {'/'.join(key)}"
            )
        seen.add(key)
        try:
            wanted = {name: _values.to_json(value, tz) for name, value in row.items()}
        except _values.NotFiniteError as exc:
            bad = next(n for n, v in row.items() if _is_not_finite(v))
            raise ChangeSetError(
                f"{target.name} row {'/'.join(key)}: field {bad!r} is {row[bad]!r}; "
                "NaN and infinite values are never written to iMIS"
            ) from exc
        have = existing.get(key)
        if have is None:
            operations.append(Operation(OpKind.CREATE, key, values=wanted))
            continue
        identity = _identity(have, target, tz)
        if create_only:
            operations.append(Operation(OpKind.NOOP, key, identity=identity))
            continue
        folded = _folded(have)
        compared = [n for n in row if target.owned is None or n in target.owned]
        changes = {
            name: (_values.to_json(_get(folded, name), tz), wanted[name])
            for name in compared
            if not _values.same(row[name], _get(folded, name), tz)
        }
        if changes:
            owned = {name: wanted[name] for name in compared}
            operations.append(
                Operation(OpKind.UPDATE, key, identity=identity, values=owned, changes=changes)
            )
        else:
            operations.append(Operation(OpKind.NOOP, key, identity=identity))

    if delete_missing:
        for key, have in existing.items():
            if key not in seen:
                operations.append(
                    Operation(OpKind.DELETE, key, identity=_identity(have, target, tz))
                )
    return ChangeSet(target, tuple(operations), context=dict(context or {}))


def _is_not_finite(value: Any) -> bool:
    try:
        _values.canonical(value)
    except _values.NotFiniteError:
        return True
    return False


def compute_change_set(
    target: Target,
    desired: Iterable[Mapping[str, Any]],
    client: Any,
    *,
    tz: tzinfo = UTC,
    create_only: bool = False,
    delete_missing: bool = False,
    context: Mapping[str, Any] | None = None,
) -> ChangeSet:
    """Read the target's current rows through ``client`` and :func:`plan` against them.

    Only reads: nothing is written to iMIS (or anywhere else) when computing a change set.
    """
    if target.kind == "task":
        raise ChangeSetError(
            f"{target.name!r} is a task; build its change set with task_change_set()"
        )
    current = RowReader(client, target).rows()
    return plan(
        target,
        desired,
        current,
        tz=tz,
        create_only=create_only,
        delete_missing=delete_missing,
        context=context,
    )


def task_change_set(
    task: str, trigger: str, *, context: Mapping[str, Any] | None = None
) -> ChangeSet:
    """A change set that runs the iMIS task ``task`` once for ``trigger`` (say, a change-set hash).

    Applying it twice with the same trigger runs the task once: the journal remembers it.
    """
    target = Target.task(task)
    op = Operation(OpKind.CREATE, (task, trigger), values={"Task": task, "Trigger": trigger})
    return ChangeSet(target, (op,), context=dict(context or {}))
