"""Every golden case under tests/golden/, one pytest item each, failing with the runner's readable difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from swrules.cases import Case, case_files, load_cases, run_case

GOLDEN = Path(__file__).parent / "golden"


def _cases() -> list[Case]:
    return [case for f in case_files([GOLDEN]) for case in load_cases(f)]


CASES = _cases()


def test_every_shipped_ruleset_has_golden_cases() -> None:
    from swrules.rulesets import list_rulesets

    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir() and any(p.glob("*.toml"))}
    missing = {r.id for r in list_rulesets()} - folders
    assert not missing, f"rulesets without golden cases: {sorted(missing)}"


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{Path(c.file).parent.name}/{Path(c.file).stem}: {c.name}" for c in CASES]
)
def test_golden_case(case: Case) -> None:
    result = run_case(case)
    assert result.passed, "\n".join(result.failures)


def test_every_assumption_is_pinned_by_a_golden_case_that_names_it() -> None:
    from swrules.rulesets import load_ruleset

    names = {case.name for case in CASES}
    unpinned = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        for _spec, assumption in load_ruleset(folder.name).assumptions():
            if not any(assumption.id in name for name in names):
                unpinned.append(f"{folder.name}: {assumption.id}")
    assert not unpinned, f"assumptions no golden case names: {unpinned}"
