"""``imis-tier auth``: login stores in the keyring, status hides secrets, logout forgets."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest
from click.testing import CliRunner
from imis_tier_cli.auth import auth

from .keyrings import MemoryKeyring


@pytest.fixture
def ring(monkeypatch):
    for name in (
        "IMIS_BASE_URL",
        "IMIS_USERNAME",
        "IMIS_PASSWORD",
        "IMIS_CLIENT_ID",
        "IMIS_REFRESH_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


def test_login_stores_password_from_a_hidden_prompt_and_status_hides_it(ring):
    runner = CliRunner()
    result = runner.invoke(
        auth,
        [
            "login",
            "--base-url",
            "https://assoc.example.org/",
            "--username",
            "api.sync",
            "--no-verify",
        ],
        input="S3cret!\n",
    )
    assert result.exit_code == 0, result.output
    assert "S3cret!" not in result.output  # the prompt does not echo
    assert ring.store[("imis-tier", "api.sync")] == "S3cret!"
    assert ring.store[("imis-tier", "base_url")] == "https://assoc.example.org"

    status = runner.invoke(auth, ["status", "--no-check", "--json"])
    assert status.exit_code == 0, status.output
    assert "S3cret!" not in status.output
    assert '"user": "api.sync"' in status.output and "keyring imis-tier" in status.output

    assert runner.invoke(auth, ["logout"]).exit_code == 0
    assert ring.store == {}


def test_status_without_configuration_is_one_clear_error(ring):
    result = CliRunner().invoke(auth, ["status"])
    assert result.exit_code == 1
    assert "missing base URL" in result.output and "imis-tier auth login" in result.output


def test_login_without_a_keyring_backend_says_use_the_environment(monkeypatch):
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        result = CliRunner().invoke(
            auth,
            ["login", "--base-url", "https://x", "--username", "u", "--no-verify"],
            input="pw\n",
        )
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 1
    assert "IMIS_PASSWORD in the environment" in result.output
    assert "Traceback" not in result.output


def test_login_verifies_and_status_authenticates_against_the_emulator(ring, emu):
    runner = CliRunner()
    bad = runner.invoke(
        auth, ["login", "--base-url", emu.base_url, "--username", emu.username], input="wrong\n"
    )
    assert bad.exit_code == 1 and "nothing stored" in bad.output and ring.store == {}
    good = runner.invoke(
        auth,
        ["login", "--base-url", emu.base_url, "--username", emu.username],
        input=f"{emu.password}\n",
    )
    assert good.exit_code == 0, good.output
    status = runner.invoke(auth, ["status"])
    assert status.exit_code == 0, status.output
    assert "authenticated: True" in status.output and f"token_user: {emu.username}" in status.output
    assert emu.password not in status.output
