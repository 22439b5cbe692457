"""Edges the rest of the suite left open (each found by a surviving mutant of ``tests/mutation/run.py``).

Comparison operators of the rule language on their boundaries and on null,
input limits on both sides of the boundary, one jurisdiction per input, and
the smallest amounts the Dingnan money rules still pay.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from swrules import InputError, evaluate, load_facts
from swrules.engine._run import _compare
from swrules.errors import PeriodError
from swrules.ir import Op
from swrules.items import ObligationKind
from swrules.load import MAX_DIGITS, parse_json
from swrules.period import Period


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        (Op.LT, 1, 2, True),
        (Op.LT, 2, 2, False),
        (Op.LE, 2, 2, True),
        (Op.LE, 3, 2, False),
        (Op.GT, 3, 2, True),
        (Op.GT, 2, 2, False),
        (Op.GE, 2, 2, True),
        (Op.GE, 1, 2, False),
        (Op.EQ, 2, 2, True),
        (Op.NE, 2, 2, False),
        (Op.IN, "a", ("a", "b"), True),
        (Op.IN, "c", ("a", "b"), False),
        (Op.IN, "a", None, False),
    ],
)
def test_comparison_operators_on_their_boundaries(op: Op, left: Any, right: Any, expected: bool) -> None:
    assert _compare(op, left, right) is expected


@pytest.mark.parametrize("op", [Op.LT, Op.LE, Op.GT, Op.GE])
@pytest.mark.parametrize(("left", "right"), [(None, 1), (1, None), (None, None)])
def test_an_ordering_against_null_is_false_not_an_error(op: Op, left: Any, right: Any) -> None:
    assert _compare(op, left, right) is False


@pytest.mark.parametrize(("text", "ok"), [("1900", True), ("1899", False), ("2999-12", True), ("3000", False)])
def test_period_years_run_from_1900_to_2999(text: str, ok: bool) -> None:
    if ok:
        assert Period.parse(text).year == int(text[:4])
    else:
        with pytest.raises(PeriodError, match="between 1900 and 2999"):
            Period.parse(text)


def _person(**extra: Any) -> dict[str, Any]:
    return {"type": "person", "id": "p1", "role": "community_worker", **extra}


def _problems(facts: Any) -> str:
    with pytest.raises(InputError) as caught:
        load_facts(facts)
    return "\n".join(str(p) for p in caught.value.problems)


def test_numbers_of_max_digits_are_accepted_and_one_more_is_not() -> None:
    assert MAX_DIGITS == 20
    fits, too_long = "9" * MAX_DIGITS, "9" * (MAX_DIGITS + 1)
    assert parse_json(f'{{"n": {fits}}}'.encode(), source="t")["n"] == int(fits)
    with pytest.raises(InputError, match="more than 20 digits"):
        parse_json(f'{{"n": {too_long}}}'.encode(), source="t")
    project = {
        "type": "service_project",
        "id": "s1",
        "organization": "o1",
        "funds": f"{'9' * (MAX_DIGITS - 1)}.00",  # the longest decimal string: MAX_DIGITS + 2 characters
        "personnel_cost": "0",
    }
    org = {"type": "organization", "id": "o1", "kind": "social_work_agency"}
    assert len(load_facts({"facts": [org, project]})) == 2
    assert len(load_facts({"facts": [org, {**project, "funds": Decimal("9" * MAX_DIGITS)}]})) == 2
    assert "funds" in _problems({"facts": [org, {**project, "funds": f"{'9' * MAX_DIGITS}.00"}]})
    assert "funds" in _problems({"facts": [org, {**project, "funds": Decimal("9" * (MAX_DIGITS + 1))}]})


def test_a_list_of_ids_must_be_a_list_without_repeats() -> None:
    org = {"type": "organization", "id": "o1", "kind": "social_work_agency"}
    project = {"type": "service_project", "id": "s1", "organization": "o1", "funds": "10.00", "personnel_cost": "1"}
    assert "lists an id twice" in _problems({"facts": [org, {**project, "social_workers": ["p1", "p1"]}]})
    assert "must be a list of ids" in _problems({"facts": [org, {**project, "social_workers": "p1"}]})


def test_integers_and_dates_are_checked_by_type_and_shape() -> None:
    post = {"type": "post", "id": "q1", "band": "junior"}
    assert "must be an integer" in _problems({"facts": [{**post, "tier": "1"}]})
    cert = {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant"}
    for bad in ("2021/03/01", "yesterday", 20210301):
        assert "must be a date YYYY-MM-DD" in _problems({"facts": [_person(), {**cert, "obtained_on": bad}]})


def test_only_one_jurisdiction_per_input_and_the_message_points_at_the_first() -> None:
    j1 = {"type": "jurisdiction", "id": "j1", "population": 1000}
    j2 = {**j1, "id": "j2"}
    text = _problems({"facts": [_person(), j1, j2]})
    assert "only one jurisdiction may be described per input ('j1' is one)" in text
    assert "facts[2]" in text


@pytest.mark.parametrize("document", ['"facts"', "[1, 2]", "3"])
def test_a_document_that_is_not_an_object_with_facts_is_rejected(document: str) -> None:
    with pytest.raises(InputError):
        load_facts(json.loads(document))


def test_an_unknown_top_level_key_is_named() -> None:
    assert "unknown top-level key 'fact'" in _problems({"facts": [], "fact": []})


def _dingnan(facts: list[dict[str, Any]], period: str, **parameters: str) -> Any:
    return evaluate({"facts": facts}, ruleset="dingnan-2020", period=period, parameters=parameters or None)


def test_the_smallest_exam_expense_is_reimbursed() -> None:
    facts = [
        _person(organization="o1"),
        {"type": "organization", "id": "o1", "kind": "social_work_agency"},
        {
            "type": "exam_registration",
            "id": "r1",
            "person": "p1",
            "year": 2021,
            "registration_fee": "0.50",
            "travel_cost": "0.50",
        },
    ]
    result = _dingnan(facts, "2021")
    expenses = [o for o in result.obligations if o.kind is ObligationKind.EXAM_EXPENSE_REIMBURSEMENT]
    assert [(o.payee, o.payer, o.amount) for o in expenses] == [("p1", "o1", Decimal("1.00"))]


def test_a_one_yuan_allowance_is_paid_and_an_unset_level_pays_none() -> None:
    facts = [
        _person(),
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2020-01-10"},
    ]
    paid = _dingnan(facts, "2021-05", **{"allowance.assistant": "1.00"})
    assert [o.amount for o in paid.obligations if o.kind is ObligationKind.MONTHLY_ALLOWANCE] == [Decimal("1.00")]
    none = _dingnan(facts, "2021-05", **{"allowance.assistant": "0.00"})
    assert not [o for o in none.obligations if o.kind is ObligationKind.MONTHLY_ALLOWANCE]


def test_the_agency_share_counts_the_certified_and_not_the_others() -> None:
    facts = [
        {"type": "organization", "id": "a1", "kind": "social_work_agency"},
        *({"type": "person", "id": f"p{i}", "role": "social_org_staff", "organization": "a1"} for i in (1, 2, 3)),
        *(
            {"type": "certificate", "id": f"k{i}", "holder": f"p{i}", "level": "assistant", "obtained_on": "2020-01-01"}
            for i in (1, 2)
        ),
    ]
    result = evaluate({"facts": facts}, ruleset="xx-county-2023", period="2023")
    shares = [f for f in result.findings if f.requirement == "agency_certified_share"]
    assert [(f.subject, f.actual) for f in shares] == [("a1", Decimal("0.6667"))]


def test_a_match_may_not_test_in_against_another_fact() -> None:
    from swrules.engine._program import RuleBinding, compile_program
    from swrules.errors import RulesetError
    from swrules.ir import Match, Ref, RuleDef, Test

    rule = RuleDef(
        name="test.in_join",
        doc="joins a post to a person through 'in'",
        match=(
            Match("p", "person"),
            Match("q", "post", (Test("holder", Op.EQ, Ref("p", "id")), Test("band", Op.IN, Ref("p", "role")))),
        ),
        emits=(),
        derive=lambda ctx: (),
    )
    with pytest.raises(RulesetError, match="'in' against another fact is only allowed in a collection"):
        compile_program("t", [RuleBinding(id="r", clause="c", definition=rule)], {}, Period.parse("2021"))


def test_ids_of_max_length_are_accepted_and_one_character_more_is_not() -> None:
    from swrules.load import MAX_ID_LENGTH

    assert MAX_ID_LENGTH == 200
    assert len(load_facts({"facts": [{**_person(), "id": "p" * MAX_ID_LENGTH}]})) == 1
    assert "at most 200 characters" in _problems({"facts": [{**_person(), "id": "p" * (MAX_ID_LENGTH + 1)}]})


def test_booleans_and_integers_do_not_stand_in_for_each_other() -> None:
    assert "must be true or false" in _problems({"facts": [_person(full_time=1)]})
    post = {"type": "post", "id": "q1", "band": "junior"}
    assert "must be an integer" in _problems({"facts": [{**post, "tier": True}]})
    assert "must be an integer" in _problems({"facts": [{**post, "tier": Decimal("1.5")}]})
    assert load_facts({"facts": [{**post, "tier": Decimal("2")}]}).facts[0].tier == 2
