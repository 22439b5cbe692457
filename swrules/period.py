"""Evaluation periods: a calendar year (``YYYY``) or a month (``YYYY-MM``)."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Final

import attrs

from swrules.errors import PeriodError

__all__ = ["Period"]

_PERIOD_RE: Final = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@attrs.frozen(order=True)
class Period:
    """A year (``month`` is None) or one month of a year.

    Facts are taken as they stand at :attr:`end`, the period's last day.
    """

    year: int
    month: int | None = None

    def __attrs_post_init__(self) -> None:
        if not 1900 <= self.year <= 2999:
            raise PeriodError(f"period year must be between 1900 and 2999 (got {self.year})")
        if self.month is not None and not 1 <= self.month <= 12:
            raise PeriodError(f"period month must be 01 to 12 (got {self.month:02d})")

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """``"2021"`` or ``"2021-06"``; anything else raises :class:`PeriodError`."""
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise PeriodError(f"period must be a string YYYY or YYYY-MM (got {text!r})")
        m = _PERIOD_RE.match(text)
        if m is None:
            raise PeriodError(f"period must be YYYY or YYYY-MM (got {text!r})")
        return cls(int(m.group(1)), int(m.group(2)) if m.group(2) else None)

    @property
    def is_month(self) -> bool:
        return self.month is not None

    @property
    def start(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def end(self) -> date:
        month = self.month or 12
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def months(self) -> tuple[Period, ...]:
        """The months the period covers: itself for a month, twelve for a year."""
        if self.month is not None:
            return (self,)
        return tuple(Period(self.year, m) for m in range(1, 13))

    def __str__(self) -> str:
        return f"{self.year:04d}" if self.month is None else f"{self.year:04d}-{self.month:02d}"
