"""The audit trail: an append-only, hash-chained record of every write-back.

Each record stores who (the approving actor and the OS user), when (UTC), what (change-set hash,
target, counts), the inputs (data hash, as-of date), model versions and outputs, plus the hash of
the record before it. :func:`verify_audit_chain` recomputes every hash, so editing, deleting or
reordering a record is detected. Secrets never enter a record: keys that look like credentials are
redacted and URLs lose their user-info and credential query parameters.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from imis_tier.warehouse import Warehouse

GENESIS = "0" * 64
"""The ``prev_hash`` of the first record."""

_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|authori[sz]ation|api[_-]?key|credential|cookie", re.I
)
_REDACTED = "[redacted]"
_COLUMNS = (
    "seq", "recorded_at", "actor", "os_user", "action", "change_set_hash", "target", "counts",
    "inputs", "model_versions", "outputs", "prev_hash", "record_hash",
)  # fmt: skip


@dataclass(frozen=True)
class AuditRecord:
    """One audit record as stored (JSON fields decoded)."""

    seq: int
    recorded_at: datetime
    actor: str
    os_user: str | None
    action: str
    change_set_hash: str | None
    target: str | None
    counts: dict[str, Any]
    inputs: dict[str, Any]
    model_versions: dict[str, Any]
    outputs: dict[str, Any]
    prev_hash: str
    record_hash: str

    def computed_hash(self) -> str:
        """The hash this record's content and ``prev_hash`` should have."""
        return _record_hash(
            {
                "seq": self.seq,
                "recorded_at": self.recorded_at.astimezone(UTC).isoformat(),
                "actor": self.actor,
                "os_user": self.os_user,
                "action": self.action,
                "change_set_hash": self.change_set_hash,
                "target": self.target,
                "counts": self.counts,
                "inputs": self.inputs,
                "model_versions": self.model_versions,
                "outputs": self.outputs,
                "prev_hash": self.prev_hash,
            }
        )


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of :func:`verify_audit_chain`; truthy when the chain is intact."""

    ok: bool
    records: int
    broken_at: int | None = None
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _record_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical_json(fields).encode()).hexdigest()


def _redact_url(text: str) -> str:
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode(
        [
            (k, _REDACTED if _SECRET_KEY.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(value: Any) -> Any:
    """``value`` with credential-like keys replaced and URLs stripped of credentials (recursive)."""
    if isinstance(value, Mapping):
        return {
            str(k): _REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return _redact_url(value)
    return json.loads(_canonical_json(value)) if value is not None else None


def default_actor() -> str:
    """The configured actor (``IMIS_TIER_ACTOR``), else the OS user."""
    return os.environ.get("IMIS_TIER_ACTOR") or _os_user() or "unknown"


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): record nothing rather than fail
        return None


def record_audit(
    warehouse: Warehouse,
    *,
    actor: str,
    action: str,
    change_set_hash: str | None = None,
    target: str | None = None,
    counts: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    model_versions: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append one record to the chain (atomically) and return it."""
    if not actor:
        raise ValueError("an audit record needs an actor (who approved the write-back)")
    with warehouse.transaction() as conn:
        # fetchall, not fetchone: duckdb refuses further work while a result is half read.
        rows = conn.execute(
            "SELECT seq, record_hash FROM writeback_audit ORDER BY seq DESC LIMIT 1"
        ).fetchall()
        last = rows[0] if rows else None
        seq, prev_hash = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
        # microsecond precision survives the TIMESTAMP column, so the hash can be recomputed.
        record = AuditRecord(
            seq=seq,
            recorded_at=datetime.now(UTC),
            actor=actor,
            os_user=_os_user(),
            action=action,
            change_set_hash=change_set_hash,
            target=target,
            counts=redact(dict(counts or {})),
            inputs=redact(dict(inputs or {})),
            model_versions=redact(dict(model_versions or {})),
            outputs=redact(dict(outputs or {})),
            prev_hash=prev_hash,
            record_hash="",
        )
        record = _with_hash(record)
        conn.execute(
            f"INSERT INTO writeback_audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            [
                record.seq, record.recorded_at.replace(tzinfo=None), record.actor, record.os_user,
                record.action, record.change_set_hash, record.target, _canonical_json(record.counts),
                _canonical_json(record.inputs), _canonical_json(record.model_versions),
                _canonical_json(record.outputs), record.prev_hash, record.record_hash,
            ],
        )  # fmt: skip
    return record


def _with_hash(record: AuditRecord) -> AuditRecord:
    return AuditRecord(**{**record.__dict__, "record_hash": record.computed_hash()})


def audit_records(warehouse: Warehouse) -> list[AuditRecord]:
    """Every audit record, oldest first."""
    rows = warehouse.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM writeback_audit ORDER BY seq"
    ).fetchall()
    return [_from_row(row) for row in rows]


def _from_row(row: tuple[Any, ...]) -> AuditRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in ("counts", "inputs", "model_versions", "outputs"):
        values[name] = json.loads(values[name])
    values["recorded_at"] = values["recorded_at"].replace(tzinfo=UTC)
    values["seq"] = int(values["seq"])
    return AuditRecord(**values)


def verify_audit_chain(warehouse: Warehouse) -> AuditVerification:
    """Recompute the chain: every record's hash, its link to the previous one, and no gaps."""
    records = audit_records(warehouse)
    prev_hash = GENESIS
    for expected_seq, record in enumerate(records, start=1):
        if record.seq != expected_seq:
            return AuditVerification(
                False,
                len(records),
                record.seq,
                f"record {expected_seq} is missing (next is {record.seq})",
            )
        if record.prev_hash != prev_hash:
            return AuditVerification(
                False, len(records), record.seq,
                f"record {record.seq} does not link to record {record.seq - 1} (prev_hash differs)",
            )  # fmt: skip
        if record.computed_hash() != record.record_hash:
            return AuditVerification(
                False, len(records), record.seq,
                f"record {record.seq} was altered after it was written (its hash does not match)",
            )  # fmt: skip
        prev_hash = record.record_hash
    return AuditVerification(True, len(records))
