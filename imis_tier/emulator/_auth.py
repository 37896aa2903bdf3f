"""OAuth token issuing and checking, as iMIS's ``/token`` endpoint does it."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

REFRESH_LIFETIME_S = 1199  # iMIS client-app refresh tokens are short-lived (~20 min reported)


class TokenError(Exception):
    """A /token request refused with 400 and an OAuth error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class _Grant:
    username: str
    expires_at: float


class TokenAuthority:
    """Issues bearer and refresh tokens and validates them (thread-safe, wall-clock expiry)."""

    def __init__(
        self,
        users: Mapping[str, str],
        client_apps: Mapping[str, str],
        lifetime_s: float,
        *,
        clock: Any = time.time,
    ) -> None:
        self._users = dict(users)
        self._apps = dict(client_apps)
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, tuple[str, str, float]] = {}  # token -> (client_id, user, expiry)
        self._lock = threading.Lock()

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer a /token form (field names already lower-cased); raises :class:`TokenError`."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            username, password = form.get("username", ""), form.get("password", "")
            if not username or self._users.get(username) != password:
                raise TokenError("invalid_grant", "The user name or password is incorrect.")
            client_id = form.get("client_id")
            if client_id is not None and self._apps.get(client_id) != form.get("client_secret"):
                raise TokenError(
                    "invalid_client", f"Client application '{client_id}' is not recognised."
                )
            return self._issue(username, client_id)
        if grant_type == "refresh_token":
            client_id = form.get("client_id", "")
            if self._apps.get(client_id) is None or self._apps[client_id] != form.get(
                "client_secret"
            ):
                raise TokenError(
                    "invalid_client", f"Client application '{client_id}' is not recognised."
                )
            with self._lock:
                entry = self._refresh.pop(form.get("refresh_token", ""), None)
            if entry is None or entry[0] != client_id or entry[2] < self._clock():
                raise TokenError("invalid_grant", "The refresh token is invalid or has expired.")
            return self._issue(entry[1], client_id)
        if not grant_type:
            raise TokenError("unsupported_grant_type", "grant_type is required.")
        raise TokenError(
            "unsupported_grant_type", f"The grant type '{grant_type}' is not supported."
        )

    def _issue(self, username: str, client_id: str | None) -> dict[str, Any]:
        now = self._clock()
        lifetime = self.lifetime_s
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._access[token] = _Grant(username, now + lifetime)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(lifetime),
            "userName": username,
            ".issued": formatdate(now, usegmt=True),
            ".expires": formatdate(now + lifetime, usegmt=True),
        }
        if client_id is not None:
            refresh = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh[refresh] = (client_id, username, now + REFRESH_LIFETIME_S)
            body["refresh_token"] = refresh
            body["client_id"] = client_id
        return body

    def issue_refresh_token(self, client_id: str, username: str) -> str:
        """A refresh token for a configured client app, as an SSO login would hand out."""
        if client_id not in self._apps:
            raise KeyError(f"no client application {client_id!r} is configured")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[token] = (client_id, username, self._clock() + REFRESH_LIFETIME_S)
        return token

    def check(self, authorization: str | None) -> str | None:
        """The user behind a ``Bearer`` header, or ``None`` when missing, unknown or expired."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with self._lock:
            grant = self._access.get(token.strip())
            if grant is None:
                return None
            if grant.expires_at <= self._clock():
                del self._access[token.strip()]
                return None
            return grant.username

    def revoke_all(self) -> None:
        """Forget every token (an app-pool recycle: clients must log in again)."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()
