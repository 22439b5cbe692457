"""Properties of the policy and the engine, on random consistent populations.

Each test states one claim a payroll office or an analyst relies on. Most run
on the native engine (fast); the engine differential runs both.
"""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from contextlib import redirect_stderr
from decimal import Decimal
from typing import Any

import naive
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from strategies import LEVELS, PERIODS, WIDE, document, invalid_documents, periods_of, populations, split

import swrules
from swrules.cli import main
from swrules.engine import durable_available
from swrules.load import fact_to_dict, load_facts, parse_json
from swrules.rulesets import load_ruleset

DN = "dingnan-2020"
RULESETS = ("dingnan-2020", "zhejiang-2019", "xx-county-2023")
periods = periods_of(DN)


@st.composite
def ruleset_periods(draw: st.DrawFn) -> tuple[str, str]:
    """A shipped ruleset and a period within its window."""
    ruleset = draw(st.sampled_from(RULESETS))
    return ruleset, draw(periods_of(ruleset))


def run(facts: list[dict[str, Any]], period: str, ruleset: str = DN, engine: str = "native", **kw: Any) -> Any:
    return swrules.evaluate(document(facts), ruleset=ruleset, period=period, engine=engine, **kw)


def allowances(result: Any) -> dict[tuple[str, str], Decimal]:
    return {(o.payee, o.period): o.amount for o in result.obligations if o.kind.value == "monthly_allowance"}


# 1
@given(populations())
def test_round_trip_json_facts_json_is_the_identity(facts: list[dict[str, Any]]) -> None:
    loaded = load_facts(document(facts))
    again = load_facts(json.loads(json.dumps(loaded.to_dict())))
    assert again.to_dict() == loaded.to_dict()
    for raw, fact in zip(
        sorted(facts, key=lambda f: (f["type"], f["id"])), sorted(loaded, key=lambda f: (f.TYPE, f.id)), strict=True
    ):
        out = fact_to_dict(fact)
        for key, value in raw.items():  # every field given comes back with the same meaning
            if key in ("monthly_salary", "reference_salary", "registration_fee", "travel_cost", "funds", "hours"):
                assert Decimal(str(out[key])) == Decimal(str(value))
            elif key == "social_workers":
                assert list(out[key]) == list(value)
            else:
                assert out[key] == value, key


# 2
@given(populations(histories=True), periods)
def test_every_post_grade_is_in_5_to_12_and_follows_the_table(facts: list[dict[str, Any]], period: str) -> None:
    result = run(facts, period)
    posts = {f["id"]: f for f in facts if f["type"] == "post"}
    assert {g.post for g in result.post_grades} <= set(posts)
    for g in result.post_grades:
        assert 5 <= g.level <= 12
        assert (g.level, g.title) == naive.GRADE[(g.band.value, g.tier)]
        assert g.band.value == posts[g.post]["band"] and g.tier == posts[g.post]["tier"]


# 3
@given(populations(histories=True), periods)
def test_eligibility_is_monotone_in_band(facts: list[dict[str, Any]], period: str) -> None:
    result = run(facts, period)
    by_person: dict[str, dict[str, bool]] = {}
    for e in result.eligibility:
        by_person.setdefault(e.person, {})[e.band.value] = e.eligible
    for bands in by_person.values():
        assert bands["junior"] >= bands["intermediate"] >= bands["senior"]


# 4
@given(populations(histories=True), ruleset_periods(), st.randoms(use_true_random=False))
def test_shuffled_facts_give_identical_bytes(
    facts: list[dict[str, Any]], where: tuple[str, str], rnd: random.Random
) -> None:
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    ruleset, period = where
    assert run(facts, period, ruleset).to_json() == run(shuffled, period, ruleset).to_json()


# 5
@given(populations(), periods)
def test_an_unrelated_person_changes_nothing_else(facts: list[dict[str, Any]], period: str) -> None:
    before = run(facts, period).to_dict()
    after = run([*facts, {"type": "person", "id": "zz-stranger", "role": "other"}], period).to_dict()
    for section in ("post_grades", "obligations", "findings"):
        others = [i for i in after[section] if i.get("subject") != "zz-stranger" and i.get("payee") != "zz-stranger"]
        if section == "findings":  # jurisdiction-wide counts may count the newcomer only through certificates: none
            assert others == before[section]
        else:
            assert others == before[section]
    assert [e for e in after["eligibility"] if e["person"] != "zz-stranger"] == before["eligibility"]


