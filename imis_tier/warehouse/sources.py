"""Where extracted rows come from: iMIS through the SDK, or IQA CSV exports on disk.

A source yields pages of rows keyed by the extract's IQA aliases, starting at an offset, so the
sync can resume exactly where a killed run stopped. Both sources feed the same loader, so both
routes give identical raw and canonical tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from imis_tier.extracts import Extract

PAGE_SIZE = 500  # iMIS's largest page


@dataclass(frozen=True)
class SourcePage:
    rows: Sequence[Mapping[str, Any]] | pd.DataFrame
    offset: int
    next_offset: int | None  # None on the last page
    total: int | None


class ExtractSource(Protocol):
    """Anything that can page through an extract's rows changed after ``since``."""

    description: str

    def pages(self, extract: Extract, since: datetime | None, offset: int) -> Iterator[SourcePage]: ...


def _since_parameter(since: datetime | None) -> str:
    return "" if since is None else "gt:" + since.strftime("%Y-%m-%dT%H:%M:%S")


class QuerySource:
    """Rows from iMIS's ``/api/query`` endpoint, read through the SDK client."""

    def __init__(self, client: Any, *, page_size: int = PAGE_SIZE) -> None:
        self.client = client
        self.page_size = page_size
        self.description = str(getattr(client, "base_url", "iMIS"))

    def pages(self, extract: Extract, since: datetime | None, offset: int) -> Iterator[SourcePage]:
        result = self.client.query(
            extract.query,
            parameters=[_since_parameter(since)],
            limit=self.page_size,
            offset=offset,
        )
        for page in result.pages():
            next_offset = page.offset + len(page.items) if page.has_next else None
            yield SourcePage(page.items, page.offset, next_offset, page.total_count)


class FileSource:
    """Rows from IQA CSV exports: one file per extract, named after its entity (``Parties.csv``).

    This is the on-premise route: an administrator exports each ``$/ImisTier/...`` query to CSV
    (or runs the SQL in ``docs/sync.md``), and the warehouse loads the files exactly as it would
    load the API's pages.
    """

    def __init__(self, directory: str | Path, *, page_size: int = 50_000) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"IQA export directory {self.directory} does not exist")
        self.page_size = page_size
        self.description = str(self.directory)

    def path_for(self, extract: Extract) -> Path:
        return self.directory / f"{extract.entity}.csv"

    def pages(self, extract: Extract, since: datetime | None, offset: int) -> Iterator[SourcePage]:
        path = self.path_for(extract)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no export for {extract.entity} (query {extract.query})")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        except pd.errors.EmptyDataError:  # not even a header: nothing exported
            return
        if since is not None and "UpdatedOn" in frame.columns:
            stamps = pd.to_datetime(frame["UpdatedOn"], errors="coerce", format="ISO8601")
            frame = frame[stamps > pd.Timestamp(since)]
        total = len(frame)
        # at least one (possibly empty) page, so a header-only export still empties a config table
        for position in range(offset, max(total, offset + 1), self.page_size):
            end = position + self.page_size
            chunk = frame.iloc[position:end].reset_index(drop=True)
            yield SourcePage(chunk, position, end if end < total else None, total)


def write_exports(directory: str | Path, frames: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Write frames keyed by entity name as IQA-style CSV exports (used by tests and demos)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for entity, frame in frames.items():
        path = target / f"{entity}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written
