"""An incremental session ends where evaluating its final facts from scratch ends, whatever the history.

Histories are random: facts added one at a time or all at once, removed (with
everything that refers to them), put back, and replaced by changed versions
(a certificate of another level or date, a person in another community or
role, a post given to someone else or vacated). After every step the
session's result must be byte for byte the result of evaluating the facts it
then holds.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import LEVELS, ROLES, populations

import swrules
from swrules import Session
from swrules.engine import durable_available
from swrules.load import fact_to_dict
from swrules.rulesets import list_rulesets

RULESETS = [r.id for r in list_rulesets() if r.kind != "base"]
ORDER = ["community", "organization", "jurisdiction", "person", "certificate", "post", "exam_registration"]
ORDER += ["service_project", "training", "talent_selection"]

steps = st.lists(
    st.tuples(st.sampled_from(("remove", "restore", "replace", "replace")), st.integers(0, 999), st.integers(0, 999)),
    max_size=8,
)


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


def _check(session: Session) -> None:
    expected = swrules.evaluate(session.facts, ruleset=session.ruleset, period=session.period, engine="native")
    assert session.result().to_json() == expected.to_json()


def _history(facts: list[dict[str, Any]], start_full: bool, plan: list[tuple[str, int, int]], s: Session) -> None:
    if start_full:
        s.add_all(facts)
    else:
        for fact in sorted(facts, key=lambda f: ORDER.index(f["type"])):
            s.add(fact)
    _check(s)
    gone: list[dict[str, Any]] = []
    for op, i, n in plan:
        held = {(f.TYPE, f.id): fact_to_dict(f) for f in s.facts}
        if op == "remove" and held:
            key = sorted(held)[i % len(held)]
            s.remove(f"{key[0]}/{key[1]}", cascade=True)
            now = {(f.TYPE, f.id) for f in s.facts}
            gone.extend(held[k] for k in sorted(held) if k not in now)
        elif op == "restore" and gone:
            ready = [f for f in gone if all(r in held for r in _refs(f))]
            if not ready:
                continue
            fact = ready[i % len(ready)]
            gone.remove(fact)
            s.add(fact)
        elif op == "replace" and held:
            key = sorted(held)[i % len(held)]
            new = _changed(held[key], n, held)
            if new is None:
                continue
            s.replace(new)
        else:
            continue
        _check(s)


@given(
    populations(max_persons=6),
    st.sampled_from(RULESETS),
    st.sampled_from(["2021", "2021-04", "2022", "2023"]),
    st.booleans(),
    steps,
)
def test_any_history_of_adds_removes_and_replacements_ends_as_from_scratch(
    facts: list[dict[str, Any]], ruleset: str, period: str, start_full: bool, plan: list[tuple[str, int, int]]
) -> None:
    _history(facts, start_full, plan, Session(ruleset=ruleset, period=period, engine="native"))


@pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable on this Python")
@settings(max_examples=40)
@given(populations(max_persons=5), st.sampled_from(RULESETS), st.booleans(), steps)
def test_the_durable_backed_session_ends_as_from_scratch_too(
    facts: list[dict[str, Any]], ruleset: str, start_full: bool, plan: list[tuple[str, int, int]]
) -> None:
    _history(facts, start_full, plan, Session(ruleset=ruleset, period="2021", engine="durable"))
