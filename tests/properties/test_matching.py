"""Compiled tests read fields exactly as the plain reading of a test does.

The batch engine compiles every test of a pattern into a closure over a
reader specialised to the field's declared type (enums by value, dates as ISO
strings); the durable engine and the per-partition matcher use the generic
``passes``. Here both read random facts and items under random tests, with
literals and joins, and must agree every time.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st
from strategies import populations

from swrules.engine._match import compile_check, compile_pattern, compile_tests
from swrules.engine._run import field_value, passes
from swrules.facts import Band, CertLevel
from swrules.ir import Lit, Match, Op, Ref
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import Eligibility, Held, PersonStatus
from swrules.load import load_facts

OPS = list(Op)


def _objects(facts: list[dict[str, Any]]) -> list[Any]:
    loaded = list(load_facts({"facts": facts}))
    people = [f for f in loaded if f.TYPE == "person"]
    items: list[Any] = [
        Held(
            person=p.id,
            certificate=f"k-{p.id}",
            level=CertLevel.ASSISTANT,
            obtained_on=date(2021, 3, 1),
            registered=False,
        )
        for p in people[:2]
    ]
    items += [
        PersonStatus(person=p.id, community=p.community, organization=None, top_level=None, registered=False)
        for p in people[:2]
    ]
    items += [Eligibility(person=p.id, band=Band.SENIOR, eligible=False) for p in people[:1]]
    return loaded + items


def _literals(value: Any) -> st.SearchStrategy[Any]:
    plain = field_value_plain(value)
    return st.one_of(
        st.just(plain),
        st.none(),
        st.sampled_from(["assistant", "urban", "community_worker", "2021-03-01", "2021-12-31", "c0", "p1", ""]),
        st.integers(-2, 5),
        st.booleans(),
        st.lists(st.sampled_from(["assistant", "senior", "c0", "c1", "p0", "junior"]), max_size=3).map(tuple),
    )


def field_value_plain(value: Any) -> Any:
    if hasattr(value, "value"):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value)
    return value


@given(populations(max_persons=4), st.data())
def test_a_compiled_test_agrees_with_the_plain_reading(facts: list[dict[str, Any]], data: st.DataObject) -> None:
    objects = _objects(facts)
    if not objects:
        return
    obj = data.draw(st.sampled_from(objects))
    other = data.draw(st.sampled_from(objects))
    fields = [a for a in type(obj).__attrs_attrs__ if a.name not in ("rule", "clause")]
    field = data.draw(st.sampled_from(fields)).name
    op = data.draw(st.sampled_from(OPS))
    joined = data.draw(st.booleans())
    if joined:
        other_fields = [a.name for a in type(other).__attrs_attrs__ if a.name not in ("rule", "clause")]
        test = Cond(field, op, Ref("o", data.draw(st.sampled_from(other_fields))))
    else:
        test = Cond(field, op, Lit(data.draw(_literals(getattr(obj, field)))))
    bound = {"o": other}
    try:
        expected: Any = passes(obj, [test], bound)
    except TypeError:  # ordering values of different kinds: the plain reading cannot say either
        expected = TypeError
    check = compile_check(obj.TYPE, test, {"o": other.TYPE})
    try:
        got: Any = check(obj, bound)
    except TypeError:
        got = TypeError
    assert got == expected, (obj, test, field_value(obj, field))


@given(populations(max_persons=4), st.data())
def test_a_compiled_pattern_looks_candidates_up_by_the_value_the_test_compares(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    objects = _objects(facts)
    if not objects:
        return
    other = data.draw(st.sampled_from(objects))
    target = data.draw(st.sampled_from(objects))
    field = data.draw(
        st.sampled_from([a.name for a in type(target).__attrs_attrs__ if a.name not in ("rule", "clause")])
    )
    ref_field = data.draw(
        st.sampled_from([a.name for a in type(other).__attrs_attrs__ if a.name not in ("rule", "clause")])
    )
    pattern = compile_pattern(Match("t", target.TYPE, (Cond(field, Op.EQ, Ref("o", ref_field)),)), {"o": other.TYPE})
    assert pattern.key == field and pattern.probe is not None
    same = pattern.probe({"o": other}) == field_value(target, field)
    assert same == passes(target, [Cond(field, Op.EQ, Ref("o", ref_field))], {"o": other})


DAYS = ["2021-03-01", "2021-12-31", "2020-02-29", "2022-01-01"]


@given(populations(max_persons=4, histories=True), st.data())
def test_a_pattern_compiled_whole_agrees_with_the_plain_reading(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Every test of a pattern as one closure (a window's two ends against one day fused) holds when all hold."""
    objects = _objects(facts)
    if not objects:
        return
    obj = data.draw(st.sampled_from(objects))
    other = data.draw(st.sampled_from(objects))
    fields = [a.name for a in type(obj).__attrs_attrs__ if a.name not in ("rule", "clause")]
    tests = []
    for _ in range(data.draw(st.integers(0, 3))):
        field = data.draw(st.sampled_from(fields))
        tests.append(Cond(field, data.draw(st.sampled_from(OPS)), Lit(data.draw(_literals(getattr(obj, field))))))
    if "valid_from" in fields and data.draw(st.booleans()):
        day = data.draw(st.sampled_from(DAYS))
        window = [Cond("valid_from", Op.LE, Lit(day)), Cond("valid_until", Op.GE, Lit(day))]
        tests[data.draw(st.integers(0, len(tests))) : 0] = window
    try:
        expected: Any = passes(obj, tests, {"o": other})
    except TypeError:
        expected = TypeError
    check = compile_tests(obj.TYPE, tests, {"o": other.TYPE})
    try:
        got: Any = True if check is None else check(obj, {"o": other})
    except TypeError:
        got = TypeError
    assert got == expected, (obj, tests)


def test_a_window_end_that_is_a_datetime_or_open_reads_as_the_plain_reading_does() -> None:
    day = "2021-06-30"
    window = (Cond("valid_from", Op.LE, Lit(day)), Cond("valid_until", Op.GE, Lit(day)))
    fused = compile_tests("held", window, {})
    assert fused is not None
    for start, end in [
        (None, None),
        (date(2021, 6, 30), date(2021, 6, 30)),
        (date(2021, 7, 1), None),
        (None, date(2021, 6, 29)),
        (datetime(2021, 6, 30, 8), None),  # written 2021-06-30T08:00:00, after the day's text
        (None, datetime(2021, 6, 30, 8)),
    ]:
        held = attrs.evolve(HELD, valid_from=start, valid_until=end)
        assert fused(held, {}) is passes(held, window, {}), (start, end)
        for test in window:
            assert compile_check("held", test, {})(held, {}) is passes(held, [test], {}), (test, start, end)
    # a literal that is not a date written as ISO keeps the plain reading (text against text)
    for text in ("2021-06", "20210630", "2021-06-30T00:00", "2021-02-30"):
        for test in (Cond("valid_from", Op.LE, Lit(text)), Cond("valid_until", Op.GT, Lit(text))):
            assert compile_check("held", test, {})(HELD, {}) is passes(HELD, [test], {}), test


HELD = Held(
    person="p1",
    certificate="k1",
    level=CertLevel.ASSISTANT,
    obtained_on=date(2021, 3, 1),
    registered=False,
    valid_from=date(2021, 3, 1),
)
