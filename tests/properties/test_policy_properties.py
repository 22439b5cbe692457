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
from strategies import LEVELS, document, invalid_documents, populations

import swrules
from swrules.cli import main
from swrules.engine import durable_available
from swrules.load import fact_to_dict, load_facts, parse_json
from swrules.rulesets import list_rulesets, load_ruleset

DN = "dingnan-2020"
periods = st.sampled_from(["2020", "2021", "2022", "2021-01", "2021-04", "2021-12"])


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
@given(populations(), periods)
def test_every_post_grade_is_in_5_to_12_and_follows_the_table(facts: list[dict[str, Any]], period: str) -> None:
    result = run(facts, period)
    posts = {f["id"]: f for f in facts if f["type"] == "post"}
    assert {g.post for g in result.post_grades} == set(posts)
    for g in result.post_grades:
        assert 5 <= g.level <= 12
        assert (g.level, g.title) == naive.GRADE[(g.band.value, g.tier)]
        assert g.band.value == posts[g.post]["band"] and g.tier == posts[g.post]["tier"]


# 3
@given(populations(), periods)
def test_eligibility_is_monotone_in_band(facts: list[dict[str, Any]], period: str) -> None:
    result = run(facts, period)
    by_person: dict[str, dict[str, bool]] = {}
    for e in result.eligibility:
        by_person.setdefault(e.person, {})[e.band.value] = e.eligible
    for bands in by_person.values():
        assert bands["junior"] >= bands["intermediate"] >= bands["senior"]


# 4
@given(populations(), periods, st.randoms(use_true_random=False))
def test_shuffled_facts_give_identical_bytes(facts: list[dict[str, Any]], period: str, rnd: random.Random) -> None:
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    assert run(facts, period).to_json() == run(shuffled, period).to_json()


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
@given(populations(), st.sampled_from(["2020", "2021", "2022"]))
def test_a_years_allowance_is_the_sum_of_its_twelve_months(facts: list[dict[str, Any]], year: str) -> None:
    whole = allowances(run(facts, year))
    months: dict[tuple[str, str], Decimal] = {}
    for m in range(1, 13):
        months.update(allowances(run(facts, f"{year}-{m:02d}")))
    assert whole == months
    assert sum(whole.values(), Decimal(0)) == sum(months.values(), Decimal(0))


# 7
@given(populations())
def test_a_one_time_reward_appears_in_exactly_one_year_and_never_twice(facts: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for year in range(2018, 2024):
        result = run(facts, str(year))
        ids = [o.id for o in result.obligations if o.kind.value == "exam_reward"]
        assert len(ids) == len(set(ids))
        for o in result.obligations:
            if o.kind.value == "exam_reward":
                assert o.period == str(year)
        seen.update(ids)
    assert all(n == 1 for n in seen.values())
    expected = {
        f["id"]
        for f in facts
        if f["type"] == "certificate"
        and f["level"] != "senior"
        and next(p for p in facts if p["type"] == "person" and p["id"] == f["holder"])["role"] != "other"
    }
    assert set(seen) == {f"{DN}/exam-reward/{k}" for k in expected}


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
    )
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
@given(populations(), periods, st.sampled_from(["dingnan-2020", "zhejiang-2019", "xx-county-2023"]))
def test_no_negative_amount_and_money_has_two_places(facts: list[dict[str, Any]], period: str, ruleset: str) -> None:
    for o in run(facts, period, ruleset).obligations:
        if o.amount is not None:
            assert o.amount >= 0
            assert o.amount.as_tuple().exponent == -2
            assert o.to_dict()["amount"] == f"{o.amount:.2f}"


# 12
@given(populations(), periods, st.sampled_from(["dingnan-2020", "zhejiang-2019", "xx-county-2023"]))
def test_every_item_cites_a_rule_and_clause_of_its_ruleset_and_explains_itself(
    facts: list[dict[str, Any]], period: str, ruleset: str
) -> None:
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
@given(populations(), periods)
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
@given(populations(max_persons=5), periods, st.sampled_from([r.id for r in list_rulesets()]))
def test_durable_and_native_engines_give_identical_bytes(
    facts: list[dict[str, Any]], period: str, ruleset: str
) -> None:
    native = run(facts, period, ruleset, engine="native").to_json()
    durable = run(facts, period, ruleset, engine="durable").to_json()
    assert durable == native


# 16
@given(populations(), st.sampled_from(["2021-01", "2021-06", "2021-12"]))
def test_a_months_obligations_are_the_years_of_that_month_and_its_one_time_items(
    facts: list[dict[str, Any]], month: str
) -> None:
    year = {o.id: o for o in run(facts, "2021").obligations}
    for o in run(facts, month).obligations:
        assert o.period in (month, "2021")
        assert year[o.id] == o


# 17
@given(populations(), periods)
def test_findings_have_consistent_numbers(facts: list[dict[str, Any]], period: str) -> None:
    for ruleset in ("dingnan-2020", "zhejiang-2019", "xx-county-2023"):
        for f in run(facts, period, ruleset).findings:
            if f.required is None:
                assert f.satisfied is None
                continue
            assert f.actual >= 0 and f.required >= 0
            if f.requirement == "personnel_cost_cap":
                assert f.satisfied == (f.actual <= f.required) or f.actual > f.required - Decimal("0.01")
            elif f.requirement != "annual_certified_increase":
                assert f.satisfied == (f.actual >= f.required), f


# 18
@given(populations(), st.sampled_from(["2021", "2022"]), st.integers(100, 300))
def test_a_what_if_allowance_changes_exactly_the_assistant_months(
    facts: list[dict[str, Any]], year: str, amount: int
) -> None:
    base = allowances(run(facts, year))
    what_if = allowances(run(facts, year, parameters={"allowance.assistant": str(amount)}))
    assert set(base) == set(what_if)
    for key, old in base.items():
        new = what_if[key]
        assert new == (Decimal(amount) if old == Decimal(100) else old)
