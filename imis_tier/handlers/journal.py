"""The handler tables in the warehouse: run journal, crash-safe locks, schedule positions, events.

Every read and write goes through :meth:`Warehouse.transaction`, which serialises threads on the
shared DuckDB connection. Instants are stored as naive UTC and returned timezone-aware.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from imis_tier.warehouse import Warehouse

HOST = socket.gethostname()


def new_owner() -> str:
    """An owner id for this process: host, pid and a random token (pids are reused)."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _db(instant: datetime | None) -> datetime | None:
    if instant is None:
        return None
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant} given where an aware instant is required")
    return instant.astimezone(UTC).replace(tzinfo=None)


def _aware(value: Any) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _lock(row: Sequence[Any]) -> LockInfo:
    return LockInfo(
        row[0],
        row[1],
        row[2],
        int(row[3]),
        row[4],
        row[5].replace(tzinfo=UTC),
        row[6].replace(tzinfo=UTC),
    )


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@dataclass(frozen=True)
class RunRecord:
    """One row of the run journal."""

    run_id: str
    handler: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    rows_read: int
    rows_written: int
    error: str | None
    slot: datetime | None = None
    event_id: str | None = None
    dry_run: bool = False
    resumes: str | None = None
    details: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


@dataclass(frozen=True)
class LockInfo:
    handler: str
    owner: str
    host: str
    pid: int
    run_id: str
    acquired_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class Delivery:
    event_id: str
    handler: str
    attempts: int
    payload: Mapping[str, Any]


_RUN_COLUMNS = (
    "run_id, handler, trigger, status, started_at, finished_at, attempts, rows_read, rows_written,"
    " error, slot, event_id, dry_run, resumes, details"
)


def _run(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        run_id=row[0], handler=row[1], trigger=row[2], status=row[3],
        started_at=_aware(row[4]) or datetime.min.replace(tzinfo=UTC), finished_at=_aware(row[5]),
        attempts=int(row[6]), rows_read=int(row[7]), rows_written=int(row[8]), error=row[9],
        slot=_aware(row[10]), event_id=row[11], dry_run=bool(row[12]), resumes=row[13],
        details=json.loads(row[14]) if row[14] else None,
    )  # fmt: skip


