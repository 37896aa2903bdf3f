"""Values as iMIS holds them: one canonical form for comparing, hashing and sending.

iMIS answers Decimal properties as JSON numbers, dates as zone-less local-time strings, and omits
null properties. A desired row built in Python holds ``Decimal``, ``float``, ``date``, tz-aware
``datetime`` or pandas values instead. :func:`canonical` maps both sides onto one form so that a row
written and read back compares equal, which is what makes a second write-back run a no-op.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

_NO_DATE = "0001-01-01T00:00:00"
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


class NotFiniteError(ValueError):
    """A NaN or infinite number was about to be compared with or sent to iMIS."""


def _as_decimal(value: float | int | Decimal) -> Decimal:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotFiniteError(f"{value!r} is not a finite number")
        # repr() is the shortest string that round-trips: 0.1 stays 0.1, not 0.1000000000000000055.
        return Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        raise NotFiniteError(f"{value!r} is not a finite number")
    return Decimal(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def local_naive(value: datetime, tz: tzinfo) -> datetime:
    """A datetime as iMIS stores it: in the association's local zone, without a zone."""
    if value.tzinfo is not None:
        value = value.astimezone(tz).replace(tzinfo=None)
    return value


def _plain(value: Any) -> Any:
    """Strip wire wrappers and numpy / pandas scalar types down to plain Python values."""
    # Json.NET typed values ({"$type": "System.Decimal", "$value": 0.5}) if a raw row slips through.
    if isinstance(value, Mapping) and "$value" in value:
        value = value["$value"]
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def canonical(value: Any, tz: tzinfo = UTC) -> Any:
    """The comparable form of a property value.

    ``None`` for missing (``None``, ``""``, NaT, iMIS's ``0001-01-01`` "no date"); ``bool`` for
    booleans; ``("n", text)`` for numbers, so ``Decimal("0.50")``, ``0.5`` and ``"0.5"`` are one
    value when the other side is numeric; ``("t", iso)`` for dates and datetimes as zone-less local
    time; ``str`` otherwise. NaN and infinities raise :class:`NotFiniteError`.
    """
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return ("n", _decimal_text(_as_decimal(value)))
    if isinstance(value, datetime):
        return ("t", _iso(local_naive(value, tz)))
    if isinstance(value, date):
        return ("t", _iso(datetime.combine(value, time())))
    text = str(value)
    if text == "" or text.startswith(_NO_DATE):
        return None
    return text


def _reread_string(text: str, like: Any) -> Any:
    """Interpret a string from iMIS in the shape of the desired value (number / date / bool)."""
    if isinstance(like, tuple) and like[0] == "n":
        try:
            return ("n", _decimal_text(Decimal(text.strip())))
        except InvalidOperation:
            return text
    if isinstance(like, tuple) and like[0] == "t" and _ISO_DATETIME.match(text.strip()):
        return ("t", _iso(datetime.fromisoformat(text.strip().replace(" ", "T"))))
    if isinstance(like, bool) and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    return text


def same(desired: Any, current: Any, tz: tzinfo = UTC) -> bool:
    """Whether iMIS's ``current`` value already equals the ``desired`` one (after canonical form)."""
    want = canonical(desired, tz)
    have = canonical(current, tz)
    if isinstance(have, str) and not isinstance(want, str):
        have = _reread_string(have, want)
    elif isinstance(want, str) and isinstance(have, tuple):
        want = _reread_string(want, have)
    return bool(want == have)


def to_wire(value: Any, tz: tzinfo = UTC) -> Any:
    """The Python value handed to the client for sending: Decimal, int, bool, str, naive datetime.

    NaN and infinities raise :class:`NotFiniteError`; tz-aware datetimes become local time.
    """
    value = _plain(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, (float, Decimal)):
        return _as_decimal(value)
    if isinstance(value, datetime):
        return local_naive(value, tz)
    if isinstance(value, date):
        return datetime.combine(value, time())
    return str(value)


def to_json(value: Any, tz: tzinfo = UTC) -> Any:
    """A JSON-safe, deterministic, typed rendering (for diffs, hashes and the journal).

    Numbers become ``{"$decimal": "0.5"}`` and dates ``{"$datetime": "2025-01-31T00:00:00"}`` (local,
    zone-less) so :func:`from_json` restores the type; strings and booleans stay as they are.
    """
    form = canonical(value, tz)
    if isinstance(form, tuple):
        return {"$decimal": form[1]} if form[0] == "n" else {"$datetime": form[1]}
    return form


def from_json(value: Any) -> Any:
    """Inverse of :func:`to_json`: ``Decimal`` and naive local ``datetime`` come back."""
    if isinstance(value, Mapping) and "$decimal" in value:
        return Decimal(value["$decimal"])
    if isinstance(value, Mapping) and "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    return value


def display(value: Any) -> str:
    """A short human rendering for diffs."""
    if value is None:
        return "(empty)"
    if isinstance(value, Mapping) and "$decimal" in value:
        return str(value["$decimal"])
    if isinstance(value, Mapping) and "$datetime" in value:
        text = str(value["$datetime"])
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    return str(value)
