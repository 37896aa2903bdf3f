"""Change notifications from iMIS: Azure Event Grid envelopes, and authenticating each delivery.

A delivery is accepted only if it carries every configured proof: the shared secret (in a header,
or a query key in the subscription URL) and/or an HMAC-SHA256 signature of the raw body. Secrets
are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
_REQUIRED = ("id", "eventType")


class EventFormatError(ValueError):
    """The body is not an Event Grid event array."""


@dataclass(frozen=True)
class WebhookAuth:
    """What a delivery must prove. At least one of ``shared_secret`` and ``hmac_secret`` is required."""

    shared_secret: str | None = None
    header: str = "X-Imis-Tier-Key"
    query_key: str = "code"
    hmac_secret: str | None = None
    signature_header: str = "X-Imis-Tier-Signature"

    def __post_init__(self) -> None:
        if not self.shared_secret and not self.hmac_secret:
            raise ValueError(
                "webhook authentication needs a shared secret or an HMAC secret (or both)"
            )

    def __repr__(self) -> str:  # never show the secrets
        return f"WebhookAuth(header={self.header!r}, query_key={self.query_key!r}, hmac={bool(self.hmac_secret)})"

    def check(self, headers: Mapping[str, str], query: str, body: bytes) -> str | None:
        """None when the delivery is authentic, else the reason (safe to log: holds no secret)."""
        lower = {k.lower(): v for k, v in headers.items()}
        if self.shared_secret:
            given = lower.get(self.header.lower())
            if given is None:
                values = parse_qs(query).get(self.query_key)
                given = values[0] if values else None
            if given is None:
                return f"no shared secret (header {self.header} or query key {self.query_key!r})"
            if not hmac.compare_digest(given.encode(), self.shared_secret.encode()):
                return "wrong shared secret"
        if self.hmac_secret:
            signature = lower.get(self.signature_header.lower())
            if not signature:
                return f"no signature header {self.signature_header}"
            signature = signature.removeprefix("sha256=")
            if not hmac.compare_digest(signature.encode(), sign(body, self.hmac_secret).encode()):
                return "bad signature"
        return None


def sign(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of ``body`` (send it as ``X-Imis-Tier-Signature: sha256=<hex>``)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of an Event Grid delivery (a JSON array; a single object is accepted too)."""
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise EventFormatError(f"body is not JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise EventFormatError("body must be a JSON array of Event Grid events")
    for index, event in enumerate(data):
        if not isinstance(event, dict):
            raise EventFormatError(f"event [{index}] is not an object")
        missing = [k for k in _REQUIRED if not event.get(k)]
        if missing:
            raise EventFormatError(f"event [{index}] lacks {', '.join(missing)}")
    return data


def validation_code(events: list[dict[str, Any]]) -> str | None:
    """The code of a subscription-validation handshake in this delivery, if there is one."""
    for event in events:
        if event.get("eventType") == VALIDATION_EVENT:
            data = event.get("data") or {}
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not code:
                raise EventFormatError("validation event without data.validationCode")
            return str(code)
    return None
