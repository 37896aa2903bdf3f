"""`imis-tier emulator serve | advance | faults | status` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from imis_tier_cli.main import cli


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    cmd = [
        sys.executable,
        "-c",
        "from imis_tier_cli.main import main; main()",
        "emulator",
        "serve",
        "--members",
        "60",
        "--months",
        "12",
        "--seed",
        "2",
        "--port",
        "0",
        "--password",
        "s3cret",
        "--json",
    ]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            yield json.loads(line)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_serve_prints_url_and_credentials_and_serves(served: dict[str, Any]) -> None:
    assert served["base_url"].startswith("http://127.0.0.1:") and served["username"] == "api.sync"
    assert served["password"] == "s3cret"
    token = httpx.post(
        f"{served['base_url']}/token",
        data={"grant_type": "password", "username": "api.sync", "password": "s3cret"},
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (
        httpx.get(f"{served['base_url']}/api/Party", params={"limit": 1}, headers=headers).json()[
            "Count"
        ]
        == 1
    )


def test_advance_faults_and_status_drive_a_separate_process(served: dict[str, Any]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["emulator", "advance", "--months", "2", "--url", served["base_url"]]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2027-01-01"
    result = runner.invoke(
        cli,
        [
            "emulator",
            "faults",
            "--url",
            served["base_url"],
            "--error-rate",
            "0.25",
            "--fault-seed",
            "4",
        ],
    )
    assert result.exit_code == 0 and json.loads(result.output)["error_rate"] == 0.25
    result = runner.invoke(cli, ["emulator", "status", "--url", served["base_url"]])
    assert json.loads(result.output)["clock"] == "2027-01-01"
    assert "password" not in json.loads(result.output)


def test_advance_without_emulator_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["emulator", "advance", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "no emulator answering" in result.output
