"""Automation-step handlers: named functions run on a schedule, on an iMIS change notification, or by hand.

::

    from imis_tier.handlers import HandlerRegistry, Runner, Schedule

    registry = HandlerRegistry()

    @registry.register("nightly-flag", trigger=Schedule("0 2 * * *"))
    def nightly_flag(ctx):
        ...

    Runner(registry, warehouse).run("nightly-flag")

``imis-tier handlers list | run NAME [--dry-run] | serve`` drives the same objects from
``imis-tier.toml`` (see :mod:`imis_tier.handlers.config` and ``docs/handlers.md``).
"""

from imis_tier.handlers.clock import Clock, ManualClock, ScaledClock, SystemClock
from imis_tier.handlers.config import Config, load_config, parse_config, resolve_secret
from imis_tier.handlers.context import HandlerContext
from imis_tier.handlers.cron import CronError, CronSchedule
from imis_tier.handlers.errors import (
    ConfigError,
    HandlerBusy,
    HandlerError,
    HandlerUnavailable,
    TransientError,
)
from imis_tier.handlers.events import EventDispatcher
from imis_tier.handlers.journal import Journal, RunRecord
from imis_tier.handlers.model import (
    ActivityOutput,
    ChangeNotification,
    CustomObjectOutput,
    Handler,
    Manual,
    QueryInput,
    ReviewItemOutput,
    Schedule,
    TaskOutput,
    WarehouseInput,
    WarehouseOutput,
)
from imis_tier.handlers.registry import (
    ENTRY_POINT_GROUP,
    HandlerNotFound,
    HandlerRegistry,
    default_registry,
    handler,
)
from imis_tier.handlers.runner import RetryPolicy, Runner
from imis_tier.handlers.scheduler import Scheduler
from imis_tier.handlers.service import HandlerService
from imis_tier.handlers.webhook import WebhookAuth, sign

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActivityOutput",
    "ChangeNotification",
    "Clock",
    "Config",
    "ConfigError",
    "CronError",
    "CronSchedule",
    "CustomObjectOutput",
    "EventDispatcher",
    "Handler",
    "HandlerBusy",
    "HandlerContext",
    "HandlerError",
    "HandlerNotFound",
    "HandlerRegistry",
    "HandlerService",
    "HandlerUnavailable",
    "Journal",
    "Manual",
    "ManualClock",
    "QueryInput",
    "RetryPolicy",
    "ReviewItemOutput",
    "RunRecord",
    "Runner",
    "ScaledClock",
    "Schedule",
    "Scheduler",
    "SystemClock",
    "TaskOutput",
    "TransientError",
    "WarehouseInput",
    "WarehouseOutput",
    "WebhookAuth",
    "default_registry",
    "handler",
    "load_config",
    "parse_config",
    "resolve_secret",
    "sign",
]
