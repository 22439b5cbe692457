"""What a run gives back besides items — objects, derivations, progress, budgets — and how a broken rule fails it.

Each failure must name the rule, the facts it matched and the cause, the same
way whichever engine runs the rule and whether the evaluation is a batch or
an incremental update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from programs import CHAIN, ENGINES_HERE, PEOPLE, facts, program

import swrules
from swrules.context import Context
from swrules.engine import execute, incremental, update
from swrules.engine._native import NativeBackend
from swrules.engine._run import Run, key_of
from swrules.errors import EngineError, EvaluationTimeout, RuleFailedError
from swrules.facts import FACT_TYPES
from swrules.ir import Collect, Match, Op, Ref, RuleDef
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import Finding, Held, Item, PersonStatus
from swrules.load import FactSet
from swrules.population import generate

TWO = facts(
    {"type": "jurisdiction", "id": "j1"},
    {"type": "person", "id": "p1", "role": "community_worker"},
    {"type": "person", "id": "p2", "role": "community_worker"},
)
PERSON = (Match("p", "person"),)


def _finding(subject: str, requirement: str = "x", actual: int = 1, **extra: Any) -> Finding:
    return Finding(
        subject=subject, requirement=requirement, satisfied=None, actual=Decimal(actual), required=None, **extra
    )


def _batch(rules: tuple[RuleDef, ...], engine: str) -> Run:
    return execute(program(*rules), FactSet.of(TWO), engine)


def _session(rules: tuple[RuleDef, ...], engine: str) -> Any:
    inc = incremental(program(*rules), engine)
    update(inc, TWO, [])
    return inc


RUNNERS: list[tuple[str, Callable[[tuple[RuleDef, ...], str], Any]]] = [("batch", _batch), ("session", _session)]
EVERY_WAY = [(how, run, engine) for how, run in RUNNERS for engine in ENGINES_HERE]
IDS = [f"{how}-{engine}" for how, _, engine in EVERY_WAY]


def _failure(rules: tuple[RuleDef, ...], how: Callable[[tuple[RuleDef, ...], str], Any], engine: str) -> Any:
    with pytest.raises(EngineError) as caught:
        how(rules, engine)
    return caught.value


# -- broken rules ------------------------------------------------------------------------------


def _boom(ctx: Context) -> Iterator[Item]:
    if ctx["p"].id == "p2":
        raise ZeroDivisionError("a bug in a rule")
    return iter(())


@pytest.mark.parametrize(("how", "run", "engine"), EVERY_WAY, ids=IDS)
def test_a_rule_that_raises_is_named_with_its_facts_and_the_cause(how: str, run: Any, engine: str) -> None:
    err = _failure((RuleDef("t.boom", "raises", PERSON, (), _boom),), run, engine)
    assert isinstance(err, RuleFailedError)
    assert (err.rule, err.facts, err.cause) == ("boom", ("person/p2",), "ZeroDivisionError: a bug in a rule")


@pytest.mark.parametrize(("how", "run", "engine"), EVERY_WAY, ids=IDS)
def test_a_rule_deriving_a_type_it_does_not_declare_is_named(how: str, run: Any, engine: str) -> None:
    wrong = RuleDef(
        "t.wrong", "emits held, derives a finding", PERSON, ("held",), lambda ctx: iter([_finding(ctx["p"].id)])
    )
    err = _failure((wrong,), run, engine)
    assert isinstance(err, RuleFailedError)
    assert (err.rule, err.facts, err.cause) == ("wrong", ("person/p1",), "derived a finding, which it does not declare")


def _stray_held(ctx: Context) -> Iterator[Item]:
    yield Held(
        person="elsewhere",
        certificate=f"k-{ctx['p'].id}",
        level=swrules.CertLevel.ASSISTANT,
        obtained_on=swrules.Period.parse("2021").start,
        registered=False,
    )


STRAY = (
    RuleDef("t.stray", "derives a held item of another person", PERSON, ("held",), _stray_held),
    RuleDef("t.reads_held", "matches held, in the same stratum", (Match("h", "held"),), (), lambda ctx: iter(())),
)


@pytest.mark.parametrize(("how", "run", "engine"), [w for w in EVERY_WAY if w[0] == "session" or w[2] == "durable"])
def test_an_item_derived_outside_the_partition_of_its_match_is_refused(how: str, run: Any, engine: str) -> None:
    err = _failure(STRAY, run, engine)
    assert isinstance(err, RuleFailedError)
    assert (err.rule, err.facts) == ("stray", ("person/p1",))
    assert err.cause == "derived 'held/k-p1' outside its partition 'person:p1'"


@pytest.mark.parametrize(("how", "run", "engine"), EVERY_WAY, ids=IDS)
def test_two_rules_deriving_one_item_are_refused(how: str, run: Any, engine: str) -> None:
    same = [
        RuleDef(
            f"t.{n}",
            "derives the jurisdiction's finding",
            (Match("j", "jurisdiction"),),
            ("finding",),
            lambda ctx: iter([_finding("j1")]),
        )
        for n in ("first", "second")
    ]
    err = _failure(tuple(same), run, engine)
    assert str(err) == "rules 'first' and 'second' both derive 'finding/x/j1'; an item has one cause"


@pytest.mark.parametrize(("how", "run", "engine"), EVERY_WAY, ids=IDS)
def test_one_match_deriving_two_different_items_under_one_key_is_refused(how: str, run: Any, engine: str) -> None:
    two = RuleDef(
        "t.two",
        "two values from the one jurisdiction",
        (Match("j", "jurisdiction"),),
        ("finding",),
        lambda ctx: iter([_finding("j1", actual=1), _finding("j1", actual=2)]),
    )
    err = _failure((two,), run, engine)
    assert str(err) == "rules 'two' and 'two' both derive 'finding/x/j1'; an item has one cause"


def _derived(rules: tuple[RuleDef, ...], run: Any, engine: str) -> list[Item]:
    done = run(rules, engine)
    return list(done.items) if isinstance(done, Run) and not hasattr(done, "items_now") else list(done.items_now())


@pytest.mark.parametrize(("how", "run", "engine"), EVERY_WAY, ids=IDS)
def test_the_same_item_twice_from_one_match_is_one_item_and_what_follows_is_kept(
    how: str, run: Any, engine: str
) -> None:
    def twice(ctx: Context) -> Iterator[Item]:
        p = ctx["p"].id
        yield _finding(p, "a")
        yield _finding(p, "a")
        yield _finding(p, "b")

    items = _derived((RuleDef("t.twice", "repeats", PERSON, ("finding",), twice),), run, engine)
    assert sorted(i.key for i in items) == ["finding/a/p1", "finding/a/p2", "finding/b/p1", "finding/b/p2"]


PRESET = _finding("j1", "preset", rule="someone", clause="")
PRESET_BOTH = _finding("j1", "preset_both", rule="someone", clause="elsewhere")


@pytest.mark.parametrize(("how", "run", "engine"), EVERY_WAY, ids=IDS)
def test_an_item_that_already_names_a_rule_is_copied_not_changed(how: str, run: Any, engine: str) -> None:
    reuse = RuleDef(
        "t.reuse",
        "yields shared items",
        (Match("j", "jurisdiction"),),
        ("finding",),
        lambda ctx: iter([PRESET, PRESET_BOTH]),
    )
    items = _derived((reuse,), run, engine)
    assert sorted((i.key, i.rule, i.clause) for i in items) == [
        ("finding/preset/j1", "reuse", "test.t.reuse"),
        ("finding/preset_both/j1", "reuse", "test.t.reuse"),
    ]
    assert (PRESET.rule, PRESET.clause, PRESET_BOTH.rule, PRESET_BOTH.clause) == ("someone", "", "someone", "elsewhere")


# -- what a run hands back ------------------------------------------------------------------------


def test_a_runs_objects_are_its_facts_then_its_items() -> None:
    run = execute(program(*CHAIN), FactSet.of(PEOPLE), "native")
    objects = run.objects
    assert len(objects) == len(PEOPLE) + len(run.items) == 6 + 48
    assert list(objects)[:6] == [key_of(f) for f in PEOPLE]
    assert list(objects)[6:] == [i.key for i in run.items]
    assert "person/p1" in objects and "held/k1" in objects
    assert "person/p9" not in objects and "p1" not in objects and 7 not in objects
    assert objects["certificate/k2"] is PEOPLE[4] and run.get("certificate/k2") is PEOPLE[4]
    with pytest.raises(KeyError, match="person/p9"):
        objects["person/p9"]


def test_a_derivation_names_its_item_rule_and_what_it_matched() -> None:
    run = execute(program(*CHAIN), FactSet.of(PEOPLE), "native")
    derivations = run.derivations
    found = derivations["G/p1/junior/k1"]
    assert found.key == "G/p1/junior/k1" and found.rule == "three_way"
    assert found.matched == (("p", "person/p1"), ("e", "eligibility/p1/junior"), ("h", "held/k1"))
    assert derivations["G/p1/junior/k1"] == found and "G/p1/junior/k1" in derivations
    assert len(derivations) == 48 and set(derivations) == {i.key for i in run.items}


def test_a_run_collects_for_a_rule_and_a_match_on_request() -> None:
    counts = RuleDef(
        "t.counts",
        "collects held of the person",
        PERSON,
        (),
        lambda ctx: iter(()),
        collect=(Collect("h", "held", (Cond("person", Op.EQ, Ref("p", "id")),)),),
    )
    prog = program(CHAIN[0], counts)
    run = execute(prog, FactSet.of(PEOPLE), "native")
    person = run.get("person/p1")
    collected = run.collect(prog.rules[1], {"p": person})
    assert {alias: [key_of(o) for o in objs] for alias, objs in collected.items()} == {"h": ["held/k1", "held/k2"]}
    assert run.collect(prog.rules[0], {"c": run.get("certificate/k1")}) == {}


def test_a_run_collects_for_a_rule_that_has_not_fired_yet() -> None:
    certs = RuleDef(
        "t.certs",
        "collects the person's certificates",
        PERSON,
        (),
        lambda ctx: iter(()),
        collect=(Collect("c", "certificate", (Cond("holder", Op.EQ, Ref("p", "id")),)),),
    )
    prog = program(certs)
    run = Run(prog, FactSet.of(PEOPLE), NativeBackend())
    collected = run.collect(prog.rules[0], {"p": run.get("person/p1")})
    assert [key_of(o) for o in collected["c"]] == ["certificate/k1", "certificate/k2"]


def test_a_run_past_its_deadline_says_so_when_asked() -> None:
    prog = program(*CHAIN)
    open_ended = Run(prog, FactSet.of(PEOPLE), NativeBackend())
    open_ended.check_time()
    budgeted = Run(prog, FactSet.of(PEOPLE), NativeBackend(), timeout=0.02)
    budgeted.check_time()
    time.sleep(0.05)
    with pytest.raises(EvaluationTimeout) as caught:
        budgeted.check_time()
    assert caught.value.seconds == 0.02


def _slow(ctx: Context) -> Iterator[Item]:
    time.sleep(0.01)
    return iter(())


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_the_budget_is_the_one_given_and_a_generous_one_is_not_hit(engine: str) -> None:
    many = facts(*({"type": "person", "id": f"p{i}", "role": "community_worker"} for i in range(30)))
    slow = program(RuleDef("t.slow", "sleeps", PERSON, (), _slow))
    with pytest.raises(EvaluationTimeout) as caught:
        execute(slow, FactSet.of(many), engine, timeout=0.05)
    assert caught.value.seconds == 0.05
    assert execute(program(*CHAIN), FactSet.of(PEOPLE), engine, timeout=60).items


# -- progress --------------------------------------------------------------------------------------


def test_the_batch_engine_reports_each_rule_of_each_stratum_once() -> None:
    calls: list[tuple[int, int, int, int]] = []
    facts_ = generate(20)
    swrules.evaluate(
        facts_, ruleset="dingnan-2020", period="2021", engine="native", progress=lambda *a: calls.append(a)
    )
    strata = calls[0][1]
    assert strata > 1 and all(c[1] == strata for c in calls)
    for stratum in range(strata):
        mine = [c for c in calls if c[0] == stratum]
        total = mine[0][3]
        assert [(c[2], c[3]) for c in mine] == [(done, total) for done in range(1, total + 1)]
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


@pytest.mark.skipif("durable" not in ENGINES_HERE, reason="durable-rules does not import here")
def test_the_partition_engine_reports_every_256_partitions_and_at_the_end() -> None:
    calls: list[tuple[int, int, int, int]] = []
    facts_ = generate(300)
    swrules.evaluate(
        facts_, ruleset="dingnan-2020", period="2021", engine="durable", progress=lambda *a: calls.append(a)
    )
    strata = calls[0][1]
    first = [c for c in calls if c[0] == 0]
    total = first[0][3]
    assert total > 300
    assert first == [(0, strata, 0, total), (0, strata, 256, total), (0, strata, total, total)]
    assert {c[0] for c in calls} == set(range(strata)) and all(c[1] == strata for c in calls)
    assert all(c[2:] == (c[3], c[3]) for c in calls if c[2] not in (0, 256))


# -- an incremental run ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_an_incremental_run_lists_its_facts_and_objects_of_a_type(engine: str) -> None:
    inc = incremental(program(*CHAIN), engine)
    update(inc, PEOPLE, [])
    assert sorted(k for k in inc.objects if k.split("/")[0] in FACT_TYPES) == sorted(key_of(f) for f in PEOPLE)
    assert [key_of(o) for o in inc.of_type("certificate")] == ["certificate/k1", "certificate/k2", "certificate/k3"]
    assert [o.key for o in inc.of_type("held")][:2] == ["held/k1", "held/k2"]
    assert inc.of_type("jurisdiction") == []


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_replacing_a_fact_by_an_equal_one_hides_no_other_change(engine: str) -> None:
    inc = incremental(program(*CHAIN), engine)
    k1, k2 = PEOPLE[3], PEOPLE[4]
    update(inc, [f for f in PEOPLE if f is not k1], [])
    same_k2 = attrs.evolve(k2)  # equal, a new object; changes whose keys sort after it must still be listed
    changes = update(inc, [same_k2, k1], ["certificate/k2"])
    keys = [key for key, _, _ in changes]
    assert keys == sorted(keys) and keys[-1] > "certificate/k2"
    assert {key for key, before, _ in changes if before is None} >= {"held/k1", "D/k1", "held/x-D/k1", "G/p1/junior/k1"}
    assert not [k for k in keys if k.startswith("B/") or k == "held/k2"]  # p1's card and k2's held did not change


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_an_item_derived_again_equal_keeps_its_object_and_is_not_reported(engine: str) -> None:
    statuses = RuleDef(
        "t.status",
        "a status per person",
        PERSON,
        ("person_status",),
        lambda ctx: iter(
            [PersonStatus(person=ctx["p"].id, community=None, organization=None, top_level=None, registered=False)]
        ),
    )
    inc = incremental(program(statuses), engine)
    update(inc, TWO, [])
    before = {o.key: o for o in inc.items_now()}
    again = facts({"type": "person", "id": "p1", "role": "community_worker"})  # equal to p1, a new object
    assert update(inc, again, ["person/p1"]) == []
    assert inc.get("person/p1") is again[0]
    assert all(inc.get(k) is v for k, v in before.items())
    assert update(inc, facts({"type": "person", "id": "p3", "role": "village_cadre"}), []) == [
        ("person_status/p3", None, inc.get("person_status/p3"))
    ]
