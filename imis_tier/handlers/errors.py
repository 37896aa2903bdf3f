"""Errors raised by the handler layer."""

from __future__ import annotations


class HandlerError(Exception):
    """Base class of handler-layer errors."""


class TransientError(HandlerError):
    """A failure worth retrying (raise it from a handler to ask for a retry with backoff)."""


class HandlerUnavailable(HandlerError):
    """A handler needs a part of imis-tier that is not installed or not configured."""


class HandlerBusy(HandlerError):
    """Another live run holds the handler's lock."""

    def __init__(self, handler: str, owner: str, run_id: str) -> None:
        super().__init__(f"handler {handler!r} is already running (run {run_id}, owner {owner})")
        self.handler = handler
        self.owner = owner
        self.run_id = run_id


class ConfigError(HandlerError):
    """The configuration file is wrong; the message names the file, line and field."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth a retry: our TransientError, network trouble, 429 and 5xx from iMIS."""
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    # Classified by name so this module does not import the client (a higher-level seam).
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(
        names & {"RateLimited", "ServerError", "TransportError", "TimeoutException", "NetworkError"}
    )
