"""Progress of a sync: rows, rate and time left, on a terminal line or as plain log lines."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

logger = logging.getLogger("imis_tier.sync")


class Progress:
    """Counts rows against an expected total; redraws one line on a TTY, logs every few seconds elsewhere."""

    def __init__(self, stream: TextIO | None = None, *, interval_s: float = 5.0, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if not self.tty else 0.2
        self.enabled = enabled
        self.rows = 0
        self.expected = 0
        self.entity = ""
        self._start = time.monotonic()
        self._last = 0.0

    def expect(self, entity: str, rows: int | None) -> None:
        self.entity = entity
        if rows:
            self.expected += rows

    def advance(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            self._emit(final=False)

    def done(self) -> None:
        self._emit(final=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.rows / elapsed
        left = max(self.expected - self.rows, 0)
        eta = f"{left / rate:,.0f}s left" if rate > 0 and left else "-"
        total = f"/{self.expected:,}" if self.expected else ""
        return f"{self.entity}: {self.rows:,}{total} rows, {rate:,.0f} rows/s, {eta}"

    def _emit(self, *, final: bool) -> None:
        if not self.enabled:
            return
        if self.tty:
            end = "\n" if final else ""
            self.stream.write("\r\x1b[2K" + self.line() + end)
            self.stream.flush()
        else:
            logger.info(self.line())
