"""Configuration order (arguments, environment, keyring) and its errors."""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from imis_tier.client import ConfigurationError, resolve_config

from .keyrings import MemoryKeyring


@pytest.fixture
def ring():
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


def test_arguments_beat_environment_beat_keyring(ring):
    ring.set_password("imis-tier", "base_url", "https://ring.example.org")
    ring.set_password("imis-tier", "username", "ring.user")
    ring.set_password("imis-tier", "ring.user", "ring-pw")
    env = {"IMIS_USERNAME": "env.user", "IMIS_PASSWORD": "env-pw"}

    config = resolve_config(env=env)
    assert (config.base_url, config.username, config.password) == (
        "https://ring.example.org",
        "env.user",
        "env-pw",
    )
    assert config.sources == {
        "base_url": "keyring imis-tier",
        "username": "environment IMIS_USERNAME",
        "password": "environment IMIS_PASSWORD",
    }
    config = resolve_config(
        base_url="https://arg.example.org/", username="arg", password="p", env=env
    )
    assert (config.base_url, config.username, config.sources["username"]) == (
        "https://arg.example.org",
        "arg",
        "argument",
    )
    assert config.grant == "password"


def test_keyring_password_is_stored_under_the_user_name(ring):
    ring.set_password("imis-tier", "api.sync", "from-ring")
    config = resolve_config(base_url="https://x.example.org", username="api.sync", env={})
    assert config.password == "from-ring"
    assert "from-ring" not in repr(config)


def test_refresh_token_grant_from_environment(ring):
    env = {
        "IMIS_BASE_URL": "https://x.example.org",
        "IMIS_CLIENT_ID": "app",
        "IMIS_CLIENT_SECRET": "s",
        "IMIS_REFRESH_TOKEN": "r",
        "IMIS_TIMEZONE": "Europe/London",
    }
    config = resolve_config(env=env)
    assert config.grant == "refresh_token"
    assert str(config.tzinfo) == "Europe/London"


def test_nothing_configured_says_what_is_missing_and_how(ring):
    with pytest.raises(
        ConfigurationError, match=r"missing base URL.*IMIS_BASE_URL.*imis-tier auth login"
    ):
        resolve_config(env={})
    with pytest.raises(ConfigurationError, match=r"password for user 'bob'"):
        resolve_config(base_url="https://x.example.org", username="bob", env={})


def test_no_keyring_backend_points_to_the_environment():
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(
            ConfigurationError, match=r"keyring is unusable.*NoKeyringError.*IMIS_USERNAME"
        ):
            resolve_config(env={})
        # When the environment has everything, the broken keyring is never touched.
        env = {"IMIS_BASE_URL": "https://x.example.org", "IMIS_USERNAME": "u", "IMIS_PASSWORD": "p"}
        assert resolve_config(env=env).username == "u"
    finally:
        keyring.set_keyring(previous)


def test_unknown_time_zone_is_named():
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        resolve_config(
            base_url="https://x",
            username="u",
            password="p",
            timezone="Mars/Olympus",
            use_keyring=False,
        )
