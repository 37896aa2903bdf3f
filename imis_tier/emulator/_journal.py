"""The optional state file: an append-only JSON-lines journal of every write, replayed on start.

A journal rather than a snapshot: appending one line per write costs microseconds even when the
association has a million members, and replaying writes (and clock advances, which are
deterministic for a given seed) over the regenerated association rebuilds the same state.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

FORMAT = "imis-emulator-journal/1"


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$dec" in value:
            return Decimal(value["$dec"])
    return value


class Journal:
    """Appends operations to ``path`` (or keeps nothing when ``path`` is None)."""

    def __init__(self, path: str | Path | None, header: dict[str, Any]) -> None:
        self.path = Path(path) if path is not None else None
        self.header = {"op": "header", "format": FORMAT, **header}
        self._lock = threading.Lock()
        self.paused = False

    def existing(self) -> list[dict[str, Any]]:
        """Operations already in the file (after checking it belongs to this association)."""
        if self.path is None or not self.path.exists() or self.path.stat().st_size == 0:
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        ops = [json.loads(line) for line in lines if line.strip()]
        head = ops[0] if ops else {}
        if head.get("op") != "header" or head.get("format") != FORMAT:
            raise ValueError(f"state file {self.path} is not an imis-tier emulator journal")
        for key, value in self.header.items():
            if head.get(key) != value:
                raise ValueError(
                    f"state file {self.path} was written for {key}={head.get(key)!r}, "
                    f"not {value!r}; use another --state-file or the original settings"
                )
        return ops[1:]

    def start(self) -> None:
        if self.path is not None and (not self.path.exists() or self.path.stat().st_size == 0):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.header) + "\n", encoding="utf-8")

    def append(self, op: dict[str, Any]) -> None:
        if self.path is None or self.paused:
            return
        line = json.dumps(op, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
