"""The HTTP face of the emulator: stdlib ThreadingHTTPServer speaking HTTP/1.1 keep-alive.

Routes: ``POST /token``; ``/api/...`` (bearer token required, faults applied); and the admin
surface ``/_emulator/...`` (no auth, no faults) that lets another process drive the clock,
faults, sources, queries and read the task and request logs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from imis_tier.emulator import _wire as w
from imis_tier.emulator._auth import TokenError
from imis_tier.emulator._core import ApiError
from imis_tier.emulator._faults import FaultConfig
from imis_tier.emulator._queries import QueryDefinition
from imis_tier.emulator._sources import SourceDefinition

if TYPE_CHECKING:
    from imis_tier.emulator.emulator import Emulator

logger = logging.getLogger("imis_tier.emulator")

_JSON = "application/json; charset=utf-8"
_DENIED = "Authorization has been denied for this request."
_SERVER_ERROR = "An error occurred. Please contact the administrator."


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (for tests and the admin log)."""

    at: float  # time.time()
    method: str
    path: str  # path and query string, as sent
    status: int  # 0 when the connection was dropped
    fault: str | None = None  # "latency", "rate_limit", "error", "drop"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "fault": self.fault,
        }


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self.request_log: deque[RequestRecord] = deque(maxlen=10_000)
        self.log_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    server: EmulatorHTTPServer

    # -- plumbing ------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus delayed ACKs
        # add ~40 ms to every keep-alive response.
        # A client gone before setup (killed mid-connect) must not leak the buffered files.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def _record(self, status: int, fault: str | None = None) -> None:
        with self.server.log_lock:
            self.server.request_log.append(
                RequestRecord(time.time(), self.command, self.path, status, fault)
            )

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        fault: str | None = None,
    ) -> None:
        self._record(
            status, fault
        )  # before answering, so a client that sees the answer sees the record
        self.send_response(status)
        if body or status != 200:
            self.send_header("Content-Type", _JSON)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _error(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        fault: str | None = None,
    ) -> None:
        self._send(status, w.http_error(message), headers, fault)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _drop(self) -> None:
        """Close the socket without an answer (a dropped connection fault)."""
        self._record(0, "drop")
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- verbs -----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, verb: str) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        segments = [unquote(s) for s in url.path.split("/") if s]
        params = parse_qsl(url.query, keep_blank_values=True)
        try:
            if segments and segments[0] == "_emulator":
                self._admin(verb, segments[1:], body)
                return
            if not segments or segments[0].lower() not in ("token", "api"):
                self._error(
                    404, f"No HTTP resource was found that matches the request URI '{url.path}'."
                )
                return
            emu = self.server.emulator
            decision = emu.faults.decide()
            emu.faults.sleep(decision)
            if decision.drop:
                self._drop()
                return
            if decision.rate_limited:
                retry = str(emu.faults.config.retry_after_s)
                self._error(
                    429,
                    "API calls quota exceeded! Retry after the given number of seconds.",
                    {"Retry-After": retry},
                    fault="rate_limit",
                )
                return
            if decision.error:
                self._error(500, _SERVER_ERROR, fault="error")
                return
            if segments[0].lower() == "token":
                self._token(verb, body)
                return
            if emu.auth.check(self.headers.get("Authorization")) is None:
                self._error(401, _DENIED, {"WWW-Authenticate": "Bearer"})
                return
            status, data = self._api(verb, segments[1:], params, body)
            self._send(status, data)
        except ApiError as exc:
            self._error(exc.status, exc.message, exc.headers or None)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            logger.exception("emulator failed on %s %s", verb, self.path)
            self._error(500, _SERVER_ERROR)

    # -- /token ----------------------------------------------------------------------------------
    def _token(self, verb: str, body: bytes) -> None:
        if verb != "POST":
            self._error(405, f"The requested resource does not support http method '{verb}'.")
            return
        form = {
            k.lower(): v
            for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        }
        try:
            answer = self.server.emulator.auth.grant(form)
        except TokenError as exc:
            data = json.dumps({"error": exc.error, "error_description": exc.description}).encode()
            self._send(400, data)
            return
        self._send(200, json.dumps(answer).encode(), {"Cache-Control": "no-cache"})

    # -- /api ------------------------------------------------------------------------------------
    def _api(
        self, verb: str, parts: list[str], params: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        core = self.server.emulator.core
        if not parts:
            raise ApiError(404, "No HTTP resource was found that matches the request URI '/api'.")
        head = parts[0]
        low = head.lower()
        if verb == "PATCH":
            raise ApiError(405, "The requested resource does not support http method 'PATCH'.")
        if low == "metadata" and len(parts) == 2 and verb == "GET":
            return 200, core.metadata(parts[1])
        if low in ("query", "iqa") and len(parts) == 1:
            if verb != "GET":
                raise ApiError(
                    405, f"The requested resource does not support http method '{verb}'."
                )
            return 200, core.run_query(params, legacy=low == "iqa")
        if len(parts) == 1:
            if verb == "GET":
                return 200, core.list(head, params)
            if verb == "POST":
                return 201, core.create(head, _json(body))
            raise ApiError(405, f"The requested resource does not support http method '{verb}'.")
        action = parts[1]
        if len(parts) == 2 and action.lower() == "_execute" and verb == "POST":
            return 200, core.execute(head, _json(body))
        if len(parts) == 2 and action.lower() == "_validate" and verb == "POST":
            return 200, core.validate(head, _json(body))
        if len(parts) == 3 and parts[2].lower() == "changelog" and verb == "GET":
            return 200, core.changelog(head, action, params)
        if len(parts) == 2:
            if verb == "GET":
                return 200, core.get(head, action)
            if verb == "PUT":
                return 200, core.update(head, action, _json(body))
            if verb == "DELETE":
                core.delete(head, action)
                return 200, b""
        raise ApiError(
            405 if len(parts) == 2 else 404,
            f"The requested resource does not support http method '{verb}'."
            if len(parts) == 2
            else f"No HTTP resource was found that matches the request URI '{self.path}'.",
        )

    # -- /_emulator ------------------------------------------------------------------------------
    def _admin(self, verb: str, parts: list[str], body: bytes) -> None:
        emu = self.server.emulator
        name = parts[0] if parts else "info"
        routes: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "info"): emu.info,
            ("GET", "clock"): lambda: {"clock": emu.clock.isoformat()},
            ("POST", "advance"): lambda: {
                "clock": emu.advance(int(_json(body).get("months", 1))).isoformat()
            },
            ("GET", "faults"): lambda: emu.faults.config.to_dict(),
            ("PUT", "faults"): lambda: _set_faults(emu, _json(body)),
            ("POST", "faults"): lambda: _set_faults(emu, _json(body)),
            ("GET", "tasks"): lambda: [t.to_dict() for t in emu.triggered_tasks],
            ("GET", "requests"): lambda: [r.to_dict() for r in emu.request_log],
            ("POST", "sources"): lambda: _define_source(emu, _json(body)),
            ("GET", "sources"): lambda: [s.to_dict() for s in emu.core.sources.values()],
            ("POST", "queries"): lambda: _define_query(emu, _json(body)),
            ("GET", "structure"): lambda: _structure(emu),
            ("POST", "refresh-token"): lambda: _refresh_token(emu, _json(body)),
        }
        handler = routes.get((verb, name))
        if handler is None:
            self._error(404, f"No emulator admin route {verb} /_emulator/{name}")
            return
        try:
            result = handler()
        except (ValueError, KeyError, TypeError) as exc:
            self._error(400, f"BadRequest: {exc}")
            return
        self._send(200, json.dumps(result, default=str).encode())


