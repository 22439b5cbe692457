"""A result lists each section in the order of its items' ``sort_key``, read faster but never differently."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TypeVar

from swrules import evaluation
from swrules.facts import Band
from swrules.items import Eligibility, Obligation, ObligationKind, PostGrade

T = TypeVar("T")


def _shuffled(items: list[T], seed: int) -> list[T]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


def test_eligibility_is_listed_by_person_then_band_rank() -> None:
    items = [
        Eligibility(person=f"p{n % 7}{'x' * (n % 3)}", band=band, eligible=n % 2 == 0)
        for n in range(40)
        for band in Band
    ]
    for seed in range(20):
        given = _shuffled(items, seed)
        got = evaluation._eligibility_in_order(given)
        assert list(got) == sorted(given, key=Eligibility.sort_key)
    assert [e.band for e in evaluation._eligibility_in_order([items[2], items[1], items[0]])] == [
        Band.JUNIOR,
        Band.INTERMEDIATE,
        Band.SENIOR,
    ]


def test_obligations_and_post_grades_are_listed_by_their_sort_keys() -> None:
    obligations = [
        Obligation(
            id=f"o{n}",
            kind=kind,
            payee=f"p{n % 4}",
            payer="org",
            amount=Decimal(n),
            period=f"2021-{1 + n % 12:02d}",
            due=f"2021-{1 + n % 12:02d}",
        )
        for n in range(30)
        for kind in ObligationKind
    ]
    grades = [PostGrade(post=f"q{n % 13}{n}", band=Band.JUNIOR, tier=1, level=12, title="t") for n in range(30)]
    for seed in range(10):
        given = _shuffled(obligations, seed)
        assert sorted(given, key=evaluation._OBLIGATION_ORDER) == sorted(given, key=Obligation.sort_key)
        shuffled = _shuffled(grades, seed)
        assert sorted(shuffled, key=evaluation._POST_ORDER) == sorted(shuffled, key=PostGrade.sort_key)