# 6
@given(populations(histories=True), st.sampled_from(RULESETS), st.data())
def test_a_years_run_is_the_union_of_its_twelve_months_runs_item_for_item(
    facts: list[dict[str, Any]], ruleset: str, data: st.DataObject
) -> None:
    year = data.draw(st.sampled_from([p for p in PERIODS[ruleset] if len(p) == 4]))
    whole = run(facts, year, ruleset, parameters=WIDE).obligations
    months = [o for m in range(1, 13) for o in run(facts, f"{year}-{m:02d}", ruleset, parameters=WIDE).obligations]
    assert sorted(months, key=lambda o: o.id) == sorted(whole, key=lambda o: o.id)
    for o in whole:
        assert o.due.startswith(year)


# 7
@given(populations(histories=True))
def test_a_one_time_reward_appears_in_exactly_one_year_and_never_twice(facts: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for year in range(2018, 2024):
        result = run(facts, str(year), parameters=WIDE)
        ids = [o.id for o in result.obligations if o.kind.value == "exam_reward"]
        assert len(ids) == len(set(ids))
        for o in result.obligations:
            if o.kind.value == "exam_reward":
                assert o.period == str(year) and o.due[:4] == str(year)
        seen.update(ids)
    assert all(n == 1 for n in seen.values())


# 8
@given(populations(), periods)
def test_obligation_ids_are_unique_within_a_result_and_identical_across_runs(
    facts: list[dict[str, Any]], period: str
) -> None:
    first = run(facts, period)
    ids = [o.id for o in first.obligations]
    assert len(ids) == len(set(ids))
    assert [o.id for o in run(facts, period).obligations] == ids


# 9
@given(populations(max_persons=5), st.data())
def test_a_higher_certificate_never_lowers_an_allowance_or_an_eligibility(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    persons = [f["id"] for f in facts if f["type"] == "person"]
    assume(persons)
    who = data.draw(st.sampled_from(persons))
    level = data.draw(st.sampled_from(LEVELS))
    on = data.draw(st.sampled_from(["2019-06-30", "2021-01-31", "2021-07-15"]))
    before = run(facts, "2021")
    after = run(
        [*facts, {"type": "certificate", "id": "k-new", "holder": who, "level": level, "obtained_on": on}], "2021"
    )  # persons without a history here: a person's later version may well be paid less
    old, new = allowances(before), allowances(after)
    for key, amount in old.items():
        assert new[key] >= amount
    old_elig = {(e.person, e.band): e.eligible for e in before.eligibility}
    for e in after.eligibility:
        assert e.eligible >= old_elig[(e.person, e.band)]


# 10
@given(populations(), periods, st.data())
def test_removing_a_certificate_never_adds_an_obligation(
    facts: list[dict[str, Any]], period: str, data: st.DataObject
) -> None:
    certs = [i for i, f in enumerate(facts) if f["type"] == "certificate"]
    assume(certs)
    drop = data.draw(st.sampled_from(certs))
    fewer = facts[:drop] + facts[drop + 1 :]
    before = {o.id: o.amount for o in run(facts, period).obligations}
    after = {o.id: o.amount for o in run(fewer, period).obligations}
    assert set(after) <= set(before)
    for key, amount in after.items():
        if amount is not None and before[key] is not None:
            assert amount <= before[key]


# 11
@given(populations(histories=True), ruleset_periods())
def test_no_negative_amount_and_money_has_two_places(facts: list[dict[str, Any]], where: tuple[str, str]) -> None:
    ruleset, period = where
    for o in run(facts, period, ruleset).obligations:
        if o.amount is not None:
            assert o.amount >= 0
            assert o.amount.as_tuple().exponent == -2
            assert o.to_dict()["amount"] == f"{o.amount:.2f}"


# 12
@given(populations(histories=True), ruleset_periods())
def test_every_item_cites_a_rule_and_clause_of_its_ruleset_and_explains_itself(
    facts: list[dict[str, Any]], where: tuple[str, str]
) -> None:
    ruleset, period = where
    rs = load_ruleset(ruleset)
    clauses = {r.id: r.clause for r in rs.rules}
    result = run(facts, period, ruleset)
    for item in result.items():
        assert clauses[item.rule] == item.clause
        explanation = result.explain(item)
        assert explanation.clause == item.clause and explanation.text
        assert explanation.facts, f"{item.key} names no fact that triggered it"


# 13
@given(invalid_documents())
@example(("unreadable", b"\xff\xfe", "JSON"))
def test_every_invalid_input_raises_a_swrules_error_and_the_cli_exits_2(case: tuple[str, bytes, str]) -> None:
    kind, raw, word = case
    with pytest.raises(swrules.SwrulesError) as caught:
        load_facts(parse_json(raw))
    assert word.lower() in str(caught.value).lower() or kind == "unreadable"


@pytest.mark.parametrize("n", range(3))
def test_the_cli_exits_2_without_a_traceback_on_invalid_input(tmp_path: Any, n: int) -> None:
    from strategies import INVALID_KINDS, _corrupt

    for kind in INVALID_KINDS:
        bad = {
            "ill_typed": ["x", 1.5, True],
            "unknown_enum": ["x", "", "Community_Worker"],
            "impossible_date": ["2021-02-30", "2021-13-01", "soon"],
            "bad_money": ["ten", "-1", "1.001"],
            "unreadable": ["a", "abc", "abcdefghij"],
        }
        raw, _word = _corrupt(kind, bad[kind][n] if kind in bad else None)
        path = tmp_path / f"{kind}.json"
        path.write_bytes(raw)
        err = io.StringIO()
        out = io.StringIO()
        with redirect_stderr(err):
            code = main(["evaluate", str(path), "--ruleset", DN, "--period", "2021"], out=out)
        assert code == 2, (kind, err.getvalue())
        assert out.getvalue() == ""
        assert "Traceback" not in err.getvalue() and err.getvalue().startswith("swrules: ")


# 14
@given(populations(histories=True), periods)
@example(  # an upgrade in mid-June, a role change on 1 July, a post vacated mid-August
    [
        {"type": "person", "id": "p1", "role": "community_worker"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2020-03-01"},
        {"type": "certificate", "id": "k2", "holder": "p1", "level": "intermediate", "obtained_on": "2021-06-15"},
        {"type": "person", "id": "p2", "role": "community_worker", "valid_until": "2021-06-30"},
        {"type": "person", "id": "p2", "role": "other", "valid_from": "2021-07-01"},
        {"type": "certificate", "id": "k3", "holder": "p2", "level": "senior", "obtained_on": "2021-02-01"},
        {"type": "organization", "id": "o1", "kind": "public_institution"},
        {"type": "person", "id": "p3", "role": "institution_staff", "organization": "o1"},
        {"type": "certificate", "id": "k4", "holder": "p3", "level": "assistant", "obtained_on": "2019-03-01"},
        {
            "type": "post",
            "id": "q1",
            "band": "junior",
            "tier": 1,
            "holder": "p3",
            "organization": "o1",
            "valid_until": "2021-08-14",
        },
        {"type": "post", "id": "q1", "band": "junior", "tier": 1, "organization": "o1", "valid_from": "2021-08-15"},
    ],
    "2021",
)
def test_naive_evaluator_agrees_with_the_engine(facts: list[dict[str, Any]], period: str) -> None:
    expected = naive.evaluate(facts, period)
    result = run(facts, period)
    assert {g.post: (g.level, g.title) for g in result.post_grades} == expected["grades"]
    assert {(e.person, e.band.value): e.eligible for e in result.eligibility} == expected["eligibility"]
    rewards = {o.id.rsplit("/", 1)[1]: (o.payee, o.amount) for o in result.obligations if o.kind.value == "exam_reward"}
    assert rewards == expected["rewards"]
    assert allowances(result) == expected["allowances"]


# 15
@pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable on this Python")
@given(populations(max_persons=5, histories=True), ruleset_periods())
def test_durable_and_native_engines_give_identical_bytes(facts: list[dict[str, Any]], where: tuple[str, str]) -> None:
    ruleset, period = where
    native = run(facts, period, ruleset, engine="native").to_json()
    durable = run(facts, period, ruleset, engine="durable").to_json()
    assert durable == native


# 16
@given(populations(histories=True), st.sampled_from(["2021-01", "2021-06", "2021-12"]))
def test_a_months_obligations_are_those_of_the_year_due_that_month(facts: list[dict[str, Any]], month: str) -> None:
    year = {o.id: o for o in run(facts, "2021").obligations}
    for o in run(facts, month).obligations:
        assert o.due == month and o.period in (month, "2021")
        assert year[o.id] == o


# 17
@given(populations(histories=True), ruleset_periods())
def test_findings_have_consistent_numbers(facts: list[dict[str, Any]], where: tuple[str, str]) -> None:
    ruleset, period = where
    for f in run(facts, period, ruleset).findings:
        assert f.severity is not None
        assert (f.deadline is None) == (f.deadline_status is None)
        if f.required is None:
            assert f.satisfied is None
            continue
        assert f.actual >= 0 and f.required >= 0
        if f.requirement == "personnel_cost_cap":
            assert f.satisfied == (f.actual <= f.required) or f.actual > f.required - Decimal("0.01")
        elif f.requirement != "annual_certified_increase":
            assert f.satisfied == (f.actual >= f.required), f


# 18
@given(populations(histories=True), st.sampled_from(["2021", "2022"]), st.integers(100, 150))  # kept below 中级
def test_a_what_if_allowance_changes_exactly_the_assistant_months(
    facts: list[dict[str, Any]], year: str, amount: int
) -> None:
    base = allowances(run(facts, year))
    what_if = allowances(run(facts, year, parameters={"allowance.assistant": str(amount)}))
    assert set(base) == set(what_if)
    for key, old in base.items():
        new = what_if[key]
        assert new == (Decimal(amount) if old == Decimal(100) else old)


# 19
@given(populations(), ruleset_periods(), st.data())
def test_splitting_an_undated_fact_into_two_versions_with_the_same_fields_changes_nothing(
    facts: list[dict[str, Any]], where: tuple[str, str], data: st.DataObject
) -> None:
    ruleset, period = where
    index = data.draw(st.integers(0, len(facts) - 1))
    day = data.draw(
        st.sampled_from(["2019-01-01", "2020-07-15", "2021-01-01", "2021-06-16", "2021-12-31", "2023-09-01"])
    )
    assert run(split(facts, index, day), period, ruleset).to_json() == run(facts, period, ruleset).to_json()


# 20
@given(st.sampled_from(RULESETS), st.sampled_from(["1999", "2010-05", "2018", "2019-05", "2030"]))
def test_a_period_wholly_outside_the_window_is_refused_unless_the_window_is_moved(ruleset: str, period: str) -> None:
    rs = load_ruleset(ruleset)
    start, end = swrules.Period.parse(period).start, swrules.Period.parse(period).end
    outside = end < rs.applies_from or (rs.applies_until is not None and start > rs.applies_until)
    facts = [{"type": "person", "id": "p1", "role": "community_worker"}]
    if outside:
        with pytest.raises(swrules.PeriodError, match=rs.applies_from.isoformat()):
            run(facts, period, ruleset)
        assert run(facts, period, ruleset, parameters={"applies_from": "1990-01-01", "applies_until": "none"})
    else:
        run(facts, period, ruleset)


# 21
@given(populations(histories=True), ruleset_periods())
def test_nothing_falls_due_outside_the_period_or_the_window(
    facts: list[dict[str, Any]], where: tuple[str, str]
) -> None:
    ruleset, period = where
    rs = load_ruleset(ruleset)
    p = swrules.Period.parse(period)
    for o in run(facts, period, ruleset).obligations:
        month = swrules.Period.parse(o.due)
        assert p.start <= month.start and month.end <= p.end
        assert month.end >= rs.applies_from and (rs.applies_until is None or month.start <= rs.applies_until)
