"""Pausing Python's cyclic garbage collector while a batch is built.

CPython runs a collection every few hundred container allocations and, as the
heap grows, full collections that walk every live object. Loading a document
of facts, or a batch evaluation on the native engine, allocates hundreds of
thousands of facts and derived items that form no reference cycles, so those
walks find nothing and cost a quarter of the run. Memory is still freed by
reference counting while the collector is paused; one collection of the
young objects runs when it resumes. (durable-rules' Python layer does leave
cycles behind every action, so an evaluation on it keeps the collector
running.)

The pause is process-wide (the collector is), so it is counted: the first
evaluation to start pauses the collector if it was running, the last one to
finish resumes it, and a collector the application had disabled is left
disabled. Mercurial's ``util.nogc`` does the same for the same reason.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Within the block, no cyclic collection runs unless someone else asks for one."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
