"""Isolation: many evaluations in one process leak nothing — no threads, no memory, no facts."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from swrules import evaluate
from swrules.engine import durable_available

ENGINES = ["native", pytest.param("durable", marks=pytest.mark.skipif(not durable_available(), reason="no durable"))]


def _facts(i: int) -> list[dict[str, object]]:
    return [
        {"type": "person", "id": f"p{i}", "role": "community_worker"},
        {"type": "certificate", "id": f"k{i}", "holder": f"p{i}", "level": "intermediate", "obtained_on": "2020-01-01"},
        {"type": "post", "id": f"q{i}", "band": "intermediate", "tier": 1 + i % 3, "holder": f"p{i}"},
    ]


@pytest.mark.parametrize("runs", [250, pytest.param(1000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("engine", ENGINES)
def test_many_evaluations_leave_threads_and_memory_flat(engine: str, runs: int) -> None:
    """Many separate small evaluations (250 in the default run, 1,000 in the slow run) start no thread and keep
    traced memory flat."""
    for i in range(50):  # warm caches (compiled rulesets, interned strings)
        evaluate(_facts(i), ruleset="zhejiang-2019", period="2021", engine=engine)
    gc.collect()
    threads = threading.active_count()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(runs):
            result = evaluate(_facts(i), ruleset="zhejiang-2019", period="2021", engine=engine)
            assert [g.post for g in result.post_grades] == [f"q{i}"]
        del result
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert threading.active_count() == threads
    # Python-side growth stays under 256 KiB per 1,000 runs (no per-run retention; measured: under 100 bytes).
    assert after - before < runs * 256 * 1024 // 1000, f"memory grew by {after - before} bytes over {runs} runs"


@pytest.mark.parametrize("engine", ENGINES)
def test_evaluations_do_not_see_each_others_facts(engine: str) -> None:
    """A fact asserted in one evaluation is gone in the next: the same ids never join across runs."""
    first = evaluate(_facts(1), ruleset="zhejiang-2019", period="2021", engine=engine)
    lone_post = [
        {"type": "post", "id": "q1", "band": "intermediate", "tier": 2, "holder": "p1"},
        {"type": "person", "id": "p1", "role": "other"},
    ]
    second = evaluate(lone_post, ruleset="zhejiang-2019", period="2021", engine=engine)
    assert [f.satisfied for f in first.findings if f.requirement == "post_holder_qualified"] == [True]
    assert [f.satisfied for f in second.findings if f.requirement == "post_holder_qualified"] == [False]


@pytest.mark.skipif(not durable_available(), reason="no durable")
def test_durable_private_names_we_rely_on_still_exist() -> None:
    """The durable backend relies on private names of durable-rules 2.0.28; this breaks if they change."""
    import durable.engine as de
    import durable_rules_engine as dre

    assert hasattr(de.Host, "_run")
    assert hasattr(de.Ruleset, "_handle_result")
    assert callable(dre.delete_ruleset)
    assert hasattr(de, "MessageNotHandledException") and hasattr(de, "MessageObservedException")
