"""Edges of durable-rules that once crashed or leaked, pinned."""

from __future__ import annotations

import pytest

import swrules
from swrules.engine import durable_available

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable here")

FACTS = {
    "facts": [
        {"type": "person", "id": "p1", "role": "community_worker"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-15"},
    ]
}


def test_sessions_where_no_fact_matches_are_deleted_safely_and_do_not_accumulate() -> None:
    # A certificate obtained after the period matches no pattern of the first stratum. Deleting such a
    # session once freed memory durable never owned (the process aborted); and more than 1,024 leaked
    # sessions would raise MemoryError. 1,100 runs cross that limit.
    for _ in range(1_100):
        result = swrules.evaluate(FACTS, ruleset="national-grades", period="2020", engine="durable")
        assert [e.eligible for e in result.eligibility] == [False, False, False]
