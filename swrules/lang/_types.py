"""Static types for the checker: what a name, a field or a call gives, read from the fact and item schemas."""

from __future__ import annotations

import enum
import types
import typing
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import attrs

from swrules.facts import FACT_TYPES, Band, CertLevel, CommunityKind, OrgKind, Role
from swrules.items import ITEM_TYPES, ObligationKind, Severity
from swrules.period import Period, TimeFrame

__all__ = ["ENUMS", "SCHEMAS", "ListOf", "field_type", "fields_of", "type_name"]

#: Every fact and item type by the name rules use (``person``, ``held`` …).
SCHEMAS: dict[str, type] = {**FACT_TYPES, **ITEM_TYPES}

#: The enumerations a parameter type may name, by their user words.
ENUMS: dict[str, type[enum.Enum]] = {
    "role": Role,
    "certificate level": CertLevel,
    "band": Band,
    "community kind": CommunityKind,
    "organization kind": OrgKind,
    "obligation kind": ObligationKind,
    "severity": Severity,
}


@attrs.frozen
class ListOf:
    """A collection whose elements have type ``of`` (None: unknown)."""

    of: Any


def type_name(t: Any) -> str:
    if t is None:
        return "a value"
    if isinstance(t, ListOf):
        return f"a list of {type_name(t.of)}"
    if isinstance(t, type) and t in SCHEMAS.values():
        return getattr(t, "TYPE", t.__name__)
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return f"{t.__name__} ({', '.join(str(m.value) for m in t)})"
    return getattr(t, "__name__", str(t))


def _resolve(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _resolve(options[0]) if len(options) == 1 else None
    if origin in (tuple, list, frozenset, set):
        args = typing.get_args(hint)
        return ListOf(_resolve(args[0]) if args else None)
    if hint in (str, int, bool, Decimal, date, Period, TimeFrame) or (
        isinstance(hint, type) and (issubclass(hint, enum.Enum) or hint in SCHEMAS.values())
    ):
        return hint
    return None


@cache
def fields_of(cls: Any) -> dict[str, Any]:
    """The fields and read-only properties of a schema class, with their static types."""
    out: dict[str, Any] = {}
    if not isinstance(cls, type):
        return out
    hints = typing.get_type_hints(cls)
    if attrs.has(cls):
        for f in attrs.fields(cls):
            out[f.name] = _resolve(hints.get(f.name))
    for klass in reversed(cls.__mro__):
        if klass in (object, enum.Enum):
            continue
        for name, prop in vars(klass).items():
            if isinstance(prop, property) and not name.startswith("_") and prop.fget is not None:
                ret = typing.get_type_hints(prop.fget).get("return")
                out[name] = _resolve(ret)
    if cls is Period:
        out.update(year=int, month=int, start=date, end=date)
    if issubclass(cls, enum.Enum):
        out["value"] = str
    return out


def field_type(cls: Any, name: str) -> tuple[bool, Any]:
    """Whether ``cls`` has field ``name`` (True when unknowable), and its type."""
    if not isinstance(cls, type):
        return True, None
    if cls in SCHEMAS.values() or cls in (Period, TimeFrame) or issubclass(cls, enum.Enum) or attrs.has(cls):
        known = fields_of(cls)
        return name in known, known.get(name)
    if cls is date:
        return name in ("year", "month", "day"), int
    return True, None
