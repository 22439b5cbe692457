"""The command line refuses bad arguments and unwritable outputs before it works, and behaves in a pipe."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr
from importlib import metadata, resources
from pathlib import Path

import pytest

import swrules
from swrules.cli import main
from swrules.population import generate

EXAMPLE = str(resources.files("swrules") / "examples" / "dingnan-2020.json")
EVAL = ("evaluate", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021")
BAD_FACTS = {
    "facts": [
        {"type": "person", "id": "p1", "role": "community_worker"},
        {"type": "person", "id": "p2", "role": "astronaut"},
    ]
}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        try:
            code = main(list(argv), out=out)
        except SystemExit as exit_:  # argparse's own refusals
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


# --- --timeout ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon", "0x10"])
def test_a_bad_timeout_is_a_usage_error(value: str) -> None:
    code, out, err = cli(*EVAL, f"--timeout={value}")
    assert code == 2 and out == ""
    assert "argument --timeout" in err
    assert "positive" in err or "invalid float" in err
    assert "Traceback" not in err


def test_a_good_timeout_is_taken() -> None:
    code, out, _ = cli(*EVAL, "--timeout", "600")
    assert code == 0 and json.loads(out)["obligations"]


# --- outputs checked before evaluating -----------------------------------------------------------------------------


def test_an_unwritable_rejects_path_is_refused_before_anything_is_printed(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(BAD_FACTS), encoding="utf-8")
    for target in (tmp_path / "missing" / "rejects.jsonl", tmp_path):  # no such folder; a folder
        code, out, err = cli(
            "evaluate", str(facts), "--ruleset", "dingnan-2020", "--period", "2021", "--keep-going",
            "--rejects", str(target),
        )  # fmt: skip
        assert code == 2
        assert out == ""  # nothing was evaluated, nothing printed
        assert str(target) in err and "rejects" in err


def test_rejects_without_keep_going_is_refused_not_ignored(tmp_path: Path) -> None:
    code, out, err = cli(*EVAL, "--rejects", str(tmp_path / "rejects.jsonl"))
    assert code == 2 and out == ""
    assert "--rejects" in err and "--keep-going" in err
    assert not (tmp_path / "rejects.jsonl").exists()


def test_an_unwritable_out_is_refused_before_evaluating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    evaluated: list[bool] = []
    import swrules.cli as cli_module

    real = cli_module.evaluate

    def spy(*args: object, **kw: object) -> swrules.Result:
        evaluated.append(True)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_module, "evaluate", spy)
    for fmt, target in (("csv", blocker / "sub"), ("csv", blocker), ("json", tmp_path), ("json", blocker / "x.json")):
        code, out, err = cli(*EVAL, "--format", fmt, "--out", str(target))
        assert code == 2, (fmt, target)
        assert out == "" and "--out" in err
    assert not evaluated


def test_report_checks_its_out_before_evaluating(tmp_path: Path) -> None:
    code, out, err = cli(
        "report", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021", "--out", str(tmp_path / "no" / "r.html")
    )
    assert code == 2 and out == ""
    assert "--out" in err
    assert not (tmp_path / "no").exists()


# --- a closed pipe ----------------------------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    facts = tmp_path / "many.json"
    facts.write_text(json.dumps({"facts": generate(150, seed=3)}), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "swrules", "evaluate", str(facts), "--ruleset", "dingnan-2020", "--period", "2021"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)  # like `| head -c 100`: read a little, then stop reading
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_a_pipe_closed_before_a_short_output_is_flushed_ends_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swrules", "rulesets"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # gone before the command has started: its output waits in a buffer until the end
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


# --- swrules test with nothing to run ------------------------------------------------------------------------------


def test_swrules_test_fails_when_no_case_ran(tmp_path: Path) -> None:
    code, out, err = cli("test", str(tmp_path))
    assert code == 2
    assert "no case" in err and str(tmp_path) in err
    assert "0 passed" not in out
    (tmp_path / "notes.txt").write_text("not a case file")
    assert cli("test", str(tmp_path))[0] == 2


# --- --out with json, --version, help ------------------------------------------------------------------------------


def test_out_with_json_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    code, out, err = cli(*EVAL, "--out", str(target))
    assert code == 0 and err == ""
    assert out == f"{target}\n"
    _, stdout_doc, _ = cli(*EVAL)
    assert target.read_text(encoding="utf-8") == stdout_doc


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"swrules {swrules.__version__}\n"
    assert swrules.__version__ == metadata.version("swrules")  # the package's own version, not a second one


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_help_names_every_input_form_and_how_lists_are_written(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in ("JSON Lines", "CSV", "folder", "comma-separated", "separated by ;"):
        assert needle in text, needle


# --- swrules docs ---------------------------------------------------------------------------------------------------


def test_docs_outside_a_project_writes_nothing_without_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("docs")
    assert code == 2 and out == ""
    assert "--out" in err and "rulesets" in err
    assert list(tmp_path.iterdir()) == []
    assert cli("docs", "--check")[0] == 2
    code, _out, _ = cli("docs", "--out", "pages")
    assert code == 0 and (tmp_path / "pages" / "index.md").is_file()
