"""Time budgets: one deadline for a whole call (reading, validating, evaluating, building the result).

A budget starts when it is made and is read on a clock (``time.monotonic``
unless another is given, which is how the tests hold time still or move it
on). Work that can run long asks it at its natural steps: :meth:`TimeBudget.check`
raises :class:`~swrules.errors.EvaluationTimeout` once the deadline has passed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, overload

from swrules.errors import EvaluationTimeout, InputError, Problem

__all__ = ["CHECK_EVERY", "TimeBudget", "budget_of", "timed"]

#: While facts are validated, the budget is read once per this many facts.
CHECK_EVERY = 512

T = TypeVar("T")


def _now() -> float:
    return time.monotonic()


class TimeBudget:
    """``seconds`` from now, on ``clock``; a positive, finite number of seconds."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] | None = None) -> None:
        self.seconds = check_seconds(seconds)
        self.clock: Callable[[], float] = clock if clock is not None else _now
        self.deadline = self.clock() + self.seconds

    def spent(self) -> bool:
        """Whether the deadline has passed."""
        return self.clock() > self.deadline

    def check(self) -> None:
        """Raise :class:`~swrules.errors.EvaluationTimeout` if the deadline has passed."""
        if self.clock() > self.deadline:
            raise EvaluationTimeout(self.seconds)

    def __repr__(self) -> str:
        return f"TimeBudget({self.seconds:g})"


def check_seconds(seconds: object) -> float:
    """``seconds`` as a float if it is a positive, finite number; else :class:`~swrules.errors.InputError`.

    Zero, negative numbers, NaN and infinity are refused (leave the budget out for none); so are booleans
    and strings.
    """
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds) and seconds > 0:
        return seconds
    raise InputError([Problem(message=f"a time budget must be a positive, finite number of seconds (got {seconds!r})")])


def budget_of(timeout: float | TimeBudget | None) -> TimeBudget | None:
    """A budget from a number of seconds (starting now), a budget already running, or none."""
    if timeout is None or isinstance(timeout, TimeBudget):
        return timeout
    return TimeBudget(timeout)


class _Timed(Sequence[T]):
    """A sequence that reads its budget every :data:`CHECK_EVERY` items as it is walked through."""

    def __init__(self, items: Sequence[T], budget: TimeBudget) -> None:
        self._items = items
        self._budget = budget

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        check = self._budget.check
        for number, item in enumerate(self._items):
            if number % CHECK_EVERY == 0:
                check()
            yield item
        check()


def timed(data: Any, budget: TimeBudget | None) -> Any:
    """``data`` (a list of facts, or a document ``{"facts": [...]}``) read under ``budget`` while it is validated.

    Anything else is returned as it is, for the loader to judge.
    """
    if budget is None:
        return data
    budget.check()
    if isinstance(data, dict) and isinstance(data.get("facts"), list):
        return {**data, "facts": _Timed(data["facts"], budget)}
    if isinstance(data, list):
        return _Timed(data, budget)
    return data
