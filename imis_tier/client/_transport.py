"""The synchronous client's default httpx transport: HTTP/1.1 through urllib3's connection pool.

httpx's own transport (httpcore over h11) reads a body 64 KB at a time and copies each piece
three or four times on its way into ``Response.content``; urllib3 (over ``http.client``) reads a
body of known length into one buffer. Inside the client, sending a request for a 1.85 MB page of
500 parties costs 1.1-1.3 ms of CPU this way against 1.7-2.4 ms; a 208 KB query page costs the
same either way (docs/perf-client.md). The client still speaks httpx everywhere (requests,
responses, timeouts, exceptions); only the bytes on the socket go through urllib3.

Requests are sent as built by httpx (its headers, its body) and answers are read whole, which
suits iMIS's bounded JSON answers; httpx decodes any ``Content-Encoding``. urllib3 neither
retries nor follows redirects here: the client's retry policy is the only one, so a write is
never repeated behind its back. urllib3's errors become the httpx errors httpcore would raise.
"""

from __future__ import annotations

import ssl
import urllib.request
from urllib.parse import urlsplit

import httpx
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)


class Urllib3Transport(httpx.BaseTransport):
    """An ``httpx`` transport sending HTTP/1.1 through a pooled ``urllib3.PoolManager``.

    ``verify`` is the TLS context; ``max_connections`` the connections kept open per host (the
    client's own limit decides how many requests are in flight). Timeouts come with each request:
    httpx's ``connect``, and its ``read``, which urllib3 applies to sending as well; there is no
    pool timeout, since the client's own limit queues requests before they reach the pool.
    """

    def __init__(self, *, verify: ssl.SSLContext, max_connections: int = 1) -> None:
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=max_connections, ssl_context=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        headers = urllib3.HTTPHeaderDict()
        for name, value in request.headers.raw:
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
        try:
            answer = self._pool.urlopen(
                request.method,
                str(request.url),
                body=request.read() or None,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=True,
                decode_content=False,  # httpx decodes, by the Content-Encoding it is given
                timeout=urllib3.Timeout(connect=timeouts.get("connect"), read=timeouts.get("read")),
            )
        except HTTPError as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            answer.status,
            headers=list(answer.headers.items()),
            stream=httpx.ByteStream(answer.data),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode("latin-1"),
            },
        )

    def close(self) -> None:
        self._pool.clear()


def _httpx_error(exc: HTTPError, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that httpcore raises for the same failure. (With ``retries=False``
    urllib3 raises the failure itself, never wrapped in a ``MaxRetryError``.)"""
    message = str(exc)
    if isinstance(exc, ProxyError):
        return httpx.ProxyError(message, request=request)
    if isinstance(exc, NewConnectionError | SSLError):  # NewConnectionError is a timeout's subclass
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, ConnectTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, ReadTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, ProtocolError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


def proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (``HTTPS_PROXY`` and the like, less
    ``NO_PROXY``). The urllib3 transport does not speak to proxies; httpx's own transport does."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")
