"""Bearer tokens: the request that obtains one, and the cache that decides when to ask again.

:class:`TokenCache` holds no lock and does no I/O; the sync and async clients wrap it with their
own lock so that concurrent callers share one token request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imis_tier.client._config import ClientConfig
from imis_tier.client._errors import AuthError


@dataclass(frozen=True)
class Token:
    """A bearer token and the monotonic time after which it is no longer used."""

    access_token: str = field(repr=False)
    refresh_at: float
    expires_in: float
    user_name: str | None = None


class TokenCache:
    """Caches the bearer token; refreshes it a margin before ``expires_in`` runs out.

    The margin is a tenth of the lifetime, at most ``max_margin`` seconds, so a two-week token
    is renewed a minute early and a two-second test token 0.2 s early.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        max_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._max_margin = max_margin
        self._clock = clock
        self._token: Token | None = None
        self._refresh_token = config.refresh_token
        self.fetches = 0  # tokens obtained so far

    @property
    def token(self) -> Token | None:
        """The cached token, fresh or not."""
        return self._token

    def current(self) -> str | None:
        """The cached access token while it is fresh, else None."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.access_token
        return None

    def form(self) -> dict[str, str]:
        """The ``/token`` form for the configured grant."""
        config = self._config
        if config.grant == "password":
            return {
                "grant_type": "password",
                "username": config.username or "",
                "password": config.password or "",
            }
        form = {
            "grant_type": "refresh_token",
            "client_id": config.client_id or "",
            "refresh_token": self._refresh_token or "",
        }
        if config.client_secret:
            form["client_secret"] = config.client_secret
        return form

    def accept(self, payload: Mapping[str, Any]) -> Token:
        """Store the token from a ``/token`` answer."""
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError("the token endpoint answered without an access_token", status=200)
        lifetime = float(payload.get("expires_in") or 0) or 3600.0
        margin = min(self._max_margin, lifetime / 10)
        self.fetches += 1
        if payload.get("refresh_token"):
            self._refresh_token = str(payload["refresh_token"])  # rotated by the server
        self._token = Token(
            access_token=access,
            refresh_at=self._clock() + lifetime - margin,
            expires_in=lifetime,
            user_name=payload.get("userName"),
        )
        return self._token

    def invalidate(self, access_token: str) -> None:
        """Forget ``access_token`` after a 401, unless another caller already replaced it."""
        if self._token is not None and self._token.access_token == access_token:
            self._token = None
