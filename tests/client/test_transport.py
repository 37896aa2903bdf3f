"""The urllib3-backed httpx transport, against small real HTTP servers on loopback."""

from __future__ import annotations

import gzip
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
import trustme

from imis_tier.client import Client, RetryPolicy, TransportError, Urllib3Transport
from imis_tier.client._base import _ssl_context


class _Server:
    """A loopback TCP server answering each connection with ``respond(reader, writer)``,
    counting connections and request lines."""

    def __init__(
        self, respond: Callable[[Any, Any], bool], tls: ssl.SSLContext | None = None
    ) -> None:
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                if tls is not None:
                    self.request = tls.wrap_socket(self.request, server_side=True)
                super().setup()

            def handle(self) -> None:
                server.connections += 1
                while respond(self, server):
                    pass

            def finish(self) -> None:
                super().finish()
                if tls is not None:
                    self.request.close()  # the TLS socket; the server closes only the plain one

        socketserver.ThreadingTCPServer.daemon_threads = True
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._tcp.handle_error = lambda request, address: None  # type: ignore[method-assign]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._tcp.server_address[1]}"
        threading.Thread(target=self._tcp.serve_forever, daemon=True).start()

    def read_request(self, handler: Any) -> bool:
        line = handler.rfile.readline()
        if not line:
            return False
        headers = {}
        while (header := handler.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = handler.rfile.read(int(headers.get("content-length", 0)))
        self.requests.append((line.decode("latin-1").strip(), headers, body))
        return True

    def close(self) -> None:
        self._tcp.shutdown()
        self._tcp.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    servers: list[_Server] = []

    def start(respond: Callable[[Any, Any], bool], tls: ssl.SSLContext | None = None) -> _Server:
        servers.append(_Server(respond, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _http(timeout: float = 5.0, verify: ssl.SSLContext | None = None) -> httpx.Client:
    return httpx.Client(
        transport=Urllib3Transport(verify=verify or _ssl_context()),
        timeout=httpx.Timeout(timeout),
    )


def _echo(handler: Any, server: _Server) -> bool:
    if not server.read_request(handler):
        return False
    request_line, headers, body = server.requests[-1]
    payload = orjson.dumps({"line": request_line, "headers": headers, "body": body.decode()})
    handler.wfile.write(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Seen: a\r\nX-Seen: b\r\n"
        + f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    return True


def test_requests_go_out_as_httpx_built_them_over_one_kept_alive_connection(serve):
    server = serve(_echo)
    with _http() as http:
        answers = [
            http.post(
                f"{server.url}/api/Thing?x=1&y=%24a",
                json={"n": n},
                headers={"Authorization": "Bearer t"},
            )
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].reason_phrase == "Created" and answers[0].http_version == "HTTP/1.1"
    assert answers[0].headers.get_list("x-seen") == ["a", "b"]
    seen = answers[2].json()
    assert seen["line"] == "POST /api/Thing?x=1&y=%24a HTTP/1.1"
    assert seen["body"] == '{"n":2}'
    assert seen["headers"]["authorization"] == "Bearer t"
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["host"] == server.url.removeprefix("http://")
    assert server.connections == 1


def test_chunked_and_gzipped_answers_are_read_whole_and_decoded_by_httpx(serve):
    document = orjson.dumps({"Items": {"$values": list(range(5000))}})
    packed = gzip.compress(document)

    def respond(handler: Any, server: _Server) -> bool:
        if not server.read_request(handler):
            return False
        handler.wfile.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        )
        for start in range(0, len(packed), 1000):
            piece = packed[start : start + 1000]
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
        return True

    server = serve(respond)
    with _http() as http:
        answer = http.get(f"{server.url}/api/Party")
    assert answer.content == document
    assert "gzip" in server.requests[0][1]["accept-encoding"]


def test_tls_answers_are_read_when_the_certificate_is_trusted_and_refused_when_not(serve):
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    server = serve(_echo, tls=server_context)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    with _http(verify=trusting) as http:
        answers = [http.get(f"{server.url}/api/Party?offset={n}") for n in range(2)]
    assert [a.json()["line"] for a in answers] == [
        f"GET /api/Party?offset={n} HTTP/1.1" for n in range(2)
    ]
    assert server.connections == 1
    with _http() as http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(f"{server.url}/api/Party")


def test_a_refused_connection_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nothing listens
    with _http() as http, pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/api/Party")


def test_a_server_that_never_answers_is_a_read_timeout(serve):
    release = threading.Event()

    def silent(handler: Any, server: _Server) -> bool:
        server.read_request(handler)
        release.wait(5)
        return False

    server = serve(silent)
    try:
        with _http(timeout=0.2) as http, pytest.raises(httpx.ReadTimeout):
            http.get(f"{server.url}/api/Party")
    finally:
        release.set()


def test_a_connection_closed_without_an_answer_is_a_protocol_error(serve):
    server = serve(lambda handler, srv: srv.read_request(handler) and False)
    with _http() as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{server.url}/api/Party")


def test_an_answer_cut_short_is_a_protocol_error(serve):
    def short(handler: Any, server: _Server) -> bool:
        server.read_request(handler)
        handler.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"Items":')
        return False

    server = serve(short)
    with _http() as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{server.url}/api/Party")


def test_urllib3_never_repeats_a_write_behind_the_clients_back(serve):
    """A POST whose connection drops is sent once: only the client's retry policy may repeat a
    request, and it does not repeat writes it cannot prove idempotent."""

    def drop(handler: Any, server: _Server) -> bool:
        if server.read_request(handler) and server.requests[-1][0].startswith("POST /token"):
            token = b'{"access_token":"t","token_type":"bearer","expires_in":3600}'
            handler.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(token)}\r\n\r\n".encode()
                + token
            )
            return True
        return False

    server = serve(drop)
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01)
    with (
        Client(server.url, username="u", password="p", use_keyring=False, retry=retry) as imis,
        pytest.raises(TransportError) as caught,
    ):
        imis.entities("Member_Tier_Score").create({"Score": 1})
    posts = [line for line, _, _ in server.requests if line.startswith("POST /api/")]
    assert len(posts) == 1
    assert caught.value.method == "POST" and caught.value.status is None


def test_the_client_uses_it_unless_the_environment_names_a_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    options: dict[str, Any] = {"username": "u", "password": "p", "use_keyring": False}
    with Client("https://imis.example.org", **options) as imis:
        assert isinstance(imis._http._transport, Urllib3Transport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    with Client("https://imis.example.org", **options) as imis:
        assert isinstance(imis._http._transport, httpx.HTTPTransport)
    monkeypatch.setenv("NO_PROXY", "imis.example.org")
    with Client("https://imis.example.org", **options) as imis:
        assert isinstance(imis._http._transport, Urllib3Transport)
