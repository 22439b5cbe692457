"""Values of the rule language kept for an evaluation: what reads no fact is worked out once per evaluation, and
a pure function once per evaluation and arguments; nothing kept leaks into an evaluation with other parameters
or another period, and what reads a fact is never kept."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from swrules import evaluate
from swrules.context import Context
from swrules.ir import ParamSpec
from swrules.lang import evaluate_expression
from swrules.lang._compile import compile_rule
from swrules.period import Period

HEAD = """
[ruleset]
id = "keep-test"
title = "t"
issuer = "i"
published = 2021-01-01
applies_from = 2021-01-01

[parameters]
reward.assistant = "100.00"
reward.intermediate = "150.00"
roles = ["community_worker"]

[parameter_types]
reward.assistant = { type = "money", doc = "Reward for the assistant level." }
reward.intermediate = { type = "money", doc = "Reward for the intermediate level." }
roles = "list of role"
"""

# ``amount_for`` reads no fact: kept per evaluation and rank. ``months`` and ``top`` read no fact either: kept
# per evaluation. ``mine`` reads the person: worked out on every firing.
RULE = """
[[rules]]
id = "r"
clause = "c"
text = "t"
reading = "r"
rule = '''
match p: person
def amount_for(rank) = if rank == 0 then 0 else param("reward", members("certificate level")[rank - 1])
let months = [m for m in months(period) if month(first_day(m)) <= 2]
let top = amount_for(2)
let mine = if p.role in param("roles") then amount_for(1) else amount_for(0)
when mine > 0
for m in months {
  emit obligation { id = obligation_id(p.id, text(m)), kind = "exam_reward", payee = p.id, payer = "x",
                    amount = mine + top, period = text(m), due = text(m) }
}
'''
"""

PEOPLE = [
    {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
    {"type": "person", "id": "p2", "role": "other", "community": "c1"},
    {"type": "person", "id": "p3", "role": "community_worker", "community": "c1"},
    {"type": "community", "id": "c1", "kind": "urban"},
]


def _path(tmp_path: Path) -> Path:
    path = tmp_path / "keep-test.toml"
    path.write_text(HEAD + RULE, encoding="utf-8")
    return path


def _paid(result: object) -> list[tuple[str, str, Decimal]]:
    return sorted((o.payee, o.period, o.amount) for o in result.obligations)  # type: ignore[attr-defined]


def test_kept_values_follow_changed_parameters_and_periods(tmp_path: Path) -> None:
    path = _path(tmp_path)
    first = _paid(evaluate(PEOPLE, ruleset=path, period="2021"))
    assert first == [
        ("p1", "2021-01", Decimal("250.00")),
        ("p1", "2021-02", Decimal("250.00")),
        ("p3", "2021-01", Decimal("250.00")),
        ("p3", "2021-02", Decimal("250.00")),
    ]
    # A what-if with other amounts: nothing worked out for the first evaluation is used again.
    changed = _paid(evaluate(PEOPLE, ruleset=path, period="2021", parameters={"reward.assistant": "70.00"}))
    assert {amount for _, _, amount in changed} == {Decimal("220.00")}
    wider = _paid(evaluate(PEOPLE, ruleset=path, period="2021", parameters={"roles": ["community_worker", "other"]}))
    assert [payee for payee, _, _ in wider] == ["p1", "p1", "p2", "p2", "p3", "p3"]
    # Another period: the months kept for 2021 are not the months of 2022.
    later = _paid(evaluate(PEOPLE, ruleset=path, period="2022"))
    assert [month for _, month, _ in later] == ["2022-01", "2022-02", "2022-01", "2022-02"]
    # And back: the same as the first time.
    assert _paid(evaluate(PEOPLE, ruleset=path, period="2021")) == first


def _compiled(body: str, specs: dict[str, ParamSpec]) -> object:
    definition, problems = compile_rule("r", body, doc="d", reads="snapshot", param_specs=specs)
    assert not problems, problems
    return definition


def _context(params: dict[str, object], person: object, period: str = "2021") -> Context:
    return Context("keep-test", "r", Period.parse(period), {"p": person}, {}, params)


class _Person:
    """A stand-in for a matched item: a subject and a count of any kind."""

    def __init__(self, subject: str, count: object) -> None:
        self.subject = subject
        self.count = count


def test_a_pure_function_is_kept_per_argument_and_a_fact_reading_one_is_not() -> None:
    specs = {"base": ParamSpec("int", "b")}
    body = """
match p: subject_count
def scaled(n) = n * param("base")
def own(n) = n + p.count
let a = scaled(p.count)
let b = own(1)
emit subject_count { subject = p.subject, what = text(a) + "/" + text(b), count = 0 }
"""
    definition = _compiled(body, specs)
    params = {"base": 10}
    seen = []
    for person in (_Person("x", 1), _Person("y", 2), _Person("z", 1)):
        (item,) = definition.derive(_context(params, person))  # type: ignore[attr-defined]
        seen.append(item.what)
    assert seen == ["10/2", "20/3", "10/2"]
    (item,) = definition.derive(_context({"base": 7}, _Person("x", 1)))  # type: ignore[attr-defined]
    assert item.what == "7/2"  # other parameters: the value kept for rank 1 under base 10 is not used


def test_a_pure_function_tells_true_from_one_and_does_not_key_decimals() -> None:
    specs = {"base": ParamSpec("int", "b")}
    body = """
