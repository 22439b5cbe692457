"""Field readers and compiled tests, built afresh and compared with the plain reading of a field.

The batch engine reads fields through readers specialised to each field's
declared type and keeps them in a cache; these tests build every reader anew
(so what is checked is how a reader is made, not what the cache kept) and
compare it with ``field_value`` on real facts and derived items.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
import pytest

import swrules
from swrules.engine._match import _make_reader, compile_check, compile_pattern
from swrules.engine._run import field_value, passes
from swrules.facts import CertLevel, Person, Role
from swrules.ir import Lit, Match, Op, Ref
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import PersonStatus, SubjectCount
from swrules.load import load_facts
from swrules.population import generate


def _objects() -> list[Any]:
    facts = generate(120, seed=7)
    objects: list[Any] = list(load_facts(facts))
    for ruleset, period in (("dingnan-2020", "2021"), ("xx-county-2023", "2023")):
        result = swrules.evaluate(facts, ruleset=ruleset, period=period, engine="native")
        objects += list(result.intermediate) + list(result.items())
    objects.append(SubjectCount(subject="c1", what="certified", count=3))
    return objects


OBJECTS = _objects()


def test_the_sample_has_every_type_and_both_null_and_set_optional_enums() -> None:
    types = {o.TYPE for o in OBJECTS}
    assert types >= {"person", "certificate", "post", "community", "organization", "jurisdiction", "training"}
    assert types >= {"held", "person_status", "post_status", "post_grade", "eligibility", "obligation", "finding"}
    tops = {o.top_level for o in OBJECTS if isinstance(o, PersonStatus)}
    assert None in tops and len(tops) > 1


def test_a_reader_built_for_any_field_reads_it_as_the_plain_reading_does() -> None:
    by_type: dict[str, list[Any]] = {}
    for obj in OBJECTS:
        by_type.setdefault(obj.TYPE, []).append(obj)
    checked = 0
    for type_, objs in sorted(by_type.items()):
        for field in attrs.fields_dict(type(objs[0])):
            read = _make_reader(type_, field)
            for obj in objs:
                assert read(obj) == field_value(obj, field), (type_, field, obj)
                checked += 1
    assert checked > 1000


def test_readers_give_enums_by_value_dates_as_iso_and_null_as_null() -> None:
    person = Person(id="p1", role=Role.COMMUNITY_WORKER)
    assert _make_reader("person", "role")(person) == "community_worker"
    status = PersonStatus(person="p1", community=None, organization=None, top_level=None, registered=False)
    assert _make_reader("person_status", "top_level")(status) is None
    assert _make_reader("person_status", "community")(status) is None
    senior = attrs.evolve(status, top_level=CertLevel.SENIOR)
    assert _make_reader("person_status", "top_level")(senior) == "senior"
    held = next(o for o in OBJECTS if o.TYPE == "held")
    assert _make_reader("held", "obtained_on")(held) == held.obtained_on.isoformat()
    assert isinstance(held.obtained_on, date)


def test_an_unknown_type_or_a_computed_field_is_read_generically() -> None:
    status = PersonStatus(
        person="p1", community="c1", organization=None, top_level=CertLevel.ASSISTANT, registered=True
    )
    assert _make_reader("person_status", "certified")(status) is True
    assert _make_reader("person_status", "key")(status) == "person_status/p1"
    assert _make_reader("no_such_type", "top_level")(status) == "assistant"
    assert _make_reader("no_such_type", "community")(status) == "c1"


# -- compiled tests -------------------------------------------------------------------------

P1 = Person(id="p1", role=Role.COMMUNITY_WORKER, community="c1")
P2 = Person(id="p2", role=Role.VILLAGE_CADRE, community=None)


@pytest.mark.parametrize(
    ("test", "obj", "bound", "expected"),
    [
        (Cond("id", Op.NE, Ref("o", "id")), P1, {"o": P2}, True),
        (Cond("id", Op.NE, Ref("o", "id")), P1, {"o": P1}, False),
        (Cond("community", Op.IN, Ref("o", "community")), P1, {"o": P2}, False),  # a list that is null
        (Cond("role", Op.IN, Lit(None)), P1, {}, False),
        (Cond("role", Op.IN, Lit(("community_worker",))), P1, {}, True),
        (Cond("community", Op.LT, Lit(None)), P1, {}, False),
    ],
)
def test_compiled_tests_on_null_and_inequality_agree_with_the_plain_reading(
    test: Cond, obj: Any, bound: dict[str, Any], expected: bool
) -> None:
    assert passes(obj, [test], bound) is expected
    assert compile_check(obj.TYPE, test, {"o": "person"})(obj, bound) is expected


def test_a_pattern_whose_first_equality_is_a_literal_is_looked_up_by_that_literal() -> None:
    pattern = compile_pattern(
        Match(
            "s",
            "person_status",
            (
                Cond("community", Op.NE, Lit(None)),
                Cond("registered", Op.EQ, Lit(True)),
                Cond("person", Op.EQ, Ref("p", "id")),
            ),
        ),
        {"p": "person"},
    )
    assert pattern.key == "registered"
    assert pattern.probe is not None and pattern.probe({"p": P1}) is True
    assert len(pattern.checks) == 3
