"""Where a change set writes: an iMIS source (business object, panel source, Activity) or a task.

A :class:`Target` says how rows of a source are told apart. The *natural key* is what the project
means by "the same row" (``ID`` for a one-row-per-member panel, ``(ID, Reason)`` for review items);
the *identity* is how iMIS addresses a row (``ID``; ``(ID, Ordinal)`` for a multi-instance panel
source; ``SEQN`` for an Activity). Creates are matched back to iMIS rows through the natural key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TargetKind = Literal["entity", "task"]


@dataclass(frozen=True)
class Target:
    """A named iMIS source and how its rows are keyed.

    ``parent`` is the property holding the owning party's id (sent as the primary parent on
    create); ``scope`` restricts the current state a change set compares with (for example only
    open review items: ``{"Status": "Pending review"}``); ``owned`` lists the properties the
    project manages: others (a reviewer's notes, say) are never compared or overwritten.
    """

    name: str
    key: tuple[str, ...] = ("ID",)
    identity: tuple[str, ...] = ("ID",)
    parent: str | None = "ID"
    scope: Mapping[str, str] = field(default_factory=dict)
    owned: tuple[str, ...] | None = None
    kind: TargetKind = "entity"

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a write-back target needs a source or task name")
        if self.kind == "entity" and (not self.key or not self.identity):
            raise ValueError(f"target {self.name!r}: key and identity must name at least one field")
        object.__setattr__(self, "key", tuple(self.key))
        object.__setattr__(self, "identity", tuple(self.identity))
        object.__setattr__(self, "scope", dict(self.scope))
        if self.owned is not None:
            object.__setattr__(self, "owned", tuple(self.owned))

    @classmethod
    def panel(cls, name: str, *, key: tuple[str, ...] = ("ID",), **options: Any) -> Target:
        """A single-instance panel source or custom business object: one row per member (``ID``)."""
        return cls(name, key=key, identity=("ID",), parent="ID", **options)

    @classmethod
    def multi_instance(cls, name: str, *, key: tuple[str, ...], **options: Any) -> Target:
        """A multi-instance panel source: rows addressed as ``(ID, Ordinal)``."""
        return cls(name, key=key, identity=("ID", "Ordinal"), parent="ID", **options)

    @classmethod
    def activity(cls, *, key: tuple[str, ...], **options: Any) -> Target:
        """iMIS Activity rows (``SEQN`` identity, ``PartyId`` parent)."""
        return cls("Activity", key=key, identity=("SEQN",), parent="PartyId", **options)

    @classmethod
    def task(cls, name: str) -> Target:
        """A persisted iMIS task (Process Automation) run through ``TaskDefinition/_execute``."""
        return cls(name, key=("Task", "Trigger"), identity=("Task",), parent=None, kind="task")

    @property
    def is_multi_instance(self) -> bool:
        """Whether iMIS assigns part of the identity itself (an ordinal or sequence number)."""
        return any(f not in self.key for f in self.identity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "key": list(self.key),
            "identity": list(self.identity),
            "parent": self.parent,
            "scope": dict(sorted(self.scope.items())),
            "owned": None if self.owned is None else list(self.owned),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        owned = data.get("owned")
        return cls(
            name=str(data["name"]),
            kind=data.get("kind", "entity"),
            key=tuple(data["key"]),
            identity=tuple(data["identity"]),
            parent=data.get("parent"),
            scope=dict(data.get("scope") or {}),
            owned=None if owned is None else tuple(owned),
        )
