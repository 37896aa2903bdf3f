"""The handler registry: built-ins, handlers registered in code, and third-party entry points.

Third-party packages publish handlers under the entry-point group ``imis_tier.handlers``::

    [project.entry-points."imis_tier.handlers"]
    renewal-nudge = "acme_imis.handlers:renewal_nudge"

The target is a :class:`~imis_tier.handlers.Handler` (e.g. made with :func:`handler`), or a callable
taking the registry and registering any number of handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from imis_tier.handlers.model import (
    Handler,
    HandlerFunction,
    Input,
    Manual,
    Output,
    Trigger,
)

ENTRY_POINT_GROUP = "imis_tier.handlers"
_log = logging.getLogger(__name__)


class HandlerNotFound(LookupError):
    """No handler of that name is registered."""


class HandlerRegistry:
    """Named handlers; a name is registered once unless ``replace=True``."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, handler: Handler, *, replace: bool = False) -> Handler:
        if handler.name in self._handlers and not replace:
            raise ValueError(f"a handler named {handler.name!r} is already registered")
        self._handlers[handler.name] = handler
        return handler

    def register(
        self,
        name: str,
        *,
        trigger: Trigger | None = None,
        input: Input | None = None,
        outputs: Sequence[Output] = (),
        settings: Mapping[str, Any] | None = None,
        description: str = "",
        replace: bool = False,
    ) -> Callable[[HandlerFunction], HandlerFunction]:
        """Decorator registering a plain function as a handler; the function is returned unchanged."""

        def decorate(function: HandlerFunction) -> HandlerFunction:
            self.add(
                Handler(
                    name,
                    function,
                    trigger or Manual(),
                    input,
                    tuple(outputs),
                    settings or {},
                    description,
                ),
                replace=replace,
            )
            return function

        return decorate

    def get(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            known = ", ".join(sorted(self._handlers)) or "none"
            raise HandlerNotFound(f"no handler named {name!r} (registered: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __iter__(self) -> Iterator[Handler]:
        return iter(sorted(self._handlers.values(), key=lambda h: h.name))

    def __len__(self) -> int:
        return len(self._handlers)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Register every handler published under ``group``; return the names added.

        A broken plug-in is logged and skipped so that one bad package cannot stop the service.
        """
        added: list[str] = []
        for ep in entry_points(group=group):
            try:
                target = ep.load()
                before = set(self._handlers)
                if isinstance(target, Handler):
                    self.add(target)
                elif callable(target):
                    target(self)
                else:
                    raise TypeError(f"{ep.value} is neither a Handler nor a callable")
                added.extend(sorted(set(self._handlers) - before))
            except Exception as exc:
                _log.error(
                    "handler plug-in %s (%s) could not be loaded: %s", ep.name, ep.value, exc
                )
        return added


def handler(
    name: str,
    *,
    trigger: Trigger | None = None,
    input: Input | None = None,
    outputs: Sequence[Output] = (),
    settings: Mapping[str, Any] | None = None,
    description: str = "",
) -> Callable[[HandlerFunction], Handler]:
    """Decorator turning a function into a :class:`Handler` value (e.g. for an entry point)."""

    def decorate(function: HandlerFunction) -> Handler:
        return Handler(
            name, function, trigger or Manual(), input, tuple(outputs), settings or {}, description
        )

    return decorate


def default_registry(*, entry_points: bool = True) -> HandlerRegistry:
    """A registry holding the built-in handlers and, unless disabled, installed plug-ins."""
    from imis_tier.handlers.builtin import register_builtins

    registry = HandlerRegistry()
    register_builtins(registry)
    if entry_points:
        registry.load_entry_points()
    return registry
