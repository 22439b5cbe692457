"""Compiling rules into a program: parameters resolved, joins checked, strata ordered, mistakes named."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from swrules.context import Context
from swrules.engine import RuleBinding, compile_program
from swrules.engine._program import Program
from swrules.errors import RulesetError
from swrules.ir import Collect, Lit, Match, Op, Param, Ref, RuleDef
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import Item
from swrules.period import Period


def _nothing(ctx: Context) -> Iterator[Item]:
    return iter(())


def rule(
    name: str,
    match: tuple[Match, ...],
    *,
    collect: tuple[Collect, ...] = (),
    emits: tuple[str, ...] = (),
) -> RuleDef:
    return RuleDef(name, "a test rule", match, emits, _nothing, collect=collect)


def compile_(*rules: RuleDef, params: dict[str, Any] | None = None, period: str = "2021-02") -> Program:
    bindings = [RuleBinding(id=f"r{i}", clause=f"c{i}", definition=r) for i, r in enumerate(rules)]
    # No type carries a window here: what is checked is the rules' own tests (the window's are tested below).
    return compile_program("t", bindings, params or {}, Period.parse(period), dated=frozenset())


def where(prog: Program, index: int = 0, pattern: int = 0) -> tuple[Cond, ...]:
    return prog.rules[index].match[pattern].where


# -- parameters ----------------------------------------------------------------------------


def test_period_values_are_parameters_of_every_rule() -> None:
    tests = tuple(
        Cond(field, Op.EQ, Param(name))
        for field, name in [("a", "period.start"), ("b", "period.end"), ("c", "period.year"), ("d", "period")]
    )
    prog = compile_(rule("t.p", (Match("p", "person", tests),)))
    assert [t.operand for t in where(prog)] == [Lit("2021-02-01"), Lit("2021-02-28"), Lit(2021), Lit("2021-02")]


def test_a_list_parameter_becomes_a_tuple_of_strings_and_the_tests_after_it_are_kept() -> None:
    tests = (
        Cond("role", Op.IN, Param("roles")),
        Cond("id", Op.NE, Param("who")),
        Cond("community", Op.EQ, Param("none")),
    )
    prog = compile_(
        rule("t.p", (Match("p", "person", tests),)), params={"roles": ["a", "b"], "who": "p9", "none": None, "other": 1}
    )
    assert where(prog) == (
        Cond("role", Op.IN, Lit(("a", "b"))),
        Cond("id", Op.NE, Lit("p9")),
        Cond("community", Op.EQ, Lit(None)),
    )
    assert prog.rules[0].params == {"roles": ["a", "b"], "who": "p9", "none": None}  # what the rule reads


def test_a_snapshot_rule_sees_what_is_in_force_on_its_day_and_a_history_rule_sees_every_version() -> None:
    snapshot = rule("t.s", (Match("p", "person"),), collect=(Collect("h", "held"),))
    history = RuleDef("t.h", "reads histories", (Match("p", "person"),), (), _nothing, reads="history")
    bindings = [
        RuleBinding(id="s", clause="c", definition=snapshot),
        RuleBinding(id="h", clause="c", definition=history),
    ]
    window = (Cond("valid_from", Op.LE, Lit("2021-02-28")), Cond("valid_until", Op.GE, Lit("2021-02-28")))
    prog = compile_program("t", bindings, {}, Period(2021, 2), dated=frozenset({"person", "held"}))
    assert where(prog, 0) == window and prog.rules[0].collect[0].where == window
    assert where(prog, 1) == ()
    only_held = compile_program("t", bindings, {}, Period(2021, 2), dated=frozenset({"held"}))
    assert where(only_held, 0) == () and only_held.rules[0].collect[0].where == window
    assert prog.rules[0].judged == "2021-02-28" and prog.rules[1].judged == ""


def _error(*rules: RuleDef, params: dict[str, Any] | None = None) -> RulesetError:
    with pytest.raises(RulesetError) as caught:
        compile_(*rules, params=params)
    return caught.value


def test_a_parameter_the_ruleset_does_not_set_is_named_with_the_rule() -> None:
    err = _error(rule("t.p", (Match("p", "person", (Cond("role", Op.EQ, Param("nope")),)),)))
    assert str(err) == "[nope]: rule 'r0' (t.p) reads parameter 'nope', which the ruleset does not set"
    assert err.key == "nope"
    in_collect = rule(
        "t.c", (Match("p", "person"),), collect=(Collect("h", "held", (Cond("person", Op.EQ, Param("gone")),)),)
    )
    err = _error(in_collect)
    assert str(err) == "[gone]: rule 'r0' (t.c) reads parameter 'gone', which the ruleset does not set"


def test_a_list_parameter_tested_other_than_by_in_is_refused() -> None:
    err = _error(rule("t.p", (Match("p", "person", (Cond("role", Op.EQ, Param("roles")),)),)), params={"roles": ["a"]})
    assert str(err) == "[roles]: rule 'r0' (t.p): parameter 'roles' is a list; only 'in' can test it"
    assert err.key == "roles"


def test_a_parameter_of_another_kind_cannot_be_tested() -> None:
    err = _error(
        rule("t.p", (Match("p", "person", (Cond("x", Op.LE, Param("cap")),)),)), params={"cap": Decimal("0.7")}
    )
    assert str(err) == "[cap]: rule 'r0' (t.p): parameter 'cap' cannot be used in a test (got Decimal('0.7'))"
    assert err.key == "cap"


# -- joins -------------------------------------------------------------------------------------


def test_an_unknown_type_is_named() -> None:
    err = _error(rule("t.u", (Match("z", "nothing"),)))
    assert str(err) == "rule 'r0' (t.u): pattern 'z' matches unknown type 'nothing'"


NOT_JOINED = (
    "rule 'r0' (t.j): pattern 's' (person_status) is not joined to an earlier pattern through a partition field, "
    "so it could never meet it in one session; use a collection instead"
)


@pytest.mark.parametrize(
    "tests",
    [
        (),
        (Cond("registered", Op.EQ, Lit(True)),),  # an equality, but with a literal
        (Cond("community", Op.EQ, Ref("p", "community")),),  # joined, but not through the partition
        (Cond("person", Op.NE, Ref("p", "id")),),  # through the partition, but not an equality
        (Cond("person", Op.EQ, Ref("p", "community")),),  # a partition field on one side only
    ],
)
def test_a_pattern_not_joined_through_a_partition_field_is_refused(tests: tuple[Cond, ...]) -> None:
    err = _error(rule("t.j", (Match("p", "person"), Match("s", "person_status", tests))))
    assert str(err) == NOT_JOINED


def test_a_join_through_the_partition_is_accepted_after_other_tests() -> None:
    tests = (Cond("registered", Op.EQ, Lit(True)), Cond("person", Op.EQ, Ref("p", "id")))
    prog = compile_(rule("t.j", (Match("p", "person"), Match("s", "person_status", tests))))
    assert where(prog, 0, 1) == tests


def test_in_against_another_fact_is_refused_even_after_in_against_a_list() -> None:
    tests = (
        Cond("person", Op.EQ, Ref("p", "id")),
        Cond("community", Op.IN, Lit(("c1",))),
        Cond("organization", Op.IN, Ref("p", "organization")),
    )
    err = _error(rule("t.i", (Match("p", "person"), Match("s", "person_status", tests))))
    assert str(err) == "rule 'r0' (t.i): 'in' against another fact is only allowed in a collection"


# -- strata ------------------------------------------------------------------------------------


def test_no_rules_make_a_program_with_no_strata() -> None:
    prog = compile_()
    assert prog.rules == () and prog.strata == ()


def test_strata_follow_collections_whatever_order_the_rules_are_listed_in() -> None:
    third = rule("t.third", (Match("p", "person"),), collect=(Collect("s", "post_status"),), emits=("finding",))
    second = rule("t.second", (Match("p", "person"),), collect=(Collect("h", "held"),), emits=("post_status",))
    first = rule("t.first", (Match("c", "certificate"),), emits=("held",))
    chained = rule("t.chained", (Match("h", "held"),), emits=("eligibility",))
    prog = compile_(third, second, chained, first)
    assert [r.stratum for r in prog.rules] == [2, 1, 0, 0]
    assert [[r.id for r in s] for s in prog.strata] == [["r2", "r3"], ["r1"], ["r0"]]
    assert prog.consumed(0) == {"held", "certificate"}


def test_rules_that_collect_what_they_derive_are_named() -> None:
    loop_a = rule("t.a", (Match("p", "person"),), collect=(Collect("h", "held"),), emits=("eligibility",))
    loop_b = rule("t.b", (Match("p", "person"),), collect=(Collect("e", "eligibility"),), emits=("held",))
    fine = rule("t.fine", (Match("p", "person"),), emits=("finding",))
    with pytest.raises(RulesetError) as caught:
        compile_(fine, loop_a, loop_b)
    assert str(caught.value) == "rules collect what they themselves derive, so no order can complete them: r1, r2"


def _on(type_: str) -> tuple[Match, ...]:
    return (Match("x", type_),)


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        (  # a rule that only matches what a cycle derives is named with it
            [
                rule("t.a", _on("eligibility"), emits=("finding",)),
                rule("t.b", _on("person"), collect=(Collect("o", "obligation"),), emits=("eligibility",)),
                rule("t.c", _on("finding"), emits=("obligation",)),
                rule("t.d", _on("person"), collect=(Collect("o", "obligation"),), emits=("finding",)),
            ],
            "r1, r2, r3",
        ),
        (  # a rule collecting what it derives, and one matching it
            [
                rule("t.a", _on("obligation"), collect=(Collect("h", "held"),), emits=("finding",)),
                rule("t.b", _on("person"), collect=(Collect("o", "obligation"),), emits=("obligation",)),
            ],
            "r0, r1",
        ),
    ],
)
def test_the_rules_named_in_a_cycle_are_those_whose_stratum_never_settles(rules: list[RuleDef], named: str) -> None:
    with pytest.raises(RulesetError) as caught:
        compile_(*rules)
    assert str(caught.value) == f"rules collect what they themselves derive, so no order can complete them: {named}"
