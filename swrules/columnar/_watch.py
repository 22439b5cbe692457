"""A columnar run watched as the native engine's is: progress reported rule by rule, and the time budget honoured
even inside a long DuckDB query.

:func:`watching` holds the budget and the progress callback of one evaluation (set by
:func:`swrules.evaluation.evaluate` around the columnar run); the engine runs each rule inside :func:`watched`.
There the budget is read before the rule, a timer thread interrupts the connection's query
(``DuckDBPyConnection.interrupt``) when the deadline passes, and whatever the interrupted query raised becomes the
:class:`~swrules.errors.EvaluationTimeout` the native engine raises. After the rule, ``progress`` is called with
(stratum, strata, rules done in the stratum, rules in the stratum) of the rule's program.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from swrules.budget import TimeBudget
from swrules.errors import EvaluationTimeout

if TYPE_CHECKING:
    import duckdb

    from swrules.engine import Program, Progress
    from swrules.engine._program import BoundRule

__all__ = ["watched", "watching"]


class _Watch:
    """The budget and progress callback of one evaluation, and how far each of its programs has got."""

    def __init__(self, budget: TimeBudget | None, progress: Progress | None) -> None:
        self.budget = budget
        self.progress = progress
        # By program: the program (kept, so that its id is not reused), each rule's stratum, rules done by stratum.
        self._programs: dict[int, tuple[Program, dict[str, int], list[int]]] = {}

    def done(self, program: Program, rule: BoundRule) -> None:
        """Report ``rule`` of ``program`` done."""
        if self.progress is None:
            return
        found = self._programs.get(id(program))
        if found is None:
            where = {r.id: number for number, stratum in enumerate(program.strata) for r in stratum}
            found = self._programs[id(program)] = (program, where, [0] * len(program.strata))
        _, where, counts = found
        stratum = where[rule.id]
        counts[stratum] += 1
        self.progress(stratum, len(program.strata), counts[stratum], len(program.strata[stratum]))


_WATCH: ContextVar[_Watch | None] = ContextVar("swrules_columnar_watch", default=None)


@contextlib.contextmanager
def watching(budget: TimeBudget | None, progress: Progress | None) -> Iterator[None]:
    """Watch the columnar runs made inside this block with ``budget`` and ``progress``."""
    token = _WATCH.set(_Watch(budget, progress) if budget is not None or progress is not None else None)
    try:
        yield
    finally:
        _WATCH.reset(token)


@contextlib.contextmanager
def watched(con: duckdb.DuckDBPyConnection, program: Program, rule: BoundRule) -> Iterator[None]:
    """Run ``rule`` of ``program`` on ``con`` under the watch of :func:`watching`, if any."""
    watch = _WATCH.get()
    if watch is None:
        yield
        return
    budget = watch.budget
    if budget is None:
        yield
        watch.done(program, rule)
        return
    budget.check()
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(max(budget.deadline - budget.clock(), 0.0), interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    except Exception:
        if fired.is_set():  # the query stopped by the timer, whatever it raised: the budget's error
            raise EvaluationTimeout(budget.seconds) from None
        raise
    finally:
        timer.cancel()
        timer.join()  # an interrupt under way has finished before the connection is used again
    if fired.is_set():
        raise EvaluationTimeout(budget.seconds)
    budget.check()
    watch.done(program, rule)