match p: subject_count
def shown(x) = text(x) + "|" + text(param("base"))
emit subject_count { subject = p.subject, what = shown(p.count), count = 0 }
"""
    definition = _compiled(body, specs)
    params = {"base": 1}
    whats = []
    for rank in (1, True, Decimal("1.0"), Decimal("1.00"), 1):
        (item,) = definition.derive(_context(params, _Person("x", rank)))  # type: ignore[attr-defined]
        whats.append(item.what)
    assert whats == ["1|1", "True|1", "1.0|1", "1.00|1", "1|1"]


def test_a_name_bound_twice_is_never_taken_as_fact_free() -> None:
    # ``y`` reads ``x`` before the loop binds ``x`` again: kept for the evaluation, it would stay 100.
    specs = {"base": ParamSpec("int", "b")}
    body = """
match p: subject_count
let x = 0
for n in [1, 2, 3] {
  let y = x + param("base")
  let x = n
  emit subject_count { subject = p.subject + text(n), what = text(y), count = 0 }
}
"""
    definition = _compiled(body, specs)
    items = list(definition.derive(_context({"base": 100}, _Person("x", 1))))  # type: ignore[attr-defined]
    assert [i.what for i in items] == ["100", "101", "102"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 + 2", 3), ("[x * 2 for x in [1, 2]]", (2, 4)), ("if true then 1 else 2", 1)],
)
def test_a_bare_expression_keeps_nothing(text: str, expected: object) -> None:
    assert evaluate_expression(text) == expected
    assert evaluate_expression(text) == expected


def test_a_condition_on_a_function_argument_or_an_element_is_not_kept() -> None:
    # ``rank == 0`` and ``x > 1`` read no fact, but an argument and an element: worked out on every call.
    specs = {"base": ParamSpec("int", "b")}
    body = """
match p: subject_count
def nonzero(rank) = if rank == 0 then 0 else param("base")
let big = [x for x in [1, 2, 3] if x > 1 and param("base") > 0]
emit subject_count { subject = p.subject, what = text(nonzero(p.count)) + text(count(big)), count = 0 }
"""
    definition = _compiled(body, specs)
    whats = []
    for rank in (0, 1, 0):
        (item,) = definition.derive(_context({"base": 5}, _Person("x", rank)))  # type: ignore[attr-defined]
        whats.append(item.what)
    assert whats == ["02", "52", "02"]


def test_steps_after_an_emit_a_trailing_guard_or_let_and_an_empty_branch_run_as_written() -> None:
    specs = {"base": ParamSpec("int", "b")}
    body = """
match p: subject_count
def add(a, b) = a + b + p.count
emit subject_count { subject = p.subject + "-first", what = "x", count = 0 }
if p.count > 100 { } else { emit subject_count { subject = p.subject + "-else", what = "x", count = 0 } }
let n = add(param("base"), 2)
emit subject_count { subject = p.subject + "-last", what = text(n), count = n }
when error("a guard after the last emit is still worked out")
"""
    definition = _compiled(body, specs)
    with pytest.raises(Exception, match="a guard after the last emit is still worked out"):
        list(definition.derive(_context({"base": 1}, _Person("x", 3))))  # type: ignore[attr-defined]
    trailing_let = body.replace('when error("a guard after the last emit is still worked out")', "let unused = 1")
    definition = _compiled(trailing_let, specs)
    items = list(definition.derive(_context({"base": 1}, _Person("x", 3))))  # type: ignore[attr-defined]
    assert [(i.subject, i.what) for i in items] == [("x-first", "x"), ("x-else", "x"), ("x-last", "6")]


def test_a_pure_function_keeps_a_bounded_number_of_results() -> None:
    specs = {"base": ParamSpec("int", "b")}
    body = """
match p: subject_count
def scaled(n) = n * param("base")
emit subject_count { subject = p.subject, what = text(scaled(p.count)), count = 0 }
"""
    definition = _compiled(body, specs)
    params = {"base": 3}
    for n in (*range(5000), 4999, 0):
        (item,) = definition.derive(_context(params, _Person("x", n)))  # type: ignore[attr-defined]
        assert item.what == str(3 * n)


def test_an_enum_compared_with_a_value_of_unknown_kind_compares_by_its_value() -> None:
    body = """
match p: subject_count
let kinds = [x for x in members("community kind")]
emit subject_count { subject = p.subject, what = if p.count == kinds[0] then "same" else "other", count = 0 }
"""
    definition = _compiled(body, {})
    for value, expected in (("urban", "same"), ("rural", "other")):
        (item,) = definition.derive(_context({}, _Person("x", value)))  # type: ignore[attr-defined]
        assert item.what == expected
