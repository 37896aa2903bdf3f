"""Where the client's settings come from: arguments, then ``IMIS_*`` environment variables, then the
OS keyring (service ``imis-tier``). Nothing is ever read from a file in the repository.

Keyring entries (written by ``imis-tier auth login``): ``base_url``, ``username``, ``client_id``,
``client_secret``, ``refresh_token``, and the password under the user's name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from imis_tier.client._errors import ConfigurationError

KEYRING_SERVICE = "imis-tier"
"""The OS keyring service name holding imis-tier credentials."""

ENV_VARS: dict[str, str] = {
    "base_url": "IMIS_BASE_URL",
    "username": "IMIS_USERNAME",
    "password": "IMIS_PASSWORD",
    "client_id": "IMIS_CLIENT_ID",
    "client_secret": "IMIS_CLIENT_SECRET",
    "refresh_token": "IMIS_REFRESH_TOKEN",
    "timezone": "IMIS_TIMEZONE",
}
SECRETS = frozenset({"password", "client_secret", "refresh_token"})
_ENV_HINT = (
    "set IMIS_BASE_URL with IMIS_USERNAME and IMIS_PASSWORD (or IMIS_CLIENT_ID, "
    "IMIS_CLIENT_SECRET and IMIS_REFRESH_TOKEN) in the environment"
)


@dataclass(frozen=True)
class ClientConfig:
    """Resolved connection settings. ``sources`` says where each came from (never the value)."""

    base_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    timezone: str = "UTC"
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def grant(self) -> str:
        """``"password"`` or ``"refresh_token"``: the OAuth grant these credentials allow."""
        return "password" if self.username and self.password else "refresh_token"

    @property
    def tzinfo(self) -> ZoneInfo:
        """The association's time zone, in which iMIS writes its zone-less dates."""
        return ZoneInfo(self.timezone)


class _Keyring:
    """Lazy keyring reads: the backend is touched only for settings still missing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.failure: str | None = None

    def get(self, key: str) -> str | None:
        if not self.enabled or self.failure:
            return None
        try:
            import keyring
            import keyring.errors

            return keyring.get_password(KEYRING_SERVICE, key)
        except Exception as exc:  # any backend failure becomes a hint, not a traceback
            self.failure = f"{type(exc).__name__}: {exc}"
            return None


def resolve_config(
    *,
    base_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    timezone: str | None = None,
    env: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> ClientConfig:
    """Settings from arguments, then ``IMIS_*`` environment variables, then the OS keyring.

    Raises :class:`ConfigurationError` naming what is missing, and how to supply it, when there
    is no base URL or no usable credentials, or when the keyring was needed but has no backend.
    """
    environ = os.environ if env is None else env
    ring = _Keyring(use_keyring)
    given: dict[str, str | None] = {
        "base_url": base_url,
        "username": username,
        "password": password,
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
        "timezone": timezone,
    }
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def take(name: str, keyring_key: str | None = None) -> None:
        if given[name]:
            values[name], sources[name] = given[name], "argument"
        elif environ.get(ENV_VARS[name]):
            values[name], sources[name] = environ[ENV_VARS[name]], f"environment {ENV_VARS[name]}"
        elif keyring_key and (found := ring.get(keyring_key)):
            values[name], sources[name] = found, f"keyring {KEYRING_SERVICE}"

    take("base_url", "base_url")
    take("username", "username")
    take("timezone")
    if values.get("username"):
        take("password", values["username"])
    else:
        take("password")
    if not (values.get("username") and values.get("password")):
        for name in ("client_id", "client_secret", "refresh_token"):
            take(name, name)

    missing = _missing(values)
    if missing:
        hint = _ENV_HINT
        if ring.failure:
            hint = f"the OS keyring is unusable ({ring.failure}); {_ENV_HINT}"
        elif use_keyring:
            hint = f"{hint}, or run `imis-tier auth login`"
        raise ConfigurationError(f"iMIS client not configured: missing {missing}; {hint}")

    zone = values.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown time zone {zone!r} (from {sources.get('timezone', 'default')}): "
            "give an IANA name such as 'America/Chicago'"
        ) from exc
    values["base_url"] = str(values["base_url"]).rstrip("/")
    return ClientConfig(**values, sources=sources)


def _missing(values: Mapping[str, Any]) -> str:
    if not values.get("base_url"):
        return "base URL (IMIS_BASE_URL)"
    if values.get("username") and values.get("password"):
        return ""
    if values.get("client_id") and values.get("refresh_token"):
        return ""
    if values.get("username"):
        return f"password for user {values['username']!r} (IMIS_PASSWORD)"
    return "credentials (IMIS_USERNAME and IMIS_PASSWORD, or IMIS_CLIENT_ID and IMIS_REFRESH_TOKEN)"
