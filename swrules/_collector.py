"""Pausing Python's cyclic garbage collector while a batch is built.

CPython runs a collection every few hundred container allocations and, as the
heap grows, full collections that walk every live object. Loading a document
of facts, or a batch evaluation on the native engine, allocates hundreds of
thousands of facts and derived items that form no reference cycles, so those
walks find nothing and cost a quarter of the run. Memory is still freed by
reference counting while the collector is paused. When it resumes, what the
batch made is handed to the oldest generation as it is (``gc.freeze`` then
``gc.unfreeze``, which move lists without walking them) rather than walked by
a collection of the young objects: that walk, over every object the batch
made, cost a tenth of an evaluation and found nothing. Garbage cycles the
application made meanwhile wait for the next full collection. An application
that froze objects of its own keeps them frozen: then the young objects are
left to the collector as before. (durable-rules' Python layer does leave
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
                if gc.get_freeze_count() == 0:  # nothing of the application's is frozen: unfreezing is ours
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()
