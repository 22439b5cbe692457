"""Every golden case under tests/golden/, one pytest item each, failing with the runner's readable difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from swrules.cases import Case, case_files, load_cases, run_case
from swrules.engine import ENGINES, durable_available
from swrules.errors import RulesetError

GOLDEN = Path(__file__).parent / "golden"


def _collect() -> tuple[list[Case], list[RulesetError]]:
    """Every case of every file; a malformed file becomes one failing item instead of breaking collection."""
    cases: list[Case] = []
    broken: list[RulesetError] = []
    for path in case_files([GOLDEN]):
        try:
            cases.extend(load_cases(path))
        except RulesetError as err:
            broken.append(err)
    return cases, broken


CASES, BROKEN = _collect()
PARAMS = [pytest.param(c, id=f"{Path(c.file).parent.name}/{Path(c.file).stem}: {c.name}") for c in CASES] + [
    pytest.param(err, id=f"{Path(err.file or '?').parent.name}/{Path(err.file or '?').stem}: malformed")
    for err in BROKEN
]


def test_every_shipped_ruleset_has_golden_cases() -> None:
    from swrules.rulesets import list_rulesets

    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir() and any(p.glob("*.toml"))}
    missing = {r.id for r in list_rulesets()} - folders
    assert not missing, f"rulesets without golden cases: {sorted(missing)}"


@pytest.mark.parametrize("engine", [e for e in ENGINES if e == "native" or durable_available()])
@pytest.mark.parametrize("case", PARAMS)
def test_golden_case(case: Case | RulesetError, engine: str) -> None:
    """Each case holds on each engine (a case that names its engine runs on that one)."""
    if isinstance(case, RulesetError):
        pytest.fail(f"malformed case file: {case}", pytrace=False)
    result = run_case(case, engine=engine)
    assert result.passed, f"{case.file}: {case.name}\n" + "\n".join(result.failures)


def test_every_assumption_is_pinned_by_a_golden_case_that_names_it() -> None:
    from swrules.errors import UnknownRulesetError
    from swrules.rulesets import load_ruleset

    names = {case.name for case in CASES}
    unpinned = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        try:
            ruleset = load_ruleset(folder.name)
        except UnknownRulesetError:  # a folder of cases named for a topic rather than a ruleset
            continue
        for _spec, assumption in ruleset.assumptions():
            if not any(assumption.id in name for name in names):
                unpinned.append(f"{folder.name}: {assumption.id}")
    assert not unpinned, f"assumptions no golden case names: {unpinned}"
