"""A batch run sorts each collection's candidates into groups once a stratum; a match reads its group.

Every group must hold exactly what looking the collection up for that match gives (the plain way, which
incremental runs keep): the same objects, in the same order. Where a joined value cannot be a key, the
collection is looked up per match instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from programs import PEOPLE, program

import swrules
from swrules.engine import incremental
from swrules.engine._native import NativeBackend
from swrules.engine._program import BoundRule
from swrules.engine._run import Run, _compile_collect, key_of
from swrules.ir import Collect, Match, Op, Ref, RuleDef
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import Finding
from swrules.load import FactSet
from swrules.population import generate

HELD_OF_PERSON = Collect("h", "held", (Cond("person", Op.EQ, Ref("p", "id")),))


def _counts(*collects: Collect) -> RuleDef:
    return RuleDef(
        "t.counts", "collects for a person", (Match("p", "person"),), (), lambda ctx: iter(()), collect=collects
    )


def test_every_group_of_the_shipped_rulesets_is_what_a_lookup_per_match_gives(monkeypatch: Any) -> None:
    compared = []
    fire_many = Run.fire_many

    def checked(run: Run, rule: BoundRule, matches: Iterable[tuple[Any, ...]]) -> list[Any]:
        matches = list(matches)
        if rule.collect:
            plan = run._plan(rule)
            collectors = dict(run._collectors_of(rule, plan))
            for objs in matches:
                bound = dict(zip(plan.aliases, objs, strict=True))
                for alias, c, _ in plan.collects:
                    assert collectors[alias](bound) == run._collect(c, bound), (rule.id, alias, key_of(objs[0]))
                    compared.append(rule.id)
        return fire_many(run, rule, matches)

    monkeypatch.setattr(Run, "fire_many", checked)
    for name, year in (("dingnan-2020", 2021), ("zhejiang-2019", 2022), ("xx-county-2023", 2023)):
        facts = generate(150, year=year, histories=0.3)
        swrules.evaluate(facts, ruleset=name, period=str(year), engine="native")
    assert len(compared) > 1000 and len(set(compared)) >= 15


def test_a_joined_value_that_cannot_be_a_key_is_looked_up_per_match() -> None:
    prog = program(_counts(HELD_OF_PERSON))
    run = Run(prog, FactSet.of(PEOPLE), NativeBackend())
    run.begin_stratum(0)
    rule = prog.rules[0]
    ((_, collect),) = run._collectors_of(rule, run._plan(rule))
    odd: Any = {"p": SimpleNamespace(id=["p1"])}  # a list: no key, and equal to no person field
    assert collect(odd) == () == run._collect(_compile_collect(HELD_OF_PERSON, {"p": "person"}), odd)
    assert [key_of(o) for o in collect({"p": run.get("person/p1")})] == []  # held come in a later stratum


def _finding(subject: str, actual: Decimal) -> Finding:
    return Finding(subject=subject, requirement="r", satisfied=None, actual=actual, required=None)


def test_candidates_whose_joined_value_is_unequal_to_itself_are_looked_up_per_match() -> None:
    same_actual = Collect("f", "finding", (Cond("actual", Op.EQ, Ref("g", "actual")),))
    rule = RuleDef(
        "t.same",
        "findings with the same actual",
        (Match("g", "finding"),),
        (),
        lambda ctx: iter(()),
        collect=(same_actual,),
    )
    prog = program(rule)
    run = Run(prog, FactSet.of(()), NativeBackend())
    nan, one = _finding("a", Decimal("NaN")), _finding("b", Decimal(1))
    run._by_type["finding"].extend([nan, one, _finding("c", Decimal("1.0"))])
    run.begin_stratum(0)
    bound_rule = prog.rules[0]
    plan = run._plan(bound_rule)
    ((_, collect),) = run._collectors_of(bound_rule, plan)
    assert run._groups[plan.collects[0][1].shape] is None
    for g in (nan, one):
        assert collect({"g": g}) == run._collect(plan.collects[0][1], {"g": g})
    assert [key_of(f) for f in collect({"g": one})] == ["finding/r/b", "finding/r/c"]


def test_an_incremental_run_looks_collections_up_as_the_store_is_now() -> None:
    prog = program(_counts(HELD_OF_PERSON))
    run: Any = incremental(prog, "native")
    assert run.grouped is False and Run.grouped is True
