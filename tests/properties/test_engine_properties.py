"""Hand-made programs under random histories: every engine stays equal to a naive evaluation of the facts held.

The programs (``tests/programs.py``) chain within a stratum, join three ways,
share, list and order collections, and collect one type in two strata. Facts
arrive, leave and are replaced by changed versions, one to three in an update;
after every update both incremental engines hold exactly what a naive
evaluation of the current facts derives, and a batch run of those facts does
too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st
from programs import (
    CHAIN,
    COLLECTING,
    ENGINES_HERE,
    PEOPLE,
    STRATA,
    STRATA_FACTS,
    TOWN,
    batch,
    cert,
    naive,
    person,
    program,
    project,
)

from swrules.engine import incremental, update
from swrules.engine._run import key_of
from swrules.facts import CertLevel, CommunityKind, Fact, Role

_TOWN = {key_of(f): f for f in TOWN}
# Changed versions of some facts: a replacement moves what depends on them.
VARIANTS = [
    attrs.evolve(_TOWN["person/p1"], role=Role.VILLAGE_CADRE, community="c2"),
    attrs.evolve(_TOWN["person/p2"], role=Role.COMMUNITY_WORKER),
    attrs.evolve(_TOWN["certificate/k1"], level=CertLevel.SENIOR),
    attrs.evolve(_TOWN["certificate/k2"], holder="p2"),
    attrs.evolve(_TOWN["certificate/k3"], registered=True),
    attrs.evolve(_TOWN["community/c1"], kind=CommunityKind.RURAL),
    attrs.evolve(_TOWN["service_project/s1"], social_workers=("p2", "p4")),
]
_PEOPLE = {key_of(f): f for f in PEOPLE}
CHAIN_VARIANTS = [
    attrs.evolve(_PEOPLE["certificate/k1"], registered=True),
    attrs.evolve(_PEOPLE["certificate/k3"], holder="p3"),
    attrs.evolve(_PEOPLE["certificate/k2"], obtained_on=date(2021, 7, 1)),
]
STRATA_VARIANTS = [
    cert("k1", "p3", "assistant"),
    cert("k3", "p2", "senior", "2019-05-05"),
    person("p1", "institution_staff"),
    person("p2", "township_staff"),
    project("s1", "p1", "p2"),
]
PROGRAMS = {
    "chain": (program(*CHAIN), PEOPLE, CHAIN_VARIANTS),
    "collecting": (program(*COLLECTING), TOWN, VARIANTS),
    "strata": (program(*STRATA), STRATA_FACTS, STRATA_VARIANTS),
}

# A step is one update of one to three changes: add a fact, remove one, or replace one by a changed version.
steps = st.lists(
    st.lists(st.tuples(st.sampled_from(["add", "remove", "replace"]), st.integers(0, 50)), min_size=1, max_size=3),
    min_size=1,
    max_size=10,
)


def _next(held: dict[str, Fact], ops: list[tuple[str, int]], pool: list[Fact], variants: list[Fact]) -> dict[str, Fact]:
    after = dict(held)
    for op, i in ops:
        absent = [f for f in pool if key_of(f) not in after]
        if op == "add" and absent:
            fact = absent[i % len(absent)]
            after[key_of(fact)] = fact
        elif op == "remove" and after:
            del after[sorted(after)[i % len(after)]]
        elif op == "replace":
            fact = (variants + pool)[i % (len(variants) + len(pool))]
            after[key_of(fact)] = fact
    return after


def _play(name: str, start: int, plan: list[list[tuple[str, int]]]) -> None:
    prog, pool, variants = PROGRAMS[name]
    held: dict[str, Fact] = {key_of(f): f for f in pool[:start]}
    runs = {engine: incremental(prog, engine) for engine in ENGINES_HERE}
    for inc in runs.values():
        update(inc, list(held.values()), [])
    for ops in plan:
        after = _next(held, ops, pool, variants)
        removed = [k for k in held if k not in after or after[k] is not held[k]]
        added = [f for k, f in after.items() if k not in held or held[k] is not f]
        held = after
        expected = naive(prog, list(held.values()))
        for engine, inc in runs.items():
            update(inc, added, removed)
            got = {o.key: o for o in sorted(inc.items_now(), key=lambda o: o.key)}
            assert got == expected, (engine, added, removed)
    for engine in ENGINES_HERE:
        assert batch(prog, list(held.values()), engine) == naive(prog, list(held.values()))


@given(st.sampled_from(sorted(PROGRAMS)), st.integers(0, 20), steps)
def test_any_history_on_hand_made_programs_matches_a_naive_evaluation(name: str, start: int, plan: Any) -> None:
    _play(name, start, plan)
