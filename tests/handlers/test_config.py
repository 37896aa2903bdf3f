"""imis-tier.toml: validation with file/line/field, secrets by reference only, applied to handlers."""

from __future__ import annotations

from pathlib import Path

import pytest

from imis_tier.handlers import (
    ChangeNotification,
    ConfigError,
    QueryInput,
    Schedule,
    default_registry,
    load_config,
    parse_config,
    resolve_secret,
)

GOOD = """\
[imis]
base_url = "https://assoc.example.org"
username = "api.sync"
password = "env:IMIS_PASSWORD"

[service]
timezone = "America/Chicago"
[service.auth]
shared_secret = "keyring:imis-tier/webhook"

[handlers.sync]
schedule = "15 2 * * *"

[handlers.tier-review]
uses = "review-queue"
events = ["Party.Updated"]
query = "$/ImisTier/TierReviewQueue"
[handlers.tier-review.settings]
source = "Tier_Review"
"""


def test_a_good_file_configures_the_builtin_handlers(tmp_path: Path) -> None:
    path = tmp_path / "imis-tier.toml"
    path.write_text(GOOD)
    config = load_config(path)
    registry = config.apply(default_registry(entry_points=False))
    assert registry.get("sync").trigger == Schedule("15 2 * * *")
    review = registry.get("tier-review")
    assert review.trigger == ChangeNotification(("Party.Updated",))
    assert review.input == QueryInput("$/ImisTier/TierReviewQueue")
    assert (
        review.settings["source"] == "Tier_Review"
        and review.function is registry.get("review-queue").function
    )
    assert config.warehouse_path() == tmp_path / "imis-tier.duckdb"


def test_a_literal_secret_is_refused_naming_file_line_and_field() -> None:
    text = GOOD.replace('password = "env:IMIS_PASSWORD"', 'password = "hunter2"')
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="imis-tier.toml")
    message = str(info.value)
    assert "imis-tier.toml:4: imis.password" in message and "secret reference" in message
    assert "hunter2" not in message


def test_secrets_in_handler_settings_must_be_references_too() -> None:
    text = GOOD + 'api_token = "abc123"\n'
    with pytest.raises(
        ConfigError, match=r"imis-tier.toml:\d+: handlers.tier-review: .*settings.api_token"
    ):
        parse_config(text, source="imis-tier.toml")


def test_unknown_fields_and_bad_values_are_located() -> None:
    text = GOOD.replace('timezone = "America/Chicago"', 'timezone = "America/Chicgo"\nprot = 80')
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="x.toml")
    assert "x.toml:7: service.timezone: Value error, unknown time zone 'America/Chicgo'" in str(
        info.value
    )
    assert "x.toml:8: service.prot: Extra inputs are not permitted" in str(info.value)


def test_bad_cron_and_unknown_handler_are_located_when_applied() -> None:
    config = parse_config(GOOD.replace('"15 2 * * *"', '"15 25 * * *"'), source="x.toml")
    with pytest.raises(ConfigError, match=r"x.toml:12: handlers.sync.schedule: .*hour field"):
        config.apply(default_registry(entry_points=False))
    config = parse_config(
        GOOD.replace('uses = "review-queue"', 'uses = "reveiw-queue"'), source="x.toml"
    )
    with pytest.raises(
        ConfigError, match=r"x.toml:15: handlers.tier-review.uses: no handler named 'reveiw-queue'"
    ):
        config.apply(default_registry(entry_points=False))


def test_yaml_is_accepted_with_line_numbers() -> None:
    text = "imis:\n  username: api.sync\n  password: S3cret!\n"
    with pytest.raises(ConfigError, match=r"c.yaml:3: imis.password"):
        parse_config(text, source="c.yaml")
    assert (
        parse_config("handlers:\n  monitor:\n    schedule: '0 * * * *'\n", source="c.yml")
        .handlers["monitor"]
        .schedule
    )


def test_secret_references_resolve_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMIS_PASSWORD", "from-env")
    assert resolve_secret("env:IMIS_PASSWORD", "imis.password") == "from-env"
    monkeypatch.delenv("IMIS_PASSWORD")
    with pytest.raises(
        ConfigError, match=r"imis.password: environment variable IMIS_PASSWORD is not set"
    ):
        resolve_secret("env:IMIS_PASSWORD", "imis.password")


def test_the_webhook_endpoint_never_runs_unauthenticated() -> None:
    config = parse_config("[service]\nport = 9000\n", source="x.toml")
    with pytest.raises(
        ConfigError, match=r"x.toml:1: service.auth: set shared_secret and/or hmac_secret"
    ):
        config.webhook_auth()


def test_invalid_toml_is_reported_with_the_file() -> None:
    with pytest.raises(ConfigError, match=r"x.toml: not valid TOML: .*line 1"):
        parse_config("[imis\n", source="x.toml")
