"""The golden-case runner: passes, readable failures, malformed files, and a policy edit caught."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from swrules.cases import load_cases, run_file, run_paths
from swrules.cli import main
from swrules.errors import RulesetError
from swrules.rulesets import builtin_dir

GOLDEN = Path(__file__).parents[1] / "golden"

ALLOWANCE_CASE = """
[[cases]]
name = "A community worker certified in 2019 is paid the assistant allowance in May 2021"
ruleset = "{ruleset}"
period = "2021-05"
clause = "dn2020.s3.2.allowance"
facts = [
  {{ type = "person", id = "p1", role = "community_worker" }},
  {{ type = "certificate", id = "k1", holder = "p1", level = "assistant", obtained_on = 2019-05-01 }},
]
[[cases.expect]]
section = "obligations"
payee = "p1"
kind = "monthly_allowance"
amount = "100.00"
"""


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def test_the_shipped_golden_cases_pass_through_the_cli() -> None:
    code, out, _ = cli("test", str(GOLDEN), "-q")
    assert code == 0, out
    assert out.strip().endswith("0 failed")


def test_an_edited_ruleset_makes_the_runner_fail_with_a_per_field_difference(tmp_path: Path) -> None:
    """An analyst raises the assistant allowance from 100 to 120: the case pinned at 100 moves, visibly."""
    edited = tmp_path / "dingnan-2020.toml"
    text = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
    assert 'allowance.assistant = "100.00"' in text
    edited.write_text(text.replace('allowance.assistant = "100.00"', 'allowance.assistant = "120.00"'), "utf-8")
    shutil.copy(builtin_dir() / "base" / "national-grades.toml", tmp_path / "national-grades.toml")
    case = tmp_path / "allowance.toml"
    case.write_text(ALLOWANCE_CASE.format(ruleset="dingnan-2020.toml"), encoding="utf-8")

    code, out, _ = cli("test", str(case))
    assert code == 1
    assert "FAIL  A community worker certified in 2019 is paid the assistant allowance in May 2021" in out
    assert 'amount: expected "100.00", got "120.00"' in out
    assert "closest: dingnan-2020/monthly-allowance/p1/2021-05" in out
    assert out.strip().endswith("0 passed, 1 failed")

    # The same case against the shipped ruleset passes.
    case.write_text(ALLOWANCE_CASE.format(ruleset="dingnan-2020"), encoding="utf-8")
    code, out, _ = cli("test", str(case))
    assert code == 0 and "PASS" in out


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD_HEAD = 'name = "x"\nruleset = "dingnan-2020"\nperiod = "2021"\n'


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("cases = 3\n", "cases"),
        ("[other]\nx = 1\n", "other"),
        (
            "[[cases]]\nruleset = 'dingnan-2020'\nperiod = '2021'\nfacts = []\n"
            "[[cases.count]]\nsection='obligations'\nn=0\n",
            "name",
        ),
        ("[[cases]]\n" + GOOD_HEAD + "colour = 'red'\n", "colour"),
        ("[[cases]]\n" + GOOD_HEAD + "[[cases.count]]\nsection='obligations'\nn=0\n", "facts or example"),
        ("[[cases]]\n" + GOOD_HEAD + "facts = []\nexample = 'dingnan-2020'\n", "facts or example"),
        ("[[cases]]\n" + GOOD_HEAD + "facts = 3\n", "facts"),
        ("[[cases]]\n" + GOOD_HEAD + "example = 'atlantis'\n[[cases.count]]\nsection='obligations'\nn=0\n", "atlantis"),
        ("[[cases]]\n" + GOOD_HEAD + "facts = []\n", "checks nothing"),
        ("[[cases]]\n" + GOOD_HEAD + "facts = []\n[[cases.expect]]\nsection = 'payments'\n", "section"),
        ("[[cases]]\n" + GOOD_HEAD + "facts = []\n[[cases.count]]\nsection = 'obligations'\n", "n"),
        ("[[cases]]\n" + GOOD_HEAD + "facts = []\n[[cases.count]]\nsection='obligations'\nn=1\nkind='x'\n", "kind"),
        (
            "[[cases]]\n" + GOOD_HEAD + "facts = []\nparameters = 3\n[[cases.count]]\nsection='obligations'\nn=0\n",
            "parameters",
        ),
        ("[[cases]]\n" + GOOD_HEAD + "facts = []\nclause = 3\n[[cases.count]]\nsection='obligations'\nn=0\n", "clause"),
        ("not toml at all = = =\n", "TOML"),
        (
            "[[cases]]\n"
            + GOOD_HEAD
            + "facts = []\nclause = 'zz.nothing'\n[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').clause",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD.replace("dingnan-2020", "atlantis-1999") + "facts = []\n"
            "[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').ruleset",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD.replace("dingnan-2020", "missing/rules.toml") + "facts = []\n"
            "[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').ruleset",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD.replace('"2021"', '"2021-13"') + "facts = []\n"
            "[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').period",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD + "facts = []\nengine = 'drools'\n[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').engine",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD + "facts = []\nparameters = { 'allowance.nobody' = '1.00' }\n"
            "[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').parameters.allowance.nobody",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD + "facts = []\nparameters = { 'allowance.assistant' = 'lots' }\n"
            "[[cases.count]]\nsection='obligations'\nn=0\n",
            "cases[0] ('x').parameters.allowance.assistant",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD + "facts = []\n[[cases.absent]]\nsection='obligations'\npayeee='p1'\n",
            "cases[0] ('x').absent[0].payeee",
        ),
        (
            "[[cases]]\n" + GOOD_HEAD + "facts = []\n[[cases.count]]\nsection='post_grades'\nn=0\n"
            "where = { holder = 'p1' }\n",
            "cases[0] ('x').count[0].where.holder",
        ),
    ],
)
def test_malformed_case_files_are_rejected_naming_file_and_key(tmp_path: Path, body: str, key: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(RulesetError) as caught:
        load_cases(path)
    assert str(path) in str(caught.value) and key in str(caught.value)
    code, _, err = cli("test", str(path))
    assert code == 2 and key in err and "Traceback" not in err


def test_missing_paths_and_non_utf8_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RulesetError):
        run_paths([tmp_path / "missing"])
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b"name = '\xe9'\n")
    with pytest.raises(RulesetError, match="UTF-8"):
        load_cases(bad)


def test_failures_are_reported_for_absent_count_error_and_clause(tmp_path: Path) -> None:
    facts = (
        'facts = [{ type = "person", id = "p1", role = "community_worker" },'
        ' { type = "certificate", id = "k1", holder = "p1", level = "assistant", obtained_on = 2019-05-01 }]\n'
    )
    body = (
        "[[cases]]\n" + GOOD_HEAD + facts + "[[cases.absent]]\nsection = 'obligations'\nkind = 'monthly_allowance'\n"
        "[[cases]]\n" + GOOD_HEAD.replace('"x"', '"y"') + facts + "[[cases.count]]\nsection = 'obligations'\nn = 5\n"
        "[[cases]]\n" + GOOD_HEAD.replace('"x"', '"z"') + facts + "error = 'boom'\n"
        "[[cases]]\n"
        + GOOD_HEAD.replace('"x"', '"v"')
        + 'facts = [{ type = "post", id = "q", band = "junior", tier = 9 }]\n'
        "[[cases.count]]\nsection = 'obligations'\nn = 0\n"
        "[[cases]]\n" + GOOD_HEAD.replace('"x"', '"u"') + facts + "[[cases.expect]]\nsection = 'obligations'\n"
        "kind = 'monthly_allowance'\n"
    )
    results = run_file(_write(tmp_path, body))
    messages = ["\n".join(r.failures) for r in results]
    assert 'expected no item in obligations with kind="monthly_allowance", found 12' in messages[0]
    assert "expected 5 items in obligations, found 12" in messages[1]
    assert "expected an error containing 'boom', got a result" in messages[2]
    assert "expected a result, got error" in messages[3] and "tier" in messages[3]
    assert "found 12" in messages[4]
    assert not any(r.passed for r in results)
    assert [r.name for r in results] == ["x", "y", "z", "v", "u"]
    assert {r.file for r in results} == {str(tmp_path / "case.toml")}


def test_quiet_mode_prints_failures_and_summary_only(tmp_path: Path) -> None:
    body = ALLOWANCE_CASE.format(ruleset="dingnan-2020")
    code, out, _ = cli("test", str(_write(tmp_path, body)), "-q")
    assert code == 0 and out == "1 passed, 0 failed\n"


GRADE_CASE = """
[[cases]]
name = "An intermediate tier-1 post is level 8, 社会工作师一级"
ruleset = "{ruleset}"
period = "2022"
clause = "zj2019.s8.grade-map"
facts = [{{ type = "post", id = "q1", band = "intermediate", tier = 1 }}]
[[cases.expect]]
section = "post_grades"
post = "q1"
level = 8
title = "社会工作师一级"
"""


def test_an_edited_grade_table_makes_the_runner_fail_naming_the_level(tmp_path: Path) -> None:
    """The grade table moved by one level in a copy of the base layer: the pinned level 8 is reported as 9."""
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (builtin_dir() / "base" / "national-grades.toml").read_text(encoding="utf-8")
    row = '{ band = "intermediate", tier = 1, level = 8, title = "社会工作师一级" }'
    assert row in text
    (rules / "national-grades.toml").write_text(text.replace(row, row.replace("level = 8", "level = 9")), "utf-8")
    case = tmp_path / "cases" / "grade.toml"
    case.parent.mkdir()
    case.write_text(GRADE_CASE.format(ruleset="../rules/national-grades.toml"), encoding="utf-8")

    code, out, _ = cli("test", str(tmp_path / "cases"))
    assert code == 1, out
    assert "FAIL  An intermediate tier-1 post is level 8, 社会工作师一级" in out
    assert "closest: post q1" in out
    assert "level: expected 8, got 9" in out
    assert "title:" not in out  # only the field that differs is shown
    assert out.strip().endswith("0 passed, 1 failed")

    case.write_text(GRADE_CASE.format(ruleset="national-grades"), encoding="utf-8")
    assert cli("test", str(case))[0] == 0


def test_numbers_compare_numerically_and_null_is_spelled_out(tmp_path: Path) -> None:
    body = """
