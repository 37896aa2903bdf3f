"""Multi-step operations written once, without I/O, for both clients.

A flow is a generator that yields :class:`RequestSpec` values and receives each decoded answer
(or has the request's :class:`ImisError` thrown into it); its return value is the result. The sync
client drives flows with plain calls, the async client with ``await``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from imis_tier.client import _decode
from imis_tier.client._base import RequestSpec, entity_path, filter_params
from imis_tier.client._codec import Entity, WireCodec
from imis_tier.client._errors import ImisError, NotFound
from imis_tier.client._paging import MAX_PAGE_SIZE, envelope_items
from imis_tier.client.models import EventRegistration, Party, TaskDefinition, TaskResult, build

Flow = Generator[RequestSpec, Any, Any]

_EXECUTE_REQUEST = "Asi.Soa.Core.DataContracts.GenericExecuteRequest, Asi.Contracts"
_OBJECTS = "System.Collections.ObjectModel.Collection`1[[System.Object, mscorlib]], mscorlib"
_STRINGS = "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib"
_TASKS = "Asi.Soa.Communications.DataContracts"
_EVENTS = "Asi.Soa.Events.DataContracts"
_COMMERCE = "Asi.Soa.Commerce.DataContracts"


def properties_of(data: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """Plain ``{Name: value}`` from a dict or a pydantic model (by alias, nulls left out)."""
    if isinstance(data, BaseModel):
        return data.model_dump(by_alias=True, exclude_none=True)
    return dict(data)


# ------------------------------------------------------------------- single
def fetch_one(spec: RequestSpec, decode: Any) -> Flow:
    """One request, its answer decoded with ``decode(answer)``."""
    answer = yield spec
    return decode(answer)


def party_get(codec: WireCodec, party_id: str) -> Flow:
    wire = yield RequestSpec("GET", entity_path("Party", str(party_id)))
    return _decode.party(codec, wire)


def party_paid_through(codec: WireCodec, party_id: str) -> Flow:
    party: Party = yield from party_get(codec, party_id)
    return party.paid_thru_date


# ----------------------------------------------------------------- entities
def entity_get(codec: WireCodec, name: str, key: str | Sequence[str]) -> Flow:
    wire = yield RequestSpec("GET", entity_path(name, key))
    return codec.decode_entity(wire)


def entity_create(
    codec: WireCodec,
    name: str,
    data: Mapping[str, Any] | BaseModel,
    parent_id: str | None = None,
    parent_type: str = "Party",
) -> Flow:
    """POST a new row; when iMIS answers a multi-instance ordinal of 0, re-read the real row."""
    properties = properties_of(data)
    if parent_id is None and parent_type == "Party":
        found = properties.get("ID", properties.get("PartyId"))
        parent_id = None if found is None else str(found)
    if parent_id is None:
        parent_type = "Standalone"
    entity = Entity(
        entity_type=name,
        properties=properties,
        parent_type=parent_type,
        parent_identity=(str(parent_id),) if parent_id is not None else (),
    )
    wire = yield RequestSpec(
        "POST", entity_path(name), json=codec.encode_entity(entity), idempotent=False
    )
    created = codec.decode_entity(wire) if wire else entity
    if len(created.identity) >= 2 and created.identity[-1] == "0" and parent_id is not None:
        # iMIS answers Ordinal 0 for new multi-instance rows: find the row it really made.
        listing = yield RequestSpec(
            "GET", entity_path(name), params=(("ID", str(parent_id)), ("limit", str(MAX_PAGE_SIZE)))
        )
        rows = [codec.decode_entity(r) for r in envelope_items(listing)]
        matches = [
            r
            for r in rows
            if _holds(r.properties, codec.decode_entity(codec.encode_entity(entity)).properties)
        ]
        if matches:
            return max(matches, key=lambda r: _ordinal(r.identity))
    return created


def _holds(row: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(row.get(k) == v for k, v in wanted.items() if v is not None)


def _ordinal(identity: tuple[str, ...]) -> int:
    try:
        return int(identity[-1])
    except (ValueError, IndexError):
        return -1


def entity_update(
    codec: WireCodec, name: str, key: str | Sequence[str], changes: Mapping[str, Any] | BaseModel
) -> Flow:
    """GET the row, apply ``changes``, PUT the whole row back (iMIS replaces on PUT)."""
    current: Entity = yield from entity_get(codec, name, key)
    return (yield from entity_put(codec, current, properties_of(changes)))


def entity_put(codec: WireCodec, current: Entity, changes: Mapping[str, Any]) -> Flow:
    merged = Entity(
        current.entity_type,
        {**current.properties, **changes},
        current.identity,
        current.parent_type,
        current.parent_identity,
    )
    wire = yield RequestSpec(
        "PUT",
        entity_path(current.entity_type, current.identity),
        json=codec.encode_entity(merged),
        idempotent=True,
    )
    return codec.decode_entity(wire) if wire else merged


def entity_upsert(
    codec: WireCodec,
    name: str,
    data: Mapping[str, Any] | BaseModel,
    key: str | Sequence[str],
    parent_id: str | None = None,
) -> Flow:
    """Update the row whose ``key`` field(s) match ``data``, or create it: safe to repeat."""
    properties = properties_of(data)
    fields = (key,) if isinstance(key, str) else tuple(key)
    missing = [f for f in fields if properties.get(f) is None]
    if missing:
        raise ValueError(f"upsert into {name}: key field(s) {missing} missing from the data")
    params = tuple(filter_params({f: _eq(codec, properties[f]) for f in fields}, codec))
    listing = yield RequestSpec("GET", entity_path(name), params=(*params, ("limit", "2")))
    rows = [codec.decode_entity(r) for r in envelope_items(listing)]
    wanted = {
        f: codec.decode_entity(codec.encode_entity(Entity(name, {f: properties[f]}))).properties[f]
        for f in fields
    }
    rows = [r for r in rows if all(r.get(f) == v for f, v in wanted.items())]
    if len(rows) > 1:
        raise ImisError(
            f"upsert into {name}: {len(rows)} rows match key {wanted}; the key is not unique"
        )
    if rows:
        return (yield from entity_put(codec, rows[0], properties))
    return (yield from entity_create(codec, name, properties, parent_id))


def _eq(codec: WireCodec, value: Any) -> str:
    from datetime import date

    text = codec.format_date(value) if isinstance(value, date) else str(value)
    return f"eq:{text}"


def entity_delete(name: str, key: str | Sequence[str]) -> Flow:
    """DELETE a row; a 404 on a retried DELETE means the first attempt already removed it."""
    yield RequestSpec("DELETE", entity_path(name, key))
    return None


# -------------------------------------------------------------------- tasks
def execute(entity_type: str, operation: str, parameters: Sequence[Any] = ()) -> RequestSpec:
    """A ``POST /api/{entity_type}/_execute`` GenericExecuteRequest."""
    body = {
        "$type": _EXECUTE_REQUEST,
        "EntityTypeName": entity_type,
        "OperationName": operation,
        "Parameters": {"$type": _OBJECTS, "$values": [_typed_param(p) for p in parameters]},
        "ParameterTypeName": {"$type": _STRINGS, "$values": [_clr_name(p) for p in parameters]},
        "UseJson": False,
    }
    return RequestSpec(
        "POST", entity_path(entity_type, None, "_execute"), json=body, idempotent=False
    )


def _clr_name(value: Any) -> str:
    if isinstance(value, Mapping):  # a data contract passed as is: its CLR type, no assembly
        return str(value.get("$type", "System.Object")).split(",", 1)[0]
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32"
    return "System.String"


def _typed_param(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    return {"$type": _clr_name(value), "$value": value}


def task_adhoc(
    name: str,
    actions: Sequence[Mapping[str, Any]] = (),
    stored_procedure: str | None = None,
    priority: int = 0,
) -> Flow:
    """Run a task ad hoc (``TaskAdhocRequest``): the given actions, or one stored procedure."""
    values = [dict(a) for a in actions]
    if stored_procedure:
        values.append(
            {
                "$type": f"{_TASKS}.TaskDefinitionActionStoredProcedureData, Asi.Contracts",
                "ActionTypeName": "StoredProcedure",
                "StoredProcedureName": stored_procedure,
                "EnableTriggerIdsAsParameters": False,
            }
        )
    if not values:
        raise ValueError(f"task {name!r}: give at least one action or a stored_procedure")
    body = {
        "$type": f"{_TASKS}.TaskAdhocRequest, Asi.Contracts",
        "EntityTypeName": "TaskDefinition",
        "OperationName": "TaskAdhocRequest",
        "Task": {
            "$type": f"{_TASKS}.TaskDefinitionData, Asi.Contracts",
            "Name": name,
            "IsActive": True,
            "Priority": priority,
            "TaskType": 2,
            "Actions": {
                "$type": f"{_TASKS}.TaskDefinitionActionDataCollection, Asi.Contracts",
                "$values": values,
            },
        },
    }
    answer = yield RequestSpec(
        "POST", entity_path("TaskDefinition", None, "_execute"), json=body, idempotent=False
    )
    return _task_result(name, answer)


def task_run(codec: WireCodec, name: str) -> Flow:
    """Run a saved task by name (``TaskRequest``)."""
    listing = yield RequestSpec("GET", entity_path("TaskDefinition"), params=(("Name", name),))
    tasks = [build(TaskDefinition, _decode.flatten(codec, row)) for row in envelope_items(listing)]
    tasks = [t for t in tasks if t.name == name]
    if not tasks:
        raise NotFound(
            f"no task definition named {name!r}",
            method="GET",
            path="/api/TaskDefinition",
            status=404,
        )
    task = tasks[0]
    body = {
        "$type": f"{_TASKS}.TaskRequest, Asi.Contracts",
        "EntityTypeName": "TaskDefinition",
        "OperationName": "TaskRequest",
        "TaskDefinitionId": task.task_definition_id,
        "Task": {
            "$type": f"{_TASKS}.TaskDefinitionData, Asi.Contracts",
            "Name": name,
            "TaskDefinitionId": task.task_definition_id,
        },
    }
    answer = yield RequestSpec(
        "POST", entity_path("TaskDefinition", None, "_execute"), json=body, idempotent=False
    )
    return _task_result(name, answer)


def _task_result(name: str, answer: Any) -> TaskResult:
    result = answer.get("Result") if isinstance(answer, Mapping) else answer
    status = result.get("Status") if isinstance(result, Mapping) else None
    return TaskResult.model_construct(task_name=name, status=status, result=result)


# ------------------------------------------------------------------- events
def registration_id(event_id: str, party_id: str | int) -> str:
    """iMIS's EventRegistration id: ``"{EventId}-{PartyId}"``."""
    return f"{event_id}-{party_id}"


