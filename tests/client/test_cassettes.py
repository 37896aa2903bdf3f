"""Replays of recorded sessions (no server), and proof that no cassette holds a secret."""

from __future__ import annotations

import json
import re

import pytest

from imis_tier.client import Client
from imis_tier.client.recording import REPLAY_BASE_URL, SCRUBBED, scrubbing_vcr

from .cassette_scenarios import CASSETTES, SCENARIOS

CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_replay_reproduces_the_recorded_session_without_a_server(name):
    recorder = scrubbing_vcr(CASSETTES, record_mode="none")
    expected = json.loads((CASSETTES / f"{name}.json").read_text())
    with (
        recorder.use_cassette(f"{name}.yaml") as cassette,
        Client(
            REPLAY_BASE_URL, username="replay", password="not-the-recorded-one", use_keyring=False
        ) as imis,
    ):
        assert SCENARIOS[name](imis) == expected
        assert cassette.all_played


def test_cassettes_exist_for_every_scenario():
    assert {f.stem for f in CASSETTE_FILES} == set(SCENARIOS)


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: p.name)
def test_no_secret_in_any_cassette(path):
    text = path.read_text()
    assert "127.0.0.1" not in text and "localhost" not in text  # host pinned to the replay URL
    for value in re.findall(r"(?i)bearer\s+([^\s'\"\]]+)", text):
        assert value == SCRUBBED
    for field, value in re.findall(r"(password|client_secret|refresh_token)=([^&\s'\"]*)", text):
        assert value == SCRUBBED, field
    for field, value in re.findall(r'\\?"(access_token|refresh_token)\\?":\s*\\?"([^"\\]*)', text):
        assert value == SCRUBBED, field
    assert re.search(r"(?i)set-cookie", text) is None


def test_recording_scrubs_the_real_secrets_before_writing(emu, tmp_path):
    from .conftest import client_for

    recorder = scrubbing_vcr(tmp_path, record_mode="all")
    with recorder.use_cassette("fresh.yaml"), client_for(emu) as imis:
        list(imis.parties.list(limit=2, max_items=2))
        token = imis.tokens.token
    text = (tmp_path / "fresh.yaml").read_text()
    assert token is not None and token.access_token not in text
    assert emu.password not in text
    assert f"password={SCRUBBED}" in text and f"Bearer {SCRUBBED}" in text
