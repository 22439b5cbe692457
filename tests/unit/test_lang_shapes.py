"""Expressions the compiler writes out in one closure give what the general closures give."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from swrules.errors import RuleExpressionError
from swrules.items import Band
from swrules.lang import evaluate_expression
from swrules.period import Period


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        (Period(2021, 3), "2021-03"),
        (7, "7"),
        (date(2021, 3, 1), "2021-03-01"),
        (True, "True"),
        (Band.JUNIOR, Band.JUNIOR.value),
        (Decimal("1.50"), "1.50"),
        (None, "None"),
    ],
)
def test_text_of_a_name(value: Any, expected: str) -> None:
    assert evaluate_expression("text(x)", {"x": value}) == expected


@pytest.mark.parametrize(("a", "b"), [(False, False), (False, True), (True, False), (True, True)])
def test_not_of_or_and_and(a: bool, b: bool) -> None:
    values = {"a": a, "b": b}
    assert evaluate_expression("not (a or b)", values) is (not (a or b))
    assert evaluate_expression("not (a and b)", values) is (not (a and b))
    assert evaluate_expression("not (a or b) or a", values) is ((not (a or b)) or a)


def test_a_side_of_known_kind_against_an_enum_member() -> None:
    # text() is known to be text; the other side, of unknown kind, may be an enum's member: compared by value.
    band = Band.JUNIOR
    assert evaluate_expression("text(x) == b", {"x": band.value, "b": band}) is True
    assert evaluate_expression("b == text(x)", {"x": band.value, "b": band}) is True
    assert evaluate_expression("b != text(x)", {"x": "other", "b": band}) is True


def test_a_name_as_a_condition() -> None:
    assert evaluate_expression("if c then a else b", {"c": 1, "a": "yes", "b": "no"}) == "yes"
    assert evaluate_expression("if c then a else b", {"c": (), "a": "yes", "b": "no"}) == "no"


def test_period_getters() -> None:
    month = Period(2021, 2)
    assert evaluate_expression("first_day(m)", {"m": month}) == date(2021, 2, 1)
    assert evaluate_expression("last_day(m)", {"m": month}) == date(2021, 2, 28)
    assert evaluate_expression("year(m)", {"m": month}) == 2021
    assert evaluate_expression("month(d)", {"d": date(2021, 5, 9)}) == 5
    assert evaluate_expression("months(p)", {"p": Period(2021)})[1] == Period(2021, 2)


def test_a_getter_on_a_value_without_the_field_names_the_call() -> None:
    with pytest.raises(RuleExpressionError, match=r"last_day\(m\)"):
        evaluate_expression("last_day(m)", {"m": None})
