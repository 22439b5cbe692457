"""Hand-made rules that reach the engine's paths the shipped rulesets do not, checked against a naive evaluation.

The programs (and what they exercise that the shipped templates never do) are described in ``tests/programs.py``.
Every engine — the batch, durable, and both incremental ones — must derive exactly what the naive evaluation
does: every combination of objects tried, with the plain reading of each test, until nothing new appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
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
    session_items,
)

from swrules.context import Context
from swrules.engine import Change, incremental, update
from swrules.engine import _run as run_module
from swrules.engine._program import Program
from swrules.engine._run import key_of
from swrules.facts import Fact, Jurisdiction
from swrules.ir import Collect, Match, RuleDef
from swrules.items import Finding, Item, Obligation


def check_all_engines(prog: Program, given: list[Fact]) -> dict[str, Item]:
    expected = naive(prog, given)
    for engine in ENGINES_HERE:
        assert batch(prog, given, engine) == expected, engine
        assert session_items(prog, [(given, [])], engine) == expected, engine
        # the same facts arriving in two steps, and a fact added then taken back
        half = len(given) // 2
        steps = [(given[:half], []), (given[half:], [])]
        assert session_items(prog, steps, engine) == expected, engine
        last = given[-1]
        assert session_items(prog, [(given[:-1], []), ([last], []), ([], [key_of(last)])], engine) == naive(
            prog, given[:-1]
        ), engine
    return expected


def test_a_chain_within_one_stratum_derives_what_a_naive_evaluation_does() -> None:
    prog = program(*CHAIN)
    assert len(prog.strata) == 1
    expected = check_all_engines(prog, PEOPLE)
    # the depth of the chain: a held certificate -> its card -> a second held -> a three-way reward using it
    assert "held/x-D/k1" in expected
    assert "G/p1/intermediate/x-D/k1" in expected and "G/p1/senior/x-D/k2" in expected
    assert "E/D/k2/junior" in expected and "E/B/p3/senior" in expected
    # held 6, eligibility 6, cards 6, rewards per card and band 14, three-way rewards 16
    assert len(expected) == 48


def test_collections_shared_listed_and_ordered_derive_what_a_naive_evaluation_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run_module, "_SHAPES", {})  # number the shapes of this program afresh
    prog = program(*COLLECTING)
    assert len(prog.strata) == 2
    expected = check_all_engines(prog, TOWN)
    payers = {k: v.payer for k, v in expected.items() if isinstance(v, Obligation)}
    assert payers["A/k1"] == payers["B/k2"] == "2" and payers["A/k3"] == payers["B/k3"] == "1"
    assert payers["T/p1"] == "held/k1,held/k2,held/k3" and payers["T/p2"] == "held/k6"
    assert payers["L/s1"] == "person/p1,person/p2,person/p3"
    assert payers["O/k2"] == "certificate/k1,certificate/k2" and payers["O/k6"] == "certificate/k6"
    assert payers["O/k4"] == "certificate/k6"  # not itself: it is senior
    assert payers["R/j1"] == "person/p1,person/p2"
    findings = {k: v.actual for k, v in expected.items() if isinstance(v, Finding)}
    assert findings == {
        "finding/census_a/j1": 402,
        "finding/census_b/j1": 402,
        "finding/community_worker/j1": 2,
        "finding/village_cadre/j1": 1,
    }


# -- incremental runs, step by step ------------------------------------------------------------------


def play(prog: Program, steps: list[tuple[list[Fact], list[str]]]) -> dict[str, list[list[Change]]]:
    """Each engine's incremental run through the steps, equal to a naive evaluation after each; its changes."""
    out: dict[str, list[list[Change]]] = {}
    for engine in ENGINES_HERE:
        inc = incremental(prog, engine)
        held: dict[str, Fact] = {}
        out[engine] = []
        for added, removed in steps:
            for key in removed:
                del held[key]
            held.update((key_of(f), f) for f in added)
            out[engine].append(update(inc, added, removed))
            assert {o.key: o for o in inc.items_now()} == naive(prog, list(held.values())), (engine, added, removed)
        out[engine].append([(k, None, inc.get(k)) for k in sorted(o.key for o in inc.items_now())])
    return out


