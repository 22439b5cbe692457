"""Patterns compiled for matching in plain Python: field readers, test predicates and join keys.

A test in a rule definition compares a field as :func:`field_value` presents
it (enums by value, dates as ISO strings). Calling that generic function for
every field of every candidate is most of what a naive matcher spends, so here
each (type, field) gets a reader specialised to the field's declared type, and
each test becomes a closure over its reader and operand, built once per
compiled program. The semantics are exactly :func:`~swrules.engine._run.passes`
— a property test holds the two evaluators equal.
"""

from __future__ import annotations

import enum
import operator
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, TypeAlias

import attrs

from swrules.facts import FACT_TYPES
from swrules.ir import Lit, Match, Op, Ref, Test
from swrules.items import ITEM_TYPES

__all__ = [
    "OPEN_END",
    "OPEN_START",
    "Check",
    "CompiledPattern",
    "Reader",
    "compile_pattern",
    "compile_tests",
    "field_value",
    "reader",
]

Reader: TypeAlias = Callable[[Any], Any]
#: A test on a candidate, given the facts bound so far by alias.
Check: TypeAlias = Callable[[Any, Mapping[str, Any]], bool]

_PLAIN: Final = (str, int, bool, Decimal, type(None), tuple)
_READERS: dict[tuple[str, str], Reader] = {}


def _classes() -> dict[str, type]:
    found: dict[str, type] = dict(FACT_TYPES)
    found.update(ITEM_TYPES)
    return found


_CLASSES: Final = _classes()


def _enum_value(name: str) -> Reader:
    get = operator.attrgetter(name)

    def read(obj: Any) -> Any:
        value = get(obj)
        return value.value if value is not None else None

    return read


def _iso(name: str) -> Reader:
    get = operator.attrgetter(name)

    def read(obj: Any) -> Any:
        value = get(obj)
        return value.isoformat() if value is not None else None

    return read


#: How patterns see an open end of a window: before or after every date (ISO strings compare as dates).
OPEN_START: Final = "0000-01-01"
OPEN_END: Final = "9999-12-31"


def _window(name: str, open_value: str) -> Reader:
    get = operator.attrgetter(name)

    def read(obj: Any) -> Any:
        value = get(obj)
        return value.isoformat() if value is not None else open_value

    return read


_OPEN: Final = {"valid_from": OPEN_START, "valid_until": OPEN_END}


def field_value(obj: Any, field: str) -> Any:
    """A field as patterns compare it: enums by value, dates as ISO strings, an open window end as a far date."""
    value = getattr(obj, field)
    if value is None and field in _OPEN:
        return _OPEN[field]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _generic(name: str) -> Reader:
    def read(obj: Any) -> Any:
        return field_value(obj, name)

    return read


def reader(type_: str, field: str) -> Reader:
    """A function reading ``field`` of a ``type_`` object as patterns compare it (see ``field_value``)."""
    key = (type_, field)
    found = _READERS.get(key)
    if found is None:
        found = _READERS[key] = _make_reader(type_, field)
    return found


def _make_reader(type_: str, field: str) -> Reader:
    if field == "valid_from":
        return _window(field, OPEN_START)
    if field == "valid_until":
        return _window(field, OPEN_END)
    cls = _CLASSES.get(type_)
    if cls is None or not attrs.has(cls):
        return _generic(field)
    attrs.resolve_types(cls)
    declared = attrs.fields_dict(cls).get(field)
    if declared is None or declared.type is None:
        return _generic(field)
    kinds = _members(declared.type)
    if kinds and all(k in _PLAIN or typing.get_origin(k) is tuple for k in kinds):
        return operator.attrgetter(field)
    if len([k for k in kinds if k is not type(None)]) == 1:
        (only,) = (k for k in kinds if k is not type(None))
        if isinstance(only, type) and issubclass(only, enum.Enum):
            return _enum_value(field)
        if only is date:
            return _iso(field)
    return _generic(field)


def _members(declared: Any) -> tuple[Any, ...]:
    if isinstance(declared, types.UnionType) or typing.get_origin(declared) is typing.Union:
        return typing.get_args(declared)
    return (declared,)


def _lit_check(get: Reader, op: Op, value: Any) -> Check:
    if op is Op.EQ:
        return lambda obj, bound: bool(get(obj) == value)
    if op is Op.NE:
        return lambda obj, bound: bool(get(obj) != value)
    if op is Op.IN:
        if value is None:
            return lambda obj, bound: False
        return lambda obj, bound: get(obj) in value
    if value is None:
        return lambda obj, bound: False
    compare = _ORDER[op]

    def ordered(obj: Any, bound: Mapping[str, Any]) -> bool:
        left = get(obj)
        return left is not None and bool(compare(left, value))

    return ordered


def _ref_check(get: Reader, op: Op, alias: str, other: Reader) -> Check:
    if op is Op.EQ:
        return lambda obj, bound: bool(get(obj) == other(bound[alias]))
    if op is Op.NE:
        return lambda obj, bound: bool(get(obj) != other(bound[alias]))
    if op is Op.IN:

        def within(obj: Any, bound: Mapping[str, Any]) -> bool:
            right = other(bound[alias])
            return get(obj) in right if right is not None else False

        return within
    compare = _ORDER[op]

    def ordered(obj: Any, bound: Mapping[str, Any]) -> bool:
        left, right = get(obj), other(bound[alias])
        return left is not None and right is not None and bool(compare(left, right))

    return ordered


