"""EventRegistration/_execute on the wire: RegisterEvent and CancelEventRegistration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from imis_tier.emulator import Emulator

from ._helpers import client_for, items

EXECUTE = "/api/EventRegistration/_execute"
GENERIC = "Asi.Soa.Core.DataContracts.GenericExecuteRequest, Asi.Contracts"
OBJECTS = "System.Collections.ObjectModel.Collection`1[[System.Object, mscorlib]], mscorlib"
RESULT = "Asi.Soa.Core.DataContracts.GenericExecuteResult, Asi.Contracts"
EVENTS = "Asi.Soa.Events.DataContracts"


def _request(event_id: str, party_id: str, option: str = "") -> dict[str, Any]:
    """The EventRegistrationRequest public integration code posts (imis-api.md S9)."""
    return {
        "$type": f"{EVENTS}.EventRegistrationRequest, Asi.Contracts",
        "EntityTypeName": "EventRegistration",
        "OperationName": "RegisterEvent",
        "RegistrationType": 3,
        "EventId": event_id,
        "RegistrationOptionFunctionId": f"{event_id}/{option}" if option else "",
        "FunctionId": option,
        "RegistrantId": party_id,
        "RegisteredBy": "47538",
        "BillTo": party_id,
        "Waitlist": False,
    }


def _generic(operation: str, *parameters: Any) -> dict[str, Any]:
    values = [
        p if isinstance(p, dict) else {"$type": "System.String", "$value": p} for p in parameters
    ]
    return {
        "$type": GENERIC,
        "EntityTypeName": "EventRegistration",
        "OperationName": operation,
        "Parameters": {"$type": OBJECTS, "$values": values},
        "UseJson": False,
    }


def _cancel(registration_id: str) -> dict[str, Any]:
    """The CancelEventRegistration body S9 posts: the id, then an empty OrderLineData."""
    order_line = {
        "$type": "Asi.Soa.Commerce.DataContracts.OrderLineData, Asi.Contracts",
        "ChildOrderLines": {
            "$type": "Asi.Soa.Commerce.DataContracts.OrderLineDataCollection, Asi.Contracts",
            "$values": [{"$type": "Asi.Soa.Commerce.DataContracts.OrderLineData, Asi.Contracts"}],
        },
    }
    return _generic("CancelEventRegistration", registration_id, order_line)


def _free_pairs(api: httpx.Client, n: int) -> list[tuple[str, str]]:
    events = [e["EventId"] for e in items(api.get("/api/Event", params={"limit": 500}))]
    parties = [p["PartyId"] for p in items(api.get("/api/Person", params={"limit": 30}))]
    regs = items(api.get("/api/EventRegistration", params={"limit": 500}))
    taken = {(r["EventId"], r["PartyId"]) for r in regs}
    return [(e, p) for e in events for p in parties if (e, p) not in taken][:n]


def _result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["$type"] == RESULT
    result: dict[str, Any] = body["Result"]
    assert result["$type"] == f"{EVENTS}.EventRegistrationData, Asi.Contracts"
    return result


def _codes(registration: dict[str, Any]) -> list[str]:
    functions = registration.get("Functions", {"$values": []})["$values"]
    return [f["EventFunction"]["EventFunctionCode"] for f in functions]


def test_register_event_request_then_get_and_filter(fresh_api: httpx.Client) -> None:
    ((event_id, party_id),) = _free_pairs(fresh_api, 1)
    made = _result(fresh_api.post(EXECUTE, json=_request(event_id.lower(), party_id, "REGOPT2")))
    reg_id = f"{event_id}-{party_id}"
    assert (made["EventRegistrationId"], made["EventId"], made["PartyId"]) == (
        reg_id,
        event_id,
        party_id,
    )
    assert made["Status"] == 1 and _codes(made) == ["REGOPT2"]
    assert made["Functions"]["$values"][0]["EventFunction"]["EventFunctionId"] == (
        f"{event_id}/REGOPT2"
    )
    assert fresh_api.get(f"/api/EventRegistration/{reg_id}").json() == made
    listed = items(
        fresh_api.get("/api/EventRegistration", params={"EventId": event_id, "PartyId": party_id})
    )
    assert listed == [made]


def test_register_accepts_scalar_and_object_parameters(fresh_api: httpx.Client) -> None:
    (e1, p1), (e2, p2), (e3, p3) = _free_pairs(fresh_api, 3)
    by_scalars = _result(fresh_api.post(EXECUTE, json=_generic("RegisterEvent", e1, p1, "A", "B")))
    assert by_scalars["EventRegistrationId"] == f"{e1}-{p1}" and _codes(by_scalars) == ["A", "B"]
    by_id = _result(fresh_api.post(EXECUTE, json=_generic("RegisterEvent", f"{e2}-{p2}")))
    assert by_id["EventRegistrationId"] == f"{e2}-{p2}" and "Functions" not in by_id
    data = {
        "$type": f"{EVENTS}.EventRegistrationData, Asi.Contracts",
        "EventId": e3,
        "PartyId": p3,
        "Functions": {
            "$type": "c",
            "$values": [{"$type": "f", "EventFunction": {"$type": "e", "EventFunctionCode": "X"}}],
        },
    }
    by_object = _result(fresh_api.post(EXECUTE, json=_generic("RegisterEvent", data)))
    assert by_object["EventRegistrationId"] == f"{e3}-{p3}" and _codes(by_object) == ["X"]


def test_register_errors(fresh_api: httpx.Client) -> None:
    ((event_id, party_id),) = _free_pairs(fresh_api, 1)
    assert fresh_api.post(EXECUTE, json=_request(event_id, party_id)).status_code == 200
    again = fresh_api.post(EXECUTE, json=_request(event_id, party_id))
    assert again.status_code == 409
    assert f"EventRegistration '{event_id}-{party_id}'" in again.json()["Message"]
    missing_event = fresh_api.post(EXECUTE, json=_request("NO_SUCH", party_id))
    assert missing_event.status_code == 404
    assert missing_event.json()["Message"] == "Event 'NO_SUCH' was not found."
    missing_party = fresh_api.post(EXECUTE, json=_request(event_id, "987654321"))
    assert missing_party.status_code == 404
    assert missing_party.json()["Message"] == "Party '987654321' was not found."
    empty = fresh_api.post(EXECUTE, json=_generic("RegisterEvent"))
    assert empty.status_code == 400 and "RegistrantId" in empty.json()["Message"]


def test_cancel_sets_status_0_and_repeats_quietly(fresh_api: httpx.Client) -> None:
    ((event_id, party_id),) = _free_pairs(fresh_api, 1)
    reg_id = f"{event_id}-{party_id}"
    made = _result(fresh_api.post(EXECUTE, json=_request(event_id, party_id, "R1")))
    cancelled = _result(fresh_api.post(EXECUTE, json=_cancel(reg_id)))
    assert cancelled["Status"] == 0 and cancelled["RegisteredOn"] == made["RegisteredOn"]
    assert fresh_api.get(f"/api/EventRegistration/{reg_id}").json()["Status"] == 0
    assert _result(fresh_api.post(EXECUTE, json=_cancel(reg_id))) == cancelled
    by_pair = _generic("CancelEventRegistration", event_id, party_id)
    assert _result(fresh_api.post(EXECUTE, json=by_pair)) == cancelled
    # A cancelled registration can be registered again (same id, active again).
    again = _result(fresh_api.post(EXECUTE, json=_request(event_id, party_id)))
    assert again["EventRegistrationId"] == reg_id and again["Status"] == 1
    missing = fresh_api.post(EXECUTE, json=_cancel(f"{event_id}-987654321"))
    assert missing.status_code == 404
    assert missing.json()["Message"] == f"EventRegistration '{event_id}-987654321' was not found."
    assert fresh_api.post(EXECUTE, json=_generic("CancelEventRegistration")).status_code == 400


@pytest.mark.parametrize("operation", ["Frobnicate", ""])
def test_unknown_operations_stay_400(api: httpx.Client, operation: str) -> None:
    r = api.post(EXECUTE, json=_generic(operation, "X", "1"))
    assert r.status_code == 400
    assert r.json()["Message"].startswith("OperationNotSupportedFault: EventRegistration")


def test_registrations_are_journaled_across_restart(
    tmp_path: Path, make_imis_emulator: Callable[..., Emulator]
) -> None:
    state = tmp_path / "state.jsonl"
    first = make_imis_emulator(members=60, seed=3, months=12, state_file=state)
    with client_for(first) as api:
        (e1, p1), (e2, p2) = _free_pairs(api, 2)
        kept = _result(api.post(EXECUTE, json=_request(e1, p1, "OPT")))
        _result(api.post(EXECUTE, json=_request(e2, p2)))
        cancelled = _result(api.post(EXECUTE, json=_cancel(f"{e2}-{p2}")))
    first.stop()
    ops = [line for line in state.read_text().splitlines() if "EventRegistration" in line]
    assert len(ops) == 3  # two registrations and one cancel, each one upsert line

    second = make_imis_emulator(members=60, seed=3, months=12, state_file=state)
    with client_for(second) as api:
        assert api.get(f"/api/EventRegistration/{e1}-{p1}").json() == kept
        assert api.get(f"/api/EventRegistration/{e2}-{p2}").json() == cancelled
