"""The built-in handlers: ``sync``, ``score``, ``monitor`` and ``review-queue``."""

from __future__ import annotations

from imis_tier.handlers.builtin.monitor import (
    MONITOR,
    MONITOR_CHECKS,
    Finding,
    monitor,
    register_check,
)
from imis_tier.handlers.builtin.review_queue import REVIEW_QUEUE, Transition, review_queue
from imis_tier.handlers.builtin.score import SCORE, score
from imis_tier.handlers.builtin.sync import SYNC, sync
from imis_tier.handlers.registry import HandlerRegistry

BUILTINS = (SYNC, SCORE, MONITOR, REVIEW_QUEUE)


def register_builtins(registry: HandlerRegistry) -> None:
    """Add the built-in handlers to ``registry``."""
    for handler in BUILTINS:
        registry.add(handler)


__all__ = [
    "BUILTINS",
    "MONITOR_CHECKS",
    "Finding",
    "Transition",
    "monitor",
    "register_builtins",
    "register_check",
    "review_queue",
    "score",
    "sync",
]
