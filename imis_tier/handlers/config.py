"""``imis-tier.toml``: the one configuration file of the handler service (YAML also accepted).

Validated with pydantic; an error names the file, the line where it can be found, and the field.
Secrets are references only: ``"env:IMIS_PASSWORD"`` or ``"keyring:imis-tier/api.sync"``; a
literal secret is refused.

.. code-block:: toml

    [imis]
    base_url = "https://assoc.example.org"
    username = "api.sync"
    password = "env:IMIS_PASSWORD"

    [warehouse]
    path = "/var/lib/imis-tier/assoc.duckdb"

    [service]
    timezone = "America/Chicago"
    port = 8787
    [service.auth]
    shared_secret = "env:IMIS_TIER_WEBHOOK_KEY"

    [handlers.sync]
    schedule = "15 2 * * *"
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from imis_tier.handlers.cron import CronError, CronSchedule
from imis_tier.handlers.errors import ConfigError
from imis_tier.handlers.model import ChangeNotification, Manual, QueryInput, Schedule
from imis_tier.handlers.registry import HandlerNotFound, HandlerRegistry
from imis_tier.handlers.runner import RetryPolicy
from imis_tier.handlers.webhook import WebhookAuth

CONFIG_ENV = "IMIS_TIER_CONFIG"
DEFAULT_FILES = ("imis-tier.toml", "imis-tier.yaml", "imis-tier.yml")
_SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|keyring:[^/\s]+/\S+)$")
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "private_key")


def _check_secret(value: str | None, field: str) -> str | None:
    if value is None or _SECRET_REF.match(value):
        return value
    raise ValueError(
        f'{field} must be a secret reference like "env:IMIS_PASSWORD" or '
        '"keyring:imis-tier/api.sync", not a literal secret'
    )


def resolve_secret(reference: str, field: str = "secret") -> str:
    """The value behind ``env:NAME`` or ``keyring:service/username``."""
    kind, _, target = reference.partition(":")
    if kind == "env":
        value = os.environ.get(target)
        if value is None:
            raise ConfigError(f"{field}: environment variable {target} is not set")
        return value
    if kind == "keyring":
        service, _, username = target.partition("/")
        try:
            import keyring

            value = keyring.get_password(service, username)
        except Exception as exc:  # keyring back-ends fail in many ways; one readable line
            raise ConfigError(
                f"{field}: keyring lookup {service}/{username} failed: {exc}"
            ) from None
        if value is None:
            raise ConfigError(
                f"{field}: no keyring entry for service {service!r}, user {username!r}"
            )
        return value
    raise ConfigError(f"{field}: {reference!r} is not a secret reference")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImisSection(_Section):
    base_url: str | None = None
    username: str | None = None
    password: str | None = None

    @field_validator("password")
    @classmethod
    def _password_is_reference(cls, value: str | None) -> str | None:
        return _check_secret(value, "password")


class WarehouseSection(_Section):
    path: str = "imis-tier.duckdb"


class AuthSection(_Section):
    shared_secret: str | None = None
    header: str = "X-Imis-Tier-Key"
    query_key: str = "code"
    hmac_secret: str | None = None
    signature_header: str = "X-Imis-Tier-Signature"

    @field_validator("shared_secret", "hmac_secret")
    @classmethod
    def _secret_is_reference(cls, value: str | None, info: Any) -> str | None:
        return _check_secret(value, info.field_name)


class ServiceSection(_Section):
    timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    max_attempts: int = Field(default=3, ge=1, description="tries per run for transient failures")
    backoff_seconds: float = Field(default=2.0, ge=0)
    max_backoff_seconds: float = Field(default=300.0, ge=0)
    event_attempts: int = Field(
        default=5, ge=1, description="runs per event before it is dead-lettered"
    )
    event_backoff_seconds: float = Field(default=30.0, ge=0)
    lock_stale_seconds: float = Field(default=300.0, gt=0)
    seed: int = 0
    auth: AuthSection = Field(default_factory=AuthSection)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            CronSchedule.parse("* * * * *", value)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        return value


class HandlerSection(_Section):
    uses: str | None = None
    enabled: bool = True
    schedule: str | None = None
    events: list[str] | None = None
    manual: bool = False
    query: str | None = None
    parameters: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_trigger(self) -> HandlerSection:
        given = [
            n
            for n, v in (
                ("schedule", self.schedule),
                ("events", self.events),
                ("manual", self.manual),
            )
            if v
        ]
        if len(given) > 1:
            raise ValueError(f"give one trigger, not {' and '.join(given)}")
        for key, value in self.settings.items():
            if isinstance(value, str) and any(w in key.lower() for w in _SECRET_WORDS):
                _check_secret(value, f"settings.{key}")
        return self


class Config(_Section):
    """The parsed configuration file."""

    imis: ImisSection = Field(default_factory=ImisSection)
    warehouse: WarehouseSection = Field(default_factory=WarehouseSection)
    service: ServiceSection = Field(default_factory=ServiceSection)
    handlers: dict[str, HandlerSection] = Field(default_factory=dict)
    _source: str | None = PrivateAttr(None)
    _locate: Callable[[Sequence[str | int]], int | None] | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The file this configuration came from."""
        return self._source

    def where(self, *loc: str | int) -> str:
        """``file:line: field`` for error messages."""
        line = self._locate(loc) if self._locate else None
        place = f"{self.source}:{line}" if self.source and line else (self.source or "<config>")
        return f"{place}: {'.'.join(map(str, loc))}"

    # -- what the service is built from ----------------------------------------------------------
    def warehouse_path(self) -> Path:
        path = Path(self.warehouse.path)
        if self.source and not path.is_absolute():
            path = Path(self.source).parent / path
        return path

    def retry_policy(self) -> RetryPolicy:
        s = self.service
        return RetryPolicy(s.max_attempts, s.backoff_seconds, 2.0, s.max_backoff_seconds)

    def event_retry_policy(self) -> RetryPolicy:
        s = self.service
        return RetryPolicy(s.event_attempts, s.event_backoff_seconds, 2.0, s.max_backoff_seconds)

    def lock_stale_after(self) -> timedelta:
        return timedelta(seconds=self.service.lock_stale_seconds)

    def webhook_auth(self) -> WebhookAuth:
        a = self.service.auth
        if not a.shared_secret and not a.hmac_secret:
            raise ConfigError(
                f"{self.where('service', 'auth')}: set shared_secret and/or hmac_secret; "
                "the change-notification endpoint never runs unauthenticated"
            )
        return WebhookAuth(
            shared_secret=resolve_secret(a.shared_secret, "service.auth.shared_secret")
            if a.shared_secret
            else None,
            header=a.header,
            query_key=a.query_key,
            hmac_secret=resolve_secret(a.hmac_secret, "service.auth.hmac_secret")
            if a.hmac_secret
            else None,
            signature_header=a.signature_header,
        )

    def client_factory(self) -> Callable[[], Any]:
        """A function opening the iMIS client (arguments here, else the client's env/keyring order)."""
        imis = self.imis

        def open_client() -> Any:
            from imis_tier.client import Client

            password = resolve_secret(imis.password, "imis.password") if imis.password else None
            return Client(imis.base_url, username=imis.username, password=password)

        return open_client

    def apply(self, registry: HandlerRegistry) -> HandlerRegistry:
        """A new registry: ``registry``'s handlers with this file's triggers, inputs and settings."""
        result = HandlerRegistry()
        configured = set(self.handlers)
        for handler in registry:
            if handler.name not in configured:
                result.add(handler)
        for name, section in self.handlers.items():
            if not section.enabled:
                continue
            try:
                base = registry.get(section.uses or name)
            except HandlerNotFound as exc:
                raise ConfigError(
                    f"{self.where('handlers', name, 'uses' if section.uses else name)}: {exc}"
                ) from None
            changes: dict[str, Any] = {"name": name, "settings": section.settings}
            if section.schedule:
                try:
                    CronSchedule.parse(section.schedule, self.service.timezone)
                except CronError as exc:
                    raise ConfigError(
                        f"{self.where('handlers', name, 'schedule')}: {exc}"
                    ) from None
                changes["trigger"] = Schedule(section.schedule)
            elif section.events:
                try:
                    changes["trigger"] = ChangeNotification(tuple(section.events))
                except ValueError as exc:
                    raise ConfigError(f"{self.where('handlers', name, 'events')}: {exc}") from None
            elif section.manual:
                changes["trigger"] = Manual()
            if section.query:
                changes["input"] = QueryInput(section.query, tuple(section.parameters))
            result.add(base.configured(**changes), replace=True)
        return result


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The file to read: ``explicit``, else ``$IMIS_TIER_CONFIG``, else ``./imis-tier.toml`` (or .yaml)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    for name in DEFAULT_FILES:
        if Path(name).exists():
            return Path(name)
    return None


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the configuration (an empty default when no file is found)."""
    found = find_config(path)
    if found is None:
        return Config()
    try:
        text = found.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {found}: {exc.strerror}") from None
    return parse_config(text, source=str(found))


def parse_config(text: str, *, source: str = "<config>") -> Config:
    """Validate configuration text (TOML, or YAML when ``source`` ends in .yaml/.yml)."""
    is_yaml = source.endswith((".yaml", ".yml"))
    try:
        data = _load_yaml(text) if is_yaml else tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    locate = (lambda loc: _yaml_line(text, loc)) if is_yaml else (lambda loc: _toml_line(text, loc))
    try:
        config = Config.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p
                for p in err["loc"]
                if not (isinstance(p, str) and p.startswith(("function-", "model-")))
            )
            line = locate(loc)
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {'.'.join(map(str, loc)) or '<top>'}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from None
    config._source = source
    config._locate = locate
    return config


def _load_yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None


_TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(
        p.strip().strip("\"'")
        for p in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", text)
    )


def _toml_line(text: str, loc: Sequence[str | int]) -> int | None:
    """Best-effort line number of ``loc`` in TOML text (the deepest matching table or key)."""
    want = tuple(str(p) for p in loc)
    best, best_len = None, 0
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _TOML_HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            path = table
        else:
            key = _TOML_KEY.match(line)
            if not key:
                continue
            path = table + _split_key(key.group(1))
        common = 0
        for a, b in zip(path, want, strict=False):
            if a != b:
                break
            common += 1
        if common == len(path) and common > best_len:
            best, best_len = number, common
    return best


def _yaml_line(text: str, loc: Sequence[str | int]) -> int | None:
    import yaml

    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, _ in node.value if k.value == str(part)), None)
            if match is None or key is None:
                break
            line, node = key.start_mark.line + 1, match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
