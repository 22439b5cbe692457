"""The rule templates' own helpers, read directly rather than through an evaluation.

Some template code runs once: the registry is discovered when ``swrules.rules``
is imported, the jurisdiction totals build their derive functions at import, and
allowance schedules and field readers are cached after their first use. An
evaluation only ever sees what that first call produced, so these tests call
the helpers themselves and say what they must return.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import swrules
import swrules.rules.talent
from swrules.context import Context
from swrules.engine import _incremental, _match
from swrules.facts import FACT_TYPES, Band, CertLevel, Jurisdiction
from swrules.ir import Collect, Lit, Match, Op, Param, Ref, RuleDef, describe
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import ITEM_TYPES, Finding, PersonStatus, PostGrade, PostStatus
from swrules.period import Period
from swrules.rules import TEMPLATES, _discover
from swrules.rules.grades import grade_of
from swrules.rules.rewards import month_amount
from swrules.rules.targets import _total

# -- the registry -------------------------------------------------------------------


def test_discovery_finds_every_template_once_in_name_order() -> None:
    found = _discover()
    assert list(found) == sorted(TEMPLATES)
    assert all(found[name] is TEMPLATES[name] for name in found)
    assert {"grades.held", "rewards.monthly_allowance", "talent.talent_reward", "targets.certified_total"} <= set(found)


def _noop(ctx: Context) -> tuple[()]:
    return ()


def test_a_template_named_outside_its_family_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stray = RuleDef("grades.stray", "named for another family", (Match("p", "person"),), (), _noop)
    monkeypatch.setattr(swrules.rules.talent, "STRAY", stray, raising=False)
    with pytest.raises(RuntimeError, match=r"^template 'grades\.stray' must be named talent\.<rule>$"):
        _discover()


def test_two_templates_of_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    twin = RuleDef("talent.talent_reward", "a second definition", (Match("p", "person"),), (), _noop)
    monkeypatch.setattr(swrules.rules.talent, "TWIN", twin, raising=False)
    with pytest.raises(RuntimeError, match=r"^two rule templates are named 'talent\.talent_reward'$"):
        _discover()


def test_the_same_template_bound_to_two_names_in_a_module_is_one_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swrules.rules.talent, "ALIAS", swrules.rules.talent.TALENT_REWARD, raising=False)
    assert _discover()["talent.talent_reward"] is swrules.rules.talent.TALENT_REWARD


def test_the_engine_knows_every_fact_and_item_class() -> None:
    assert _match._classes() == {**FACT_TYPES, **ITEM_TYPES}
    assert _incremental._item_classes() == tuple(ITEM_TYPES.values())


# -- describe -------------------------------------------------------------------------


def test_describe_gives_the_left_hand_side_as_plain_data() -> None:
    rule = RuleDef(
        name="test.described",
        doc="every kind of operand",
        match=(
            Match("p", "person", (Cond("role", Op.IN, Param("training.roles")),)),
            Match("s", "person_status", (Cond("person", Op.EQ, Ref("p", "id")),)),
        ),
        collect=(Collect("h", "held", (Cond("person", Op.EQ, Ref("p", "id")), Cond("registered", Op.NE, Lit(None)))),),
        emits=("finding", "obligation"),
        derive=_noop,
    )
    assert describe(rule) == {
        "match": [
            {
                "alias": "p",
                "type": "person",
                "where": [{"field": "role", "op": "in", "value": {"param": "training.roles"}}],
            },
            {
                "alias": "s",
                "type": "person_status",
                "where": [{"field": "person", "op": "==", "value": {"ref": "p.id"}}],
            },
        ],
        "collect": [
            {
                "alias": "h",
                "type": "held",
                "where": [
                    {"field": "person", "op": "==", "value": {"ref": "p.id"}},
                    {"field": "registered", "op": "!=", "value": None},
                ],
            }
        ],
        "emits": ["finding", "obligation"],
    }


# -- grades -----------------------------------------------------------------------------


def test_a_band_and_tier_missing_from_the_grade_table_is_named() -> None:
    table = [{"band": "junior", "tier": 1, "level": 11, "title": "t"}]
    assert grade_of(table, Band.JUNIOR, 1)["level"] == 11
    with pytest.raises(LookupError, match=r"^the grade table has no row for a senior post of tier 2$"):
        grade_of(table, Band.SENIOR, 2)


POSTS = [
    {"type": "organization", "id": "o1", "kind": "public_institution"},
    {"type": "person", "id": "p1", "role": "institution_staff", "organization": "o1"},
    {"type": "certificate", "id": "k1", "holder": "p1", "level": "intermediate", "obtained_on": "2020-05-01"},
    {"type": "post", "id": "q1", "band": "intermediate", "tier": 2, "holder": "p1", "organization": "o1"},
    {"type": "post", "id": "q2", "band": "junior", "tier": 1, "organization": "o1"},
]


@pytest.mark.parametrize("engine", ["native", "durable"])
def test_post_grades_and_post_statuses_carry_the_holder_and_organization(engine: str) -> None:
    if engine == "durable" and not swrules.engine.durable_available():
        pytest.skip("durable-rules does not import here")
    result = swrules.evaluate(POSTS, ruleset="dingnan-2020", period="2021", engine=engine)
    assert [(g.post, g.holder) for g in result.post_grades] == [("q1", "p1"), ("q2", None)]
    status = result.get("post_status/q1")
    assert isinstance(status, PostStatus)
    assert (status.holder, status.organization, status.community, status.holder_level) == (
        "p1",
        "o1",
        None,
        CertLevel.INTERMEDIATE,
    )
    assert not any(isinstance(i, PostGrade) and i.post == "q2" and i.holder for i in result.intermediate)


# -- rewards ------------------------------------------------------------------------------


def test_a_month_is_read_whole_by_its_end_or_start_or_prorated() -> None:
    june = Period(2021, 6)
    # 100 a month to the 14th, 150 from the 15th: an upgrade mid-month
    split = [(date(2021, 1, 1), date(2021, 6, 14), Decimal(100)), (date(2021, 6, 15), date(2021, 12, 31), Decimal(150))]
    assert month_amount(june, split, "whole_month")[0] == Decimal(100)
    assert month_amount(june, split, "month_end")[0] == Decimal(150)
    assert month_amount(june, split, "month_start")[0] == Decimal(100)
    assert month_amount(june, split, "prorated")[0] == Decimal("126.67")  # (14 × 100 + 16 × 150) / 30
    # earned from the 2nd only: no whole month, but the last day and the prorated share count
    late = [(date(2021, 6, 2), date(2021, 6, 30), Decimal(100))]
    assert month_amount(june, late, "whole_month")[0] == 0
    assert month_amount(june, late, "month_start")[0] == 0
    assert month_amount(june, late, "month_end")[0] == Decimal(100)
    assert month_amount(june, late, "prorated")[0] == Decimal("96.67")
    assert month_amount(june, [], "whole_month") == (Decimal(0), "2021-06: every day of the month")


# -- targets ------------------------------------------------------------------------------


def _status(person: str, level: CertLevel | None) -> PersonStatus:
    return PersonStatus(person=person, community=None, organization=None, top_level=level, registered=False)


def _totals(requirement: str, collected: tuple[Any, ...], target: int) -> list[Finding]:
    j = Jurisdiction(id="j1")
    ctx = Context("r", "t", Period(2023), {"j": j}, {"x": collected}, {"targets.goal": target})
    return list(_total(requirement, "targets.goal")(ctx))


def test_the_certified_total_counts_only_certified_people() -> None:
    people = (_status("p1", CertLevel.ASSISTANT), _status("p2", None), _status("p3", CertLevel.SENIOR))
    assert _totals("certified_total", people, 2) == [
        Finding(subject="j1", requirement="certified_total", satisfied=True, actual=Decimal(2), required=Decimal(2))
    ]
    assert _totals("certified_total", people, 3)[0].satisfied is False


def test_other_totals_count_everything_collected() -> None:
    people = (_status("p1", None), _status("p2", None), _status("p3", None))
    assert _totals("agencies_total", people, 4) == [
        Finding(subject="j1", requirement="agencies_total", satisfied=False, actual=Decimal(3), required=Decimal(4))
    ]