_ORDER: Final[dict[Op, Callable[[Any, Any], Any]]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def compile_check(type_: str, test: Test, alias_types: Mapping[str, str]) -> Check:
    """``test`` on objects of ``type_`` as a closure; joins read the types of earlier aliases."""
    operand = test.operand
    if isinstance(operand, Lit):
        window = _window_check(test.field, test.op, operand.value)
        if window is not None:
            return window
        return _lit_check(reader(type_, test.field), test.op, operand.value)
    if isinstance(operand, Ref):
        get = reader(type_, test.field)
        return _ref_check(get, test.op, operand.alias, reader(alias_types[operand.alias], operand.field))
    raise AssertionError("parameters are resolved before matching")  # pragma: no cover


def _day(value: Any) -> date | None:
    """The date a literal names, when it is a date written as ISO (whose text orders as the date does)."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if day.isoformat() == value else None


def _window_check(field: str, op: Op, value: Any) -> Check | None:
    """A window end compared with a day, without writing the end as text (the usual snapshot test).

    The text of a date orders as the date does, so a ``date`` is compared as one; an open end compares as its far
    date did, once, here; anything else (a datetime) is read as :func:`field_value` reads it.
    """
    open_value = _OPEN.get(field)
    day = _day(value)
    if open_value is None or day is None or op not in _ORDER:
        return None
    compare = _ORDER[op]
    when_open = bool(compare(open_value, value))
    get = operator.attrgetter(field)

    def within(obj: Any, bound: Mapping[str, Any]) -> bool:
        end = get(obj)
        if end is None:
            return when_open
        if end.__class__ is date:
            return bool(compare(end, day))
        return bool(compare(end.isoformat(), value))

    return within


def _in_force(day: date, text: str) -> Check:
    """``valid_from <= day <= valid_until`` in one closure (the two tests every snapshot pattern gets)."""

    def check(obj: Any, bound: Mapping[str, Any]) -> bool:
        start = obj.valid_from
        if start is not None:
            if start.__class__ is date:
                if start > day:
                    return False
            elif start.isoformat() > text:
                return False
        end = obj.valid_until
        if end is None:
            return True
        if end.__class__ is date:
            return bool(end >= day)
        return bool(end.isoformat() >= text)

    return check


def _is_window_end(test: Test, field: str, op: Op) -> date | None:
    if test.field == field and test.op is op and isinstance(test.operand, Lit):
        return _day(test.operand.value)
    return None


def compile_tests(type_: str, tests: Sequence[Test], alias_types: Mapping[str, str]) -> Check | None:
    """Every test of ``tests`` as one closure, true when all hold (None for no tests: everything passes).

    Tests run in their order and stop at the first that fails, as ``all`` would; a window's two ends compared
    with the same day become one test.
    """
    checks: list[Check] = []
    i = 0
    while i < len(tests):
        test = tests[i]
        if i + 1 < len(tests) and _has_field(type_, "valid_from") and _has_field(type_, "valid_until"):
            start = _is_window_end(test, "valid_from", Op.LE)
            end = _is_window_end(tests[i + 1], "valid_until", Op.GE)
            if start is not None and start == end:
                checks.append(_in_force(start, start.isoformat()))
                i += 2
                continue
        checks.append(compile_check(type_, test, alias_types))
        i += 1
    return _all_of(checks)


def _has_field(type_: str, field: str) -> bool:
    cls = _CLASSES.get(type_)
    return cls is not None and attrs.has(cls) and field in attrs.fields_dict(cls)


def _all_of(checks: Sequence[Check]) -> Check | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda obj, bound: first(obj, bound) and second(obj, bound)
    if len(checks) == 3:
        first, second, third = checks
        return lambda obj, bound: first(obj, bound) and second(obj, bound) and third(obj, bound)
    every = tuple(checks)

    def check(obj: Any, bound: Mapping[str, Any]) -> bool:
        for one in every:
            if not one(obj, bound):
                return False
        return True

    return check


@attrs.frozen
class CompiledPattern:
    """A pattern ready to match: where to look candidates up, and what to check on each.

    ``key`` is the field of the first equality test, looked up in an index of
    the type on that field; ``probe`` gives the value to look up (a literal, or
    a field of a fact bound earlier). Without an equality test every object of
    the type is a candidate. ``checks`` are all the pattern's tests, one closure
    each; ``every`` is all of them as one closure (None: no tests), ``rest`` all
    but the one the index answers (for candidates looked up by ``key``).
    """

    alias: str
    type: str
    key: str | None
    probe: Callable[[Mapping[str, Any]], Any] | None
    checks: tuple[Check, ...]
    every: Check | None = None
    rest: Check | None = None


def compile_pattern(pattern: Match, alias_types: Mapping[str, str]) -> CompiledPattern:
    key: str | None = None
    probe: Callable[[Mapping[str, Any]], Any] | None = None
    answered: int | None = None
    for i, t in enumerate(pattern.where):
        if t.op is not Op.EQ:
            continue
        operand = t.operand
        if isinstance(operand, Lit):
            value = operand.value
            key, probe, answered = t.field, (lambda bound, value=value: value), i
            break
        if isinstance(operand, Ref):
            other, alias = reader(alias_types[operand.alias], operand.field), operand.alias
            key, probe, answered = t.field, (lambda bound, other=other, alias=alias: other(bound[alias])), i
            break
    checks = tuple(compile_check(pattern.type, t, alias_types) for t in pattern.where)
    every = compile_tests(pattern.type, pattern.where, alias_types)
    rest = compile_tests(pattern.type, [t for i, t in enumerate(pattern.where) if i != answered], alias_types)
    return CompiledPattern(pattern.alias, pattern.type, key, probe, checks, every, rest)
