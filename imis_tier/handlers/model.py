"""What a handler is: a named function with a trigger, an input, an output and settings.

Triggers, inputs and outputs are small immutable values; they describe the handler to people
(``imis-tier handlers list``) and to the service (which schedule or change notification starts it,
which query the context reads, where its writes go).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from imis_tier.handlers.context import HandlerContext


# -- triggers ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """Run on a five-field cron schedule, evaluated in the association's time zone."""

    cron: str
    kind: Literal["schedule"] = "schedule"

    def describe(self) -> str:
        return f"schedule {self.cron!r}"


@dataclass(frozen=True)
class ChangeNotification:
    """Run when iMIS posts a change notification, e.g. ``"Party.Updated"`` (``"Party.*"`` matches any)."""

    event_types: tuple[str, ...]
    kind: Literal["event"] = "event"

    def __post_init__(self) -> None:
        if isinstance(self.event_types, str):
            object.__setattr__(self, "event_types", (self.event_types,))
        for pattern in self.event_types:
            if "." not in pattern:
                raise ValueError(f"change notification {pattern!r} must look like 'Entity.Action'")

    def matches(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type.lower(), p.lower()) for p in self.event_types)

    def describe(self) -> str:
        return "on " + ", ".join(self.event_types)


@dataclass(frozen=True)
class Manual:
    """Run only when asked (``imis-tier handlers run NAME``)."""

    kind: Literal["manual"] = "manual"

    def describe(self) -> str:
        return "manual"


Trigger = Schedule | ChangeNotification | Manual


# -- inputs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryInput:
    """Rows of a named IQA query (``/api/query``), with its positional prompt values."""

    query: str
    parameters: tuple[str, ...] = ()
    kind: Literal["query"] = "query"

    def describe(self) -> str:
        return f"query {self.query}" + (f" {list(self.parameters)}" if self.parameters else "")


@dataclass(frozen=True)
class WarehouseInput:
    """The warehouse (optionally one SQL statement whose rows the context yields)."""

    sql: str | None = None
    kind: Literal["warehouse"] = "warehouse"

    def describe(self) -> str:
        return "warehouse" + (f" ({self.sql.split()[0]} ...)" if self.sql else "")


Input = QueryInput | WarehouseInput


# -- outputs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CustomObjectOutput:
    """Rows upserted into a custom business object or panel source, keyed by ``key`` fields."""

    source: str
    key: tuple[str, ...]
    kind: Literal["custom_object"] = "custom_object"

    def describe(self) -> str:
        return f"custom object {self.source} by {'+'.join(self.key)}"


@dataclass(frozen=True)
class ActivityOutput:
    """Activity rows of one type on the member's record."""

    activity_type: str
    kind: Literal["activity"] = "activity"

    def describe(self) -> str:
        return f"activities {self.activity_type}"


@dataclass(frozen=True)
class ReviewItemOutput:
    """Review items for staff: rows with a status field in a panel source that an IQA alert lists."""

    source: str
    kind: Literal["review_item"] = "review_item"

    def describe(self) -> str:
        return f"review items in {self.source}"


@dataclass(frozen=True)
class TaskOutput:
    """An iMIS Process Automation task run through ``TaskDefinition/_execute``."""

    task: str
    kind: Literal["task"] = "task"

    def describe(self) -> str:
        return f"task {self.task!r}"


@dataclass(frozen=True)
class WarehouseOutput:
    """Tables in the warehouse."""

    tables: tuple[str, ...] = ()
    kind: Literal["warehouse"] = "warehouse"

    def describe(self) -> str:
        return "warehouse" + (f" {', '.join(self.tables)}" if self.tables else "")


Output = CustomObjectOutput | ActivityOutput | ReviewItemOutput | TaskOutput | WarehouseOutput

HandlerFunction = Callable[["HandlerContext"], Any]


@dataclass(frozen=True)
class Handler:
    """A registered automation step.

    ``function(ctx)`` does the work; it may return a mapping of figures for the journal. Settings
    here are defaults that the configuration file overrides key by key.
    """

    name: str
    function: HandlerFunction
    trigger: Trigger = field(default_factory=Manual)
    input: Input | None = None
    outputs: tuple[Output, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ValueError(
                f"handler name {self.name!r} may use letters, digits, '-', '_' and '.' only"
            )
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not self.description and self.function.__doc__:
            object.__setattr__(self, "description", self.function.__doc__.strip().splitlines()[0])

    def configured(self, **changes: Any) -> Handler:
        """A copy with ``changes`` applied; ``settings`` given here are merged over the defaults."""
        if "settings" in changes:
            changes["settings"] = {**self.settings, **changes["settings"]}
        return replace(self, **changes)
