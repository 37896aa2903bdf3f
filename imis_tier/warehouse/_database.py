"""The warehouse file: one DuckDB database per association, migrated by the project.

This module is the only place that imports duckdb; everything else asks a :class:`Warehouse` for a
connection or a transaction.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class WarehouseError(Exception):
    """The warehouse file is unusable: newer than this library, or a migration failed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


def available_migrations() -> list[Migration]:
    """Every migration shipped with the library, in version order.

    Numbers are reserved per layer so parts can grow independently: 0001-0099 extraction and raw
    tables, 0100 handlers, 0200 write-back and audit, 0300 scoring, 0400 value, 0500 simulation.
    """
    found: list[Migration] = []
    for entry in resources.files("imis_tier.warehouse.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"two migrations share a version number: {versions}")
    return found


class Warehouse:
    """An association's embedded warehouse (a DuckDB file, or ``":memory:"``).

    Opening it applies any pending migrations. One connection is shared; DuckDB serialises writes
    within it, and :meth:`transaction` makes a batch atomic (all rows or none).
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = duckdb.connect(self.path, read_only=read_only)
        self._conn.execute("SET enable_progress_bar = false")  # stderr belongs to the CLI
        self._lock = threading.RLock()
        if not read_only:
            self.migrate()

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        row = self.fetchone("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; return the versions applied."""
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
        )
        applied = {
            int(v): c for v, c in self._conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        }
        shipped = available_migrations()
        newest_known = max((m.version for m in shipped), default=0)
        unknown = sorted(v for v in applied if v > newest_known)
        if unknown:
            raise WarehouseError(
                f"warehouse {self.path} has migrations {unknown} that this version of imis-tier "
                "does not know; upgrade imis-tier"
            )
        done: list[int] = []
        for migration in shipped:
            if migration.version in applied:
                continue
            with self.transaction() as conn:
                try:
                    conn.execute(migration.sql)
                except duckdb.Error as exc:
                    raise WarehouseError(
                        f"migration {migration.version:04d}_{migration.name}.sql failed: {exc}"
                    ) from exc
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                    [migration.version, migration.name, migration.checksum],
                )
            done.append(migration.version)
        return done

    # -- access ----------------------------------------------------------------------------------
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write batch that lands whole or not at all (rolled back on any exception)."""
        with self._lock:
            self._conn.execute("BEGIN TRANSACTION")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, parameters: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._conn.execute(sql, parameters or [])

    def fetchall(self, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and fetch every row while holding the connection (safe across threads)."""
        with self._lock:
            return self._conn.execute(sql, parameters or []).fetchall()

    def fetchone(self, sql: str, parameters: list[Any] | None = None) -> tuple[Any, ...] | None:
        with self._lock:
            return self._conn.execute(sql, parameters or []).fetchone()

    def query_df(self, sql: str, parameters: list[Any] | None = None) -> Any:
        """Run a query and return a pandas DataFrame."""
        with self._lock:
            return self._conn.execute(sql, parameters or []).df()

    def tables(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [str(r[0]) for r in rows]
