"""The engine behind a small interface: compile a program, run it on facts with a backend.

Nothing outside this package sees a durable-rules object or message. Two
backends run the same rule definitions: ``durable`` (durable-rules' Rete
network, the reference forward-chaining engine) and ``native`` (indexed joins
in plain Python, for batches and for interpreters where durable cannot load).
"""

from __future__ import annotations

import threading
from typing import Final

from swrules.errors import EngineError, SwrulesError
from swrules.load import FactSet

from . import _durable
from ._native import NativeBackend
from ._program import BoundRule, Program, RuleBinding, compile_program
from ._run import Derivation, Progress, Run, key_of

__all__ = [
    "ENGINES",
    "BoundRule",
    "Derivation",
    "Program",
    "Progress",
    "RuleBinding",
    "Run",
    "compile_program",
    "durable_available",
    "execute",
    "key_of",
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
    program: Program, facts: FactSet, engine: str, *, timeout: float | None = None, progress: Progress | None = None
) -> Run:
    """Run ``program`` on ``facts`` with the named backend and return the finished run.

    ``timeout`` (seconds) bounds the evaluation: past it, :class:`EvaluationTimeout` is raised and nothing is
    returned.
    """
    if timeout is not None and not timeout > 0:
        raise EngineError(f"a time budget must be a positive number of seconds (got {timeout!r})")
    backend = _backend(engine)
    run = Run(program, facts, backend, timeout, progress)
    try:
        backend.execute(run)
    except SwrulesError:
        raise
    except RecursionError as err:
        raise EngineError(f"the {engine} engine ran out of stack: {err}") from err
    except Exception as err:  # third-party errors never escape
        raise EngineError(f"the {engine} engine failed: {type(err).__name__}: {err}") from err
    return run
