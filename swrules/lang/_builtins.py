"""The fixed table of generic built-in functions a rule may call: counting, numbers, dates, periods, versions.

Nothing here knows a policy: these are the words of the language, the same for every ruleset.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from operator import attrgetter, methodcaller
from typing import Any

from swrules.errors import RuleExpressionError
from swrules.facts import fact_key, in_force
from swrules.lang._types import ENUMS
from swrules.period import Period

__all__ = ["BUILTINS", "Builtin", "member", "plain", "text_of"]

_ONE_DAY = timedelta(days=1)
_ROUNDING = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "half_even": ROUND_HALF_EVEN}


def plain(value: Any) -> Any:
    """An enum as its value (how rules compare an enum field with text)."""
    return value.value if isinstance(value, enum.Enum) else value


def member(left: Callable[[Any], Any], right: Callable[[Any], Any]) -> Callable[[Any], bool]:
    """A test ``left in right``: an enum compares by its value, and a tuple (a parameter's list) is made a set
    once, kept (one per test) while the same tuple comes back."""
    last: list[tuple[Any, frozenset[Any]] | None] = [None]

    def test(s: Any) -> bool:
        value = left(s)
        if isinstance(value, enum.Enum):
            value = value._value_
        collection = right(s)
        if type(collection) is tuple:
            hit = last[0]
            if hit is None or hit[0] is not collection:
                try:
                    hit = (collection, frozenset(collection))
                except TypeError:
                    return value in collection
                last[0] = hit  # one assignment: a concurrent test sees the old pair or the new one
            return value in hit[1]
        return bool(value in collection)

    return test


def _min(*args: Any) -> Any:
    return min(args[0]) if len(args) == 1 else min(args)


def _max(*args: Any) -> Any:
    return max(args[0]) if len(args) == 1 else max(args)


def text_of(value: Any) -> str:
    """A value as text: a date as YYYY-MM-DD, a month as YYYY-MM, an enum as its value."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is Period or kind is int:
        return str(value)
    if kind is date:
        return value.isoformat()  # type: ignore[no-any-return]
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _date(*args: Any) -> date:
    if len(args) == 1:
        return date.fromisoformat(args[0])
    return date(*args)


def _round(value: Decimal, places: str, how: str = "half_up") -> Decimal:
    return Decimal(value).quantize(Decimal(places), rounding=_ROUNDING[how])


def _version_on(versions: Iterable[Any], day: date) -> Any:
    for v in versions:
        if in_force(v, day):
            return v
    return None


def _key(obj: Any) -> str:
    key = getattr(type(obj), "key", None)
    return str(obj.key) if isinstance(key, property) else fact_key(obj)


def _change_days(*collections: Iterable[Any]) -> frozenset[date]:
    """The days on which any version of the given collections starts or stops being in force."""
    days: set[date] = set()
    for objs in collections:
        for obj in objs:
            if obj.valid_from is not None:
                days.add(obj.valid_from)
            if obj.valid_until is not None:
                days.add(obj.valid_until + _ONE_DAY)
    return frozenset(days)


def _piecewise(
    first: date, last: date, changes: Iterable[date], rate: Callable[[date], Decimal]
) -> tuple[tuple[date, date, Decimal], ...]:
    """From ``first`` to ``last``, the stretches on which ``rate`` (worked out on the first day of each stretch
    between two change days) is not zero, neighbours of equal rate merged."""
    segments: list[tuple[date, date, Decimal]] = []
    if first > last:
        return ()
    starts = sorted({first, *(d for d in changes if first < d <= last)})
    for i, start in enumerate(starts):
        end = starts[i + 1] - _ONE_DAY if i + 1 < len(starts) else last
        value = rate(start)
        if not value:
            continue
        if segments and segments[-1][2] == value and segments[-1][1] + _ONE_DAY == start:
            segments[-1] = (segments[-1][0], end, value)
        else:
            segments.append((start, end, value))
    return tuple(segments)


def _month_rate(month: Period, segments: Sequence[tuple[date, date, Decimal]], how: str) -> tuple[Decimal, str]:
    """A month's amount from day-by-day rates, read as ``how`` says; and how it was judged.

    ``whole_month``: the lowest rate of any day (nothing unless every day earns); ``month_end`` / ``month_start``:
    the rate on the last / first day; ``prorated``: each day's rate averaged over the month, rounded half up to
    the fen.
    """
    days = (month.end - month.start).days + 1
    clipped = [
        (max(a, month.start), min(b, month.end), rate) for a, b, rate in segments if a <= month.end and b >= month.start
    ]
    if how == "whole_month":
        covered = sum((b - a).days + 1 for a, b, _ in clipped)
        amount = min((rate for _, _, rate in clipped), default=Decimal(0)) if covered == days else Decimal(0)
        return amount, f"{month}: every day of the month"
    if how in ("month_end", "month_start"):
        day = month.end if how == "month_end" else month.start
        amount = next((rate for a, b, rate in clipped if a <= day <= b), Decimal(0))
        return amount, f"{month}: on {day.isoformat()}"
    total = sum((rate * ((b - a).days + 1) for a, b, rate in clipped), Decimal(0))
    return (total / days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), f"{month}: prorated over its {days} days"


def _coalesce(*values: Any) -> Any:
    """The first value that is neither none nor empty text (none if every one is)."""
    for v in values:
        if v is not None and v != "":
            return v
    return None


def _min_per(pairs: Iterable[tuple[Any, Any]]) -> tuple[Any, ...]:
    """From (key, value) pairs, the smallest value of each key, in key order."""
    best: dict[Any, Any] = {}
    for k, v in pairs:
        if k not in best or v < best[k]:
            best[k] = v
    return tuple(best[k] for k in sorted(best))


def _error(message: str) -> bool:
    raise RuleExpressionError(str(message))


class Builtin:
    """A built-in: its function, how many arguments it takes, and what it returns (for the checker)."""

    __slots__ = ("doc", "fn", "max_args", "min_args", "returns")

    def __init__(self, fn: Callable[..., Any], min_args: int, max_args: int, returns: Any, doc: str) -> None:
        self.fn = fn
        self.min_args = min_args
        self.max_args = max_args
        self.returns = returns
        self.doc = doc


_MANY = 99

#: Built-ins that read an attribute are the operator module's getters: no Python call of their own.
BUILTINS: dict[str, Builtin] = {
    "members": Builtin(
        lambda name: tuple(ENUMS[name]), 1, 1, None, 'members("band"): every value of an enumeration, in order'
    ),
    "count": Builtin(len, 1, 1, int, "count(xs): how many elements"),
    "sum": Builtin(lambda xs: sum(xs, Decimal(0)), 1, 1, Decimal, "sum(xs): the total of numbers (0 if none)"),
    "min": Builtin(_min, 1, _MANY, None, "min(xs) or min(a, b, …): the smallest"),
    "max": Builtin(_max, 1, _MANY, None, "max(xs) or max(a, b, …): the largest"),
    "min_or": Builtin(lambda xs, d: min(xs, default=d), 2, 2, None, "min_or(xs, d): the smallest, or d if none"),
    "max_or": Builtin(lambda xs, d: max(xs, default=d), 2, 2, None, "max_or(xs, d): the largest, or d if none"),
    "any": Builtin(any, 1, 1, bool, "any(xs): whether some element is true"),
    "all": Builtin(all, 1, 1, bool, "all(xs): whether every element is true"),
    "set": Builtin(frozenset, 1, 1, None, "set(xs): the distinct elements"),
    "sorted": Builtin(lambda xs: tuple(sorted(xs)), 1, 1, None, "sorted(xs): in ascending order"),
    "last": Builtin(lambda xs: xs[-1] if xs else None, 1, 1, None, "last(xs): the last element, or none"),
    "flatten": Builtin(
        lambda xss: tuple(x for xs in xss for x in xs), 1, 1, None, "flatten(xss): the elements of each list in turn"
    ),
    "min_per": Builtin(_min_per, 1, 1, None, "min_per(pairs): the smallest value of each key of (key, value) pairs"),
    "coalesce": Builtin(_coalesce, 1, _MANY, None, "coalesce(a, b, …): the first that is neither none nor empty"),
    "error": Builtin(_error, 1, 1, bool, 'error("…"): stop the rule with this message (a misconfigured rule)'),
    "first": Builtin(lambda xs: xs[0] if xs else None, 1, 1, None, "first(xs): the first element, or none"),
    "abs": Builtin(abs, 1, 1, None, "abs(x): the absolute value"),
    "decimal": Builtin(lambda x: Decimal(plain(x)), 1, 1, Decimal, "decimal(x): x as an exact decimal"),
    "int": Builtin(int, 1, 1, int, "int(x): x as a whole number"),
    "text": Builtin(text_of, 1, 1, str, "text(x): x as text (a date as YYYY-MM-DD, a month as YYYY-MM)"),
    "round": Builtin(_round, 2, 3, Decimal, 'round(x, "0.01", "half_up"|"down"|"half_even")'),
    "date": Builtin(_date, 1, 3, date, 'date("2021-01-31") or date(2021, 1, 31)'),
    "year": Builtin(attrgetter("year"), 1, 1, int, "year(d): the year of a date or period"),
    "month": Builtin(attrgetter("month"), 1, 1, int, "month(d): the month (1-12) of a date or period"),
    "add_days": Builtin(lambda d, n: d + timedelta(days=n), 2, 2, date, "add_days(d, n): n days after d"),
    "days_between": Builtin(lambda a, b: (b - a).days, 2, 2, int, "days_between(a, b): days from a to b"),
    "period": Builtin(Period, 1, 2, Period, "period(year) or period(year, month)"),
    "month_of": Builtin(lambda d: Period(d.year, d.month), 1, 1, Period, "month_of(d): the month a date falls in"),
    "first_day": Builtin(attrgetter("start"), 1, 1, date, "first_day(p): the first day of a period"),
    "last_day": Builtin(attrgetter("end"), 1, 1, date, "last_day(p): the last day of a period"),
    "months": Builtin(methodcaller("months"), 1, 1, None, "months(p): the months of a period"),
    "in_force": Builtin(in_force, 2, 2, bool, "in_force(x, day): whether a version is in force on day"),
    "version_on": Builtin(_version_on, 2, 2, None, "version_on(xs, day): the version in force on day, or none"),
    "key": Builtin(_key, 1, 1, str, "key(x): the key of a fact or item"),
    "change_days": Builtin(_change_days, 1, _MANY, None, "change_days(xs, …): days a version starts or stops"),
    "piecewise": Builtin(_piecewise, 4, 4, None, "piecewise(first, last, days, f): the stretches of non-zero f(day)"),
    "month_rate": Builtin(_month_rate, 3, 3, None, "month_rate(month, stretches, how): (amount, how judged)"),
}
