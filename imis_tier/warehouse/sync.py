"""Backfill and incremental sync: iMIS (or IQA exports) -> raw tables, resumable and exact.

Every page lands in one transaction together with the run's position, so a run killed at any
moment (even ``kill -9``) resumes from the last page it stored, and rows are upserted by their iMIS
identity, so the warehouse ends with each source row exactly once. Incremental runs read only rows
whose ``UpdatedOn`` is after the last checkpoint (less a small look-back that absorbs clock skew
and rows sharing a stamp), as ASI's usage guidelines ask.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from imis_tier.extracts import EXTRACTS, Extract
from imis_tier.warehouse import canonical
from imis_tier.warehouse._database import Warehouse
from imis_tier.warehouse._loader import SchemaDriftError, to_raw, upsert
from imis_tier.warehouse._progress import Progress
from imis_tier.warehouse.sources import ExtractSource, FileSource, QuerySource

logger = logging.getLogger("imis_tier.sync")

DEFAULT_LOOKBACK = timedelta(days=1)
# Contacts and configuration are read whole even by a dated backfill: a member who joined before
# the backfill date is still a member.
_UNDATED = {"Parties", "CustomerTypes", "BillingItems", "TierBenefits", "Benefits"}

__all__ = ["SchemaDriftError", "SyncResult", "backfill", "load_exports", "sync_incremental"]


@dataclass
class SyncResult:
    run_id: str
    mode: str
    rows: dict[str, int] = field(default_factory=dict)
    resumed: bool = False

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _now() -> datetime:
    """Bookkeeping stamps are naive UTC (DuckDB TIMESTAMP), so reading them needs no tz database."""
    return datetime.now(UTC).replace(tzinfo=None)


def _as_source(source: Any) -> ExtractSource:
    if hasattr(source, "pages") and hasattr(source, "description"):
        return source
    return QuerySource(source)


def backfill(
    source: Any,
    warehouse: Warehouse,
    *,
    since: date | None = None,
    entities: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Pull full history (dated rows from ``since`` on) into the warehouse; resumes a killed backfill."""
    start = datetime(since.year, since.month, since.day) if since else None
    return _run("backfill", _as_source(source), warehouse, entities, progress, lambda e, _: None if e.entity in _UNDATED else start)


def sync_incremental(
    source: Any,
    warehouse: Warehouse,
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    entities: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Pull only what changed since each entity's checkpoint (everything for a new entity)."""

    def since_for(extract: Extract, checkpoints: dict[str, datetime | None]) -> datetime | None:
        mark = checkpoints.get(extract.entity)
        if not extract.incremental or mark is None:
            return None
        return mark - lookback

    return _run("sync", _as_source(source), warehouse, entities, progress, since_for)


def load_exports(directory: str, warehouse: Warehouse, *, progress: Progress | None = None) -> SyncResult:
    """The on-premise file route: load IQA CSV exports (one file per extract) into the raw tables."""
    return _run("file", FileSource(directory), warehouse, None, progress, lambda e, _: None)


def _selected(entities: Sequence[str] | None) -> list[Extract]:
    if not entities:
        return list(EXTRACTS)
    known = {e.entity: e for e in EXTRACTS}
    unknown = [name for name in entities if name not in known]
    if unknown:
        raise ValueError(f"unknown entities {unknown}; known: {', '.join(known)}")
    return [known[name] for name in entities]


def _checkpoints(warehouse: Warehouse) -> dict[str, datetime | None]:
    rows = warehouse.fetchall("SELECT entity, watermark FROM sync_checkpoint")
    return {str(entity): mark for entity, mark in rows}


def _open_run(warehouse: Warehouse, mode: str, source: ExtractSource) -> tuple[str, bool]:
    row = warehouse.fetchone(
        "SELECT run_id FROM sync_runs WHERE status = 'running' AND mode = ? AND source = ? "
        "ORDER BY started_at DESC LIMIT 1",
        [mode, source.description],
    )
    if row:
        logger.info("resuming %s run %s", mode, row[0])
        return str(row[0]), True
    run_id = f"{mode}-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    warehouse.execute(
        "INSERT INTO sync_runs (run_id, mode, source, started_at, status) VALUES (?, ?, ?, ?, 'running')",
        [run_id, mode, source.description, _now()],
    )
    return run_id, False


