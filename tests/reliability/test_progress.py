"""Progress on stderr for long runs: drawn on a terminal, silent when piped."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import swrules
from swrules.population import generate, write_jsonl
from swrules.progress import ProgressLine


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_line_that_ends_at_the_total() -> None:
    stream = _Terminal()
    line = ProgressLine(stream)
    assert line.enabled
    swrules.evaluate(generate(300), ruleset="dingnan-2020", period="2021", engine="native", progress=line)
    line.close()
    text = stream.getvalue()
    assert text.startswith("\revaluating: step 1/") and text.endswith("\n")
    last = text.strip().split("\r")[-1]
    done, total = last.rsplit(" ", 1)[1].split("/")
    assert done == total


def test_a_pipe_gets_nothing() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream)
    assert not line.enabled
    swrules.evaluate(generate(50), ruleset="dingnan-2020", period="2021", engine="native", progress=line)
    line.close()
    assert stream.getvalue() == ""


def test_the_cli_prints_no_progress_when_stderr_is_piped(tmp_path: Path) -> None:
    path = tmp_path / "county.jsonl"
    write_jsonl(path, 400)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "swrules",
            "evaluate",
            str(path),
            "--ruleset",
            "dingnan-2020",
            "--period",
            "2021",
            "--engine",
            "native",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "" and done.stdout.startswith("{")
