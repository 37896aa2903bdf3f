"""POST /token grants and the bearer check on /api."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from imis_tier.emulator import Emulator, FaultConfig

DENIED = {
    "$type": "System.Web.Http.HttpError, System.Web.Http",
    "Message": "Authorization has been denied for this request.",
}


def _token(emu: Emulator, **form: str) -> httpx.Response:
    return httpx.post(f"{emu.base_url}/token", data=form)


def test_password_grant_answers_the_documented_fields(imis_emulator: Emulator) -> None:
    r = _token(
        imis_emulator,
        grant_type="password",
        username=imis_emulator.username,
        password=imis_emulator.password,
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "access_token",
        "token_type",
        "expires_in",
        "userName",
        ".issued",
        ".expires",
    ]
    assert body["token_type"] == "bearer" and body["expires_in"] == 1209599
    assert body["userName"] == imis_emulator.username
    issued, expires = (
        parsedate_to_datetime(body[".issued"]),
        parsedate_to_datetime(body[".expires"]),
    )
    assert 1209598 <= (expires - issued).total_seconds() <= 1209600


def test_form_field_names_are_case_insensitive(imis_emulator: Emulator) -> None:
    r = _token(
        imis_emulator,
        Grant_type="password",
        Username=imis_emulator.username,
        Password=imis_emulator.password,
    )
    assert r.status_code == 200 and r.json()["access_token"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "api.sync", "password": "wrong"}, "invalid_grant"),
        ({"grant_type": "password", "username": "nobody", "password": "x"}, "invalid_grant"),
        (
            {"grant_type": "client_credentials", "client_id": "imis-tier", "client_secret": "x"},
            "unsupported_grant_type",
        ),
        ({"username": "api.sync"}, "unsupported_grant_type"),
        (
            {
                "grant_type": "refresh_token",
                "client_id": "imis-tier",
                "client_secret": "emulator-client-secret",
                "refresh_token": "bogus",
            },
            "invalid_grant",
        ),
        (
            {
                "grant_type": "refresh_token",
                "client_id": "other",
                "client_secret": "x",
                "refresh_token": "bogus",
            },
            "invalid_client",
        ),
    ],
)
def test_refused_grants_answer_400_with_oauth_error(
    imis_emulator: Emulator, form: dict[str, str], error: str
) -> None:
    r = _token(imis_emulator, **form)
    assert r.status_code == 400
    assert r.json()["error"] == error and r.json()["error_description"]


def test_refresh_token_grant_for_a_client_app(imis_emulator: Emulator) -> None:
    refresh = imis_emulator.refresh_token("imis-tier")
    form = {
        "grant_type": "refresh_token",
        "client_id": "imis-tier",
        "client_secret": "emulator-client-secret",
        "refresh_token": refresh,
    }
    r = _token(imis_emulator, **form)
    assert r.status_code == 200
    body = r.json()
    assert body["refresh_token"] != refresh  # rotated
    assert (
        httpx.get(
            f"{imis_emulator.base_url}/api/Party?limit=1",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        ).status_code
        == 200
    )
    assert _token(imis_emulator, **form).json()["error"] == "invalid_grant"  # used once
    again = _token(imis_emulator, **{**form, "refresh_token": body["refresh_token"]})
    assert again.status_code == 200


def test_password_grant_with_client_app_issues_refresh_token(imis_emulator: Emulator) -> None:
    r = _token(
        imis_emulator,
        grant_type="password",
        username=imis_emulator.username,
        password=imis_emulator.password,
        client_id="imis-tier",
        client_secret="emulator-client-secret",
    )
    assert r.status_code == 200 and r.json()["refresh_token"]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer"])
def test_api_without_valid_bearer_is_401(imis_emulator: Emulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = httpx.get(f"{imis_emulator.base_url}/api/Party", headers=headers)
    assert r.status_code == 401 and r.json() == DENIED


def test_token_expires_after_configured_lifetime(fresh: Emulator) -> None:
    fresh.set_faults(FaultConfig(token_lifetime_s=0.3))
    r = _token(fresh, grant_type="password", username=fresh.username, password=fresh.password)
    assert r.json()["expires_in"] == 0
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert httpx.get(f"{fresh.base_url}/api/Party?limit=1", headers=headers).status_code == 200
    time.sleep(0.4)
    assert httpx.get(f"{fresh.base_url}/api/Party?limit=1", headers=headers).status_code == 401
