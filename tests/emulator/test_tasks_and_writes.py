"""Tasks (ad hoc and saved), typed-entity writes, Activity creation, every documented error status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from imis_tier.emulator import Emulator

from ._helpers import attributes, items, props

TASK = "Asi.Soa.Communications.DataContracts.TaskDefinitionData, Asi.Contracts"
ACTIONS = "Asi.Soa.Communications.DataContracts.TaskDefinitionActionDataCollection, Asi.Contracts"
SP = "Asi.Soa.Communications.DataContracts.TaskDefinitionActionStoredProcedureData, Asi.Contracts"


def _task(name: str) -> dict[str, Any]:
    return {
        "$type": TASK,
        "Name": name,
        "IsActive": True,
        "Priority": 0,
        "TaskType": 2,
        "Actions": {
            "$type": ACTIONS,
            "$values": [
                {
                    "$type": SP,
                    "ActionTypeName": "StoredProcedure",
                    "StoredProcedureName": "my_FlagRenewals",
                    "EnableTriggerIdsAsParameters": False,
                }
            ],
        },
    }


def test_adhoc_task_is_recorded(fresh: Emulator, fresh_api: httpx.Client) -> None:
    body = {
        "$type": "Asi.Soa.Communications.DataContracts.TaskAdhocRequest, Asi.Contracts",
        "EntityTypeName": "TaskDefinition",
        "OperationName": "TaskAdhocRequest",
        "Task": _task("Nightly sync flag"),
    }
    r = fresh_api.post("/api/TaskDefinition/_execute", json=body)
    assert r.status_code == 200 and r.json()["Result"]
    [run] = fresh.triggered_tasks
    assert (run.operation, run.name, run.task_definition_id) == (
        "TaskAdhocRequest",
        "Nightly sync flag",
        None,
    )
    assert run.actions[0]["StoredProcedureName"] == "my_FlagRenewals"
    assert run.clock == fresh.clock and run.run_id == r.json()["Result"]
    admin = httpx.get(f"{fresh.base_url}/_emulator/tasks").json()
    assert [t["Name"] for t in admin] == ["Nightly sync flag"]


def test_saved_task_crud_and_run(fresh: Emulator, fresh_api: httpx.Client) -> None:
    created = fresh_api.post("/api/TaskDefinition", json=_task("Review tier changes"))
    assert created.status_code == 201
    task_id = created.json()["TaskDefinitionId"]
    assert created.json()["Actions"]["$values"][0]["StoredProcedureName"] == "my_FlagRenewals"
    assert fresh_api.get(f"/api/TaskDefinition/{task_id}").json()["Name"] == "Review tier changes"
    run = {
        "$type": "Asi.Soa.Communications.DataContracts.TaskRequest, Asi.Contracts",
        "EntityTypeName": "TaskDefinition",
        "OperationName": "TaskRequest",
        "TaskDefinitionId": task_id,
    }
    assert fresh_api.post("/api/TaskDefinition/_execute", json=run).status_code == 200
    by_name = {
        **run,
        "TaskDefinitionId": None,
        "Parameters": {"$type": "x", "$values": ["Review tier changes"]},
    }
    assert fresh_api.post("/api/TaskDefinition/_execute", json=by_name).status_code == 200
    assert [(t.operation, t.task_definition_id) for t in fresh.triggered_tasks] == [
        ("TaskRequest", task_id)
    ] * 2
    off = fresh_api.put(
        f"/api/TaskDefinition/{task_id}", json={**_task("Review tier changes"), "IsActive": False}
    )
    assert off.status_code == 200 and off.json()["IsActive"] is False
    assert fresh_api.post("/api/TaskDefinition/_execute", json=run).status_code == 400
    assert fresh_api.delete(f"/api/TaskDefinition/{task_id}").status_code == 200
    assert fresh_api.post("/api/TaskDefinition/_execute", json=run).status_code == 404


def test_person_create_update_and_customer_type(fresh_api: httpx.Client) -> None:
    body: dict[str, Any] = {
        "$type": "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts",
        "PersonName": {
            "$type": "Asi.Soa.Membership.DataContracts.PersonNameData, Asi.Contracts",
            "FirstName": "Ada",
            "LastName": "Lovelace",
        },
        "Emails": {"$type": "x", "$values": [{"$type": "y", "Address": "ada@example.org"}]},
        "AdditionalAttributes": {
            "$type": "z",
            "$values": [{"$type": "p", "Name": "CustomerTypeCode", "Value": "PREM"}],
        },
    }
    created = fresh_api.post("/api/Person", json=body)
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["Name"] == "Ada Lovelace" and person["Id"] == person["PartyId"]
    assert (
        attributes(person)["CustomerTypeDescription"] == "Premium"
        and attributes(person)["IsMember"] is True
    )
    body["AdditionalAttributes"]["$values"][0]["Value"] = "NOPE"
    assert fresh_api.put(f"/api/Person/{person['PartyId']}", json=body).status_code == 400
    body["AdditionalAttributes"]["$values"][0]["Value"] = "STD"
    updated = fresh_api.put(f"/api/Party/{person['PartyId']}", json=body).json()
    assert attributes(updated)["CustomerTypeCode"] == "STD"
    assert updated["UpdateInformation"]["UpdatedOn"] > person["UpdateInformation"]["UpdatedOn"]
    cs = fresh_api.get(f"/api/CsContact/{person['PartyId']}").json()
    assert props(cs)["MemberType"] == "STD" and props(cs)["RenewMonths"] == 12
    assert (
        fresh_api.post("/api/Person", json={**body, "PartyId": person["PartyId"]}).status_code
        == 409
    )


def test_activity_create_assigns_seqn(fresh_api: httpx.Client) -> None:
    pid = items(fresh_api.get("/api/Person", params={"limit": 1}))[0]["PartyId"]
    body = {
        "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
        "EntityTypeName": "Activity",
        "PrimaryParentEntityTypeName": "Party",
        "Properties": {
            "$type": "c",
            "$values": [
                {"$type": "p", "Name": "ACTIVITY_TYPE", "Value": "TIER_REVIEW"},
                {"$type": "p", "Name": "PartyId", "Value": pid},
                {"$type": "p", "Name": "UNITS", "Value": {"$type": "System.Decimal", "$value": 1}},
            ],
        },
    }
    r = fresh_api.post("/api/Activity", json=body)
    assert r.status_code == 201
    seqn = r.json()["Identity"]["IdentityElements"]["$values"][0]
    total = fresh_api.get("/api/Activity", params={"limit": 1}).json()["TotalCount"]
    assert int(seqn) == total  # SEQNs are 1..n
    assert props(fresh_api.get(f"/api/Activity/{seqn}").json())["ACTIVITY_TYPE"] == "TIER_REVIEW"
    newest = items(fresh_api.get("/api/Activity", params={"ACTIVITY_TYPE": "TIER_REVIEW"}))
    assert [props(a)["PartyId"] for a in newest] == [pid]


def test_billing_item_price_write(fresh: Emulator, fresh_api: httpx.Client) -> None:
    item = fresh_api.get("/api/LegacyBillingItem/DUES-STD").json()
    assert item["Price"]["Amount"] == 345
    item["Price"] = {
        "$type": "Asi.Soa.Core.DataContracts.MonetaryAmountData, Asi.Contracts",
        "Amount": 365.5,
    }
    r = fresh_api.put("/api/LegacyBillingItem/DUES-STD", json=item)
    assert r.status_code == 200 and '"Amount":365.50' in r.text
    assert str(fresh.structure_in_force().tier("STD").price) == "365.50"


@pytest.mark.parametrize(
    ("verb", "path", "status", "text"),
    [
        ("GET", "/api/NoSuchEntity", 404, "NoSuchEntity"),
        ("GET", "/api/Party/1", 404, "'1'"),
        ("GET", "/api/nothing/a/b/c", 404, "No HTTP resource"),
        ("PUT", "/api/CommunicationLogRecipient/1", 405, "PUT"),
        ("POST", "/api/ChangeLog", 405, "OperationNotSupportedFault"),
        ("PATCH", "/api/Party/1", 405, "PATCH"),
        ("DELETE", "/api/Invoice/1", 405, "OperationNotSupportedFault"),
        ("POST", "/api/Party/_execute", 400, "OperationNotSupportedFault"),
        ("POST", "/api/Member_Tier_Score", 400, "$type"),
    ],
)
def test_error_statuses_have_httperror_bodies(
    api: httpx.Client, verb: str, path: str, status: int, text: str
) -> None:
    r = api.request(verb, path, json={"$type": "x"} if status != 400 or "$type" not in text else {})
    assert r.status_code == status, r.text
    assert r.json()["$type"] == "System.Web.Http.HttpError, System.Web.Http"
    assert text in r.json()["Message"]


def test_invalid_json_is_400(api: httpx.Client) -> None:
    r = api.post(
        "/api/Activity", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["Message"]


def test_validate_checks_without_saving(fresh_api: httpx.Client) -> None:
    before = fresh_api.get("/api/Tier_Benefit", params={"limit": 1}).json()["TotalCount"]
    body: dict[str, Any] = {
        "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
        "Properties": {
            "$type": "c",
            "$values": [{"$type": "p", "Name": "TierCode", "Value": "STU"}],
        },
    }
    assert fresh_api.post("/api/Tier_Benefit/_validate", json=body).json()["IsValid"] is True
    body["Properties"]["$values"][0]["Name"] = "Nope"
    assert fresh_api.post("/api/Tier_Benefit/_validate", json=body).status_code == 400
    assert fresh_api.get("/api/Tier_Benefit", params={"limit": 1}).json()["TotalCount"] == before
