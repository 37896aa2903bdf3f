"""Party pages parsed from the response bytes into typed wire structs, and built a page at a time.

A page of 500 parties is ~1.3 MB of JSON. Parsing it into dicts first (about a hundred Python
objects per party) and then walking each party in Python costs more than the rest of an extraction
together, so party pages are decoded by msgspec into the structs below, which describe iMIS's
``PartyData`` contract, and :func:`build_page` fills the models a column at a time: the parties of
a page nearly all share one shape (the same members, the same additional attributes in the same
order), so each value of a model is taken for the whole page by one C-level ``map`` instead of by
Python code run once per party.

The composite parts (``PersonName``, ``PrimaryOrganization``, ``Emails``, ``Status``,
``UpdateInformation``, ``Addresses``, ``Phones``) are not parsed with the page: each is kept as
its JSON text (``msgspec.Raw``, copied out of the page) and decoded as received when the party's
extras are first read (see ``Party.__pydantic_extra__``). The few values the models map from
them (a name, the primary email, the status, the update stamp) are read a column at a time: the
texts of one part across the page are joined into one JSON array and parsed by msgspec into small
views that declare only those values.

The structs forbid top-level members they do not declare: a page with anything else in it (a
newer iMIS, a customised contract, a value of an unexpected type) is parsed the general way
instead (:func:`imis_tier.client._decode.party`), which keeps unknown fields. Rows of a shape the
page builder does not cover take the general route one by one. Both ways give equal models; the
tests hold them to that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import chain, repeat
from operator import attrgetter, itemgetter, setitem
from typing import Any, Literal, NamedTuple, get_args

import msgspec
from msgspec import UNSET, Struct, UnsetType, field

from imis_tier.client._codec import _MISS, _SCALARS, WireCodec, loads
from imis_tier.client._codec import _consume as consume
from imis_tier.client.models import (
    _EXTRA_SLOT,
    _PARTS,
    Organization,
    Party,
    Person,
    _decode_json,
    _field_map,
    _plan,
    _Target,
)

_Text = str | None | UnsetType
_Part = msgspec.Raw | UnsetType
_STRICT: dict[str, Any] = {"forbid_unknown_fields": True, "gc": False, "omit_defaults": True}

# ``$type`` annotations are decoded as literals: msgspec then hands back one shared string instead
# of allocating each of the ~20 per party, and a type it does not list sends the page down the
# general route (which reads any type).
_Scalar = Literal[
    "System.Int32",
    "System.Int64",
    "System.Int16",
    "System.Byte",
    "System.Boolean",
    "System.Decimal",
    "System.Double",
    "System.Single",
    "System.String",
    "System.DateTime",
    "System.Byte[], mscorlib",
]
_PropertyType = Literal["Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts"]
_PropertiesType = Literal["Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts"]
_PartyType = Literal[
    "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts",
    "Asi.Soa.Membership.DataContracts.OrganizationData, Asi.Contracts",
]
_PERSON, _ORGANIZATION = get_args(_PartyType)


class _Typed(Struct, rename={"type": "$type", "value": "$value"}, **_STRICT):
    """A wrapped scalar: ``{"$type": "System.Int32", "$value": 3}``."""

    type: _Scalar
    value: Any


class _Property(Struct, rename={"type": "$type", "name": "Name", "value": "Value"}, **_STRICT):
    name: str
    type: _PropertyType | UnsetType = UNSET
    value: str | int | float | bool | _Typed | None = None


class _Properties(Struct, rename={"type": "$type", "values": "$values"}, **_STRICT):
    values: list[_Property]
    type: _PropertiesType | UnsetType = UNSET


class _Party(Struct, rename="pascal", **_STRICT):
    type: _PartyType | UnsetType = field(default=UNSET, name="$type")
    party_id: _Text = UNSET
    id: _Text = UNSET
    uniform_id: _Text = UNSET
    name: _Text = UNSET
    organization_name: _Text = UNSET
    # The composite parts: kept as JSON text, decoded when the extras are first read.
    person_name: _Part = UNSET
    primary_organization: _Part = UNSET
    emails: _Part = UNSET
    status: _Part = UNSET
    update_information: _Part = UNSET
    additional_attributes: _Properties | UnsetType = UNSET
    addresses: _Part = UNSET
    phones: _Part = UNSET
    # Other documented PartyData members: not mapped by the models, kept decoded among the extras.
    alternate_ids: Any = UNSET
    salutations: Any = UNSET
    social_networks: Any = UNSET
    websites: Any = UNSET
    communication_type_preferences: Any = UNSET
    financial_information: Any = UNSET
    images: Any = UNSET
    birth_date: Any = UNSET
    gender: Any = UNSET
    designation: Any = UNSET
    note: Any = UNSET
    sort_is_overridden: Any = UNSET
    sort: Any = UNSET


class _Items(Struct, rename={"type": "$type", "values": "$values"}, forbid_unknown_fields=True):
    values: list[_Party]
    type: _Text = UNSET


class _Page(Struct, rename="pascal"):
    items: _Items
    offset: int | None = None
    limit: int | None = None
    count: int | None = None
    total_count: int | None = None
    has_next: bool | None = None
    next_offset: int | None = None


# Views of the parts the models map, holding only what they read (any other member is skipped).
class _View(Struct, rename="pascal", gc=False):
    pass


class _NameView(_View):
    first_name: Any = None
    last_name: Any = None


class _OrganizationView(_View):
    name: Any = None


class _EmailView(_View):
    address: Any = None
    is_primary: Any = None


class _EmailsView(_View, rename={"values": "$values"}):
    values: list[_EmailView] | None = None


class _StatusView(_View):
    party_status_id: Any = None


class _UpdateView(_View):
    updated_on: Any = None


_PAGE = msgspec.json.Decoder(_Page)
_MEMBERS = _Party.__struct_encode_fields__
# Positions of the members in a row's tuple (msgspec.structs.astuple).
_KIND, _PARTY_ID, _ID, _UNIFORM_ID, _NAME, _ORGANIZATION_NAME = range(6)
_PERSON_NAME, _PRIMARY_ORGANIZATION, _EMAILS, _STATUS, _UPDATE, _ATTRIBUTES = range(6, 12)
_ADDRESSES, _PHONES = 12, 13
# The parts kept as JSON text until read, by position, with the extras key each is kept under.
_KEPT = {_MEMBERS.index(member): key for member, key in _PARTS.items()}
_OTHERS = range(_PHONES + 1, len(_MEMBERS))
# The parts read through views, and where each one's column of views is added to the columns.
_VIEWED: dict[int, msgspec.json.Decoder[list[Any]]] = {
    _PERSON_NAME: msgspec.json.Decoder(list[_NameView]),
    _PRIMARY_ORGANIZATION: msgspec.json.Decoder(list[_OrganizationView]),
    _EMAILS: msgspec.json.Decoder(list[_EmailsView]),
    _STATUS: msgspec.json.Decoder(list[_StatusView]),
    _UPDATE: msgspec.json.Decoder(list[_UpdateView]),
}
_VIEW_OF = {part: len(_MEMBERS) + k for k, part in enumerate(_VIEWED)}
assert _MEMBERS[_PARTY_ID : _ORGANIZATION_NAME + 1] == (
    "PartyId",
    "Id",
    "UniformId",
    "Name",
    "OrganizationName",
)
assert _MEMBERS[_PERSON_NAME : _ATTRIBUTES + 1] == (
    "PersonName",
    "PrimaryOrganization",
    "Emails",
    "Status",
    "UpdateInformation",
    "AdditionalAttributes",
)
assert _MEMBERS[_ADDRESSES : _PHONES + 1] == ("Addresses", "Phones")
_astuple = msgspec.structs.astuple
_to_builtins = msgspec.to_builtins


def parse_page(body: bytes) -> Any:
    """A ``PagedResult`` of parties: the envelope as a dict whose ``Items`` are :class:`_Party`
    structs, or, when the structs do not describe the page exactly, the JSON parsed as it is.
    (The client calls it with the garbage collector paused, like every body it parses.)"""
    try:
        page = _PAGE.decode(body)
    except msgspec.MsgspecError:
        return loads(body)  # unknown members, other types, or not JSON (raises as usual)
    return {
        "Items": page.items.values,
        "Offset": page.offset,
        "Limit": page.limit,
        "Count": page.count,
        "TotalCount": page.total_count,
        "HasNext": page.has_next,
        "NextOffset": page.next_offset,
    }


def is_wire(row: Any) -> bool:
    """Whether ``row`` came from :func:`parse_page`'s typed route."""
    return type(row) is _Party