[[cases]]
name = "numbers and nulls"
ruleset = "zhejiang-2019"
period = "2021"
facts = [{ type = "post", id = "q1", band = "junior", tier = 2 }]
[[cases.expect]]
section = "post_grades"
post = "q1"
level = 12.0
tier = "2"
[[cases.absent]]
section = "post_grades"
level = "<null>"
"""
    results = run_file(_write(tmp_path, body))
    assert results[0].passed, results[0].failures


def test_cases_run_on_either_engine(tmp_path: Path) -> None:
    body = ALLOWANCE_CASE.format(ruleset="dingnan-2020")
    path = _write(tmp_path, body)
    from swrules.engine import durable_available

    for engine in ("native", "durable") if durable_available() else ("native",):
        code, out, _ = cli("test", str(path), "--engine", engine)
        assert code == 0, out
    with pytest.raises(SystemExit) as caught, redirect_stderr(io.StringIO()):
        cli("test", str(path), "--engine", "drools")
    assert caught.value.code == 2


def test_a_file_named_twice_runs_once_and_folders_are_searched_recursively(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "allowance.toml").write_text(ALLOWANCE_CASE.format(ruleset="dingnan-2020"), encoding="utf-8")
    (nested / "notes.txt").write_text("not a case file", encoding="utf-8")
    results = run_paths([tmp_path, nested / "allowance.toml"])
    assert [r.name for r in results] == [
        "A community worker certified in 2019 is paid the assistant allowance in May 2021"
    ]


def test_an_expectation_against_an_empty_section_says_so(tmp_path: Path) -> None:
    body = ALLOWANCE_CASE.format(ruleset="dingnan-2020").replace('period = "2021-05"', 'period = "2020-05"')
    results = run_file(_write(tmp_path, body))
    assert not results[0].passed
    assert "(obligations holds 0 items, none agreeing on any of these fields)" in results[0].failures[0]
