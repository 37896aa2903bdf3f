"""What a handler function receives: its settings, the run, the clock, the client and warehouse."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imis_tier.handlers.clock import Clock
from imis_tier.handlers.errors import HandlerUnavailable
from imis_tier.handlers.model import Handler, QueryInput, WarehouseInput
from imis_tier.warehouse import Warehouse

ClientFactory = Callable[[], Any]


@dataclass
class HandlerContext:
    """The run a handler function is part of.

    Count what you read and write with :meth:`read` and :meth:`wrote` (the journal records them).
    On a dry run, describe each write with :meth:`would` instead of doing it; :meth:`write` does
    one or the other for you.
    """

    handler: Handler
    run_id: str
    trigger: str
    clock: Clock
    warehouse: Warehouse
    timezone: str = "UTC"
    dry_run: bool = False
    slot: datetime | None = None
    event: Mapping[str, Any] | None = None
    resumes: str | None = None
    client_factory: ClientFactory | None = None
    rows_read: int = 0
    rows_written: int = 0
    plan: list[str] = field(default_factory=list)
    _client: Any = None

    @property
    def name(self) -> str:
        return self.handler.name

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.handler.settings

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"imis_tier.handlers.run.{self.handler.name}")

    @property
    def client(self) -> Any:
        """The iMIS client, created on first use (handlers that only touch the warehouse never log in)."""
        if self._client is None:
            if self.client_factory is None:
                raise HandlerUnavailable(
                    f"handler {self.name!r} needs iMIS but no connection is configured ([imis] section)"
                )
            self._client = self.client_factory()
        return self._client

    def now(self) -> datetime:
        return self.clock.now()

    def read(self, count: int = 1) -> None:
        self.rows_read += count

    def wrote(self, count: int = 1) -> None:
        self.rows_written += count

    def would(self, description: str) -> None:
        """Record a write a dry run would have made."""
        self.plan.append(description)
        self.log.info("dry run: would %s", description)

    def write(self, description: str, action: Callable[[], Any], count: int = 1) -> Any:
        """Do ``action`` and count ``count`` rows written, or on a dry run only record it."""
        if self.dry_run:
            self.would(description)
            return None
        result = action()
        self.wrote(count)
        return result

    def input_rows(self, **parameters: str) -> Iterator[dict[str, Any]]:
        """The rows of the handler's input: its IQA query, or its warehouse SQL."""
        spec = self.handler.input
        if isinstance(spec, QueryInput):
            params = list(spec.parameters)
            if parameters:
                params = list(parameters.values())
            for row in self.client.query(spec.query, parameters=params):
                self.read()
                yield dict(row)
        elif isinstance(spec, WarehouseInput) and spec.sql:
            with self.warehouse.transaction() as conn:
                cursor = conn.execute(spec.sql)
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            for values in rows:
                self.read()
                yield dict(zip(names, values, strict=True))
        else:
            raise HandlerUnavailable(f"handler {self.name!r} has no query or warehouse SQL input")

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()
        self._client = None
