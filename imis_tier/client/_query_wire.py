"""``/api/query`` pages parsed into row structs learned from the query's own answers.

The rows of an IQA query share one set of columns (its display aliases), each holding one kind of
value, but the columns differ from query to query and cannot be declared ahead. So a query's first
page is parsed the general way (into dicts, decoded by :meth:`WireCodec.decode_flat_rows`) and
its columns are learned from it: the kinds of value each holds, and whether any of its strings is
long enough to be a date. Its later pages are parsed by msgspec into a struct with one field per
column, which costs about two thirds of parsing into dicts (no key is allocated per row, and
``$type`` is matched against a literal instead of copied), and turned into dicts by one C call.
Only the columns that may hold dates or fractions are then looked at, a column at a time.

The struct forbids members it does not declare, each field takes only the kinds of value learned,
and strings in columns learned short are capped below a date's length. A page that does not fit
(a new column, a longer value, a fraction where there were whole numbers, another ``$type``)
fails to parse and takes the general route, which reads anything, and the columns learned are
widened by what that page held. Both routes give equal rows; the tests hold them to that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, setitem
from typing import Annotated, Any, ClassVar, Literal, Union

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from imis_tier.client._codec import WireCodec, loads
from imis_tier.client._codec import _consume as consume

_ROW_TYPE = "System.Dynamic.ExpandoObject, System.Core"
_DATE_LENGTH = 19  # "YYYY-MM-DDTHH:MM:SS": no shorter string reads as an iMIS date
_SHORT_TEXT = Annotated[str, Meta(max_length=_DATE_LENGTH - 1)]
_NONE = type(None)
_KINDS = frozenset({str, int, bool, float, _NONE})  # what a learned column may hold
_FIELD_NAME = re.compile(r'[^\\"\x00-\x1f]*\Z')  # what msgspec takes as a member name


@dataclass(frozen=True)
class _Column:
    key: str
    kinds: frozenset[type]
    long_text: bool  # holds a string long enough to be a date

    @property
    def field_type(self) -> Any:
        kinds: list[Any] = []
        if str in self.kinds:
            kinds.append(str if self.long_text else _SHORT_TEXT)
        if bool in self.kinds:
            kinds.append(bool)
        if int in self.kinds or float in self.kinds:
            kinds.append(int)  # a whole number stays an int, as the general route reads it
        if float in self.kinds:
            kinds.append(float)
        return Union[(*kinds, None, UnsetType)]

    @property
    def decoded(self) -> bool:
        """Whether its values need decoding after parsing (dates, fractions)."""
        return self.long_text or float in self.kinds

    def widened(self, kinds: frozenset[type], long_text: bool) -> _Column:
        return _Column(self.key, self.kinds | kinds, self.long_text or long_text)


class QueryRow(Struct):
    """Base of the row structs learned for each query."""

    columns: ClassVar[tuple[tuple[Callable[[Any], Any], str, bool], ...]]
    """``(getter, key, has fractions)`` of each column whose values need decoding."""


class QueryPages:
    """The parser of one query's pages (``RequestSpec.parse``): learns its columns as it goes.

    Safe to share between threads: a page parsed with columns learned a moment ago is still
    read correctly, by one route or the other.
    """

    def __init__(self) -> None:
        self._columns: tuple[_Column, ...] = ()
        self._decoder: msgspec.json.Decoder[Any] | None = None
        self._learning = True  # false once the rows hold what no struct describes

    def __call__(self, body: bytes) -> Any:
        decoder = self._decoder
        if decoder is not None:
            try:
                page = decoder.decode(body)
            except msgspec.MsgspecError:
                pass  # the page does not fit: read it the general way, and learn from it
            else:
                return {
                    "Items": page.Items.values,
                    "Offset": page.Offset,
                    "Limit": page.Limit,
                    "Count": page.Count,
                    "TotalCount": page.TotalCount,
                    "HasNext": page.HasNext,
                    "NextOffset": page.NextOffset,
                }
        envelope = loads(body)
        if self._learning:
            self._learn(envelope)
        return envelope

    def _learn(self, envelope: Any) -> None:
        rows = envelope.get("Items") if isinstance(envelope, dict) else None
        rows = rows.get("$values") if isinstance(rows, dict) else None
        if not isinstance(rows, list) or not rows:
            return
        learned = _learn_columns(rows, self._columns)
        if learned is None:
            self._learning, self._decoder = False, None
        elif learned != self._columns:
            self._columns, self._decoder = learned, _page_decoder(learned)


def _learn_columns(rows: Iterable[Any], known: tuple[_Column, ...]) -> tuple[_Column, ...] | None:
    """The columns of ``rows`` joined to those ``known``; None when a row is not a flat object
    of scalars (wrapped values, nested objects), not an ExpandoObject, or has a member name
    msgspec cannot match (quotes, backslashes, control characters)."""
    kinds: dict[str, set[type]] = {column.key: set() for column in known}
    long_text: set[str] = set()
    for row in rows:
        if type(row) is not dict or row.get("$type", _ROW_TYPE) != _ROW_TYPE:
            return None
        for key, value in row.items():
            kinds.setdefault(key, set()).add(type(value))
            if type(value) is str and len(value) >= _DATE_LENGTH:
                long_text.add(key)
    kinds.pop("$type", None)
    if not all(seen <= _KINDS for seen in kinds.values()) or not all(map(_FIELD_NAME.match, kinds)):
        return None
    columns = {column.key: column for column in known}
    return tuple(
        columns[key].widened(frozenset(seen), key in long_text)
        if key in columns
        else _Column(key, frozenset(seen), key in long_text)
        for key, seen in kinds.items()
    )


def _page_decoder(columns: tuple[_Column, ...]) -> msgspec.json.Decoder[Any]:
    names = [f"c{i}" for i in range(len(columns))]
    row: Any = msgspec.defstruct(
        "QueryRowLearned",
        [("row_type", Literal[_ROW_TYPE], _ROW_TYPE)]
        + [(name, column.field_type, UNSET) for name, column in zip(names, columns, strict=True)],
        bases=(QueryRow,),
        rename={"row_type": "$type"} | {n: c.key for n, c in zip(names, columns, strict=True)},
        forbid_unknown_fields=True,
        omit_defaults=True,  # to_builtins then leaves out $type, as the general route does
        gc=False,
    )
    row.columns = tuple(
        (attrgetter(name), column.key, float in column.kinds)
        for name, column in zip(names, columns, strict=True)
        if column.decoded
    )
    items = msgspec.defstruct(
        "QueryItems", [("values", list[row])], rename={"values": "$values"}, gc=False
    )
    envelope = msgspec.defstruct(
        "QueryPage",
        [("Items", items)]
        + [
            (name, int | None, None)
            for name in ("Offset", "Limit", "Count", "TotalCount", "NextOffset")
        ]
        + [("HasNext", bool | None, None)],
        gc=False,
    )
    return msgspec.json.Decoder(envelope)


def is_wire(row: Any) -> bool:
    """Whether ``row`` came from the struct route of :class:`QueryPages`."""
    return isinstance(row, QueryRow)


def build_rows(codec: WireCodec, rows: list[Any]) -> list[dict[str, Any]]:
    """Rows of one struct-parsed page as dicts, equal to what the general route gives."""
    if not rows:
        return []
    out: list[dict[str, Any]] = msgspec.to_builtins(rows)  # leaves out unset members
    for getter, key, fractions in type(rows[0]).columns:
        column = list(map(getter, rows))
        values = None if fractions else codec.scalar_column(column)  # None if a row lacks it
        if values is None and column.count(UNSET):  # set it only where present
            for row, value in zip(out, column, strict=True):
                if value is not UNSET:
                    row[key] = codec.flat_value(value)
            continue
        if values is None:  # fractions, or kinds mixed
            values = list(map(codec.flat_value, column))
        if values is not column:
            consume(map(setitem, out, repeat(key), values))
    return out
