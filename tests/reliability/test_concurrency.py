"""Many threads at once: every result is the one its input gives alone, and nothing is left behind."""

from __future__ import annotations

import gc
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import swrules
from swrules.engine import ENGINES, durable_available
from swrules.population import generate

THREADS = 8
#: Evaluations per thread: 25 in the default run, 100 in the slow run (``pytest -m slow``).
PER_THREAD = (25, 100)


def _inputs(per_thread: int) -> list[list[dict[str, Any]]]:
    # THREADS * per_thread different inputs: ten populations, each seen with a different extra person or certificate.
    bases = [generate(6, seed=s) for s in range(10)]
    out = []
    for i in range(THREADS * per_thread):
        facts = list(bases[i % 10])
        facts.append({"type": "person", "id": f"extra{i}", "role": "community_worker"})
        if i % 3:
            facts.append(
                {
                    "type": "certificate",
                    "id": f"kx{i}",
                    "holder": f"extra{i}",
                    "level": "assistant",
                    "obtained_on": f"2021-{i % 12 + 1:02d}-10",
                }
            )
        out.append(facts)
    return out


@pytest.mark.parametrize("per_thread", [PER_THREAD[0], pytest.param(PER_THREAD[1], marks=pytest.mark.slow)])
@pytest.mark.parametrize("engine", [e for e in ENGINES if e == "native" or durable_available()])
def test_8_threads_evaluating_at_once_match_the_same_inputs_evaluated_alone(engine: str, per_thread: int) -> None:
    inputs = _inputs(per_thread)
    alone = [swrules.evaluate(f, ruleset="dingnan-2020", period="2021", engine=engine).to_json() for f in inputs]
    gc.collect()
    threads_before = threading.active_count()
    objects_before, rss_before = len(gc.get_objects()), _rss()

    def work(t: int) -> list[int]:
        """The inputs whose result differed from the one evaluated alone (none, we expect)."""
        differ = []
        for k in range(per_thread):
            i = k * THREADS + t
            doc = swrules.evaluate(inputs[i], ruleset="dingnan-2020", period="2021", engine=engine).to_json()
            if doc != alone[i]:
                differ.append(i)
        return differ

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(work, t) for t in range(THREADS)]
        differ = [i for f in futures for i in f.result(timeout=300)]
    del futures
    gc.collect()
    assert differ == [], f"inputs {differ[:10]} gave different results under concurrency"
    assert threading.active_count() == threads_before
    # Nothing retained: Python objects and resident memory (durable's C sessions included) stay flat.
    assert len(gc.get_objects()) - objects_before < 2_000
    assert _rss() - rss_before < 32 * 1024 * 1024, f"resident memory grew by {_rss() - rss_before} bytes"


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
