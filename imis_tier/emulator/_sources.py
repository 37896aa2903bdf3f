"""Panel / custom business-object sources: definitions, identities and their entity views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imis_tier.emulator import _wire as w
from imis_tier.emulator._entities import EntitySpec, generic_renderer

# iMIS property types accepted in a source definition -> column kinds.
PROPERTY_TYPES: dict[str, str] = {
    "string": "str",
    "int32": "int",
    "int64": "int",
    "integer": "int",
    "decimal": "decimal",
    "double": "float",
    "boolean": "bool",
    "datetime": "datetime",
    "date": "datetime",
}
_KIND_TYPES = {
    "str": "String",
    "int": "Int32",
    "decimal": "Decimal",
    "float": "Double",
    "bool": "Boolean",
    "datetime": "DateTime",
    "id": "String",
    "cents": "Decimal",
}


@dataclass(frozen=True)
class SourceDefinition:
    """A custom business object (panel source) as configured in iMIS.

    ``properties`` maps property names to iMIS types (``String``, ``Int32``, ``Decimal``,
    ``Double``, ``Boolean``, ``DateTime``). Single-instance sources hold one row per contact
    (identity ``[ID]``); multi-instance sources many (``[ID, Ordinal]``); standalone sources have
    no contact parent (``[Ordinal]``). ``read_only`` sources answer writes with 403.
    """

    name: str
    properties: Mapping[str, str] = field(default_factory=dict)
    multi_instance: bool = False
    standalone: bool = False
    read_only: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"source name {self.name!r} must be letters, digits and underscores")
        for prop, type_name in self.properties.items():
            if str(type_name).lower() not in PROPERTY_TYPES:
                raise ValueError(
                    f"source {self.name}: property {prop!r} has unknown type {type_name!r} "
                    f"(use one of {', '.join(sorted({t.title() for t in PROPERTY_TYPES}))})"
                )
            if prop.lower() in ("id", "ordinal", "updatedon"):
                raise ValueError(f"source {self.name}: property {prop!r} is implicit and reserved")

    @property
    def identity(self) -> tuple[str, ...]:
        if self.standalone:
            return ("Ordinal",)
        return ("ID", "Ordinal") if self.multi_instance else ("ID",)

    @property
    def kinds(self) -> dict[str, str]:
        """Column kinds, identity first, then properties, then UpdatedOn."""
        kinds: dict[str, str] = {}
        if not self.standalone:
            kinds["ID"] = "str"
        if self.multi_instance or self.standalone:
            kinds["Ordinal"] = "int"
        for prop, type_name in self.properties.items():
            kinds[prop] = PROPERTY_TYPES[str(type_name).lower()]
        kinds["UpdatedOn"] = "datetime"
        return kinds

    def spec(self) -> EntitySpec:
        fields = {name: name for name in self.kinds}
        parent = None if self.standalone else "Party"
        return EntitySpec(
            name=self.name,
            table=self.name,
            fields=fields,
            key=self.identity[-1] if self.standalone else "ID",
            item_type=w.GENERIC_ENTITY,
            render=generic_renderer(
                self.name, self.identity, parent, None if self.standalone else "ID"
            ),
            writes=frozenset() if self.read_only else frozenset({"POST", "PUT", "DELETE"}),
            generic=True,
            description=self.description or f"Custom source {self.name}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "properties": dict(self.properties),
            "multi_instance": self.multi_instance,
            "standalone": self.standalone,
            "read_only": self.read_only,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceDefinition:
        return cls(
            name=str(data["name"]),
            properties=dict(data.get("properties") or {}),
            multi_instance=bool(data.get("multi_instance", False)),
            standalone=bool(data.get("standalone", False)),
            read_only=bool(data.get("read_only", False)),
            description=str(data.get("description", "")),
        )


def property_type_name(kind: str) -> str:
    """The iMIS type name a column kind is described with in metadata."""
    return _KIND_TYPES.get(kind, "String")


DEFAULT_SOURCES: tuple[SourceDefinition, ...] = (
    SourceDefinition(
        "Member_Tier_Score",
        {
            "Engagement": "Decimal",
            "PRenew": "Decimal",
            "PUpgrade": "Decimal",
            "PDowngrade": "Decimal",
            "PLapse": "Decimal",
            "Driver1": "String",
            "Driver2": "String",
            "Driver3": "String",
            "RecommendedTier": "String",
            "ModelRef": "String",
            "AsOf": "DateTime",
        },
        description="Tier scores written back by imis-tier (one row per contact)",
    ),
    SourceDefinition(
        "Tier_Review",
        {
            "Reason": "String",
            "Status": "String",
            "CurrentTier": "String",
            "RecommendedTier": "String",
            "Propensity": "Decimal",
            "Notes": "String",
            "ChangeSetId": "String",
            "CreatedOn": "DateTime",
        },
        multi_instance=True,
        description="Staff review items for tier recommendations (many per contact)",
    ),
    SourceDefinition(
        "Tier_Benefit",
        {
            "TierCode": "String",
            "Benefit": "String",
            "EffectiveFrom": "DateTime",
            "EffectiveTo": "DateTime",
        },
        standalone=True,
        description="Which membership tier carries which benefit, with effective dates",
    ),
    SourceDefinition(
        "Tier_BenefitCatalog",
        {
            "Benefit": "String",
            "Name": "String",
            "ActivityTypes": "String",
            "CostToServe": "Decimal",
        },
        standalone=True,
        description="Benefit catalogue: activity types counting as use, yearly cost to serve",
    ),
    SourceDefinition(
        "Name_Demo_ReadOnly",
        {"Note": "String"},
        read_only=True,
        description="A read-only panel source (writes answer 403)",
    ),
)
