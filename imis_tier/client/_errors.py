"""The exceptions the client raises, one class per kind of failure.

::

    ImisError                 anything the client raises
    ├── ConfigurationError    no base URL or credentials; no keyring backend
    ├── TransportError        no answer: connect failure, timeout, dropped connection
    └── (an HTTP answer with a failing status)
        ├── AuthError         401, or the token endpoint refusing the credentials
        ├── PermissionDenied  403
        ├── NotFound          404
        ├── ValidationError   400, 405, 422: iMIS refused the request (its messages attached)
        ├── Conflict          409
        ├── RateLimited       429 (``retry_after`` in seconds when the server said)
        └── ServerError       5xx

Every error carries the HTTP ``method``, the URL ``path`` (never the query string, which may hold
secrets or personal data), the ``status`` (``None`` when there was no answer) and the
``messages`` iMIS sent.
"""

from __future__ import annotations


class ImisError(Exception):
    """Base class of every error raised by :mod:`imis_tier.client`."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        messages: tuple[str, ...] = (),
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.messages = messages
        self.message = message
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else ""
        status = f" -> {self.status}" if self.status is not None else ""
        head = f"{where}{status}: " if where or status else ""
        return f"{head}{self.message}"


class ConfigurationError(ImisError):
    """The client cannot be configured: a setting is missing or the keyring is unusable."""


class TransportError(ImisError):
    """No HTTP answer: the connection failed, timed out or was dropped.

    ``connected`` is ``False`` when the request never reached the server (a connect failure),
    which makes even a non-idempotent write safe to retry.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        connected: bool = True,
    ) -> None:
        self.connected = connected
        super().__init__(message, method=method, path=path)


class AuthError(ImisError):
    """The credentials or the bearer token were refused (401, or a 400 from ``/token``)."""


class PermissionDenied(ImisError):
    """The user is authenticated but may not do this (403)."""


class NotFound(ImisError):
    """No such entity or row (404)."""


class ValidationError(ImisError):
    """iMIS refused the request as invalid (400, 405, 422); ``messages`` holds its reasons."""


class Conflict(ImisError):
    """The write conflicts with the current state (409)."""


class RateLimited(ImisError):
    """Too many requests (429); ``retry_after`` is the server's requested wait in seconds."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = 429,
        messages: tuple[str, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, method=method, path=path, status=status, messages=messages)


class ServerError(ImisError):
    """iMIS failed (5xx)."""


_BY_STATUS: dict[int, type[ImisError]] = {
    400: ValidationError,
    401: AuthError,
    403: PermissionDenied,
    404: NotFound,
    405: ValidationError,
    409: Conflict,
    422: ValidationError,
    429: RateLimited,
}


def error_class_for(status: int) -> type[ImisError]:
    """The exception class for a failing HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ImisError)
