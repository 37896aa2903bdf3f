"""Client logging: the ``imis_tier.client`` logger and a filter that redacts credentials.

Requests are logged at DEBUG (method, path, status, time). Whatever reaches a handler through
this logger passes :class:`RedactingFilter` first, which masks bearer tokens, ``Authorization``
headers, and password, token and secret values in form bodies, JSON and query strings.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger("imis_tier.client")

REDACTED = "[REDACTED]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(['\"]?authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+"), rf"\1{REDACTED}"),
    (
        re.compile(
            r"(?i)([\"']?(?:password|access_token|refresh_token|client_secret|token)[\"']?"
            r"\s*[:=]\s*[\"']?)[^\"'&,}\s]+"
        ),
        rf"\1{REDACTED}",
    ),
)


def redact(text: str) -> str:
    """``text`` with bearer tokens, Authorization values, passwords and secrets masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record and masks credentials in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _install() -> None:
    # httpx and httpcore log requests too; their records pass the same mask.
    for name in ("imis_tier.client", "httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


def enable_debug(handler: logging.Handler | None = None) -> None:
    """Log every request of the client at DEBUG (secrets redacted), to ``handler`` or stderr."""
    logger.setLevel(logging.DEBUG)
    if handler is None and not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
    if handler is not None:
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)


def describe(*parts: Any) -> str:
    """One redacted line from several parts (for error messages that echo server text)."""
    return redact(" ".join(str(p) for p in parts))


_install()
