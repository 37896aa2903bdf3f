"""The core both clients share: configuration, request building, response parsing and errors.

:class:`Client` and :class:`AsyncClient` add only I/O (sending, sleeping, locking) on top of
:class:`BaseClient`; neither wraps the other.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

from imis_tier.client._auth import TokenCache
from imis_tier.client._codec import WireCodec, identity_key, loads
from imis_tier.client._codec import dumps as json_dumps
from imis_tier.client._config import ClientConfig, resolve_config
from imis_tier.client._errors import ImisError, RateLimited, TransportError, error_class_for
from imis_tier.client._gc import gc_paused
from imis_tier.client._limits import Limits, RateBucket
from imis_tier.client._logging import enable_debug, logger, redact
from imis_tier.client._retry import RetryPolicy, parse_retry_after

try:
    _VERSION = importlib.metadata.version("imis-tier")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    _VERSION = "0"

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=120.0)
"""Finite defaults: iMIS list and IQA requests can be slow, but never hang forever."""

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once per process: loading the CA bundle costs
    tens of milliseconds of CPU, which every new client would otherwise pay again."""
    return _cached_ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _cached_ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR, like httpx


@dataclass(frozen=True)
class RequestSpec:
    """Everything needed to send one request, independent of sync or async I/O."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: Mapping[str, str] | None = field(default=None, repr=False)
    idempotent: bool | None = None
    authenticated: bool = True
    parse: Callable[[bytes], Any] | None = field(default=None, repr=False, compare=False)
    """How to parse a successful body (default: JSON as plain values)."""

    @property
    def retry_safe(self) -> bool:
        """Whether repeating the request cannot change the outcome."""
        return self.method in _IDEMPOTENT if self.idempotent is None else self.idempotent

    def with_params(self, **extra: int | str) -> RequestSpec:
        """A copy with query parameters replaced or added (used for paging)."""
        kept = tuple((k, v) for k, v in self.params if k not in extra)
        return replace(self, params=kept + tuple((k, str(v)) for k, v in extra.items()))

    def describe(self) -> str:
        return f"{self.method} {self.path}"


def query_params(
    params: Mapping[str, Any] | Sequence[tuple[str, Any]],
) -> tuple[tuple[str, str], ...]:
    """Query parameters as ``(name, text)`` pairs, from a mapping or a sequence of pairs."""
    pairs = params.items() if isinstance(params, Mapping) else params
    out = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(
                f"query parameters must be a mapping or (name, value) pairs, got {pair!r}"
            )
        out.append((str(pair[0]), str(pair[1])))
    return tuple(out)


def entity_path(entity_type: str, key: str | Sequence[str] | None = None, *suffix: str) -> str:
    """``/api/{entity_type}[/{key}][/suffix...]`` with each segment escaped (``|`` as ``%7C``)."""
    parts = ["/api", quote(entity_type, safe="")]
    if key is not None:
        parts.append(quote(identity_key(key), safe="~"))
    parts.extend(quote(s, safe="_") for s in suffix)
    return "/".join(parts)


def filter_params(filters: Mapping[str, Any], codec: WireCodec) -> list[tuple[str, str]]:
    """iMIS filter query parameters: ``{"CustomerTypeCode": "in:REG|STU"}`` as given; dates,
    booleans and lists of values formatted for the wire (a list becomes ``in:a|b``)."""
    out: list[tuple[str, str]] = []
    for name, value in filters.items():
        if value is None:
            continue
        out.append((name, _filter_value(value, codec)))
    return out


def _filter_value(value: Any, codec: WireCodec) -> str:
    from datetime import date

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return codec.format_date(value)
    if isinstance(value, list | tuple | set | frozenset):
        return "in:" + "|".join(_filter_value(v, codec) for v in value)
    return str(value)


def error_messages(body: bytes) -> tuple[str, ...]:
    """The human messages in an iMIS error body (HttpError, OAuth error, validation results)."""
    try:
        data = loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:500],) if text else ()
    found: list[str] = []
    _collect_messages(data, found)
    return tuple(dict.fromkeys(found))  # in order, without repeats


def _collect_messages(data: Any, found: list[str]) -> None:
    if isinstance(data, dict):
        for key in ("Message", "error_description", "ExceptionMessage", "MessageDetail", "message"):
            if isinstance(data.get(key), str) and data[key]:
                found.append(data[key])
        if isinstance(data.get("error"), str) and not data.get("error_description"):
            found.append(data["error"])
        for key, value in data.items():
            if key not in ("Message", "error_description", "ExceptionMessage", "MessageDetail"):
                _collect_messages(value, found)
    elif isinstance(data, list):
        for item in data:
            _collect_messages(item, found)
    elif isinstance(data, str) and not found:
        found.append(data)


class BaseClient:
    """Configuration, auth state, request building and response parsing for both clients."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        timezone: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        use_keyring: bool = True,
        debug: bool = False,
        config: ClientConfig | None = None,
    ) -> None:
        self.config = config or resolve_config(
            base_url=base_url,
            username=username,
            password=password,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            timezone=timezone,
            use_keyring=use_keyring,
        )
        self.codec = WireCodec(self.config.tzinfo)
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.tokens = TokenCache(self.config)
        self._bucket = RateBucket(self.limits.requests_per_second, self.limits.burst)
        self.request_count = 0
        if debug:
            enable_debug()

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def _http_options(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "verify": _ssl_context(),
            "limits": httpx.Limits(
                max_connections=self.limits.max_in_flight,
                max_keepalive_connections=self.limits.max_in_flight,
            ),
            "headers": {"Accept": "application/json", "User-Agent": f"imis-tier/{_VERSION}"},
            "follow_redirects": False,
        }

    def _token_spec(self) -> RequestSpec:
        return RequestSpec(
            "POST", "/token", form=self.tokens.form(), idempotent=True, authenticated=False
        )

    def _build_request(
        self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec, token: str | None
    ) -> httpx.Request:
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content: bytes | None = None
        if spec.json is not None:
            content = json_dumps(spec.json)
            headers["Content-Type"] = "application/json"
        return http.build_request(
            spec.method,
            self.config.base_url + spec.path,
            params=list(spec.params) or None,
            content=content,
            data=dict(spec.form) if spec.form is not None else None,
            headers=headers,
        )

    def _transport_error(self, spec: RequestSpec, exc: httpx.TransportError) -> TransportError:
        connected = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        kind = type(exc).__name__
        return TransportError(
            f"{kind}: {redact(str(exc)) or 'no answer'}",
            method=spec.method,
            path=spec.path,
            connected=connected,
        )

    def _check(self, spec: RequestSpec, response: httpx.Response, started: float) -> Any:
        """Log the exchange; the decoded body of a success, or the typed error of a failure."""
        status = response.status_code
        logger.debug(
            "%s %s -> %d (%.1f ms, %d bytes)",
            spec.method,
            spec.path,
            status,
            (time.perf_counter() - started) * 1000,
            len(response.content),
        )
        if status < 300:
            if not response.content:
                return None
            with gc_paused():
                return (spec.parse or loads)(response.content)
        raise self._error(spec, response)

    def _error(self, spec: RequestSpec, response: httpx.Response) -> ImisError:
        messages = tuple(redact(m) for m in error_messages(response.content))
        status = response.status_code
        text = "; ".join(messages) or response.reason_phrase or "request failed"
        if spec.path == "/token" and status in (400, 401):
            from imis_tier.client._errors import AuthError

            return AuthError(
                f"token request refused: {text}",
                method=spec.method,
                path=spec.path,
                status=status,
                messages=messages,
            )
        if status == 429:
            return RateLimited(
                text,
                method=spec.method,
                path=spec.path,
                messages=messages,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        cls = error_class_for(status)
        return cls(text, method=spec.method, path=spec.path, status=status, messages=messages)

    def _page_spec(self, spec: RequestSpec, offset: int, limit: int) -> RequestSpec:
        return spec.with_params(limit=limit, offset=offset)

    def _params(
        self, filters: Mapping[str, Any], extra: Iterable[tuple[str, str]] = ()
    ) -> tuple[tuple[str, str], ...]:
        return tuple(filter_params(filters, self.codec)) + tuple(extra)