def event_register(
    codec: WireCodec, event_id: str, party_id: str | int, functions: Sequence[str] = ()
) -> Flow:
    """``RegisterEvent``: register a contact for an event; the new registration.

    Sent as the ``EventRegistrationRequest`` public integration code posts (imis-api.md S9): the
    first function code is the registration option (``FunctionId`` and
    ``RegistrationOptionFunctionId`` = ``"{EventId}/{code}"``); more codes also travel as a
    ``Functions`` collection. Never retried once iMIS may have acted on it: a repeat would
    register twice (or fail as a conflict).
    """
    codes = [functions] if isinstance(functions, str) else [str(f) for f in functions]
    party = str(party_id)
    body: dict[str, Any] = {
        "$type": f"{_EVENTS}.EventRegistrationRequest, Asi.Contracts",
        "EntityTypeName": "EventRegistration",
        "OperationName": "RegisterEvent",
        "RegistrationType": 3,
        "EventId": event_id,
        "RegistrantId": party,
        "BillTo": party,
        "Waitlist": False,
    }
    if codes:
        body["RegistrationOptionFunctionId"] = f"{event_id}/{codes[0]}"
        body["FunctionId"] = codes[0]
    if len(codes) > 1:
        body["Functions"] = {
            "$type": f"{_EVENTS}.EventRegistrationFunctionDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{_EVENTS}.EventRegistrationFunctionData, Asi.Contracts",
                    "EventFunction": {
                        "$type": f"{_EVENTS}.EventFunctionData, Asi.Contracts",
                        "EventFunctionId": f"{event_id}/{code}",
                        "EventFunctionCode": code,
                    },
                }
                for code in codes
            ],
        }
    answer = yield RequestSpec(
        "POST", entity_path("EventRegistration", None, "_execute"), json=body, idempotent=False
    )
    return _registration(codec, answer, event_id, party)