def test_an_incremental_run_follows_moves_recounts_and_keeps_what_did_not_change() -> None:
    base = STRATA_FACTS[:8]  # j1; p1, p2, p3; k1 (p1), k3 (p2, senior); s1 lists p1, s2 lists p2
    k4 = STRATA_FACTS[10]  # p3's
    steps: list[tuple[list[Fact], list[str]]] = [
        (base, []),
        ([cert("k2", "p1", "intermediate")], []),  # held/k1's count goes to 2 (a collection read in stratum 1)
        ([cert("k1", "p3", "assistant")], ["certificate/k1"]),  # k1 moves to p3's partition
        ([cert("k5", "p1", "intermediate", "2021-01-01")], []),  # p1's partition is matched again
        ([person("p1", "institution_staff"), person("p2", "township_staff")], ["person/p1", "person/p2"]),
        ([cert("k6", "p2", "senior")], ["certificate/k3"]),  # holds/p2 is derived again, equal
        ([cert("k1", "p3", "assistant")], ["certificate/k1"]),  # an equal copy: nothing changes
        ([k4], []),
        ([cert("k4", "p1", "assistant", "2021-03-01")], ["certificate/k4"]),  # to a partition matched first
        ([], ["certificate/k4"]),
        ([cert("k9", "p3", "assistant")], []),  # p3's held items: nothing may still watch them for k4
        (  # both projects' people change, and s1 itself: s2's listing is re-derived where it is
            [person("p1", "community_worker"), person("p2", "village_cadre"), project("s1", "p1", "p3")],
            ["person/p1", "person/p2", "service_project/s1"],
        ),
        ([], ["person/p2"]),  # s2 lists nobody held: its obligation goes
    ]
    changes = play(program(*STRATA), steps)
    for engine, per_step in changes.items():
        assert [k for k, _, _ in per_step[1]] == ["finding/count/k1", "finding/count/k2", "held/k2", "late/j1"]
        swap = [k for k, _, _ in per_step[5]]
        assert "finding/holds/p2" not in swap, engine
        assert swap == ["finding/count/k3", "finding/count/k6", "held/k3", "held/k6"], engine
        assert per_step[6] == [], engine
        staff = {k: (before, after) for k, before, after in per_step[11]}
        assert staff["S/s1"][1].payer == "p1:community_worker,p3:village_cadre", engine
        assert staff["S/s2"][1].payer == "p2:village_cadre", engine
        assert [(k, after) for k, _, after in per_step[12]] == [("S/s2", None)], engine
        final = {k: v for k, _, v in per_step[-1]}
        assert final["finding/count/k2"].actual == 2 and final["finding/count/k1"].actual == 2, engine
        assert final["late/j1"].payer == "5 counts, 5 held", engine


def test_each_project_listing_a_changed_person_is_derived_again() -> None:
    """Several firings watch one collection; a change must mark every one whose test it passes."""
    people = [person(f"p{i}", "community_worker") for i in range(6)]
    projects = [project(f"s{i}", f"p{i}") for i in range(6)]
    moved = [person(f"p{i}", "village_cadre") for i in range(6)]
    steps: list[tuple[list[Fact], list[str]]] = [
        (people + projects, []),
        (moved, [key_of(p) for p in people]),
    ]
    for engine, per_step in play(program(STRATA[-1]), steps).items():
        assert [(k, after.payer) for k, _, after in per_step[1]] == [
            (f"S/s{i}", f"p{i}:village_cadre") for i in range(6)
        ], engine


def _x_when(enough: bool) -> Any:
    def derive(ctx: Context) -> Iterator[Item]:
        if (len(ctx.all("h")) >= 2) is enough:
            yield Finding(subject="z", requirement="x", satisfied=None, actual=Decimal(1), required=None)

    return derive


def test_an_item_passing_from_one_rule_to_another_while_the_first_rules_match_changes() -> None:
    everything_held = (Collect("h", "held"),)
    many = RuleDef(
        "t.many",
        "x while two or more are held",
        (Match("j", "jurisdiction"),),
        ("finding",),
        _x_when(True),
        collect=everything_held,
    )
    few = RuleDef(
        "t.few",
        "x while fewer are held",
        (Match("p", "person"),),
        ("finding",),
        _x_when(False),
        collect=everything_held,
    )
    steps: list[tuple[list[Fact], list[str]]] = [
        ([Jurisdiction(id="j1"), person("p1", "community_worker"), cert("k1", "p1", "assistant")], []),
        # both firings read 'held', which changes; 'few' also matched p1, replaced in the same update
        ([cert("k2", "p1", "intermediate"), person("p1", "village_cadre")], ["person/p1"]),
    ]
    for engine, per_step in play(program(CHAIN[0], many, few), steps).items():
        assert [(k, after.rule) for k, _, after in per_step[-1] if k.startswith("finding/")] == [
            ("finding/x/z", "many")
        ], engine