class Journal:
    """Typed access to the handler tables of one warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.warehouse.transaction() as conn:
            return conn.execute(sql, list(params)).fetchall()

    def _do(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.warehouse.transaction() as conn:
            conn.execute(sql, list(params))

    # -- runs ------------------------------------------------------------------------------------
    def start_run(
        self, handler: str, *, trigger: str, owner: str, now: datetime, slot: datetime | None = None,
        event_id: str | None = None, dry_run: bool = False, resumes: str | None = None,
        run_id: str | None = None,
    ) -> str:  # fmt: skip
        run_id = run_id or f"{handler}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self._do(
            "INSERT INTO handler_runs (run_id, handler, trigger, slot, event_id, dry_run, owner,"
            " started_at, status, resumes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
            [run_id, handler, trigger, _db(slot), event_id, dry_run, owner, _db(now), resumes],
        )
        return run_id

    def finish_run(
        self, run_id: str, *, status: str, now: datetime, attempts: int, rows_read: int,
        rows_written: int, error: str | None = None, details: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self._do(
            "UPDATE handler_runs SET status = ?, finished_at = ?, attempts = ?, rows_read = ?,"
            " rows_written = ?, error = ?, details = ? WHERE run_id = ?",
            [status, _db(now), attempts, rows_read, rows_written, error,
             json.dumps(dict(details), default=str) if details else None, run_id],
        )  # fmt: skip

    def run(self, run_id: str) -> RunRecord:
        rows = self._all(f"SELECT {_RUN_COLUMNS} FROM handler_runs WHERE run_id = ?", [run_id])
        if not rows:
            raise KeyError(f"no run {run_id!r} in the journal")
        return _run(rows[0])

    def runs(self, handler: str | None = None, *, limit: int = 50) -> list[RunRecord]:
        """Most recent runs first."""
        where, params = ("WHERE handler = ?", [handler]) if handler else ("", [])
        rows = self._all(
            f"SELECT {_RUN_COLUMNS} FROM handler_runs {where} ORDER BY started_at DESC, run_id DESC LIMIT ?",
            [*params, limit],
        )
        return [_run(r) for r in rows]

    def running_runs(self) -> list[tuple[RunRecord, str]]:
        rows = self._all(f"SELECT {_RUN_COLUMNS}, owner FROM handler_runs WHERE status = 'running'")
        return [(_run(r), r[-1]) for r in rows]

    def mark_interrupted(self, run_id: str, now: datetime, reason: str) -> None:
        self._do(
            "UPDATE handler_runs SET status = 'interrupted', finished_at = ?, error = ? WHERE run_id = ?",
            [_db(now), reason, run_id],
        )

    # -- locks -----------------------------------------------------------------------------------
    def lock(self, handler: str) -> LockInfo | None:
        rows = self._all(
            "SELECT handler, owner, host, pid, run_id, acquired_at, heartbeat_at FROM handler_locks"
            " WHERE handler = ?",
            [handler],
        )
        if not rows:
            return None
        return _lock(rows[0])

    def try_lock(
        self, handler: str, *, owner: str, run_id: str, now: datetime, stale_after: timedelta
    ) -> tuple[bool, LockInfo | None]:
        """Take the handler's lock; a lock whose owner died or stopped heartbeating is taken over.

        Returns (acquired, previous holder if it was taken over or is blocking).
        """
        with self.warehouse.transaction() as conn:
            row = conn.execute(
                "SELECT handler, owner, host, pid, run_id, acquired_at, heartbeat_at FROM handler_locks"
                " WHERE handler = ?",
                [handler],
            ).fetchone()
            previous = None
            if row is not None:
                previous = _lock(row)
                # Same pid but another owner: a restarted process reusing the pid (pid 1 in containers).
                dead = previous.host == HOST and (
                    not pid_alive(previous.pid)
                    or (previous.pid == os.getpid() and previous.owner != owner)
                )
                silent = now - previous.heartbeat_at > stale_after
                if not (dead or silent):
                    return False, previous
                conn.execute("DELETE FROM handler_locks WHERE handler = ?", [handler])
            conn.execute(
                "INSERT INTO handler_locks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [handler, owner, HOST, os.getpid(), run_id, _db(now), _db(now)],
            )
            return True, previous

    def heartbeat(self, handler: str, owner: str, now: datetime) -> None:
        self._do(
            "UPDATE handler_locks SET heartbeat_at = ? WHERE handler = ? AND owner = ?",
            [_db(now), handler, owner],
        )

    def unlock(self, handler: str, owner: str) -> None:
        self._do("DELETE FROM handler_locks WHERE handler = ? AND owner = ?", [handler, owner])

    # -- schedule --------------------------------------------------------------------------------
    def last_slot(self, handler: str) -> datetime | None:
        rows = self._all("SELECT last_slot FROM handler_schedule WHERE handler = ?", [handler])
        return _aware(rows[0][0]) if rows else None

    def set_last_slot(
        self, handler: str, slot: datetime, run_id: str | None, now: datetime
    ) -> None:
        self._do(
            "INSERT INTO handler_schedule VALUES (?, ?, ?, ?) ON CONFLICT (handler) DO UPDATE SET"
            " last_slot = excluded.last_slot, last_run_id = excluded.last_run_id,"
            " updated_at = excluded.updated_at",
            [handler, _db(slot), run_id, _db(now)],
        )

    # -- change notifications --------------------------------------------------------------------
    def record_event(
        self, event: Mapping[str, Any], handlers: Sequence[str], now: datetime
    ) -> bool:
        """Store an event and its deliveries; False when this event id was already received."""
        event_id = str(event["id"])
        with self.warehouse.transaction() as conn:
            seen = conn.execute(
                "SELECT 1 FROM handler_events WHERE event_id = ?", [event_id]
            ).fetchone()
            if seen:
                return False
            conn.execute(
                "INSERT INTO handler_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [event_id, str(event.get("eventType", "")), event.get("subject"),
                 event.get("eventTime"), _db(now), json.dumps(event, default=str),
                 "pending" if handlers else "ignored", None if handlers else _db(now)],
            )  # fmt: skip
            for name in handlers:
                conn.execute(
                    "INSERT INTO handler_event_deliveries (event_id, handler, status, next_attempt_at)"
                    " VALUES (?, ?, 'pending', ?)",
                    [event_id, name, _db(now)],
                )
            return True

    def due_deliveries(self, now: datetime, limit: int = 100) -> list[Delivery]:
        rows = self._all(
            "SELECT d.event_id, d.handler, d.attempts, e.payload FROM handler_event_deliveries d"
            " JOIN handler_events e USING (event_id) WHERE d.status = 'pending'"
            " AND d.next_attempt_at <= ? ORDER BY e.received_at, d.event_id, d.handler LIMIT ?",
            [_db(now), limit],
        )
        return [Delivery(r[0], r[1], int(r[2]), json.loads(r[3])) for r in rows]

    def next_delivery_at(self) -> datetime | None:
        rows = self._all(
            "SELECT min(next_attempt_at) FROM handler_event_deliveries WHERE status = 'pending'"
        )
        return _aware(rows[0][0]) if rows else None

    def delivery_done(self, event_id: str, handler: str, run_id: str, now: datetime) -> None:
        with self.warehouse.transaction() as conn:
            conn.execute(
                "UPDATE handler_event_deliveries SET status = 'done', run_id = ?, attempts = attempts + 1"
                " WHERE event_id = ? AND handler = ?",
                [run_id, event_id, handler],
            )
            self._settle_event(conn, event_id, now)

    def postpone_delivery(self, delivery: Delivery, retry_at: datetime) -> None:
        """Try a delivery again later without counting an attempt (its handler was busy)."""
        self._do(
            "UPDATE handler_event_deliveries SET next_attempt_at = ? WHERE event_id = ? AND handler = ?",
            [_db(retry_at), delivery.event_id, delivery.handler],
        )

    def delivery_failed(
        self, delivery: Delivery, error: str, now: datetime, *, retry_at: datetime | None
    ) -> None:
        """Count a failed attempt; with no ``retry_at`` the delivery goes to the dead letters."""
        with self.warehouse.transaction() as conn:
            if retry_at is not None:
                conn.execute(
                    "UPDATE handler_event_deliveries SET attempts = attempts + 1, last_error = ?,"
                    " next_attempt_at = ? WHERE event_id = ? AND handler = ?",
                    [error, _db(retry_at), delivery.event_id, delivery.handler],
                )
                return
            conn.execute(
                "UPDATE handler_event_deliveries SET status = 'dead', attempts = attempts + 1,"
                " last_error = ? WHERE event_id = ? AND handler = ?",
                [error, delivery.event_id, delivery.handler],
            )
            conn.execute(
                "INSERT INTO handler_dead_letters VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [delivery.event_id, delivery.handler, _db(now), delivery.attempts + 1, error,
                 json.dumps(dict(delivery.payload), default=str)],
            )  # fmt: skip
            self._settle_event(conn, delivery.event_id, now)

    @staticmethod
    def _settle_event(conn: Any, event_id: str, now: datetime) -> None:
        statuses = {r[0] for r in conn.execute(
            "SELECT status FROM handler_event_deliveries WHERE event_id = ?", [event_id]
        ).fetchall()}  # fmt: skip
        if "pending" in statuses:
            return
        conn.execute(
            "UPDATE handler_events SET status = ?, finished_at = ? WHERE event_id = ?",
            ["dead" if "dead" in statuses else "done", _db(now), event_id],
        )

    def events(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT event_id, event_type, subject, status, received_at FROM handler_events ORDER BY received_at"
        )
        return [
            {
                "event_id": r[0],
                "event_type": r[1],
                "subject": r[2],
                "status": r[3],
                "received_at": _aware(r[4]),
            }
            for r in rows
        ]

    def dead_letters(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT event_id, handler, dead_at, attempts, error FROM handler_dead_letters ORDER BY dead_at"
        )
        return [
            {
                "event_id": r[0],
                "handler": r[1],
                "dead_at": _aware(r[2]),
                "attempts": r[3],
                "error": r[4],
            }
            for r in rows
        ]

    def pending_delivery_count(self) -> int:
        rows = self._all("SELECT count(*) FROM handler_event_deliveries WHERE status = 'pending'")
        return int(rows[0][0])
