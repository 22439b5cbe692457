"""The invented Sample County example (swrules/examples/sample-county-2024): a ruleset of kind example written in
the rule language alone, its golden cases on both engines, every assumption pinned, and deliberate mistakes caught."""

from __future__ import annotations

import io
import shutil
from importlib import resources
from pathlib import Path

import pytest

from swrules.cases import load_cases, run_case, run_file
from swrules.engine import ENGINES, durable_available
from swrules.errors import RulesetError
from swrules.rulesets import list_rulesets, load_ruleset

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "sample-county-2024"))
RULESET = EXAMPLE / "sample-county-2024.toml"
CASES = load_cases(EXAMPLE / "cases.toml")
RUN_ON = [e for e in ENGINES if e == "native" or durable_available()]


def test_the_example_ships_its_text_ruleset_and_cases_as_package_data() -> None:
    for name in ("policy.md", "sample-county-2024.toml", "cases.toml"):
        assert (EXAMPLE / name).is_file(), name
    policy = (EXAMPLE / "policy.md").read_text(encoding="utf-8")
    # both languages say at the top that the county is invented
    head = policy[:600]
    assert "虚构示例，并非真实政策" in head and "An invented example, not a real policy" in head


def test_the_example_is_of_kind_example_and_is_not_listed_as_a_shipped_policy() -> None:
    ruleset = load_ruleset(RULESET)
    assert ruleset.kind == "example"
    assert ruleset.id not in {r.id for r in list_rulesets()}
    assert "invented" in ruleset.title_en and "虚构" in ruleset.title


def test_the_example_is_written_in_the_rule_language_alone() -> None:
    ruleset = load_ruleset(RULESET)
    assert "template" not in RULESET.read_text(encoding="utf-8")
    assert all(spec.logic.strip() for spec in ruleset.rules)


def test_a_misspelt_kind_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    bad = tmp_path / "county.toml"
    bad.write_text(RULESET.read_text(encoding="utf-8").replace('kind = "example"', 'kind = "exampel"'), "utf-8")
    with pytest.raises(RulesetError) as err:
        load_ruleset(bad)
    assert err.value.key == "ruleset.kind"
    assert "must be policy, base, example (got 'exampel'); did you mean 'example'?" in str(err.value)


@pytest.mark.parametrize("engine", RUN_ON)
@pytest.mark.parametrize("case", CASES, ids=[c.name[:70] for c in CASES])
def test_each_golden_case_holds_on_each_engine(case: object, engine: str) -> None:
    result = run_case(case, engine=engine)  # type: ignore[arg-type]
    assert result.passed, "\n".join(result.failures)


def test_every_assumption_is_named_by_a_case() -> None:
    names = [c.name for c in CASES]
    unpinned = [a.id for _, a in load_ruleset(RULESET).assumptions() if not any(a.id in n for n in names)]
    assert not unpinned


#: Deliberate mistakes in the rules, each of which some golden case must catch.
MISTAKES = [
    pytest.param(
        'when obtained >= param("reward.obtained_from")', 'when obtained <= param("reward.obtained_from")', id="from"
    ),
    pytest.param("in_force(c, obtained) and in_force(p, obtained)", "in_force(c, obtained)", id="day-obtained"),
    pytest.param("x.obtained_on <= d and", "x.obtained_on < d and", id="held-on-the-day"),
    pytest.param(
        '{ level = "senior", place = "rural", amount = "500.00" }',
        '{ level = "senior", place = "rural", amount = "400.00" }',
        id="table-cell",
    ),
    pytest.param("(month(d), d.day) < (month(start), start.day)", "month(d) < month(start)", id="anniversary"),
    pytest.param('if place == none then "urban"', 'if place == none then "rural"', id="no-community"),
    pytest.param("and top_rank(k, d) > 0   # the months", "   # the months", id="supplement-without-allowance"),
    pytest.param(
        "let staff = [x for x in p if social_worker(x) and", "let staff = [x for x in p if", id="agency-roles"
    ),
    pytest.param("count([x for x in p if social_worker(x) and", "count([x for x in p if", id="coverage-roles"),
]


@pytest.mark.parametrize(("old", "new"), MISTAKES)
def test_a_deliberate_mistake_in_a_rule_fails_some_case(tmp_path: Path, old: str, new: str) -> None:
    for name in ("sample-county-2024.toml", "cases.toml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    ruleset = tmp_path / "sample-county-2024.toml"
    text = ruleset.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    ruleset.write_text(text.replace(old, new), encoding="utf-8")
    results = run_file(tmp_path / "cases.toml", engine="native")
    assert any(not r.passed for r in results), f"no case catches: {old!r} -> {new!r}"


def test_pip_install_ships_the_example_and_the_language() -> None:
    """The wheel's contents come from pyproject.toml: every file of the example matches a package-data pattern,
    and the language's package is listed (a wheel built from this was installed and ran the cases)."""
    import fnmatch
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    assert "swrules.lang" in setuptools["packages"]
    patterns = setuptools["package-data"]["swrules"]
    for path in sorted(EXAMPLE.iterdir()):
        relative = f"examples/{EXAMPLE.name}/{path.name}"
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_docs_writes_the_page_of_one_ruleset_into_a_chosen_folder_and_nothing_else(tmp_path: Path) -> None:
    from swrules.cli import main
    from swrules.docgen import GENERATED_MARK

    out = tmp_path / "pages"
    out.mkdir()
    other = out / "other.md"
    other.write_text(GENERATED_MARK + "\nleft alone\n", encoding="utf-8")
    buffer = io.StringIO()
    assert main(["docs", str(RULESET), "--out", str(out)], out=buffer) == 0
    assert buffer.getvalue() == f"wrote 1 page into {out}\n"
    assert sorted(p.name for p in out.iterdir()) == ["other.md", "sample-county-2024.md"]
    page = (out / "sample-county-2024.md").read_text(encoding="utf-8")
    assert "| Kind | example — an invented policy for learning the rule language, not a real county's |" in page
    assert main(["docs", str(RULESET), "--out", str(out), "--check"], out=io.StringIO()) == 0
    (out / "sample-county-2024.md").write_text(page.replace("示例县", "某县"), encoding="utf-8")
    buffer = io.StringIO()
    assert main(["docs", str(RULESET), "--out", str(out), "--check"], out=buffer) == 1
    assert "out of date: " in buffer.getvalue() and "sample-county-2024.md (out of date)" in buffer.getvalue()


def test_the_committed_page_of_the_example_is_up_to_date() -> None:
    from swrules.cli import main

    docs = Path(__file__).parent.parent / "docs" / "examples"
    buffer = io.StringIO()
    code = main(["docs", str(RULESET), "--out", str(docs), "--check"], out=buffer)
    assert code == 0, buffer.getvalue() + "run: swrules docs " + str(RULESET) + " --out docs/examples"
