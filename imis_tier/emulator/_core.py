"""The emulated iMIS behind the HTTP layer: tables, entities, sources, queries, tasks, clock.

Every public method takes already-parsed request parts and returns wire bytes or raises
:class:`ApiError` carrying the status and message iMIS would answer with. The HTTP module only
parses requests and writes responses.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from imis_tier.emulator import _filters as flt
from imis_tier.emulator import _seed
from imis_tier.emulator import _wire as w
from imis_tier.emulator._association import Association
from imis_tier.emulator._entities import (
    REGISTRATION_ACTIVE,
    REGISTRATION_CANCELLED,
    TABLE_KEYS,
    TABLE_KINDS,
    EntitySpec,
    RenderContext,
    builtin_specs,
    stable_guid,
)
from imis_tier.emulator._journal import Journal, decode_value, encode_value
from imis_tier.emulator._queries import (
    Prompt,
    QueryDefinition,
    extraction_queries,
    frame_kinds,
    member_queries,
)
from imis_tier.emulator._sources import SourceDefinition, property_type_name
from imis_tier.emulator._table import Table, _from_storage, coerce_value, column_values
from imis_tier.structure import Eligibility, Tier, TierStructure


class ApiError(Exception):
    """An iMIS error answer: status, HttpError message and optional headers."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class TriggeredTask:
    """One task run the emulator was asked for (ad hoc or a saved TaskDefinition)."""

    run_id: str
    operation: str  # TaskAdhocRequest or TaskRequest
    name: str
    task_definition_id: str | None
    actions: tuple[dict[str, Any], ...]
    request: dict[str, Any]
    triggered_at: datetime  # wall clock, UTC
    clock: date  # the association's date when it ran

    def to_dict(self) -> dict[str, Any]:
        return {
            "RunId": self.run_id,
            "Operation": self.operation,
            "Name": self.name,
            "TaskDefinitionId": self.task_definition_id,
            "Actions": list(self.actions),
            "Request": self.request,
            "TriggeredAt": self.triggered_at.isoformat(),
            "Clock": self.clock.isoformat(),
        }


_PAGE_DEFAULT, _PAGE_MAX = 100, 500
# Encoded query pages are kept up to this many bytes (least recently used dropped): enough for
# every page of a 100,000-row query read both in 500-row pages and in the legacy route's 100.
_PAGE_CACHE_BYTES = 384 << 20
_RESERVED = {"limit", "offset", "orderby"}
_PROMPT_OPS = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
    "contains": "Contains",
    "startswith": "StartsWith",
    "in": "In",
    "between": "Between",
}
_BODY_TYPE = "BadRequest: ValidationError - the request body must be a JSON object with a $type"
_BO_DEFINITION = "BOEntityDefinition"


class _PageCache:
    """Encoded query pages (row count, JSON), least recently used dropped beyond a byte budget."""

    def __init__(self, budget: int) -> None:
        self._pages: OrderedDict[tuple[Any, ...], tuple[int, bytes]] = OrderedDict()
        self._budget = budget
        self._size = 0

    def get(self, key: tuple[Any, ...]) -> tuple[int, bytes] | None:
        found = self._pages.get(key)
        if found is not None:
            self._pages.move_to_end(key)
        return found

    def put(self, key: tuple[Any, ...], page: tuple[int, bytes]) -> None:
        replaced = self._pages.pop(key, None)
        if replaced is not None:
            self._size -= len(replaced[1])
        self._pages[key] = page
        self._size += len(page[1])
        while self._size > self._budget and len(self._pages) > 1:
            _, (_, dropped) = self._pages.popitem(last=False)
            self._size -= len(dropped)

    def drop(self, matches: Callable[[tuple[Any, ...]], bool]) -> None:
        for key in [key for key in self._pages if matches(key)]:
            self._size -= len(self._pages.pop(key)[1])


def _lower_params(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in params}


