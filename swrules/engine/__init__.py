"""The engine behind a small interface: compile a program, run it on facts with a backend.

Nothing outside this package sees a durable-rules object or message. Two
backends run the same rule definitions: ``durable`` (durable-rules' Rete
network, the reference forward-chaining engine) and ``native`` (indexed joins
in plain Python, for batches and for interpreters where durable cannot load).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from swrules.budget import TimeBudget, budget_of
from swrules.errors import EngineError, SwrulesError
from swrules.facts import Fact
from swrules.load import FactSet

from . import _durable
from ._incremental import Change, IncrementalRun
from ._native import NativeBackend
from ._program import BoundRule, Program, RuleBinding, compile_program, compile_programs
from ._run import Derivation, Derivations, Progress, Run, key_of

__all__ = [
    "ENGINES",
    "BoundRule",
    "Change",
    "Derivation",
    "Derivations",
    "IncrementalRun",
    "Program",
    "Progress",
    "RuleBinding",
    "Run",
    "compile_program",
    "compile_programs",
    "durable_available",
    "execute",
    "incremental",
    "key_of",
    "update",
]

ENGINES: Final = ("durable", "native")
_backends: dict[str, _durable.DurableBackend | NativeBackend] = {}
_lock = threading.Lock()


def durable_available() -> bool:
    """Whether durable-rules can be imported on this interpreter."""
    return _durable.AVAILABLE


def _backend(name: str) -> _durable.DurableBackend | NativeBackend:
    with _lock:
        if name not in _backends:
            if name == "durable":
                _backends[name] = _durable.DurableBackend()
            elif name == "native":
                _backends[name] = NativeBackend()
            else:
                raise EngineError(f"unknown engine {name!r} (expected one of {', '.join(ENGINES)})")
        return _backends[name]


def execute(
    program: Program,
    facts: FactSet,
    engine: str,
    *,
    timeout: float | TimeBudget | None = None,
    progress: Progress | None = None,
) -> Run:
    """Run ``program`` on ``facts`` with the named backend and return the finished run.

    ``timeout`` (seconds, or a :class:`~swrules.budget.TimeBudget` already running) bounds the evaluation: it is
    read before every firing and once more when the run is done; past it, :class:`EvaluationTimeout` is raised
    and nothing is returned.
    """
    budget = budget_of(timeout)
    backend = _backend(engine)
    run = Run(program, facts, backend, budget, progress)
    with _engine_errors(engine):
        backend.execute(run)
    if budget is not None:
        budget.check()  # a last firing that ran past the budget returns nothing either
    return run


def incremental(program: Program, engine: str) -> IncrementalRun:
    """An empty run of ``program`` to keep up to date with :func:`update`."""
    return IncrementalRun(program, _backend(engine))


def update(run: IncrementalRun, added: Iterable[Fact], removed: Iterable[str]) -> list[Change]:
    """Remove the facts keyed ``removed``, add ``added``, re-derive; the net changes to derived items."""
    with _engine_errors(run.backend.name):
        return run.update(added, removed)


@contextmanager
def _engine_errors(engine: str) -> Iterator[None]:
    try:
        yield
    except SwrulesError:
        raise
    except RecursionError as err:
        raise EngineError(f"the {engine} engine ran out of stack: {err}") from err
    except Exception as err:  # third-party errors never escape
        raise EngineError(f"the {engine} engine failed: {type(err).__name__}: {err}") from err
