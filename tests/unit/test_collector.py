"""The cyclic collector is paused while native batches run, and always given back as it was found."""

from __future__ import annotations

import gc
import threading

import pytest

import swrules
from swrules._collector import collector_paused

FACTS = [{"type": "person", "id": "p1", "role": "community_worker"}]


def test_the_pause_is_counted_across_overlapping_evaluations() -> None:
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def long_one() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=long_one)
    thread.start()
    inside.wait(10)
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other evaluation is still running
    release.set()
    thread.join()
    assert gc.isenabled()


def test_a_collector_the_application_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", engine="native")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_given_back_when_an_evaluation_fails() -> None:
    with pytest.raises(swrules.InputError):
        swrules.evaluate([{"type": "person"}], ruleset="dingnan-2020", period="2021", engine="native")
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        raise ZeroDivisionError
    assert gc.isenabled()


def test_what_a_batch_made_is_not_walked_when_the_collector_resumes() -> None:
    gc.collect()
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        with collector_paused():
            made = [[n] for n in range(5000)]  # far past the threshold of a collection of the young objects
        more = [[n] for n in range(gc.get_threshold()[0] // 2)]
    finally:
        gc.callbacks.remove(seen)
    assert started == []  # handed to the oldest generation: no collection walked them on resuming
    assert gc.get_freeze_count() == 0
    assert made[-1] == [4999] and len(more) == gc.get_threshold()[0] // 2


def test_garbage_cycles_made_during_a_pause_are_still_collected() -> None:
    gc.collect()
    with collector_paused():
        ring: list[object] = []
        ring.append(ring)
        watched = id(ring)
        del ring
    gc.collect()
    assert all(id(o) != watched for o in gc.get_objects())


def test_objects_the_application_froze_stay_frozen() -> None:
    kept: list[object] = [object()]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            made = [[n] for n in range(100)]
        # Frozen objects freed meanwhile by reference counting leave the count (Python 3.13 frees some),
        # so it may only fall; the application's own object is still out of every generation, and what the
        # batch made was not frozen with it.
        assert 0 < gc.get_freeze_count() <= frozen
        assert all(o is not kept for o in gc.get_objects())
        assert any(o is made for o in gc.get_objects())
        assert gc.isenabled()
    finally:
        gc.unfreeze()
