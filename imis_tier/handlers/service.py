"""``imis-tier handlers serve``: the scheduler, the event worker and the change-notification endpoint.

``POST /events`` (authenticated) stores Event Grid events and answers 202 at once, or answers the
subscription-validation handshake; ``GET /health`` reports the service without any secret.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from imis_tier.handlers.events import EventDispatcher
from imis_tier.handlers.runner import Runner
from imis_tier.handlers.scheduler import Scheduler
from imis_tier.handlers.webhook import EventFormatError, WebhookAuth, parse_events, validation_code

_log = logging.getLogger(__name__)
MAX_BODY = 1_000_000  # Event Grid batches are at most 1 MB


class HandlerService:
    """The long-running process: recovery at start, then scheduler and event worker threads."""

    def __init__(
        self,
        runner: Runner,
        auth: WebhookAuth,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        dispatcher: EventDispatcher | None = None,
    ) -> None:
        self.runner = runner
        self.auth = auth
        self.scheduler = Scheduler(runner)
        self.dispatcher = dispatcher or EventDispatcher(runner)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server = ThreadingHTTPServer((host, port), _make_request_handler(self))
        self._server.daemon_threads = True
        self.started_at = datetime.now(UTC)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Recover runs of dead processes, then start serving, scheduling and delivering."""
        for record in self.runner.recover():
            _log.warning(
                "run %s of %s was interrupted; it will be completed", record.run_id, record.handler
            )
        targets = [
            ("http", self._server.serve_forever),
            ("scheduler", lambda: self.scheduler.run_forever(self._stop)),
            ("events", lambda: self.dispatcher.run_forever(self._stop)),
        ]
        for name, target in targets:
            thread = threading.Thread(target=target, name=f"imis-tier-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        _log.info("handler service listening on %s", self.url)

    def stop(self) -> None:
        self._stop.set()
        self.dispatcher.wake.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=30)

    def request_stop(self) -> None:
        """Ask :meth:`wait` to return (safe from a signal handler)."""
        self._stop.set()

    def wait(self) -> None:
        """Block until :meth:`stop` (or Ctrl-C)."""
        self._stop.wait()

    def __enter__(self) -> HandlerService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def health(self) -> dict[str, Any]:
        journal = self.runner.journal
        handlers: dict[str, Any] = {}
        for h in self.runner.registry:
            last = journal.runs(h.name, limit=1)
            entry: dict[str, Any] = {"trigger": h.trigger.describe()}
            if last:
                entry["last_run"] = {"run_id": last[0].run_id, "status": last[0].status,
                                     "started_at": last[0].started_at.isoformat()}  # fmt: skip
            if h.name in self.scheduler.handlers:
                entry["next_fire"] = self.scheduler.next_fire(h.name).isoformat()
            handlers[h.name] = entry
        return {
            "status": "ok",
            "now": self.runner.clock.now().isoformat(),
            "pending_deliveries": journal.pending_delivery_count(),
            "dead_letters": len(journal.dead_letters()),
            "handlers": handlers,
        }


def _make_request_handler(service: HandlerService) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        server_version = "imis-tier-handlers"

        def log_message(self, format: str, *args: Any) -> None:  # route to logging, no query string
            _log.debug("%s %s", self.address_string(), format % args)

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if path == "/health":
                try:
                    self._reply(HTTPStatus.OK, service.health())
                except Exception as exc:
                    self._reply(
                        HTTPStatus.SERVICE_UNAVAILABLE, {"status": "error", "error": str(exc)}
                    )
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            if path != "/events":
                self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            body = self.rfile.read(length)
            refusal = service.auth.check(dict(self.headers.items()), query, body)
            if refusal is not None:
                _log.warning("refused event delivery from %s: %s", self.client_address[0], refusal)
                self._reply(HTTPStatus.UNAUTHORIZED, {"error": "unauthorized"})
                return
            try:
                events = parse_events(body)
                code = validation_code(events)
            except EventFormatError as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            if code is not None:
                _log.info("answered Event Grid subscription validation")
                self._reply(HTTPStatus.OK, {"validationResponse": code})
                return
            try:
                result = service.dispatcher.accept(events)
            except Exception as exc:
                _log.exception("could not store events")
                self._reply(
                    HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"could not store events: {exc}"}
                )
                return
            self._reply(HTTPStatus.ACCEPTED, result.as_dict())

    return _RequestHandler
