"""Wire helpers for the emulator tests: log in, unwrap GenericEntityData, read pages."""

from __future__ import annotations

from typing import Any

import httpx

from imis_tier.emulator import Emulator


def token_for(emu: Emulator) -> str:
    answer = httpx.post(
        f"{emu.base_url}/token",
        data={"grant_type": "password", "username": emu.username, "password": emu.password},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def client_for(emu: Emulator) -> httpx.Client:
    """An httpx client on the emulator with a bearer token (the raw wire, no SDK)."""
    return httpx.Client(
        base_url=emu.base_url,
        headers={"Authorization": f"Bearer {token_for(emu)}"},
        timeout=10.0,
    )


def items(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    values: list[dict[str, Any]] = response.json()["Items"]["$values"]
    return values


def props(entity: dict[str, Any]) -> dict[str, Any]:
    """Name -> unwrapped Value of a GenericEntityData (absent Value -> None)."""
    out = {}
    for p in entity["Properties"]["$values"]:
        value = p.get("Value")
        out[p["Name"]] = value["$value"] if isinstance(value, dict) and "$value" in value else value
    return out


def attributes(party: dict[str, Any]) -> dict[str, Any]:
    return props({"Properties": party["AdditionalAttributes"]})