def to_wire(row: _Party) -> dict[str, Any]:
    """``row`` as the JSON object it was parsed from (for the general route)."""
    wire: dict[str, Any] = _to_builtins(row, enc_hook=_decode_raw)
    return wire


def _decode_raw(value: Any) -> Any:
    if type(value) is msgspec.Raw:
        return _decode_json(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


# ------------------------------------------------------------------ shapes
# A row's shape is what decides how its model is built: its kind, the type of each member, the
# names of its additional attributes and how many emails it has. The rows of one shape are built
# together by the plan worked out (once, and cached) for that shape.

_NAME_OF = attrgetter("name")
_FIRST_NAME, _LAST_NAME = attrgetter("first_name"), attrgetter("last_name")
_STATUS_ID, _UPDATED_ON = attrgetter("party_status_id"), attrgetter("updated_on")
_ADDRESS = attrgetter("address")
_Raw = msgspec.Raw
_VALUE_OF = attrgetter("value")
_VALUES_OF = attrgetter("values")
_TYPE_OF = attrgetter("type")
_NO_ATTRIBUTES = _Properties(values=[])
_NONE = type(None)
# Every string the general route would read as a date starts like this (see WireCodec.text).
_DATE_START = re.compile(r"(?:\A|\x00)\d{4}-\d\d-\d\dT")


def _page_shape(columns: list[Sequence[Any]], n: int) -> tuple[Any, ...] | None:
    """The shape every one of the ``n`` rows has (as :func:`_shapes` gives it), or None when
    they differ: one pass per feature over the whole page instead of a tuple per row."""
    kinds = set(columns[_KIND])
    if len(kinds) != 1:
        return None
    shape: list[Any] = [*kinds]
    for i in range(1, len(_MEMBERS)):
        column = columns[i]
        if i >= _OTHERS.start and column.count(UNSET) == n:
            shape.append(UnsetType)
            continue
        types = set(map(type, column))
        if len(types) != 1:
            return None
        shape.extend(types)
    names: tuple[str, ...] = ()
    if shape[_ATTRIBUTES] is _Properties:
        lists = list(map(_VALUES_OF, columns[_ATTRIBUTES]))
        if len(set(map(len, lists))) != 1:
            return None
        first = list(map(_NAME_OF, lists[0]))
        # Every name of the page in one list, compared with the first row's names repeated.
        if list(map(_NAME_OF, chain.from_iterable(lists))) != first * n:
            return None
        names = tuple(first)
    count = -1
    if shape[_EMAILS] is _Raw:
        counts = set(map(len, map(_email_list, columns[_VIEW_OF[_EMAILS]])))
        if len(counts) != 1:
            return None
        count = counts.pop()
    return (*shape, names, count)


def _shapes(columns: list[Sequence[Any]], n: int) -> list[tuple[Any, ...]]:
    """The shape of each of the ``n`` rows whose members are ``columns``."""
    attributes = columns[_ATTRIBUTES]
    if UnsetType in set(map(type, attributes)):
        attributes = tuple(_NO_ATTRIBUTES if a is UNSET else a for a in attributes)
    names = map(tuple, map(map, repeat(_NAME_OF), map(_VALUES_OF, attributes)))
    counts = (-1 if e is None else len(_email_list(e)) for e in columns[_VIEW_OF[_EMAILS]])
    features: list[Any] = [columns[_KIND]]
    features.extend(map(type, columns[i]) for i in range(1, _OTHERS.start))
    for i in _OTHERS:  # usually absent from every row
        column = columns[i]
        features.append(repeat(UnsetType, n) if column.count(UNSET) == n else map(type, column))
    features.append(names)
    features.append(counts)
    return list(zip(*features, strict=False))


def _email_list(view: _EmailsView) -> list[_EmailView]:
    return view.values or []


class _Plan(NamedTuple):
    """How to build the models of one shape."""

    cls: type[Party]
    fields: tuple[str, ...]  # every model field, in declaration order
    fields_set: frozenset[str]
    texts: tuple[int, ...]  # string members the general route would read as dates if shaped so
    attribute_fields: tuple[tuple[int, _Target], ...]  # (position, (field, converter, type))
    attribute_extras: tuple[tuple[int, str], ...]  # (position, extra key)
    kept: tuple[int, ...]  # the parts present (kept as JSON text until read)
    others: tuple[int, ...]  # other documented members present (kept decoded)
    has_organization: bool
    emails: int  # how many emails each row has (-1: no Emails member)


# Keys the general route fills from the parts and members mapped here: an attribute named like
# one of them would overwrite or shadow it, so such shapes take the general route.
_FIXED_KEYS = frozenset(
    {
        "PartyId",
        "Id",
        "UniformId",
        "Name",
        "OrganizationName",
        "PersonName",
        "FirstName",
        "LastName",
        "PrimaryOrganization",
        "Emails",
        "Email",
        "Status",
        "StatusDetail",
        "UpdateInformation",
        "UpdatedOn",
    }
)
_FIXED_FIELDS = frozenset(
    {
        "party_id",
        "id",
        "uniform_id",
        "name",
        "organization_name",
        "first_name",
        "last_name",
        "email",
        "status",
        "updated_on",
    }
)


@functools.lru_cache(maxsize=512)
def _plan_for(shape: tuple[Any, ...]) -> _Plan | None:
    """The plan for rows of ``shape``, or None when they need the general route."""
    kind, names, emails = shape[0], shape[-2], shape[-1]
    types = shape[: len(_MEMBERS)]
    if kind == _PERSON:
        cls: type[Party] = Person
        if types[_PERSON_NAME] is not _Raw or types[_ORGANIZATION_NAME] is not UnsetType:
            return None
    elif kind == _ORGANIZATION:
        cls = Organization
        if types[_PERSON_NAME] is not UnsetType or types[_ORGANIZATION_NAME] is not str:
            return None
    else:
        return None
    if any(types[i] is not str for i in (_PARTY_ID, _ID, _UNIFORM_ID, _NAME)):
        return None
    if any(types[i] is not _Raw for i in (_STATUS, _UPDATE)):
        return None
    if types[_ATTRIBUTES] not in (_Properties, UnsetType):
        return None
    fields = _field_map(cls)
    kept = tuple(i for i in _KEPT if types[i] is not UnsetType)
    others = tuple(i for i in _OTHERS if types[i] is not UnsetType)
    if any(_MEMBERS[i] in fields for i in others):
        return None
    routed = _attribute_routes(cls, names)
    if routed is None:
        return None
    attribute_fields, attribute_extras = routed

    has_organization = types[_PRIMARY_ORGANIZATION] is _Raw
    fields_set = {"party_id", "id", "uniform_id", "name", "status", "updated_on"}
    if cls is Person:
        fields_set.update(("first_name", "last_name"))
    if cls is Organization or has_organization:
        fields_set.add("organization_name")
    if emails > 0:
        fields_set.add("email")
    fields_set.update(target[0] for _, target in attribute_fields)
    template = _plan(cls)
    assert template is not None and template[1] == ("party_id",)
    assert all(default is None for default in template[0].values())
    texts = (_PARTY_ID, _ID, _UNIFORM_ID, _NAME) + (
        (_ORGANIZATION_NAME,) if cls is Organization else ()
    )
    return _Plan(
        cls,
        tuple(template[0]),
        frozenset(fields_set),
        texts,
        attribute_fields,
        attribute_extras,
        kept,
        others,
        has_organization,
        emails,
    )


def _attribute_routes(
    cls: type[Party], names: tuple[str, ...]
) -> tuple[tuple[tuple[int, _Target], ...], tuple[tuple[int, str], ...]] | None:
    """Where each additional attribute goes, by position: a model field (with the field's
    converter and the type that needs none) or the extras (under its name)."""
    if len(set(names)) != len(names):
        return None  # a repeated attribute: the general route decides which value wins
    fields = _field_map(cls)
    to_fields: list[tuple[int, _Target]] = []
    to_extras: list[tuple[int, str]] = []
    for position, name in enumerate(names):
        if name in _FIXED_KEYS:
            return None
        target = fields.get(name)
        if target is None:
            to_extras.append((position, name))
            continue
        if target[0] in _FIXED_FIELDS or any(t[0] == target[0] for _, t in to_fields):
            return None
        to_fields.append((position, target))
    return tuple(to_fields), tuple(to_extras)


# ------------------------------------------------------------------ pages
def build_page(codec: WireCodec, rows: Sequence[_Party]) -> tuple[list[Party | None], list[int]]:
    """The models of a page of wire rows, and the positions of the rows left as None because
    their shape needs the general route."""
    n = len(rows)
    built: list[Party | None] = [None] * n
    if not n:
        return built, []
    groups: dict[tuple[Any, ...], list[int] | None]
    try:
        columns = _columns(rows)
    except ValueError:  # msgspec's errors: a part of another shape (null, a list of strings...)
        return built, list(range(n))
    shape = _page_shape(columns, n)
    shapes = [] if shape is not None else _shapes(columns, n)
    if shape is not None:
        groups = {shape: None}  # the whole page
    else:
        groups = {}
        for position, shape in enumerate(shapes):
            found = groups.get(shape)
            if found is None:
                groups[shape] = [position]
            else:
                found.append(position)
    left: list[int] = []
    for shape, positions in groups.items():
        plan = _plan_for(shape)
        models = None
        if plan is not None:
            take = _taker(positions)
            try:
                models = _build(plan, codec, [take(column) for column in columns])
            except (TypeError, KeyError, AttributeError, IndexError, ValueError):
                models = None  # the general route reads it (and raises what is really wrong)
        if models is None:
            left.extend(range(n) if positions is None else positions)
        elif positions is None:
            built[:] = models
        else:
            consume(map(built.__setitem__, positions, models))
    left.sort()
    return built, left


def _columns(rows: Sequence[_Party]) -> list[Sequence[Any]]:
    """The rows' members a column each, then the views of the parts read through views
    (:data:`_VIEW_OF`); a ``ValueError`` when a part does not fit its view."""
    columns: list[Sequence[Any]] = list(zip(*map(_astuple, rows), strict=True))
    columns.extend(_views(columns[part], decoder) for part, decoder in _VIEWED.items())
    return columns


def _views(parts: Sequence[Any], decoder: msgspec.json.Decoder[list[Any]]) -> list[Any]:
    """The view of each part in a column (None where the party lacks it), parsed in one call."""
    if not parts.count(UNSET):
        return decoder.decode(b"".join((b"[", b",".join(parts), b"]")))
    found = iter(decoder.decode(b"".join((b"[", b",".join(filter(_is_set, parts)), b"]"))))
    return [None if part is UNSET else next(found) for part in parts]


def _is_set(value: Any) -> bool:
    return value is not UNSET


def _taker(positions: list[int] | None) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if positions is None:
        return lambda column: column
    if len(positions) == 1:
        only = positions[0]
        return lambda column: (column[only],)
    return itemgetter(*positions)


def _build(plan: _Plan, codec: WireCodec, columns: list[Sequence[Any]]) -> list[Party] | None:
    """The models of rows of one shape, from their member columns; None when a value needs the
    general route."""
    n = len(columns[_KIND])
    for i in plan.texts:
        joined = "\x00".join(columns[i])
        if ":" in joined and _DATE_START.search(joined):
            return None  # a date-shaped id or name: the general route converts it
    fields = _field_map(plan.cls)
    person = columns[_VIEW_OF[_PERSON_NAME]]
    status, update = columns[_VIEW_OF[_STATUS]], columns[_VIEW_OF[_UPDATE]]
    values: dict[str, Sequence[Any]] = {
        "party_id": columns[_PARTY_ID],
        "id": columns[_ID],
        "uniform_id": columns[_UNIFORM_ID],
        "name": columns[_NAME],
        "status": _coerced(list(map(_STATUS_ID, status)), fields["Status"]),
        "updated_on": _stamps(codec, list(map(_UPDATED_ON, update))),
    }
    if plan.cls is Person:
        values["first_name"] = _coerced(list(map(_FIRST_NAME, person)), fields["FirstName"])
        values["last_name"] = _coerced(list(map(_LAST_NAME, person)), fields["LastName"])
        if plan.has_organization:
            values["organization_name"] = _coerced(
                list(map(_NAME_OF, columns[_VIEW_OF[_PRIMARY_ORGANIZATION]])),
                fields["OrganizationName"],
            )
    else:
        values["organization_name"] = columns[_ORGANIZATION_NAME]
    if plan.emails > 0:
        lists = list(map(_VALUES_OF, columns[_VIEW_OF[_EMAILS]]))
        first = map(itemgetter(0), lists) if plan.emails == 1 else map(_primary, lists)
        values["email"] = _coerced(list(map(_ADDRESS, first)), fields["Email"])

    extras: dict[str, Sequence[Any]] = {}
    for i in plan.kept:  # copied: a Raw would otherwise keep the whole page's body alive
        extras[_KEPT[i]] = list(map(_copy_raw, columns[i]))
    for i in plan.others:
        extras[_MEMBERS[i]] = list(map(codec.decode, columns[i]))
    if plan.attribute_fields or plan.attribute_extras:
        properties = list(map(_VALUES_OF, columns[_ATTRIBUTES]))
        width = len(properties[0])  # the same in every row of a shape
        flat = list(map(_VALUE_OF, chain.from_iterable(properties)))
        raw = [flat[position::width] for position in range(width)]
        for position, target in plan.attribute_fields:
            values[target[0]] = _coerced(_attribute_column(codec, raw[position]), target)
        for position, key in plan.attribute_extras:
            extras[key] = _attribute_column(codec, raw[position])

    states = _dicts(plan.fields, values, n)
    extra = _dicts(tuple(extras), extras, n)
    cls = plan.cls
    models: list[Party] = list(map(cls.__new__, repeat(cls, n)))
    consume(map(_set, models, repeat("__dict__"), states))
    consume(
        map(_set, models, repeat("__pydantic_fields_set__"), map(set, repeat(plan.fields_set, n)))
    )
    consume(map(_EXTRA_SLOT.__set__, models, extra))
    consume(map(_set, models, repeat("__pydantic_private__"), repeat(None, n)))
    return models


_set = object.__setattr__
_copy_raw = msgspec.Raw.copy


def _dicts(
    keys: tuple[str, ...], columns: dict[str, Sequence[Any]], n: int
) -> list[dict[str, Any]]:
    """One dict per row with ``keys`` in that order: each key's value from its column in
    ``columns``, None for the keys without one. (Copying one dict and setting its values a
    column at a time is a quarter cheaper than building each dict from its pairs.)"""
    rows = list(map(dict.copy, repeat(dict.fromkeys(keys), n)))
    for key, column in columns.items():
        consume(map(setitem, rows, repeat(key), column))
    return rows


def _primary(emails: list[_EmailView]) -> _EmailView:
    """The email the general route reads: the first marked primary, else the first."""
    for email in emails:
        if email.is_primary:
            return email
    return emails[0]


def _coerced(column: Sequence[Any], target: _Target) -> Sequence[Any]:
    """``column`` with the converter of ``target`` (a field of :func:`_field_map`) applied to the
    values not already of the field's type."""
    _, converter, exact = target
    if converter is None:
        return column
    kinds = set(map(type, column))
    kinds.discard(_NONE)
    if kinds <= {exact}:
        return column
    return [v if v is None or type(v) is exact else converter(v) for v in column]


def _stamps(codec: WireCodec, column: list[Any]) -> list[Any]:
    """Stamps as aware datetimes: a date string parsed (usually a cache hit), anything else kept."""
    found = list(map(codec._dates.get, column, repeat(_MISS)))
    if _MISS in found:
        parse = codec.parse_date
        found = [
            (parse(raw) if type(raw) is str else raw) if hit is _MISS else hit
            for raw, hit in zip(column, found, strict=True)
        ]
    return found


def _attribute_column(codec: WireCodec, column: Sequence[Any]) -> Sequence[Any]:
    """The decoded ``Value`` of one attribute in every row, as WireCodec.merge_properties reads
    it: dates aware, wrapped scalars unwrapped, fractions ``Decimal``."""
    decoded = codec.scalar_column(column)
    if decoded is not None:
        return decoded
    if set(map(type, column)) == {_Typed}:
        type_names = set(map(_TYPE_OF, column))
        convert = _SCALARS.get(type_names.pop()) if len(type_names) == 1 else None
        if convert is not None:
            return list(map(convert, map(_VALUE_OF, column)))
    return [_attribute_value(codec, raw) for raw in column]


def _attribute_value(codec: WireCodec, raw: Any) -> Any:
    kind = type(raw)
    if kind is str:
        return codec.text(raw)
    if kind is _Typed:
        convert = _SCALARS.get(raw.type)
        return (
            convert(raw.value) if convert is not None else codec.decode_typed(raw.type, raw.value)
        )
    if kind is float:
        return Decimal(repr(raw))
    return raw