def _json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"BadRequest: the body is not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None


def _set_faults(emu: Emulator, data: Any) -> dict[str, Any]:
    emu.set_faults(FaultConfig.from_dict(dict(data)))
    return emu.faults.config.to_dict()


def _define_source(emu: Emulator, data: Any) -> dict[str, Any]:
    source = SourceDefinition.from_dict(data)
    emu.core.define_source(source)
    return source.to_dict()


def _define_query(emu: Emulator, data: Any) -> dict[str, Any]:
    query = QueryDefinition.from_dict(data)
    emu.core.define_query(query)
    return query.to_dict()


def _structure(emu: Emulator) -> dict[str, Any]:
    s = emu.core.structure_in_force()
    return {
        "billing_cycle_months": s.billing_cycle_months,
        "tiers": [
            {
                "code": t.code,
                "name": t.name,
                "price": str(t.price),
                "rank": t.rank,
                "benefits": sorted(t.benefits),
            }
            for t in s.tiers
        ],
    }


def _refresh_token(emu: Emulator, data: Any) -> dict[str, Any]:
    client_id = str(data.get("client_id") or next(iter(emu.config.client_apps)))
    username = str(data.get("username") or emu.username)
    return {
        "client_id": client_id,
        "refresh_token": emu.auth.issue_refresh_token(client_id, username),
    }
