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
        "[[cases]]\n" + GOOD_HEAD.replace('"x"', '"w"') + facts + "clause = 'zz.nothing'\n"
        "[[cases.count]]\nsection = 'obligations'\nn = 12\n"
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
    assert "clause 'zz.nothing' is cited by no rule" in messages[3]
    assert "expected a result, got error" in messages[4] and "tier" in messages[4]
    assert "found 12" in messages[5]
    assert not any(r.passed for r in results)


def test_quiet_mode_prints_failures_and_summary_only(tmp_path: Path) -> None:
    body = ALLOWANCE_CASE.format(ruleset="dingnan-2020")
    code, out, _ = cli("test", str(_write(tmp_path, body)), "-q")
    assert code == 0 and out == "1 passed, 0 failed\n"
