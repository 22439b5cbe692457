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
