"""The command line: outputs, exit codes, and no traceback ever."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from swrules.cli import main

EXAMPLE = str(resources.files("swrules") / "examples" / "dingnan-2020.json")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def test_evaluate_prints_the_interchange_document() -> None:
    code, out, err = cli("evaluate", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021-06", "--engine", "native")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert list(doc) == ["ruleset", "period", "post_grades", "eligibility", "obligations", "findings"]
    assert doc["ruleset"] == "dingnan-2020" and doc["period"] == "2021-06"
    assert {o["period"] for o in doc["obligations"]} == {"2021-06", "2021"}


def test_evaluate_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = Path(EXAMPLE).read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = cli("evaluate", "-", "--ruleset", "dingnan-2020", "--period", "2021")
    assert code == 0 and json.loads(out)["obligations"]


def test_rulesets_lists_every_shipped_ruleset() -> None:
    code, out, _ = cli("rulesets")
    assert code == 0
    for rid in ("dingnan-2020", "zhejiang-2019", "xx-county-2023"):
        assert rid in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_explain_an_obligation(fmt: str) -> None:
    item = "dingnan-2020/monthly-allowance/p05/2021-04"
    code, out, _ = cli(
        "explain", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021", "--item", item, "--format", fmt
    )
    assert code == 0
    if fmt == "json":
        doc = json.loads(out, parse_float=Decimal)
        assert doc["clause"] == "dn2020.s3.2.allowance"
        assert doc["premises"][0]["parameters"]["allowance.assistant"] == Decimal("100.00")
        assert [p["key"] for p in doc["premises"]] == ["allowance_rates/p05"]
        assert [p["key"] for p in doc["premises"][0]["premises"]] == ["held/k03", "held/k32"]
        assert doc["judged"] == "2021-04: every day of the month"
    else:
        assert "对取得国家社会工作者职业水平证书的社区工作者" in out and "allowance-for-whole-months" in out
        assert "judged  2021-04: every day of the month" in out


def test_explain_an_unknown_item_names_it_and_exits_2() -> None:
    code, out, err = cli("explain", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021", "--item", "nope/1")
    assert code == 2 and out == "" and "nope/1" in err


@pytest.mark.parametrize("ruleset", ["dingnan-2020", "zhejiang-2019", "xx-county-2023"])
def test_demo_prints_a_readable_summary_for_each_ruleset(ruleset: str) -> None:
    code, out, _ = cli("demo", "--ruleset", ruleset, "--engine", "native")
    assert code == 0
    assert "Findings" in out and "Why?" in out and "clause" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["evaluate", EXAMPLE, "--ruleset", "nowhere-2030", "--period", "2021"], "nowhere-2030"),
        (["evaluate", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021-13"], "month must be 01 to 12"),
        (["evaluate", "/no/such/file.json", "--ruleset", "dingnan-2020", "--period", "2021"], "/no/such/file.json"),
        (["evaluate", EXAMPLE, "--ruleset", "/no/such/ruleset.toml", "--period", "2021"], "ruleset.toml"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_naming_the_problem(argv: list[str], needle: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert needle in err and "Traceback" not in err


def test_an_internal_error_is_reported_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("swrules.cli.list_rulesets", boom)
    code, _, err = cli("rulesets")
    assert code == 1 and "internal error" in err and "Traceback" not in err
    monkeypatch.setenv("SWRULES_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli("rulesets")


def test_the_module_entry_point_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "swrules", "rulesets"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "dingnan-2020" in done.stdout
