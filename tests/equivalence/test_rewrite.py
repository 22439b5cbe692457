"""The rewrite of the rules in the rule language, proven against the Python templates it replaced.

Until the rule language, every rule of a ruleset file named a Python template (``template = "rewards.exam_reward"``).
``templates/`` keeps those templates (``templates/rules/``, no longer part of swrules) and the ruleset files as they
were (``templates/*.toml``). Each test evaluates the same input twice: with the shipped ruleset, and with the same
ruleset whose every rule is computed by the template its old file named instead of by its language text. It asserts
the same JSON bytes, the same intermediate items and the same note on the day each item was judged: on every golden
case, on the bundled examples for years and months, and on generated populations (with and without histories) of
every ruleset. The proof was first committed while both versions still lived in swrules (see CHANGELOG.md).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swrules import evaluate
from swrules.cases import case_files, load_cases
from swrules.errors import SwrulesError
from swrules.population import generate
from swrules.rulesets import Ruleset, _flatten, load_ruleset
from tests.equivalence.templates.rules import TEMPLATES
from tests.strategies import PERIODS, WIDE, populations

HERE = Path(__file__).parent
COPIES = HERE / "templates"
GOLDEN = HERE.parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[2] / "swrules" / "examples"
RULESETS = ("dingnan-2020", "zhejiang-2019", "xx-county-2023")
_SAME = ("clause", "text", "reading", "severity", "deadline")


def _old_rules(ruleset: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The rules (by id, later layers winning) and parameters of the old file and the layers it extends."""
    data = tomllib.loads((COPIES / f"{ruleset}.toml").read_text(encoding="utf-8"))
    rules: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {}
    for base in data["ruleset"].get("extends", []):
        base_rules, base_params = _old_rules(base)
        rules.update(base_rules)
        params.update(base_params)
    rules.update({r["id"]: r for r in data.get("rules", [])})
    params.update(_flatten(data.get("parameters", {}), "", "parameters"))
    return rules, params


@cache
def template_version(ruleset: str) -> Ruleset:
    """The shipped ruleset with each rule computed by the template its old file named."""
    shipped = load_ruleset(ruleset)
    old, old_params = _old_rules(ruleset)
    assert sorted(old) == sorted(r.id for r in shipped.rules), f"{ruleset}: the rewrite has other rules"
    rules = []
    for spec in shipped.rules:
        raw = old[spec.id]
        for key in _SAME:  # the rewrite changed how each rule computes, nothing else about it
            now = getattr(spec, key)
            now = getattr(now, "value", now)
            was = raw.get(key)
            was = was.strip() if isinstance(was, str) else was
            assert was == now, f"{ruleset}/{spec.id}: {key} changed in the rewrite"
        rules.append(attrs.evolve(spec, definition=TEMPLATES[raw["template"]]))
    parameters = dict(shipped.parameters)
    if "grades.table" in old_params:  # the grade map was a parameter; it is a decision table now
        parameters["grades.table"] = tuple(old_params["grades.table"])
    return attrs.evolve(shipped, rules=tuple(rules), parameters=parameters)


def _outcome(facts: Any, ruleset: Ruleset, period: str, parameters: Mapping[str, Any] | None) -> tuple[str, Any]:
    try:
        result = evaluate(facts, ruleset=ruleset, period=period, parameters=parameters or None)
    except SwrulesError as err:
        return "error", type(err).__name__
    derivations = result._derivations
    notes = sorted((k, derivations[k].rule, derivations[k].judged) for k in derivations)
    intermediate = sorted(((i.key, repr(i)) for i in result.intermediate), key=lambda t: t[0])
    return result.to_json(), (notes, intermediate)


def assert_same(facts: Any, ruleset: str, period: str, parameters: Mapping[str, Any] | None = None) -> None:
    old = _outcome(facts, template_version(ruleset), period, parameters)
    new = _outcome(facts, load_ruleset(ruleset), period, parameters)
    assert new[0] == old[0], f"{ruleset} {period}: the JSON differs"
    assert new[1] == old[1], f"{ruleset} {period}: the intermediate items or judged notes differ"


def _golden() -> list[Any]:
    out = []
    for path in case_files([GOLDEN]):
        for case in load_cases(path):
            ruleset = case.ruleset if isinstance(case.ruleset, str) else Path(case.ruleset).stem
            if (COPIES / f"{ruleset}.toml").is_file():
                out.append(pytest.param(case, ruleset, id=f"{path.parent.name}/{path.stem}: {case.name}"))
    return out


@pytest.mark.parametrize(("case", "ruleset"), _golden())
def test_every_golden_case_gives_the_same_bytes(case: Any, ruleset: str) -> None:
    assert_same(case.facts, ruleset, case.period, case.parameters)


@pytest.mark.parametrize("ruleset", RULESETS)
def test_the_bundled_examples_give_the_same_bytes_every_year_and_month(ruleset: str) -> None:
    facts = json.loads((EXAMPLES / f"{ruleset}.json").read_text(encoding="utf-8"))
    for period in PERIODS[ruleset]:
        assert_same(facts, ruleset, period)
    for period in ("2018", "2019-02", "2020", "2021", "2022-07", "2023", "2024"):
        assert_same(facts, ruleset, period, WIDE)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ruleset=st.sampled_from(RULESETS),
    seed=st.integers(0, 10_000),
    persons=st.integers(1, 40),
    year=st.integers(2019, 2024),
    histories=st.sampled_from([0.0, 0.3, 1.0]),
    month=st.one_of(st.none(), st.integers(1, 12)),
)
def test_generated_populations_give_the_same_bytes(
    ruleset: str, seed: int, persons: int, year: int, histories: float, month: int | None
) -> None:
    facts = generate(persons, seed=seed, year=year, histories=histories)
    period = str(year) if month is None else f"{year}-{month:02d}"
    assert_same(facts, ruleset, period, WIDE)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ruleset=st.sampled_from(RULESETS),
    facts=populations(histories=True),
    period=st.sampled_from(["2019", "2020", "2021", "2022", "2023", "2021-01", "2021-06", "2023-12"]),
)
def test_hand_shaped_populations_give_the_same_bytes(ruleset: str, facts: list[dict[str, Any]], period: str) -> None:
    assert_same(facts, ruleset, period, WIDE)
