"""Party pages parsed from the response bytes straight into typed wire structs.

A page of 500 parties is ~1.3 MB of JSON. Parsing it into dicts first (about a hundred Python
objects per party) and then walking them costs more than the rest of an extraction together, so
party pages are decoded by msgspec into the structs below, which describe iMIS's ``PartyData``
contract exactly, and :func:`build_party` fills each model straight from a struct's attributes
(the shapes it does not cover are turned back into JSON values by :func:`to_wire` and take the
general route).

The structs forbid fields they do not declare: a page with anything else in it (a newer iMIS, a
customised contract, a value of an unexpected type) is parsed the general way instead
(:func:`imis_tier.client._decode.party`), which keeps unknown fields. Both ways give equal
models; the tests hold them to that.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any, Literal, NamedTuple

import msgspec
from msgspec import UNSET, Struct, UnsetType, field

from imis_tier.client._codec import _MISS, _SCALARS, WireCodec, loads
from imis_tier.client.models import Organization, Party, Person, _field_map, _plan

_Text = str | None | UnsetType
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
_PersonNameType = Literal["Asi.Soa.Membership.DataContracts.PersonNameData, Asi.Contracts"]
_PrimaryOrganizationType = Literal[
    "Asi.Soa.Membership.DataContracts.PrimaryOrganizationInformationData, Asi.Contracts"
]
_EmailType = Literal["Asi.Soa.Membership.DataContracts.EmailData, Asi.Contracts"]
_EmailsType = Literal["Asi.Soa.Membership.DataContracts.EmailDataCollection, Asi.Contracts"]
_StatusType = Literal["Asi.Soa.Membership.DataContracts.PartyStatusData, Asi.Contracts"]
_UpdateType = Literal["Asi.Soa.Core.DataContracts.EntityUpdateInformationData, Asi.Contracts"]


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


# The composite parts the models map; each is also kept, as received, among the extras.
class _PersonName(Struct, rename="pascal", **_STRICT):
    type: _PersonNameType | UnsetType = field(default=UNSET, name="$type")
    first_name: _Text = UNSET
    last_name: _Text = UNSET
    middle_name: _Text = UNSET
    full_name: _Text = UNSET
    informal_name: _Text = UNSET
    name_prefix: _Text = UNSET
    name_suffix: _Text = UNSET
    designation: _Text = UNSET


class _PrimaryOrganization(Struct, rename="pascal", **_STRICT):
    type: _PrimaryOrganizationType | UnsetType = field(default=UNSET, name="$type")
    name: _Text = UNSET
    organization_party_id: _Text = UNSET
    title: _Text = UNSET


class _Email(Struct, rename="pascal", **_STRICT):
    type: _EmailType | UnsetType = field(default=UNSET, name="$type")
    address: _Text = UNSET
    email_type: _Text = UNSET
    is_primary: bool | UnsetType | None = UNSET


class _Emails(Struct, rename={"type": "$type", "values": "$values"}, **_STRICT):
    values: list[_Email]
    type: _EmailsType | UnsetType = UNSET


class _Status(Struct, rename="pascal", **_STRICT):
    type: _StatusType | UnsetType = field(default=UNSET, name="$type")
    party_status_id: _Text = UNSET
    name: _Text = UNSET
    description: _Text = UNSET


class _UpdateInformation(Struct, rename="pascal", **_STRICT):
    type: _UpdateType | UnsetType = field(default=UNSET, name="$type")
    created_by: _Text = UNSET
    created_on: _Text = UNSET
    updated_by: _Text = UNSET
    updated_on: _Text = UNSET


# Other documented PartyData members: not mapped by the models, decoded the general way.
_OTHER_MEMBERS = (
    "Addresses",
    "AlternateIds",
    "Phones",
    "Salutations",
    "SocialNetworks",
    "Websites",
    "CommunicationTypePreferences",
    "FinancialInformation",
    "Images",
    "BirthDate",
    "Gender",
    "Designation",
    "Note",
    "SortIsOverridden",
    "Sort",
)


class _Party(Struct, rename="pascal", **_STRICT):
    type: _PartyType | UnsetType = field(default=UNSET, name="$type")
    party_id: _Text = UNSET
    id: _Text = UNSET
    uniform_id: _Text = UNSET
    name: _Text = UNSET
    organization_name: _Text = UNSET
    person_name: _PersonName | UnsetType = UNSET
    primary_organization: _PrimaryOrganization | UnsetType = UNSET
    emails: _Emails | UnsetType = UNSET
    status: _Status | UnsetType = UNSET
    update_information: _UpdateInformation | UnsetType = UNSET
    additional_attributes: _Properties | UnsetType = UNSET
    addresses: Any = UNSET
    alternate_ids: Any = UNSET
    phones: Any = UNSET
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


_PAGE = msgspec.json.Decoder(_Page)
_TEXT_MEMBERS = ("PartyId", "Id", "UniformId", "Name", "OrganizationName")
assert _Party.__struct_encode_fields__[1:6] == _TEXT_MEMBERS
assert _Party.__struct_encode_fields__[12:] == _OTHER_MEMBERS
_to_builtins = msgspec.to_builtins
_astuple = msgspec.structs.astuple


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
    wire: dict[str, Any] = _to_builtins(row)
    return wire


def _attribute_values(codec: WireCodec, props: list[_Property]) -> list[Any]:
    """The decoded ``Value`` of each property: dates aware, wrapped scalars unwrapped, fractions
    ``Decimal`` (as :meth:`WireCodec.merge_properties` reads them)."""
    dates = codec._dates
    scalars = _SCALARS
    decoded: list[Any] = []
    append = decoded.append
    for raw in map(_value_of, props):
        kind = type(raw)
        if kind is str:
            if len(raw) >= 19 and raw[10] == "T":
                hit = dates.get(raw, _MISS)
                raw = codec.text(raw) if hit is _MISS else hit
        elif kind is _Typed:
            convert = scalars.get(raw.type)
            raw = (
                convert(raw.value)
                if convert is not None
                else codec.decode_typed(raw.type, raw.value)
            )
        elif kind is float:
            raw = Decimal(repr(raw))
        append(raw)
    return decoded


# ------------------------------------------------------------------ models
# The fast route below gives exactly what the general route gives for ``to_wire(row)``, without
# the intermediate dict of wire values: the model's state is filled straight from the struct. It
# covers the shape iMIS sends (a Person or Organization, no extra members, attributes that do not
# collide with the mapped members); anything else returns None and takes the general route.

_FIXED_KEYS = frozenset(
    {
        *_TEXT_MEMBERS,
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
_N_OTHERS = len(_OTHER_MEMBERS)
_name = attrgetter("name")
_value_of = attrgetter("value")
_set = object.__setattr__


class _Routes(NamedTuple):
    """Where a party's additional attributes go, by position: the extras (under their names)
    or model fields (with the field's converter, applied unless the value has its type)."""

    extra_at: Any  # positions -> tuple of values (an itemgetter)
    extra_keys: tuple[str, ...]
    fields: tuple[tuple[int, str, Any, Any], ...]  # (position, field, converter, exact type)


@functools.lru_cache(maxsize=256)
def _attribute_routes(cls: type[Party], names: tuple[str, ...]) -> _Routes | None:
    if len(set(names)) != len(names):
        return None  # a repeated attribute: the general route decides which value wins
    fields = _field_map(cls)
    extra_at: list[int] = []
    targets: list[tuple[int, str, Any, Any]] = []
    for position, name in enumerate(names):
        if name in _FIXED_KEYS:
            return None
        target = fields.get(name)
        if target is None:
            extra_at.append(position)
            continue
        field_name, converter, exact = target
        if field_name in _FIXED_FIELDS or any(t[1] == field_name for t in targets):
            return None
        targets.append((position, field_name, converter, exact))
    return _Routes(_positions(tuple(extra_at)), tuple(names[i] for i in extra_at), tuple(targets))


def _positions(positions: tuple[int, ...]) -> Any:
    if len(positions) == 1:
        only = positions[0]
        return lambda values: (values[only],)
    return itemgetter(*positions) if positions else (lambda values: ())


_PERSON_FIELDS = (
    "party_id",
    "id",
    "uniform_id",
    "name",
    "email",
    "status",
    "customer_type_code",
    "customer_type_description",
    "is_member",
    "join_date",
    "paid_thru_date",
    "renewed_thru_date",
    "chapter",
    "updated_on",
    "first_name",
    "last_name",
    "organization_name",
)
_ORGANIZATION_FIELDS = (*_PERSON_FIELDS[:14], "organization_name")


def _check_field_order() -> None:
    # The states below are written out in the models' field order with their defaults (None):
    # a field added to a model must be added here too.
    for cls, names in ((Person, _PERSON_FIELDS), (Organization, _ORGANIZATION_FIELDS)):
        plan = _plan(cls)
        if plan is None or tuple(plan[0]) != names or plan[1] != ("party_id",):
            raise AssertionError(f"{cls.__name__}'s fields changed: update _party_wire")
        if any(default is not None for default in plan[0].values()):
            raise AssertionError(f"{cls.__name__} has a field whose default is not None")


_check_field_order()


def build_party(codec: WireCodec, row: _Party) -> Party | None:
    """The model for ``row``, or None when it needs the general route.

    Covers the shape iMIS sends: a person (with its name part) or an organization (with its
    name), an id, status, update stamps and attributes, and no members beyond those mapped.
    """
    members = _astuple(row)
    if members[12:].count(UNSET) != _N_OTHERS:
        return None
    kind, party_id, id_, uniform_id, name, org_name = members[:6]
    person, organization, emails, status, update, attributes = members[6:12]
    if (
        type(party_id) is not str
        or UNSET in (kind, id_, uniform_id, name, status, update, attributes)
        or any(t and len(t) >= 19 and t[10] == "T" for t in (party_id, id_, uniform_id, name))
    ):
        return None
    if "PersonData" in kind:
        if person is UNSET or org_name is not UNSET:
            return None
        cls: type[Party] = Person
    elif "OrganizationData" in kind:
        if (
            person is not UNSET
            or type(org_name) is not str
            or (len(org_name) >= 19 and org_name[10] == "T")
        ):
            return None
        cls = Organization
    else:
        return None
    props = attributes.values
    routes = _attribute_routes(cls, tuple(map(_name, props)))
    if routes is None:
        return None

    found = None if emails is UNSET else emails.values
    first = None if not found else next((e for e in found if e.is_primary), found[0])
    updated = update.updated_on
    state_of = status.party_status_id
    state: dict[str, Any] = {
        "party_id": party_id,
        "id": id_,
        "uniform_id": uniform_id,
        "name": name,
        "email": None if first is None or first.address is UNSET else first.address,
        "status": None if state_of is UNSET else state_of,
        "customer_type_code": None,
        "customer_type_description": None,
        "is_member": None,
        "join_date": None,
        "paid_thru_date": None,
        "renewed_thru_date": None,
        "chapter": None,
        "updated_on": None if updated is UNSET or updated is None else codec.parse_date(updated),
    }
    fields_set = {"party_id", "id", "uniform_id", "name", "status", "updated_on"}
    if first is not None:
        fields_set.add("email")
    if cls is Person:
        first_name, last_name = person.first_name, person.last_name
        state["first_name"] = None if first_name is UNSET else first_name
        state["last_name"] = None if last_name is UNSET else last_name
        fields_set.add("first_name")
        fields_set.add("last_name")
        if organization is UNSET:
            state["organization_name"] = None
        else:
            state["organization_name"] = None if organization.name is UNSET else organization.name
            fields_set.add("organization_name")
        extra: dict[str, Any] = {"PersonName": _to_builtins(person)}
    else:
        state["organization_name"] = org_name
        fields_set.add("organization_name")
        extra = {}
    if organization is not UNSET:
        extra["PrimaryOrganization"] = _to_builtins(organization)
    if emails is not UNSET:
        extra["Emails"] = _to_builtins(emails)
    extra["StatusDetail"] = _to_builtins(status)
    extra["UpdateInformation"] = _to_builtins(update)

    decoded = _attribute_values(codec, props)
    if routes.extra_keys:
        extra.update(zip(routes.extra_keys, routes.extra_at(decoded), strict=True))
    for position, field_name, converter, exact in routes.fields:
        raw = decoded[position]
        if converter is not None and raw is not None and type(raw) is not exact:
            raw = converter(raw)
        state[field_name] = raw
        fields_set.add(field_name)
    model = cls.__new__(cls)
    _set(model, "__dict__", state)
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_extra__", extra)
    _set(model, "__pydantic_private__", None)
    return model
