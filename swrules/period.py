"""Evaluation periods: a calendar year (``YYYY``) or a month (``YYYY-MM``)."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Final

import attrs

from swrules.errors import PeriodError, shown

__all__ = ["Period", "TimeFrame"]

_PERIOD_RE: Final = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?", re.ASCII)  # ASCII digits: not "２０２１"
_CACHE_LIMIT: Final = 10_000
_PARSED: dict[str, Period] = {}
_MONTHS: dict[int, tuple[Period, ...]] = {}


@attrs.frozen(order=True)
class Period:
    """A year (``month`` is None) or one month of a year.

    Facts are taken as they stand at :attr:`end`, the period's last day.
    """

    year: int
    month: int | None = None
    # Worked out once: a year's run asks every month for its days many thousand times.
    start: date = attrs.field(init=False, eq=False, order=False, repr=False)
    end: date = attrs.field(init=False, eq=False, order=False, repr=False)
    _text: str = attrs.field(init=False, eq=False, order=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not 1900 <= self.year <= 2999:
            raise PeriodError(f"period year must be between 1900 and 2999 (got {self.year})")
        if self.month is not None and not 1 <= self.month <= 12:
            raise PeriodError(f"period month must be 01 to 12 (got {self.month:02d})")
        month = self.month or 12
        object.__setattr__(self, "start", date(self.year, self.month or 1, 1))
        object.__setattr__(self, "end", date(self.year, month, calendar.monthrange(self.year, month)[1]))
        text = f"{self.year:04d}" if self.month is None else f"{self.year:04d}-{self.month:02d}"
        object.__setattr__(self, "_text", text)

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """``"2021"`` or ``"2021-06"``; anything else raises :class:`PeriodError`."""
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise PeriodError(f"period must be a string YYYY or YYYY-MM (got {shown(text)})")
        found = _PARSED.get(text)
        if found is not None:
            return found
        m = _PERIOD_RE.fullmatch(text)
        if m is None:
            raise PeriodError(f"period must be YYYY or YYYY-MM (got {shown(text)})")
        found = cls(int(m.group(1)), int(m.group(2)) if m.group(2) else None)
        if len(_PARSED) < _CACHE_LIMIT:  # periods are few (a year has 13): every obligation names one
            _PARSED[text] = found
        return found

    @property
    def is_month(self) -> bool:
        return self.month is not None

    def months(self) -> tuple[Period, ...]:
        """The months the period covers: itself for a month, twelve for a year."""
        if self.month is not None:
            return (self,)
        found = _MONTHS.get(self.year)
        if found is None:
            found = _MONTHS[self.year] = tuple(Period(self.year, m) for m in range(1, 13))
        return found

    def __str__(self) -> str:
        return self._text


@attrs.frozen
class TimeFrame:
    """When an evaluation looks: its period, the ruleset's window, and the day snapshot rules judge on.

    ``window_from``/``window_until`` are the ruleset's ``applies_from``/``applies_until`` (possibly overridden
    for a what-if); ``day`` is the judgment day of the snapshot rules run with this frame — the period's last
    day, the window's last day if that comes first, or a rule's deadline.
    """

    period: Period
    window_from: date
    window_until: date | None
    day: date
    #: The months of the period in which something may fall due: those the ruleset's window touches.
    due_months: tuple[Period, ...] = attrs.field(init=False, eq=False, repr=False)
    #: The same months as ``YYYY-MM`` text.
    due_keys: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        due = tuple(m for m in self.period.months() if self.covers(m))
        object.__setattr__(self, "due_months", due)
        object.__setattr__(self, "due_keys", frozenset(str(m) for m in due))

    @classmethod
    def of(cls, period: Period, window_from: date, window_until: date | None) -> TimeFrame:
        end = period.end if window_until is None else min(period.end, window_until)
        return cls(period, window_from, window_until, end)

    def at(self, day: date) -> TimeFrame:
        return TimeFrame(self.period, self.window_from, self.window_until, day)

    def covers(self, month: Period) -> bool:
        """Whether the ruleset applies on some day of ``month``."""
        return month.end >= self.window_from and (self.window_until is None or month.start <= self.window_until)
