"""Hand-made programs under random histories: every engine stays equal to a naive evaluation of the facts held.

The programs (``tests/unit/test_engine_paths.py``) chain within a stratum,
join three ways and share, list and order collections. Facts arrive, leave and
are replaced by changed versions in random order; after every step both
incremental engines hold exactly what a naive evaluation of the current facts
derives, and a batch run of those facts does too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st
from programs import CHAIN, COLLECTING, ENGINES_HERE, PEOPLE, TOWN, batch, naive, program

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
PROGRAMS = {
    "chain": (program(*CHAIN), PEOPLE, CHAIN_VARIANTS),
    "collecting": (program(*COLLECTING), TOWN, VARIANTS),
}

steps = st.lists(st.tuples(st.sampled_from(["add", "remove", "replace"]), st.integers(0, 50)), min_size=1, max_size=12)


def _play(name: str, start: int, plan: list[tuple[str, int]]) -> None:
    prog, pool, variants = PROGRAMS[name]
    held: dict[str, Fact] = {key_of(f): f for f in pool[:start]}
    runs = {engine: incremental(prog, engine) for engine in ENGINES_HERE}
    for inc in runs.values():
        update(inc, list(held.values()), [])
    for op, i in plan:
        added: list[Fact] = []
        removed: list[str] = []
        absent = [f for f in pool if key_of(f) not in held]
        if op == "add" and absent:
            added = [absent[i % len(absent)]]
        elif op == "remove" and held:
            removed = [sorted(held)[i % len(held)]]
        elif op == "replace" and variants:
            fact = (variants + pool)[i % (len(variants) + len(pool))]
            if key_of(fact) in held:
                removed = [key_of(fact)]
            added = [fact]
        for key in removed:
            del held[key]
        held.update((key_of(f), f) for f in added)
        expected = naive(prog, list(held.values()))
        for engine, inc in runs.items():
            update(inc, added, removed)
            got = {o.key: o for o in sorted(inc.items_now(), key=lambda o: o.key)}
            assert got == expected, (engine, op, added, removed)
    for engine in ENGINES_HERE:
        assert batch(prog, list(held.values()), engine) == naive(prog, list(held.values()))


@given(st.sampled_from(sorted(PROGRAMS)), st.integers(0, 20), steps)
def test_any_history_on_hand_made_programs_matches_a_naive_evaluation(name: str, start: int, plan: Any) -> None:
    _play(name, start, plan)