def event_cancel_registration(codec: WireCodec, event_id: str, party_id: str | int) -> Flow:
    """``CancelEventRegistration``: the registration, now cancelled (``status`` 0).

    A GenericExecuteRequest whose parameters are the registration id and an empty
    ``OrderLineData``, as S9 posts it. Cancelling twice leaves the same state, so it is retried
    like a PUT.
    """
    party = str(party_id)
    order_line = {
        "$type": f"{_COMMERCE}.OrderLineData, Asi.Contracts",
        "ChildOrderLines": {
            "$type": f"{_COMMERCE}.OrderLineDataCollection, Asi.Contracts",
            "$values": [{"$type": f"{_COMMERCE}.OrderLineData, Asi.Contracts"}],
        },
    }
    spec = execute(
        "EventRegistration",
        "CancelEventRegistration",
        [registration_id(event_id, party), order_line],
    )
    answer = yield replace(spec, idempotent=True)
    return _registration(codec, answer, event_id, party)


def _registration(codec: WireCodec, answer: Any, event_id: str, party_id: str) -> EventRegistration:
    """The EventRegistrationData in a GenericExecuteResult (ids alone if iMIS sent none)."""
    result = answer.get("Result") if isinstance(answer, Mapping) else None
    if isinstance(result, Mapping):
        return build(EventRegistration, _decode.flatten(codec, result))
    return EventRegistration.model_construct(
        event_registration_id=registration_id(event_id, party_id),
        event_id=event_id,
        party_id=party_id,
    )
