"""The rewrite of the rules in the rule language, proven against the Python templates it replaces.

``templates/`` holds the ruleset files as they were when every rule was bound to a Python template. Each
test evaluates the same input with that copy and with the shipped (rewritten) ruleset and asserts the same
JSON bytes, the same intermediate items and the same notes on the day each item was judged: on every golden
case, on the bundled examples for years and months, and on generated populations (with and without
histories) of every ruleset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swrules import evaluate
from swrules.cases import case_files, load_cases
from swrules.errors import SwrulesError
from swrules.population import generate
from swrules.rulesets import builtin_dir, load_ruleset
from tests.strategies import PERIODS, WIDE, populations

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
GOLDEN = HERE.parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[2] / "swrules" / "examples"
RULESETS = ("dingnan-2020", "zhejiang-2019", "xx-county-2023")


def _shipped(ruleset: str) -> Path:
    for path in builtin_dir().rglob(f"{ruleset}.toml"):
        return path
    raise LookupError(ruleset)  # pragma: no cover


def _outcome(facts: Any, ruleset: Path, period: str, parameters: Mapping[str, Any] | None) -> tuple[str, Any]:
    try:
        result = evaluate(facts, ruleset=load_ruleset(ruleset), period=period, parameters=parameters or None)
    except SwrulesError as err:
        return "error", type(err).__name__
    derivations = result._derivations
    notes = sorted((k, derivations[k].rule, derivations[k].judged) for k in derivations)
    intermediate = sorted(((i.key, repr(i)) for i in result.intermediate), key=lambda t: t[0])
    return result.to_json(), (notes, intermediate)


def assert_same(facts: Any, ruleset: str, period: str, parameters: Mapping[str, Any] | None = None) -> None:
    old = _outcome(facts, TEMPLATES / f"{ruleset}.toml", period, parameters)
    new = _outcome(facts, _shipped(ruleset), period, parameters)
    assert new[0] == old[0], f"{ruleset} {period}: the JSON differs"
    assert new[1] == old[1], f"{ruleset} {period}: the intermediate items or judged notes differ"


def _golden() -> list[Any]:
    out = []
    for path in case_files([GOLDEN]):
        for case in load_cases(path):
            ruleset = case.ruleset if isinstance(case.ruleset, str) else Path(case.ruleset).stem
            if (TEMPLATES / f"{ruleset}.toml").is_file():
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
