"""The synchronous client: blocking I/O over the shared :class:`BaseClient` core."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from tenacity import Retrying

from imis_tier.client import _decode, _specs
from imis_tier.client._auth import Token
from imis_tier.client._base import BaseClient, RequestSpec, query_params
from imis_tier.client._errors import ImisError, NotFound
from imis_tier.client._flows import Flow
from imis_tier.client._paging import DEFAULT_PAGE_SIZE, SyncPager
from imis_tier.client._transport import Urllib3Transport, proxied
from imis_tier.client.resources import (
    Activities,
    ChangeLog,
    Entities,
    Events,
    Financial,
    Memberships,
    Metadata,
    Parties,
    Tasks,
)

T = TypeVar("T")


class Client(BaseClient):
    """A synchronous iMIS REST client.

    Use it as a context manager so its connections are closed::

        with Client("https://assoc.example.org", username="api.sync", password="...") as imis:
            for person in imis.parties.list(CustomerTypeCode="in:REG|STU"):
                ...

    Credentials and settings are taken, for each one, from the first of:

    1. the arguments (``base_url``, ``username``, ``password``, ``client_id``, ``client_secret``,
       ``refresh_token``, ``timezone``);
    2. the environment: ``IMIS_BASE_URL``, ``IMIS_USERNAME``, ``IMIS_PASSWORD``,
       ``IMIS_CLIENT_ID``, ``IMIS_CLIENT_SECRET``, ``IMIS_REFRESH_TOKEN``, ``IMIS_TIMEZONE``;
    3. the OS keyring, service ``imis-tier`` (``imis-tier auth login`` stores them there);
       ``use_keyring=False`` skips it.

    A username and password use the OAuth password grant; otherwise ``client_id`` and
    ``refresh_token`` (with ``client_secret``) use the refresh-token grant. ``timezone`` is the
    association's IANA time zone (default UTC), in which iMIS writes its zone-less dates.

    ``timeout`` (an ``httpx.Timeout`` or seconds), ``retry`` (a :class:`RetryPolicy`) and
    ``limits`` (a :class:`Limits`: one request in flight by default, as ASI asks) tune the
    transport; ``debug=True`` logs every request with secrets redacted. ``transport`` lets tests
    and tools substitute an ``httpx`` transport; the default sends HTTP/1.1 through urllib3's
    connection pool (:class:`Urllib3Transport`), or httpx's own transport where the environment
    names a proxy for ``base_url``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        options = self._http_options()
        if transport is None and not proxied(self.base_url):
            transport = Urllib3Transport(
                verify=options["verify"], max_connections=self.limits.max_in_flight
            )
        self._http = httpx.Client(transport=transport, **options)
        self._in_flight = threading.BoundedSemaphore(self.limits.max_in_flight)
        self._auth_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.parties = Parties(self)
        self.activities = Activities(self)
        self.events = Events(self)
        self.financial = Financial(self)
        self.memberships = Memberships(self)
        self.changelog = ChangeLog(self)
        self.tasks = Tasks(self)
        self.metadata = Metadata(self)

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def authenticate(self) -> Token:
        """Obtain (or reuse) the bearer token now; raises :class:`AuthError` when refused."""
        self._token()
        token = self.tokens.token
        assert token is not None
        return token

    # ------------------------------------------------------------ resources
    def entities(self, name: str) -> Entities:
        """Any business object, panel source or custom object by name (``"Member_Tier_Score"``)."""
        return Entities(self, name)

    def query(
        self,
        name: str,
        parameters: Sequence[Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
        max_items: int | None = None,
    ) -> SyncPager[dict[str, Any]]:
        """Rows of an IQA query through ``/api/query``, as dicts keyed by display alias.

        ``parameters`` are positional, one per prompt in IQA order (``None`` = unused).
        """
        spec = _specs.query("query", name, parameters, self.codec)
        return self._pager(spec, _decode.query_rows(self.codec), limit, offset, max_items)

    def iqa(
        self,
        name: str,
        parameters: Sequence[Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
        max_items: int | None = None,
    ) -> SyncPager[dict[str, Any]]:
        """Rows of an IQA query through the legacy ``/api/iqa`` endpoint, decoded to dicts."""
        spec = _specs.query("iqa", name, parameters, self.codec)
        return self._pager(spec, _decode.iqa_rows(self.codec), limit, offset, max_items)

    def incremental(
        self,
        entity_type: str,
        since: datetime | None,
        *,
        field: str = "UpdatedOn",
        limit: int = DEFAULT_PAGE_SIZE,
        **filters: Any,
    ) -> SyncPager[Any]:
        """Rows of ``entity_type`` changed after ``since`` (all rows when ``None``), oldest first:
        the incremental sync ASI asks integrations to use."""
        spec = _specs.incremental(self.codec, entity_type, since, field, filters)
        return self._pager(spec, _decode.for_entity(self.codec, entity_type), limit, 0, None)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] = (),
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request to ``path`` (e.g. ``/api/Party/40125``); the parsed JSON answer.

        ``params`` is a mapping or a sequence of pairs (repeat a name with pairs)."""
        return self._execute(
            RequestSpec(method.upper(), path, query_params(params), json, idempotent=idempotent)
        )

    # -------------------------------------------------------------- plumbing
    def _pager(
        self,
        spec: RequestSpec,
        decode: Callable[[list[Any]], list[T]],
        limit: int,
        offset: int,
        max_items: int | None,
    ) -> SyncPager[T]:
        def fetch(page_offset: int, page_limit: int) -> Any:
            return self._execute(self._page_spec(spec, page_offset, page_limit))

        return SyncPager(fetch, decode, offset=offset, limit=limit, max_items=max_items)

    def _run(self, flow: Flow) -> Any:
        try:
            spec = next(flow)
            while True:
                try:
                    answer = self._execute(spec)
                except ImisError as exc:
                    spec = flow.throw(exc)
                else:
                    spec = flow.send(answer)
        except StopIteration as stop:
            return stop.value

    def _execute(self, spec: RequestSpec) -> Any:
        """Send ``spec`` under the retry policy; the decoded answer."""
        answer: Any = None
        retrying = Retrying(
            **self.retry.tenacity_args(idempotent=spec.retry_safe, describe=spec.describe())
        )
        for attempt in retrying:
            with attempt:
                try:
                    answer = self._send(spec)
                except NotFound:
                    if spec.method == "DELETE" and attempt.retry_state.attempt_number > 1:
                        answer = None  # an earlier attempt already deleted it
                    else:
                        raise
        return answer

    def _send(self, spec: RequestSpec) -> Any:
        token = self._token() if spec.authenticated else None
        started = time.perf_counter()
        response = self._io(spec, token)
        if response.status_code == 401 and token is not None:
            # Expired or revoked: fetch a new token once and repeat.
            self.tokens.invalidate(token)
            token = self._token()
            started = time.perf_counter()
            response = self._io(spec, token)
        return self._check(spec, response, started)

    def _token(self) -> str:
        token = self.tokens.current()
        if token is not None:
            return token
        with self._auth_lock:  # one refresh for all threads
            token = self.tokens.current()
            if token is None:
                token = self.tokens.accept(self._execute(self._token_spec())).access_token
            return token

    def _io(self, spec: RequestSpec, token: str | None) -> httpx.Response:
        request = self._build_request(self._http, spec, token)
        with self._in_flight:
            wait = self._bucket.reserve()
            if wait > 0:
                time.sleep(wait)
            with self._count_lock:
                self.request_count += 1
            try:
                return self._http.send(request)
            except httpx.TransportError as exc:
                raise self._transport_error(spec, exc) from exc