def _run(
    mode: str,
    source: ExtractSource,
    warehouse: Warehouse,
    entities: Sequence[str] | None,
    progress: Progress | None,
    since_for: Callable[[Extract, dict[str, datetime | None]], datetime | None],
) -> SyncResult:
    extracts = _selected(entities)
    run_id, resumed = _open_run(warehouse, mode, source)
    result = SyncResult(run_id, mode, resumed=resumed)
    progress = progress or Progress(enabled=False)
    checkpoints = _checkpoints(warehouse)
    try:
        for extract in extracts:
            result.rows[extract.entity] = _extract_entity(
                warehouse, source, extract, run_id, since_for(extract, checkpoints), progress
            )
        _finish(warehouse, run_id, extracts)
    except BaseException as exc:
        # A killed process never gets here; an exception leaves the run resumable but says why.
        warehouse.execute("UPDATE sync_runs SET error = ? WHERE run_id = ?", [str(exc)[:2000], run_id])
        raise
    progress.done()
    canonical.refresh(warehouse)
    return result


def _extract_entity(
    warehouse: Warehouse,
    source: ExtractSource,
    extract: Extract,
    run_id: str,
    since: datetime | None,
    progress: Progress,
) -> int:
    state = warehouse.fetchone(
        "SELECT since, next_offset, done, rows FROM sync_progress WHERE run_id = ? AND entity = ?",
        [run_id, extract.entity],
    )
    if state is None:
        warehouse.execute(
            "INSERT INTO sync_progress (run_id, entity, since) VALUES (?, ?, ?)",
            [run_id, extract.entity, since],
        )
        offset, rows_so_far = 0, 0
        if not extract.incremental:
            # configuration tables are replaced whole: clear them in the first page's transaction
            offset = -1
    else:
        since, offset, done, rows_so_far = state[0], int(state[1]), bool(state[2]), int(state[3])
        if done:
            return rows_so_far
    replace_whole = offset == -1
    offset = max(offset, 0)
    first = True
    for page in source.pages(extract, since, offset):
        if first:
            progress.expect(extract.entity, (page.total or 0) - page.offset)
            first = False
        frame = to_raw(page.rows, extract, source_offset=page.offset)
        with warehouse.transaction() as conn:
            if replace_whole:
                conn.execute(f"DELETE FROM {extract.table}")
                replace_whole = False
            written = upsert(warehouse, extract, frame)
            max_updated = _latest_update(frame)
            conn.execute(
                "UPDATE sync_progress SET next_offset = ?, rows = rows + ?, done = ?,"
                " max_updated = greatest(coalesce(max_updated, ?), ?) WHERE run_id = ? AND entity = ?",
                [
                    page.next_offset if page.next_offset is not None else page.offset + len(frame),
                    written,
                    page.next_offset is None,
                    max_updated,
                    max_updated,
                    run_id,
                    extract.entity,
                ],
            )
        rows_so_far += written
        progress.advance(written)
    warehouse.execute(
        "UPDATE sync_progress SET done = true WHERE run_id = ? AND entity = ?", [run_id, extract.entity]
    )
    return rows_so_far


def _latest_update(frame: pd.DataFrame) -> datetime | None:
    """The page's greatest UpdatedOn as a plain datetime (None for pages without stamps)."""
    if "updated_on" not in frame or frame.empty:
        return None
    latest = frame["updated_on"].max()
    return None if pd.isna(latest) else pd.Timestamp(latest).to_pydatetime()


def _finish(warehouse: Warehouse, run_id: str, extracts: Iterable[Extract]) -> None:
    with warehouse.transaction() as conn:
        for extract in extracts:
            row = conn.execute(
                "SELECT max_updated, rows FROM sync_progress WHERE run_id = ? AND entity = ?",
                [run_id, extract.entity],
            ).fetchone()
            mark, rows = (row[0], int(row[1])) if row else (None, 0)
            conn.execute(
                "INSERT INTO sync_checkpoint (entity, watermark, run_id, rows_total, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (entity) DO UPDATE SET"
                " watermark = greatest(coalesce(sync_checkpoint.watermark, excluded.watermark), excluded.watermark),"
                " run_id = excluded.run_id, rows_total = sync_checkpoint.rows_total + excluded.rows_total,"
                " updated_at = excluded.updated_at",
                [extract.entity, mark, run_id, rows, _now()],
            )
        total = conn.execute("SELECT coalesce(sum(rows), 0) FROM sync_progress WHERE run_id = ?", [run_id]).fetchone()
        conn.execute(
            "UPDATE sync_runs SET status = 'finished', finished_at = ?, rows = ?, error = NULL WHERE run_id = ?",
            [_now(), int(total[0]) if total else 0, run_id],
        )
