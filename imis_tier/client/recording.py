"""Record iMIS traffic into vcrpy cassettes with the credentials removed before they are written.

``scrubbing_vcr()`` returns a ``vcr.VCR`` whose hooks run at record time: the ``Authorization``
header, the ``/token`` form (password, client secret, refresh token) and the token answer
(``access_token``, ``refresh_token``) are replaced by ``XXXXXXXX``, and the recorded host can be
rewritten to a fixed one so replays need no server. Writes are matched on their body. Requires the
``vcrpy`` package (a development dependency).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCRUBBED = "XXXXXXXX"  # all X: reads as a placeholder to secret scanners too
REPLAY_BASE_URL = "http://imis.test"
"""The base URL recorded cassettes are rewritten to, and replays use."""

_FORM_SECRETS = frozenset({"password", "client_secret", "refresh_token"})
_TOKEN_SECRETS = ("access_token", "refresh_token", "id_token")


def scrub_request(request: Any, replay_base_url: str | None = REPLAY_BASE_URL) -> Any:
    """vcrpy ``before_record_request``: drop credentials, optionally pin the host."""
    for name in list(request.headers):
        if name.lower() in ("authorization", "cookie"):
            request.headers[name] = (
                f"Bearer {SCRUBBED}" if name.lower() == "authorization" else SCRUBBED
            )
    body = request.body
    if body and urlsplit(request.uri).path.endswith("/token"):
        text = body.decode() if isinstance(body, bytes) else str(body)
        pairs = [
            (k, SCRUBBED if k.lower() in _FORM_SECRETS else v)
            for k, v in parse_qsl(text, keep_blank_values=True)
        ]
        request.body = urlencode(pairs).encode()
    if replay_base_url:
        parts, base = urlsplit(request.uri), urlsplit(replay_base_url)
        request.uri = urlunsplit(
            (base.scheme, base.netloc, parts.path, parts.query, parts.fragment)
        )
        for name in list(request.headers):
            if name.lower() == "host":
                request.headers[name] = base.netloc
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: no token values, no cookies."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() == "set-cookie":
            del headers[name]
    body = response.get("body", {}).get("string")
    if body and any(secret.encode() in body for secret in _TOKEN_SECRETS):
        try:
            data = json.loads(body)
        except ValueError:
            return response
        if isinstance(data, dict):
            for secret in _TOKEN_SECRETS:
                if secret in data:
                    data[secret] = SCRUBBED
            response["body"]["string"] = json.dumps(data).encode()
    return response


def _write_body(r1: Any, r2: Any) -> None:
    # Writes must replay the answer to the same body; reads and the (scrubbed) token form need not.
    if r1.method in ("GET", "HEAD") or urlsplit(r1.uri).path.endswith("/token"):
        return
    # An empty body is recorded as b"" by httpx's transport and as None by urllib3's.
    assert (r1.body or b"") == (r2.body or b""), (
        f"{r1.method} {urlsplit(r1.uri).path}: body differs from the recording"
    )


def scrubbing_vcr(
    cassette_dir: str | Path,
    record_mode: str = "none",
    replay_base_url: str | None = REPLAY_BASE_URL,
) -> Any:
    """A ``vcr.VCR`` recording into ``cassette_dir`` with credentials scrubbed at record time.

    ``record_mode="none"`` (the default) replays only and fails on any request not recorded.
    """
    import vcr

    recorder = vcr.VCR(
        cassette_library_dir=str(cassette_dir),
        record_mode=record_mode,
        before_record_request=lambda request: scrub_request(request, replay_base_url),
        before_record_response=scrub_response,
        decode_compressed_response=True,
        filter_headers=[("authorization", f"Bearer {SCRUBBED}")],
    )
    recorder.register_matcher("write_body", _write_body)
    recorder.match_on = ("method", "scheme", "host", "port", "path", "query", "write_body")
    return recorder
