"""An incremental session ends where evaluating its final facts from scratch ends, whatever the history.

Histories are random: facts added one at a time or all at once, removed (with
everything that refers to them), put back, and replaced by changed versions
(a certificate of another level or date, a person in another community or
role, a post given to someone else or vacated). After every step the
session's result must be byte for byte the result of evaluating the facts it
then holds.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import LEVELS, ROLES, periods_of, populations

import swrules
from swrules import Session
from swrules.engine import durable_available
from swrules.facts import fact_key
from swrules.load import fact_to_dict
from swrules.rulesets import list_rulesets

RULESETS = [r.id for r in list_rulesets() if r.kind != "base"]
ORDER = ["community", "organization", "jurisdiction", "person", "certificate", "post", "exam_registration"]
ORDER += ["service_project", "training", "talent_selection"]

steps = st.lists(
    st.tuples(
        st.sampled_from(("remove", "restore", "replace", "replace", "change")), st.integers(0, 999), st.integers(0, 999)
    ),
    max_size=8,
)
CHANGE_DAYS = ("2021-01-01", "2021-06-16", "2021-07-01", "2022-03-01", "2023-10-01")


def _changed(fact: dict[str, Any], n: int, held: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any] | None:
    """Another valid version of ``fact`` (same type and id), or None when the type has nothing to vary."""
    out = dict(fact)
    people = sorted(i for t, i in held if t == "person")
    places = sorted(i for t, i in held if t == "community")
    kind = fact["type"]
    if kind == "certificate":
        if n % 2:
            out["level"] = LEVELS[(LEVELS.index(fact["level"]) + 1 + n) % 3]
        else:
            out["obtained_on"] = ["2020-12-31", "2021-01-01", "2021-04-30", "2021-12-31", "2022-02-01"][n % 5]
    elif kind == "person":
        if n % 2 and places:
            out["community"] = places[n % len(places)]
        elif n % 4 == 2:
            out.pop("community", None)
        else:
            out["role"] = ROLES[(ROLES.index(fact["role"]) + 1 + n) % len(ROLES)]
    elif kind == "post":
        if n % 3 == 0 or not people:
            out.pop("holder", None)
        else:
            out["holder"] = people[n % len(people)]
        if n % 5 == 1:
            out["social_work"] = not fact.get("social_work", True)
    elif kind == "training":
        out["hours"] = str((n * 7) % 130)
    elif kind == "jurisdiction":
        out["population"] = 1 + n * 37
    elif kind == "community":
        out["kind"] = "rural" if fact["kind"] == "urban" else "urban"
    else:
        return None
    return out


REF_FIELDS = {"holder": "person", "person": "person", "community": "community", "organization": "organization"}


def _refs(fact: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(REF_FIELDS[k], v) for k, v in fact.items() if k in REF_FIELDS and v is not None]
    return out + [("person", p) for p in fact.get("social_workers") or []]


def fact_key_of(fact: dict[str, Any]) -> str:
    return f"{fact['type']}/{fact['id']}" + (f"@{fact['valid_from']}" if "valid_from" in fact else "")


def _check(session: Session) -> None:
    expected = swrules.evaluate(session.facts, ruleset=session.ruleset, period=session.period, engine="native")
    assert session.result().to_json() == expected.to_json()


def _history(facts: list[dict[str, Any]], start_full: bool, plan: list[tuple[str, int, int]], s: Session) -> None:
    if start_full:
        s.add_all(facts)
    else:
        for fact in sorted(facts, key=lambda f: (ORDER.index(f["type"]), f.get("valid_from", ""))):
            s.add(fact)
    _check(s)
    gone: list[dict[str, Any]] = []
    for op, i, n in plan:
        held = {fact_key(f): fact_to_dict(f) for f in s.facts}
        entities = {(f["type"], f["id"]) for f in held.values()}
        if op == "remove" and held:
            key = sorted(held)[i % len(held)]
            s.remove(key, cascade=True)
            now = {fact_key(f) for f in s.facts}
            gone.extend(held[k] for k in sorted(held) if k not in now)
        elif op == "change" and held:
            # a change entered late: the open-ended version of an entity closes the day before, a new one starts
            key = sorted(held)[i % len(held)]
            old = held[key]
            new = _changed(old, n, {(f["type"], f["id"]): f for f in held.values()})
            day = CHANGE_DAYS[n % len(CHANGE_DAYS)]
            if new is None or "valid_until" in old or old.get("valid_from", "") >= day:
                continue
            before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
            s.replace({**old, "valid_until": before})
            s.add({**new, "valid_from": day})
        elif op == "restore" and gone:
            ready = [f for f in gone if all(r in entities for r in _refs(f)) and fact_key_of(f) not in held]
            if not ready:
                continue
            fact = ready[i % len(ready)]
            gone.remove(fact)
            s.add(fact)
        elif op == "replace" and held:
            key = sorted(held)[i % len(held)]
            new = _changed(held[key], n, {(f["type"], f["id"]): f for f in held.values()})
            if new is None:
                continue
            s.replace(new)
        else:
            continue
        _check(s)


@st.composite
def ruleset_periods(draw: st.DrawFn) -> tuple[str, str]:
    ruleset = draw(st.sampled_from(RULESETS))
    return ruleset, draw(periods_of(ruleset))


@given(populations(max_persons=6, histories=True), ruleset_periods(), st.booleans(), steps)
def test_any_history_of_adds_removes_and_replacements_ends_as_from_scratch(
    facts: list[dict[str, Any]], where: tuple[str, str], start_full: bool, plan: list[tuple[str, int, int]]
) -> None:
    ruleset, period = where
    _history(facts, start_full, plan, Session(ruleset=ruleset, period=period, engine="native"))


@pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable on this Python")
@settings(max_examples=40)
@given(populations(max_persons=5, histories=True), ruleset_periods(), st.booleans(), steps)
def test_the_durable_backed_session_ends_as_from_scratch_too(
    facts: list[dict[str, Any]], where: tuple[str, str], start_full: bool, plan: list[tuple[str, int, int]]
) -> None:
    ruleset, period = where
    _history(facts, start_full, plan, Session(ruleset=ruleset, period=period, engine="durable"))