def page_bounds(params: Mapping[str, str]) -> tuple[int, int]:
    """(offset, limit): default 100, clamp 500, offset snapped down to a page boundary."""
    try:
        limit = int(params.get("limit") or _PAGE_DEFAULT)
        offset = int(params.get("offset") or 0)
    except ValueError:
        raise ApiError(400, "BadRequest: limit and offset must be whole numbers") from None
    if limit <= 0:
        limit = _PAGE_DEFAULT
    if offset < 0:
        raise ApiError(400, "BadRequest: offset must not be negative")
    limit = min(limit, _PAGE_MAX)
    return (offset // limit) * limit, limit


class EmulatorCore:
    """All state of one emulated iMIS site."""

    def __init__(
        self, association: Association, sources: Sequence[SourceDefinition], journal: Journal
    ) -> None:
        self.association = association
        self.lock = threading.RLock()
        self.journal = journal
        self.clock: date = association.clock
        self.tables: dict[str, Table] = {}
        self.specs: dict[str, EntitySpec] = {}
        self.sources: dict[str, SourceDefinition] = {}
        self.queries: dict[str, QueryDefinition] = {}
        self.triggered_tasks: list[TriggeredTask] = []
        self._query_gen: dict[str, int] = {}  # bumped on redefinition: keys derived caches
        self._pages = _PageCache(_PAGE_CACHE_BYTES)
        self._ids = itertools.count(1)
        self._clock_set_at = time.monotonic()
        self._high_water = datetime(self.clock.year, self.clock.month, self.clock.day) - timedelta(
            seconds=1
        )
        for name, kinds in TABLE_KINDS.items():
            self.tables[name] = Table(name, kinds, (TABLE_KEYS[name],))
        for spec in builtin_specs():
            self.specs[spec.name.lower()] = spec
        for source in sources:
            self._add_source(source)
        self._seed()
        for query in [*extraction_queries(self.entity_fields()), *member_queries()]:
            self.queries[query.path.lower()] = query

    # -- set-up ----------------------------------------------------------------------------
    def _seed(self) -> None:
        tables = self.association.tables
        structure = self.association.structure_at(self.clock)
        frames = _seed.entity_frames(tables, self.clock, structure.billing_cycle_months)
        persons = frames["Party"]
        first_org = max(900_000_000, int(persons["PartyId"].max() if len(persons) else 0) + 1)
        orgs = _seed.organization_frame(tables.parties, first_org, self._high_water)
        frames["Party"] = pd.concat([persons, orgs], ignore_index=True)
        for name, frame in frames.items():
            if name in self.tables:
                self.tables[name].load(frame)
        stamps = [t.frame()["UpdatedOn"].max() for t in self.tables.values() if len(t)]
        stamps = [s for s in stamps if not pd.isna(s)]
        if stamps:
            self._high_water = max(self._high_water, max(stamps).to_pydatetime())

    def _add_source(self, source: SourceDefinition) -> None:
        key = source.name.lower()
        if key in self.specs and key not in {s.lower() for s in self.sources}:
            raise ValueError(
                f"{source.name} is a built-in entity and cannot be redefined as a source"
            )
        self.sources[key] = source
        self.specs[key] = source.spec()
        if source.name not in self.tables or self.tables[source.name].kinds != source.kinds:
            self.tables[source.name] = Table(source.name, source.kinds, source.identity)

    def entity_fields(self) -> dict[str, dict[str, str]]:
        return {spec.name: spec.fields for spec in self.specs.values()}

    def table_frame(self, name: str) -> pd.DataFrame:
        return self.tables[name].frame()

    # -- time --------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The emulated local time: the clock's midnight plus wall time since it was set, and
        always after every stamp already served (so incremental readers never miss a write)."""
        with self.lock:
            base = datetime(self.clock.year, self.clock.month, self.clock.day)
            elapsed = timedelta(seconds=time.monotonic() - self._clock_set_at)
            stamp = max(base + elapsed, self._high_water + timedelta(milliseconds=1))
            stamp = stamp.replace(microsecond=(stamp.microsecond // 1000) * 1000)
            self._high_water = stamp
            return stamp

    def render_context(self) -> RenderContext:
        cycles = self.tables["LegacyBillingCycle"].frame()
        months = (
            int(cycles["RenewMonths"].dropna().iloc[0])
            if len(cycles) and cycles["RenewMonths"].notna().any()
            else 12
        )
        return RenderContext(renew_months=months)

    # -- lookups -----------------------------------------------------------------------------
    def spec(self, entity: str) -> EntitySpec:
        if entity.lower() == _BO_DEFINITION.lower():
            with self.lock:
                self._refresh_bo_definitions()
        spec = self.specs.get(entity.lower())
        if spec is None:
            raise ApiError(
                404,
                f"No HTTP resource was found that matches the request URI: entity '{entity}' is unknown.",
            )
        return spec

    def _view(self, spec: EntitySpec) -> tuple[Table, pd.DataFrame]:
        table = self.tables[spec.table]
        frame = table.frame()
        where = spec.where
        if where is not None:
            whole = frame
            frame = table.derived(("where", spec.name), lambda: whole[where(whole)])
        return table, frame

    def _column_kinds(self, spec: EntitySpec) -> dict[str, str]:
        kinds = self.tables[spec.table].kinds
        return {name: kinds[column] for name, column in spec.fields.items()}

    def _filters(
        self, spec: EntitySpec, params: Sequence[tuple[str, str]]
    ) -> tuple[list[flt.Filter], list[tuple[str, bool]]]:
        names = spec.names
        filters, order = [], []
        for key, raw in params:
            low = key.lower()
            if low in ("limit", "offset"):
                continue
            if low == "orderby":
                try:
                    order = [(spec.fields[n], d) for n, d in flt.parse_order(raw, names)]
                except flt.FilterError as exc:
                    raise ApiError(400, f"BadRequest: {exc}") from None
                continue
            canonical = names.get(low)
            if canonical is None:
                raise ApiError(
                    400,
                    f"BadRequest: '{key}' is not a property of {spec.name} and cannot be filtered on",
                )
            try:
                parsed = flt.parse_filter(canonical, raw)
            except flt.FilterError as exc:
                raise ApiError(400, f"BadRequest: {exc}") from None
            filters.append(flt.Filter(spec.fields[canonical], parsed.op, parsed.value))
        return filters, order

    def _select(
        self, spec: EntitySpec, filters: Sequence[flt.Filter], order: Sequence[tuple[str, bool]]
    ) -> np.ndarray:
        table, frame = self._view(spec)
        key = ("select", spec.name, tuple(filters), tuple(order))
        try:
            labels: np.ndarray = table.derived(
                key, lambda: flt.select(frame, table.kinds, filters, order)
            )
        except flt.FilterError as exc:
            raise ApiError(400, f"BadRequest: {exc}") from None
        return labels

    def _encode_rows(self, spec: EntitySpec, labels: Sequence[int]) -> list[bytes]:
        table = self.tables[spec.table]
        out: list[bytes | None] = [table.cached(spec.encoded_as, int(label)) for label in labels]
        missing = [int(label) for label, data in zip(labels, out, strict=True) if data is None]
        if missing:
            ctx = self.render_context()
            fresh = {}
            for label, row in zip(missing, table.rows(missing, wire=True), strict=True):
                data = w.dumps(spec.render(spec, row, ctx))
                table.cache_encoded(spec.encoded_as, label, data)
                fresh[label] = data
            out = [
                data if data is not None else fresh[int(label)]
                for label, data in zip(labels, out, strict=True)
            ]
        return [d for d in out if d is not None]

    # -- reads ---------------------------------------------------------------------------------
    def list(self, entity: str, params: Sequence[tuple[str, str]]) -> bytes:
        spec = self.spec(entity)
        offset, limit = page_bounds(_lower_params(params))
        filters, order = self._filters(spec, params)
        with self.lock:
            labels = self._select(spec, filters, order)
            page = labels[offset : offset + limit]
            items = self._encode_rows(spec, [int(x) for x in page])
        return w.paged(spec.item_type, items, offset, limit, len(labels))

    def prewarm(self, entity: str, chunk: int = 500) -> int:
        """Encode every row of ``entity`` into the cache ahead of requests; returns rows done.

        Takes the lock one chunk at a time so requests interleave with the warm-up.
        """
        spec = self.spec(entity)
        with self.lock:
            labels = [int(x) for x in self._select(spec, (), ())]
        for start in range(0, len(labels), chunk):
            with self.lock:
                self._encode_rows(spec, labels[start : start + chunk])
        return len(labels)

    def get(self, entity: str, ident: str) -> bytes:
        spec = self.spec(entity)
        with self.lock:
            label = self._find(spec, ident)
            return self._encode_rows(spec, [label])[0]

    def changelog(self, entity: str, ident: str, params: Sequence[tuple[str, str]]) -> bytes:
        spec = self.spec(entity)
        if spec.table != "Party":
            raise ApiError(404, f"{spec.name} has no change log")
        self._find(spec, ident)
        return self.list("ChangeLog", [*params, ("IdentityIdentityElement", ident)])

    def _key_values(self, spec: EntitySpec, ident: str) -> dict[str, Any]:
        source = self.sources.get(spec.name.lower())
        if source is None and not spec.generic:
            return {spec.fields[spec.key]: ident}
        raw = ident[1:] if ident.startswith("~") else ident
        parts = raw.split("|")
        if source is None:
            if len(parts) != 1:
                raise ApiError(
                    400,
                    f"ArgumentFault: Incorrect number of identity elements for {spec.name}: expected 1, got {len(parts)}",
                )
            return {spec.fields[spec.key]: parts[0]}
        if len(parts) != len(source.identity):
            raise ApiError(
                400,
                f"ArgumentFault: Incorrect number of identity elements for {source.name}: "
                f"expected {len(source.identity)} ({', '.join(source.identity)}), got {len(parts)}",
            )
        return dict(zip(source.identity, parts, strict=True))

    def _find(self, spec: EntitySpec, ident: str) -> int:
        table, frame = self._view(spec)
        try:
            labels = table.locate(self._key_values(spec, ident))
        except ValueError:
            labels = []
        labels = [label for label in labels if label in frame.index]
        if not labels:
            raise ApiError(404, f"{spec.name} '{ident}' was not found.")
        return labels[0]

    def metadata(self, entity: str) -> bytes:
        spec = self.spec(entity)
        kinds = self._column_kinds(spec)
        source = self.sources.get(spec.name.lower())
        identity = set(source.identity) if source else {spec.key}
        props = [
            w.typed(
                w.data_type("PropertyDefinitionData"),
                {
                    "Name": name,
                    "PropertyTypeName": property_type_name(kind),
                    "IsIdentity": name in identity,
                },
            )
            for name, kind in kinds.items()
        ]
        return w.dumps(
            w.typed(
                w.data_type("EntityDefinitionData"),
                {
                    "EntityTypeName": spec.name,
                    "Description": spec.description or None,
                    "Properties": {
                        "$type": w.data_type("PropertyDefinitionDataCollection"),
                        "$values": props,
                    },
                },
            )
        )

    def _refresh_bo_definitions(self) -> None:
        key = _BO_DEFINITION.lower()
        rows = []
        for spec in self.specs.values():
            if not spec.generic or spec.name == _BO_DEFINITION:
                continue
            source = self.sources.get(spec.name.lower())
            props = {n: property_type_name(k) for n, k in self._column_kinds(spec).items()}
            rows.append(
                {
                    "EntityTypeName": spec.name,
                    "Description": spec.description,
                    "ObjectTypeName": "Panel" if source else "Standard",
                    "IsMultiInstance": bool(source and source.multi_instance),
                    "PrimaryParentEntityTypeName": None
                    if source and source.standalone
                    else "Party",
                    "IsReadOnly": "POST" not in spec.writes,
                    "Properties": json.dumps(props),
                    "UpdatedOn": datetime(self.clock.year, self.clock.month, self.clock.day),
                }
            )
        kinds = {
            "EntityTypeName": "str",
            "Description": "str",
            "ObjectTypeName": "str",
            "IsMultiInstance": "bool",
            "PrimaryParentEntityTypeName": "str",
            "IsReadOnly": "bool",
            "Properties": "str",
            "UpdatedOn": "datetime",
        }
        table = Table(_BO_DEFINITION, kinds, ("EntityTypeName",))
        table.load(pd.DataFrame(rows, columns=list(kinds)))
        self.tables[_BO_DEFINITION] = table
        fields = {n: n for n in kinds if n != "Properties"}
        self.specs[key] = EntitySpec(
            _BO_DEFINITION,
            _BO_DEFINITION,
            fields,
            "EntityTypeName",
            w.data_type("BOEntityDefinitionData"),
            _render_bo_definition,
            writes=frozenset(),
        )

    # -- writes ----------------------------------------------------------------------------------
    def _check_write(self, spec: EntitySpec, verb: str) -> None:
        if verb in spec.not_supported:
            raise ApiError(405, spec.not_supported[verb])
        if verb not in spec.writes:
            source = self.sources.get(spec.name.lower())
            if source is not None and source.read_only:
                raise ApiError(403, f"Access denied: {spec.name} is read-only for this user.")
            raise ApiError(405, f"OperationNotSupportedFault: {spec.name} does not support {verb}.")

    def create(self, entity: str, body: Any) -> bytes:
        spec = self.spec(entity)
        self._check_write(spec, "POST")
        doc = _body(body)
        with self.lock:
            values = self._parse(spec, doc, creating=True)
            table = self.tables[spec.table]
            source = self.sources.get(spec.name.lower())
            self._assign_identity(spec, source, values, doc)
            key_values = {c: values[c] for c in table.key}
            if table.locate(key_values):
                shown = "|".join(str(v) for v in key_values.values())
                raise ApiError(
                    409, f"Conflict: {spec.name} '{shown}' already exists (DuplicateKey)."
                )
            values["UpdatedOn"] = self.now()
            full = self._full_row(spec, values)
            label = table.insert(full)
            self._journal_upsert(table, full)
            if source is not None and source.multi_instance:
                # The reported iMIS quirk: POST answers Ordinal 0 (the row keeps its real one).
                row = dict(table.row(label), Ordinal=0)
                return w.dumps(spec.render(spec, row, self.render_context()))
            return self._encode_rows(spec, [label])[0]

    def update(self, entity: str, ident: str, body: Any) -> bytes:
        spec = self.spec(entity)
        self._check_write(spec, "PUT")
        doc = _body(body)
        with self.lock:
            label = self._find(spec, ident)
            table = self.tables[spec.table]
            current = table.row(label)
            values = self._parse(spec, doc, creating=False)
            replaced: dict[str, Any] = {
                column: None for name, column in spec.fields.items() if name != spec.key
            }
            for column in table.key:
                replaced.pop(column, None)
            replaced.update({c: v for c, v in values.items() if c not in table.key})
            replaced["UpdatedOn"] = self.now()
            self._derive(spec, replaced, current)
            table.update(label, replaced)
            self._journal_upsert(table, table.row(label))
            return self._encode_rows(spec, [label])[0]

    def delete(self, entity: str, ident: str) -> None:
        spec = self.spec(entity)
        self._check_write(spec, "DELETE")
        with self.lock:
            label = self._find(spec, ident)
            table = self.tables[spec.table]
            row = table.row(label)
            table.delete(label)
            self.journal.append(
                {
                    "op": "delete",
                    "table": table.name,
                    "key": {c: encode_value(row[c]) for c in table.key},
                }
            )

    def validate(self, entity: str, body: Any) -> bytes:
        spec = self.spec(entity)
        self._parse(spec, _body(body), creating=True)
        return w.dumps({"$type": w.data_type("ValidateResultsData"), "IsValid": True})

    def _full_row(self, spec: EntitySpec, values: dict[str, Any]) -> dict[str, Any]:
        table = self.tables[spec.table]
        row = {column: values.get(column) for column in table.kinds}
        self._derive(spec, row, None)
        return row

    def _derive(
        self, spec: EntitySpec, row: dict[str, Any], current: Mapping[str, Any] | None
    ) -> None:
        """Fill columns iMIS computes itself (names, customer type description, kind)."""
        if spec.table != "Party":
            return
        kind = (current or {}).get("_Kind") or (
            "Organization" if spec.name == "Organization" else "Person"
        )
        row["_Kind"] = kind
        first, last = row.get("FirstName"), row.get("LastName")
        if kind == "Person" and (first or last) and "Name" in row:
            row["Name"] = " ".join(p for p in (first, last) if p)
        if kind == "Organization" and row.get("OrganizationName") and not row.get("Name"):
            row["Name"] = row["OrganizationName"]
        code = row.get("CustomerTypeCode")
        if code is not None or "CustomerTypeCode" in row:
            code = code or "NM"
            row["CustomerTypeCode"] = code
            types = self.tables["LegacyCustomerType"]
            found = types.locate({"CustomerTypeCode": code})
            if not found:
                raise ApiError(
                    400, f"BadRequest: ValidationError - customer type '{code}' does not exist"
                )
            info = types.row(found[0])
            row["CustomerTypeDescription"] = info["Description"]
            row["IsMember"] = bool(info["IsMember"])
        if not row.get("Status"):
            row["Status"] = "A"

    def _assign_identity(
        self,
        spec: EntitySpec,
        source: SourceDefinition | None,
        values: dict[str, Any],
        doc: Mapping[str, Any],
    ) -> None:
        table = self.tables[spec.table]
        frame = table.frame()
        if source is not None:
            if not source.standalone:
                parent = w.identity_elements(doc, "PrimaryParentIdentity")
                pid = values.get("ID") or (parent[0] if parent else None)
                if not pid:
                    raise ApiError(
                        400,
                        f"BadRequest: ValidationError - {source.name} rows need an ID (the contact's PartyId)",
                    )
                if not self.tables["Party"].locate({"PartyId": pid}):
                    raise ApiError(
                        400, f"BadRequest: ValidationError - ID '{pid}' is not a contact"
                    )
                values["ID"] = str(pid)
            if source.multi_instance or source.standalone:
                scope = frame if source.standalone else frame[frame["ID"] == values["ID"]]
                values["Ordinal"] = int(scope["Ordinal"].max()) + 1 if len(scope) else 1
            return
        key = spec.fields[spec.key]
        if spec.name == "Activity":
            values["SEQN"] = int(frame["SEQN"].max()) + 1 if len(frame) else 1
            if values.get("PartyId") is None:
                parent = w.identity_elements(doc, "PrimaryParentIdentity")
                values["PartyId"] = parent[0] if parent else None
            if values.get("PartyId") is None or not values.get("ACTIVITY_TYPE"):
                raise ApiError(
                    400, "BadRequest: ValidationError - an Activity needs ACTIVITY_TYPE and PartyId"
                )
        elif spec.table == "Party" and values.get(key) is None:
            values[key] = str(int(frame["PartyId"].max()) + 1 if len(frame) else 1)
        elif spec.name == "TaskDefinition" and values.get(key) is None:
            values[key] = stable_guid(f"task:{next(self._ids)}:{values.get('Name')}:{len(frame)}")
        if values.get(key) is None:
            raise ApiError(400, f"BadRequest: ValidationError - {spec.name} needs {spec.key}")

    def _parse(self, spec: EntitySpec, doc: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        """Column values from a request body (typed contract or GenericEntityData)."""
        kinds = self._column_kinds(spec)
        names = spec.names
        if spec.generic:
            try:
                raw = w.read_properties(doc)
            except ValueError as exc:
                raise ApiError(400, f"BadRequest: ValidationError - {exc}") from None
            given = dict(raw)
        else:
            given = _typed_values(spec, doc)
        values: dict[str, Any] = {}
        for name, value in given.items():
            canonical = names.get(name.lower())
            if canonical is None:
                if spec.generic:
                    valid = ", ".join(n for n in spec.fields if n != "UpdatedOn")
                    raise ApiError(
                        400,
                        f"BadRequest: ValidationError - '{name}' is not a property of {spec.name} (properties: {valid})",
                    )
                continue
            if canonical == "UpdatedOn":
                continue
            try:
                values[spec.fields[canonical]] = coerce_value(
                    kinds[canonical], value, f"{spec.name}.{canonical}"
                )
            except ValueError as exc:
                raise ApiError(400, f"BadRequest: ValidationError - {exc}") from None
        if (
            spec.name == "Activity"
            and "PartyId" not in values
            and "ID" in {k.upper() for k in given}
        ):
            values["PartyId"] = str(next(v for k, v in given.items() if k.upper() == "ID"))
        if spec.name == "TaskDefinition":
            values["Document"] = json.dumps({k: v for k, v in doc.items() if k not in ("$type",)})
        return values

    def _journal_upsert(self, table: Table, row: Mapping[str, Any]) -> None:
        self.journal.append(
            {
                "op": "upsert",
                "table": table.name,
                "row": {k: encode_value(v) for k, v in row.items()},
            }
        )

    # -- queries ----------------------------------------------------------------------------------
    def define_query(self, query: QueryDefinition, *, journal: bool = True) -> None:
        if query.entity is not None:
            spec = self.spec(query.entity)
            for alias, prop in query.columns.items():
                if prop not in spec.fields:
                    raise ValueError(
                        f"query {query.path}: column {alias!r} -> {prop!r} is not a property of {spec.name}"
                    )
            for prompt in query.prompts:
                if prompt.property not in spec.fields:
                    raise ValueError(
                        f"query {query.path}: prompt {prompt.name!r} filters unknown property {prompt.property!r}"
                    )
                if prompt.operator.lower() not in flt.OPERATORS:
                    raise ValueError(
                        f"query {query.path}: prompt {prompt.name!r} has unknown operator {prompt.operator!r}"
                    )
            if journal:
                self.journal.append({"op": "query", "query": query.to_dict()})
        with self.lock:
            self.queries[query.path.lower()] = query
            self._query_gen[query.path.lower()] = next(self._ids)
            # cached pages belong to the old definition
            self._pages.drop(lambda key: key[1].lower() == query.path.lower())

    def define_source(self, source: SourceDefinition, *, journal: bool = True) -> None:
        with self.lock:
            self._add_source(source)
            if journal:
                self.journal.append({"op": "source", "source": source.to_dict()})

    def _find_query(self, params: Mapping[str, str]) -> QueryDefinition:
        path = params.get("queryname") or params.get("querypath")
        key = params.get("querydocumentversionkey")
        if key:
            for query in self.queries.values():
                if query.document_version_key == key.lower():
                    return query
            raise ApiError(404, f"No query with document version key '{key}'.")
        if not path:
            raise ApiError(
                400, "BadRequest: QueryName (or QueryPath / QueryDocumentVersionKey) is required"
            )
        found = self.queries.get(path.lower())
        if found is None:
            raise ApiError(404, f"Query '{path}' was not found.")
        return found

    def run_query(self, params: Sequence[tuple[str, str]], *, legacy: bool) -> bytes:
        lowered = _lower_params(params)
        query = self._find_query(lowered)
        values = [v for k, v in params if k.lower() == "parameter"]
        offset, limit = page_bounds(lowered)
        with self.lock:
            frame, kinds = self._query_frame(query, values)
            versions = tuple(t.version for t in self.tables.values())
            key = (
                "page",
                query.path,
                self._query_gen.get(query.path.lower()),
                legacy,
                tuple(values),
                offset,
                limit,
                versions,
            )
            cached = self._pages.get(key)
            if cached is None:
                cached = _encode_query_page(
                    frame.iloc[offset : offset + limit], kinds, offset, legacy
                )
                self._pages.put(key, cached)
            count, joined = cached
        if legacy:
            return w.paged(w.GENERIC_ENTITY, [joined], offset, limit, len(frame), count=count)
        return w.paged(
            "System.Object, mscorlib",
            [joined],
            offset,
            limit,
            len(frame),
            result_type="Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
            count=count,
        )

    def _query_frame(
        self, query: QueryDefinition, values: Sequence[str]
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        prompts = query.prompts
        if values and len(values) != len(prompts):
            raise ApiError(
                400,
                f"In IQA query, parameters must be Parameter Equal to the number of prompts: {query.path} "
                f"has {len(prompts)} prompt(s) ({', '.join(p.name for p in prompts) or 'none'}), got {len(values)}",
            )
        padded: list[str | None] = [v if v != "" else None for v in values] or [None] * len(prompts)
        for prompt, value in zip(prompts, padded, strict=True):
            if prompt.required and value is None:
                raise ApiError(
                    400,
                    f"In IQA query, parameters must be Parameter Equal: prompt '{prompt.name}' of {query.path} is required",
                )
        compute = query.compute
        if compute is not None:
            versions = tuple(t.version for t in self.tables.values())
            table = self.tables["Party"]
            try:
                frame = table.derived(
                    (
                        "compute",
                        query.path,
                        self._query_gen.get(query.path.lower()),
                        versions,
                        tuple(padded),
                    ),
                    lambda: compute(self, padded),
                )
            except ValueError as exc:
                raise ApiError(400, f"BadRequest: {exc}") from None
            return frame, frame_kinds(frame)
        assert query.entity is not None
        spec = self.spec(query.entity)
        filters = [
            _prompt_filter(spec, p, v)
            for p, v in zip(prompts, padded, strict=True)
            if v is not None
        ]
        labels = self._select(spec, filters, ())
        table = self.tables[spec.table]
        columns = {alias: spec.fields[prop] for alias, prop in query.columns.items()}
        frame = table.derived(
            ("query", query.path, self._query_gen.get(query.path.lower()), tuple(filters)),
            lambda: (
                table.frame().loc[labels, list(columns.values())].set_axis(list(columns), axis=1)
            ),
        )
        return frame, {alias: table.kinds[col] for alias, col in columns.items()}

    def _find_by_path(self, entity: str, doc: Mapping[str, Any]) -> Any:
        params = w.unwrap(doc.get("Parameters")) or []
        path = str(params[0]) if params else ""
        query = self.queries.get(path.lower())
        if query is None:
            raise ApiError(404, f"No document found at path '{path}'.")
        if entity.lower() == "documentsummary":
            return w.typed(
                w.data_type("DocumentSummaryData"),
                {
                    "Path": query.path,
                    "Name": query.path.rsplit("/", 1)[-1],
                    "DocumentTypeCode": "IQD",
                    "DocumentVersionKey": query.document_version_key,
                    "Description": query.description or None,
                },
            )
        prompts = [
            w.typed(
                w.data_type("QueryDefinitionParameterData"),
                {
                    "PropertyName": p.property,
                    "Prompt": p.name,
                    "Comparison": _PROMPT_OPS.get(p.operator.lower(), p.operator),
                    "IsRequired": p.required,
                    "Position": i + 1,
                },
            )
            for i, p in enumerate(query.prompts)
        ]
        columns = (
            list(query.columns) if query.compute is None else list(self._query_frame(query, [])[1])
        )
        return w.typed(
            w.data_type("QueryDefinitionData"),
            {
                "Path": query.path,
                "Name": query.path.rsplit("/", 1)[-1],
                "DocumentVersionKey": query.document_version_key,
                "Description": query.description or None,
                "Parameters": {
                    "$type": w.list_of(w.data_type("QueryDefinitionParameterData")),
                    "$values": prompts,
                },
                "Properties": {"$type": w.STRING_COLLECTION, "$values": columns},
            },
        )

    # -- _execute -------------------------------------------------------------------------------
    def execute(self, entity: str, body: Any) -> bytes:
        doc = _body(body)
        operation = str(doc.get("OperationName") or "")
        low = entity.lower()
        if low in ("querydefinition", "documentsummary") and operation.lower() == "findbypath":
            return w.execute_result(self._find_by_path(entity, doc))
        if low == "taskdefinition" and operation in ("TaskAdhocRequest", "TaskRequest"):
            return w.execute_result(self._run_task(operation, doc))
        if low == "eventregistration" and operation == "RegisterEvent":
            return w.execute_result(self._register_event(doc))
        if low == "eventregistration" and operation == "CancelEventRegistration":
            return w.execute_result(self._cancel_registration(doc))
        self.spec(entity)
        raise ApiError(400, f"OperationNotSupportedFault: {entity} has no operation '{operation}'.")

    def _run_task(self, operation: str, doc: Mapping[str, Any]) -> str:
        with self.lock:
            if operation == "TaskAdhocRequest":
                task = doc.get("Task")
                if not isinstance(task, dict):
                    raise ApiError(
                        400,
                        "BadRequest: ValidationError - TaskAdhocRequest needs a Task (TaskDefinitionData)",
                    )
                name, definition_id = str(task.get("Name") or "(ad hoc)"), None
            else:
                task, definition_id = self._saved_task(doc)
                name = str(task.get("Name"))
                if task.get("IsActive") is False:
                    raise ApiError(400, f"BadRequest: task '{name}' is not active")
            actions = tuple(w.unwrap(task.get("Actions")) or [])
            run = TriggeredTask(
                run_id=stable_guid(f"run:{len(self.triggered_tasks)}:{name}"),
                operation=operation,
                name=name,
                task_definition_id=definition_id,
                actions=tuple(a for a in actions if isinstance(a, dict)),
                request=dict(doc),
                triggered_at=datetime.now(UTC),
                clock=self.clock,
            )
            self.triggered_tasks.append(run)
            self.journal.append({"op": "task", "task": run.to_dict()})
            return run.run_id

    def _saved_task(self, doc: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        params = w.unwrap(doc.get("Parameters")) or []
        wanted = (
            doc.get("TaskDefinitionId")
            or doc.get("TaskName")
            or doc.get("Name")
            or (params[0] if params else None)
        )
        if not wanted:
            raise ApiError(
                400, "BadRequest: TaskRequest needs a TaskDefinitionId (or the task's Name)"
            )
        table = self.tables["TaskDefinition"]
        labels = table.locate({"TaskDefinitionId": str(wanted)}) or table.locate(
            {"Name": str(wanted)}
        )
        if not labels:
            raise ApiError(404, f"TaskDefinition '{wanted}' was not found.")
        row = table.row(labels[0])
        task = json.loads(row.get("Document") or "{}")
        task.update({"Name": row["Name"], "IsActive": row.get("IsActive")})
        return task, str(row["TaskDefinitionId"])

    def _register_event(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """``RegisterEvent``: a new active registration ``"{EventId}-{PartyId}"``.

        Registering again while the registration is active is a 409 naming it; a cancelled
        registration is made active again (its id cannot be reused for another row).
        """
        event_id, party_id, functions = _registration_request(doc)
        spec = self.spec("EventRegistration")
        with self.lock:
            events = self.tables["Event"]
            found = events.locate({"EventId": event_id})
            if not found:
                raise ApiError(404, f"Event '{event_id}' was not found.")
            event_id = str(events.row(found[0])["EventId"])
            if not self.tables["Party"].locate({"PartyId": party_id}):
                raise ApiError(404, f"Party '{party_id}' was not found.")
            table = self.tables[spec.table]
            registration_id = f"{event_id}-{party_id}"
            now = self.now()
            values: dict[str, Any] = {
                "Status": REGISTRATION_ACTIVE,
                "RegisteredOn": now,
                "Attended": None,
                "Functions": json.dumps(functions) if functions else None,
                "UpdatedOn": now,
            }
            labels = table.locate({"EventRegistrationId": registration_id})
            if labels:
                label = labels[0]
                if table.row(label)["Status"] != REGISTRATION_CANCELLED:
                    raise ApiError(
                        409,
                        f"Conflict: party '{party_id}' is already registered for event "
                        f"'{event_id}' (EventRegistration '{registration_id}').",
                    )
                table.update(label, values)
            else:
                label = table.insert(
                    self._full_row(
                        spec,
                        {
                            "EventRegistrationId": registration_id,
                            "EventId": event_id,
                            "PartyId": party_id,
                            **values,
                        },
                    )
                )
            self._journal_upsert(table, table.row(label))
            return self._registration_doc(spec, label)

    def _cancel_registration(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """``CancelEventRegistration``: Status 0; cancelling a cancelled one changes nothing."""
        registration_id = _registration_id(doc)
        spec = self.spec("EventRegistration")
        with self.lock:
            table = self.tables[spec.table]
            labels = table.locate({"EventRegistrationId": registration_id})
            if not labels:
                raise ApiError(404, f"EventRegistration '{registration_id}' was not found.")
            label = labels[0]
            if table.row(label)["Status"] != REGISTRATION_CANCELLED:
                table.update(label, {"Status": REGISTRATION_CANCELLED, "UpdatedOn": self.now()})
                self._journal_upsert(table, table.row(label))
            return self._registration_doc(spec, label)

    def _registration_doc(self, spec: EntitySpec, label: int) -> dict[str, Any]:
        row = self.tables[spec.table].rows([label], wire=True)[0]
        return spec.render(spec, row, self.render_context())

    # -- the clock ---------------------------------------------------------------------------------
    def structure_in_force(self) -> TierStructure:
        """The tier structure as the emulator holds it now (API writes included)."""
        base = self.association.structure_at(self.clock)
        at = pd.Timestamp(self.clock)
        types = self.tables["LegacyCustomerType"].frame()
        items = self.tables["LegacyBillingItem"].frame()
        benefits = (
            self.tables["Tier_Benefit"].frame() if "Tier_Benefit" in self.tables else pd.DataFrame()
        )
        if len(benefits):
            live = benefits[
                (benefits["EffectiveFrom"].isna() | (benefits["EffectiveFrom"] <= at))
                & (benefits["EffectiveTo"].isna() | (benefits["EffectiveTo"] > at))
            ]
        else:
            live = benefits
        tiers: list[Tier] = []
        for row in types.itertuples(index=False):
            code = str(row.CustomerTypeCode)
            if not bool(row.IsMember) or code == "NM":
                continue
            priced = items[items["TierCode"] == code]
            if len(priced):
                price = _from_storage(
                    "cents", priced.sort_values("EffectiveFrom")["Price"].iloc[-1]
                )
            elif code in base.codes:
                price = base.tier(code).price
            else:
                continue
            held = (
                frozenset(str(b) for b in live.loc[live["TierCode"] == code, "Benefit"])
                if len(live)
                else frozenset()
            )
            eligibility = base.tier(code).eligibility if code in base.codes else Eligibility()
            rank_value: Any = row.Rank
            rank = len(tiers) + 1 if rank_value is None or pd.isna(rank_value) else int(rank_value)
            tiers.append(
                Tier(code, str(row.Description or code), Decimal(price), held, rank, eligibility)
            )
        months = self.render_context().renew_months
        return TierStructure(tuple(tiers), base.discounts, months)

    def advance(self, months: int, *, journal: bool = True) -> date:
        if months < 1:
            raise ApiError(400, f"BadRequest: months must be at least 1, got {months}")
        with self.lock:
            for _ in range(months):
                structure = self.structure_in_force()
                delta = self.association.advance(months=1, structure=structure)
                self.clock = self.association.clock
                self._ingest(delta)
            self._clock_set_at = time.monotonic()
            if journal:
                self.journal.append({"op": "advance", "months": months})
            return self.clock

    def _ingest(self, delta: Any) -> None:
        frames = _seed.entity_frames(
            delta,
            self.clock,
            self.render_context().renew_months,
            known_tiers=self.association.tables.tiers,
        )
        floor = pd.Timestamp(self._high_water + timedelta(milliseconds=1))
        newest = pd.Timestamp(self._high_water)
        for name, frame in frames.items():
            if not len(frame):
                continue
            if "UpdatedOn" in frame.columns:
                # Never stamp a new row before a write already served: incremental readers
                # filtering UpdatedOn > last-seen would otherwise miss it.
                frame = frame.assign(
                    UpdatedOn=frame["UpdatedOn"].where(frame["UpdatedOn"] >= floor, floor)
                )
                newest = max(newest, frame["UpdatedOn"].max())
            if name in ("Tier_Benefit", "Tier_BenefitCatalog"):
                self._ingest_standalone(name, frame)
            elif name in self.tables:
                self.tables[name].load(frame)
        self._high_water = max(self._high_water, newest.to_pydatetime())

    def _ingest_standalone(self, name: str, frame: pd.DataFrame) -> None:
        table = self.tables.get(name)
        if table is None:
            return
        natural = (
            ["TierCode", "Benefit", "EffectiveFrom"] if name == "Tier_Benefit" else ["Benefit"]
        )
        current = table.frame()
        merged = frame.drop(columns=["Ordinal"]).merge(
            current[[*natural, "Ordinal"]], on=natural, how="left"
        )
        fresh = merged["Ordinal"].isna()
        start = int(current["Ordinal"].max()) + 1 if len(current) else 1
        merged.loc[fresh, "Ordinal"] = np.arange(start, start + int(fresh.sum()))
        table.load(merged)

    # -- the state file --------------------------------------------------------------------------
    def replay(self, ops: Sequence[Mapping[str, Any]]) -> None:
        self.journal.paused = True
        try:
            for op in ops:
                kind = op.get("op")
                if kind == "upsert":
                    table = self.tables[op["table"]]
                    row = {k: decode_value(v) for k, v in op["row"].items()}
                    labels = table.locate({c: row[c] for c in table.key})
                    if labels:
                        table.update(labels[0], row)
                    else:
                        table.insert(row)
                elif kind == "delete":
                    table = self.tables[op["table"]]
                    labels = table.locate({k: decode_value(v) for k, v in op["key"].items()})
                    if labels:
                        table.delete(labels[0])
                elif kind == "advance":
                    self.advance(int(op["months"]), journal=False)
                elif kind == "source":
                    self.define_source(SourceDefinition.from_dict(op["source"]), journal=False)
                elif kind == "query":
                    self.define_query(QueryDefinition.from_dict(op["query"]), journal=False)
                elif kind == "task":
                    t = op["task"]
                    self.triggered_tasks.append(
                        TriggeredTask(
                            t["RunId"],
                            t["Operation"],
                            t["Name"],
                            t["TaskDefinitionId"],
                            tuple(t["Actions"]),
                            t["Request"],
                            datetime.fromisoformat(t["TriggeredAt"]),
                            date.fromisoformat(t["Clock"]),
                        )
                    )
        finally:
            self.journal.paused = False


# -- helpers -----------------------------------------------------------------------------------
def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "$type" not in body:
        raise ApiError(400, _BODY_TYPE)
    return body


def _scalar(value: Any) -> str | None:
    """A wrapped or plain scalar parameter as text (``None`` for objects and blanks)."""
    value = w.unwrap(value)
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _field(doc: Mapping[str, Any], *names: str) -> str | None:
    """The first of ``names`` present in ``doc`` (case-insensitive), as text."""
    lowered = {str(k).lower(): v for k, v in doc.items()}
    for name in names:
        found = _scalar(lowered.get(name.lower()))
        if found is not None:
            return found
    return None


def _split_registration_id(registration_id: str) -> tuple[str, str]:
    event_id, sep, party_id = registration_id.rpartition("-")
    if not sep or not event_id or not party_id:
        raise ApiError(
            400,
            f"BadRequest: ValidationError - '{registration_id}' is not an EventRegistration id "
            '("{EventId}-{PartyId}")',
        )
    return event_id, party_id


def _function_codes(value: Any) -> list[str]:
    """Function codes from a ``Functions`` collection, a list of codes or one code.

    Items may be codes, ``{"EventFunctionCode": ..}``, ``{"EventFunction": {..}}`` (as GET shows
    them) or ids ``"{EventId}/{Code}"``.
    """
    items = w.unwrap(value)
    if items is None:
        return []
    if not isinstance(items, list):
        items = [items]
    codes = []
    for item in items:
        if isinstance(item, dict):
            inner = item.get("EventFunction")
            source = inner if isinstance(inner, dict) else item
            code = _field(source, "EventFunctionCode", "FunctionCode", "Code") or _field(
                source, "EventFunctionId", "FunctionId"
            )
        else:
            code = _scalar(item)
        if code:
            codes.append(code.rsplit("/", 1)[-1])
    return codes


def _registration_objects(doc: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The request body and any object parameters (EventRegistrationData-shaped, an
    EventRegistrationRequest, ...), then the scalar parameters in order."""
    params = doc.get("Parameters")
    raw = params.get("$values") if isinstance(params, dict) else params
    objects: list[Mapping[str, Any]] = [doc]
    scalars: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and "$value" not in item:
            objects.append(item)
        else:
            text = _scalar(item)
            if text is not None:
                scalars.append(text)
    return objects, scalars


def _registration_request(doc: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """(EventId, PartyId, function codes) of a RegisterEvent request.

    Accepted: an ``EventRegistrationRequest`` (``EventId``, ``RegistrantId``, ``FunctionId``,
    ``RegistrationOptionFunctionId`` = ``"{EventId}/{Code}"``), a GenericExecuteRequest whose
    parameter is such an object or an ``EventRegistrationData`` (``EventId``, ``PartyId``,
    ``Functions``), or scalar parameters ``EventId, PartyId[, code...]`` or ``"{EventId}-{PartyId}"``.
    """
    objects, scalars = _registration_objects(doc)
    event_id = party_id = None
    functions: list[str] = []
    for obj in objects:
        event_id = event_id or _field(obj, "EventId")
        party_id = party_id or _field(obj, "RegistrantId", "PartyId")
        ident = _field(obj, "EventRegistrationId")
        if ident and (event_id is None or party_id is None):
            split_event, split_party = _split_registration_id(ident)
            event_id, party_id = event_id or split_event, party_id or split_party
        functions += _function_codes(_field(obj, "RegistrationOptionFunctionId"))
        functions += _function_codes(_field(obj, "FunctionId"))
        functions += _function_codes(obj.get("Functions"))
    if scalars and event_id is None:
        if len(scalars) == 1:
            event_id, party_id = _split_registration_id(scalars[0])
        else:
            event_id, party_id = scalars[0], party_id or scalars[1]
            functions += scalars[2:]
    if not event_id or not party_id:
        raise ApiError(
            400,
            "BadRequest: ValidationError - RegisterEvent needs an EventId and a RegistrantId "
            "(the contact's PartyId)",
        )
    return event_id, party_id, list(dict.fromkeys(functions))


def _registration_id(doc: Mapping[str, Any]) -> str:
    """The ``"{EventId}-{PartyId}"`` a CancelEventRegistration names: the first scalar parameter
    (S9; a trailing OrderLineData is ignored), ``EventId, PartyId`` scalars, or an object with
    ``EventRegistrationId`` or ``EventId`` and ``PartyId``."""
    objects, scalars = _registration_objects(doc)
    if len(scalars) >= 2:
        return f"{scalars[0]}-{scalars[1]}"
    if scalars:
        return scalars[0]
    for obj in objects:
        ident = _field(obj, "EventRegistrationId")
        if ident:
            return ident
        event_id, party_id = _field(obj, "EventId"), _field(obj, "PartyId", "RegistrantId")
        if event_id and party_id:
            return f"{event_id}-{party_id}"
    raise ApiError(
        400,
        "BadRequest: ValidationError - CancelEventRegistration needs the EventRegistration id "
        '("{EventId}-{PartyId}") as its first parameter',
    )


def _money_amount(value: Any) -> Any:
    if isinstance(value, dict) and "Amount" in value:
        return w.unwrap(value["Amount"])
    return w.unwrap(value)


def _typed_values(spec: EntitySpec, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Visible properties from a typed contract body (Party bodies: nested parts too)."""
    given: dict[str, Any] = {}
    for name, value in doc.items():
        if name.startswith("$") or (isinstance(value, dict) and "$values" in value):
            continue
        given[name] = _money_amount(value)
    if spec.table == "Party":
        person = doc.get("PersonName")
        if isinstance(person, dict):
            for name in ("FirstName", "LastName"):
                if name in person:
                    given[name] = person[name]
        org = doc.get("PrimaryOrganization")
        if isinstance(org, dict) and "Name" in org:
            given["OrganizationName"] = org["Name"]
        emails = w.unwrap(doc.get("Emails")) or []
        if emails and isinstance(emails[0], dict):
            given["Email"] = emails[0].get("Address")
        given.update(_contact_given(doc))
        status = doc.get("Status")
        if isinstance(status, dict):
            given["Status"] = status.get("PartyStatusId")
        extras = doc.get("AdditionalAttributes")
        if isinstance(extras, dict):
            for name, value in w.read_properties({"Properties": extras}).items():
                given[name] = None if value == w.NO_DATE else value
        for name in (
            "PersonName",
            "PrimaryOrganization",
            "Emails",
            "UpdateInformation",
            "AdditionalAttributes",
            "Id",
            "UniformId",
        ):
            if isinstance(given.get(name), dict):
                given.pop(name)
        given.pop("Id", None)
        given.pop("UniformId", None)
    return {k: v for k, v in given.items() if not isinstance(v, dict | list)}


def _contact_given(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Party columns from a posted party's first address and phone."""
    given: dict[str, Any] = {}
    addresses = w.unwrap(doc.get("Addresses")) or []
    full = addresses[0] if addresses and isinstance(addresses[0], dict) else {}
    address = full.get("Address") if isinstance(full.get("Address"), dict) else {}
    if address:
        lines = w.unwrap(address.get("AddressLines")) or []
        given["AddressLine"] = lines[0] if lines and isinstance(lines[0], str) else None
        for column, name in (
            ("City", "CityName"),
            ("StateCode", "CountrySubEntityCode"),
            ("StateName", "CountrySubEntityName"),
            ("PostalCode", "PostalCode"),
            ("CountryCode", "CountryCode"),
        ):
            given[column] = address.get(name)
    phones = w.unwrap(doc.get("Phones")) or []
    if phones and isinstance(phones[0], dict):
        given["Phone"] = phones[0].get("Number")
    return given


def _prompt_filter(spec: EntitySpec, prompt: Prompt, value: str) -> flt.Filter:
    op = prompt.operator.lower()
    head, sep, rest = value.partition(":")
    if (
        sep and head.lower() in flt.OPERATORS
    ):  # "eq:REG" (or another operator) overrides the prompt's
        op, value = head.lower(), rest
    return flt.Filter(spec.fields[prompt.property], flt.OPERATORS[op], value)


def _plain_rows(frame: pd.DataFrame, kinds: Mapping[str, str]) -> list[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    values = [column_values(kinds[c], frame[c], True) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _encode_query_page(
    page: pd.DataFrame, kinds: Mapping[str, str], offset: int, legacy: bool
) -> tuple[int, bytes]:
    """(row count, comma-joined item JSON) of one page of query rows, in one dumps call."""
    rows = _plain_rows(page, kinds)
    docs: list[dict[str, Any]]
    if legacy:
        docs = [_iqa_row(offset + i + 1, row) for i, row in enumerate(rows)]
    else:
        docs = [
            {"$type": w.EXPANDO, **{k: w.plain(v) for k, v in row.items() if v is not None}}
            for row in rows
        ]
    return len(docs), w.dumps(docs)[1:-1]


def _iqa_row(number: int, row: Mapping[str, Any]) -> dict[str, Any]:
    props: list[tuple[str, Any]] = [("ResultRow", str(number))]
    props.extend(row.items())
    doc = w.generic_entity(str(number), [str(number)], props, parent_type=None)
    return doc


def _render_bo_definition(
    spec: EntitySpec, row: Mapping[str, Any], ctx: RenderContext
) -> dict[str, Any]:
    props = json.loads(row.get("Properties") or "{}")
    fields = {k: row.get(k) for k in spec.fields}
    fields["Properties"] = {
        "$type": w.data_type("PropertyDefinitionDataCollection"),
        "$values": [
            w.typed(w.data_type("PropertyDefinitionData"), {"Name": n, "PropertyTypeName": t})
            for n, t in props.items()
        ],
    }
    return w.typed(w.data_type("BOEntityDefinitionData"), fields)
