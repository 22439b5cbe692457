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


def test_a_template_redefined_under_its_name_runs_its_new_definition_not_the_compiled_old_one() -> None:
    from decimal import Decimal

    from swrules.engine import RuleBinding, compile_program, execute, incremental, update
    from swrules.ir import Match, RuleDef
    from swrules.items import Finding
    from swrules.load import load_facts
    from swrules.period import Period

    facts = load_facts(FACTS)

    def program(requirement: str) -> swrules.engine.Program:
        def derive(ctx: object) -> list[Finding]:
            return [Finding(subject="p1", requirement=requirement, satisfied=None, actual=Decimal(1), required=None)]

        rule = RuleDef("t.same", "one name, several definitions", (Match("p", "person"),), ("finding",), derive)
        binding = RuleBinding(id="same", clause="c", definition=rule)
        return compile_program("t", [binding], {}, Period.parse("2021"))

    for requirement in ("first", "second", "first"):
        prog = program(requirement)
        assert [i.requirement for i in execute(prog, facts, "durable").items] == [requirement]
        inc = incremental(prog, "durable")
        update(inc, facts, [])
        assert [i.requirement for i in inc.items_now()] == [requirement]


def test_rules_of_one_name_and_one_derive_but_other_tests_are_other_programs() -> None:
    from decimal import Decimal

    from swrules.context import Context
    from swrules.engine import RuleBinding, compile_program, execute
    from swrules.ir import Collect, Lit, Match, Op, RuleDef, Test
    from swrules.items import Finding
    from swrules.load import load_facts
    from swrules.period import Period

    people = load_facts(
        [
            {"type": "person", "id": "p1", "role": "community_worker"},
            {"type": "person", "id": "p2", "role": "village_cadre"},
            {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-15"},
            {"type": "certificate", "id": "k2", "holder": "p2", "level": "senior", "obtained_on": "2021-03-15"},
        ]
    )

    def derive(ctx: Context) -> list[Finding]:
        actual = Decimal(len(ctx.all("c")))
        return [Finding(subject=ctx["p"].id, requirement="r", satisfied=None, actual=actual, required=None)]

    def run(role: str, level: str) -> list[tuple[str, Decimal]]:
        rule = RuleDef(
            "t.same",
            "one name, one derive function, other tests",
            (Match("p", "person", (Test("role", Op.EQ, Lit(role)),)),),
            ("finding",),
            derive,
            collect=(Collect("c", "certificate", (Test("level", Op.EQ, Lit(level)),)),),
        )
        prog = compile_program("t", [RuleBinding(id="same", clause="c", definition=rule)], {}, Period.parse("2021"))
        return [(i.subject, i.actual) for i in execute(prog, people, "durable").items]

    assert run("community_worker", "assistant") == [("p1", Decimal(1))]
    assert run("village_cadre", "assistant") == [("p2", Decimal(1))]
    assert run("village_cadre", "intermediate") == [("p2", Decimal(0))]
