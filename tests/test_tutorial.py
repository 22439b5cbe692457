"""docs/tutorial.md replayed: the page cannot go stale.

The page marks each step with an HTML comment just before a fenced block:

- ``<!-- tutorial: write FILE -->``: the block is the whole new file;
- ``<!-- tutorial: append FILE -->``: the block is added to the file, after a blank line;
- ``<!-- tutorial: replace FILE -->``: a ``diff`` block, ``-`` lines replaced by the ``+`` lines (the ``-`` lines
  must occur exactly once, as whole lines);
- ``<!-- tutorial: run [exit=N] -->``: a ``console`` block, ``$ command`` then what it prints (stdout and stderr);
  the command must exit with N (default 0).

The steps run in order in an empty folder, shown on the page as ``/home/analyst/sample-county``. At the end the
ruleset built is the one shipped, and every case written is one of the shipped cases.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import attrs
import pytest

PAGE = Path(__file__).parent.parent / "docs" / "tutorial.md"
EXAMPLE = Path(str(resources.files("swrules") / "examples" / "sample-county-2024"))
SHOWN_AS = "/home/analyst/sample-county"
_STEP = re.compile(r"<!-- tutorial: (\w+)(?: ([^ ]+?))? -->\n+```(\w*)\n(.*?)^```\n", re.S | re.M)


@attrs.frozen
class Step:
    action: str
    argument: str
    body: str
    start: int  # offsets of the block's body in the page, for regenerating outputs
    end: int


def steps(page: str) -> list[Step]:
    found = [Step(m[1], m[2] or "", m[4], m.start(4), m.end(4)) for m in _STEP.finditer(page)]
    assert len(found) == page.count("<!-- tutorial:"), "a step marker is not followed by a fenced block"
    return found


def _run(command: str, folder: Path) -> tuple[int, str]:
    argv = shlex.split(command)
    assert argv[0] == "swrules", command
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "swrules", *argv[1:]],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout.replace(str(folder.resolve()), SHOWN_AS).replace(str(folder), SHOWN_AS)


def replay(page: str, folder: Path) -> Iterator[tuple[Step, str, str]]:
    """Carry out each step; for a command, yield the step, the output shown and the output it really gave."""
    for step in steps(page):
        target = folder / step.argument
        if step.action == "write":
            target.write_text(step.body, encoding="utf-8")
        elif step.action == "append":
            target.write_text(target.read_text(encoding="utf-8") + "\n" + step.body, encoding="utf-8")
        elif step.action == "replace":
            lines = step.body.splitlines()
            assert all(line[:1] in "-+" for line in lines), step.body
            old = "".join(line[1:] + "\n" for line in lines if line.startswith("-"))
            new = "".join(line[1:] + "\n" for line in lines if line.startswith("+"))
            text = target.read_text(encoding="utf-8")
            hits = [
                m.start() for m in re.finditer(re.escape(old), text) if m.start() == 0 or text[m.start() - 1] == "\n"
            ]
            assert len(hits) == 1, f"replace in {step.argument}: {len(hits)} places hold\n{old}"
            target.write_text(text[: hits[0]] + new + text[hits[0] + len(old) :], encoding="utf-8")
        elif step.action.startswith("run"):
            first, _, shown = step.body.partition("\n")
            assert first.startswith("$ "), step.body
            expected_exit = int(step.argument.removeprefix("exit=")) if step.argument else 0
            code, output = _run(first[2:], folder)
            assert code == expected_exit, f"{first}: exit {code}, not {expected_exit}\n{output}"
            yield step, shown, output
        else:
            raise AssertionError(f"unknown tutorial step {step.action!r}")


def _plain(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def test_every_command_of_the_tutorial_prints_what_the_page_shows(tmp_path: Path) -> None:
    page = PAGE.read_text(encoding="utf-8")
    ran = 0
    for step, shown, output in replay(page, tmp_path):
        assert _plain(output) == _plain(shown), f"{step.body.splitlines()[0]}\n--- the page shows ---\n{shown}"
        ran += 1
    assert ran >= 8
    built = (tmp_path / "sample-county-2024.toml").read_text(encoding="utf-8")
    assert built == (EXAMPLE / "sample-county-2024.toml").read_text(encoding="utf-8"), (
        "the ruleset the tutorial builds differs from the one shipped in swrules/examples/sample-county-2024"
    )
    shipped_cases = (EXAMPLE / "cases.toml").read_text(encoding="utf-8")
    written = (tmp_path / "cases.toml").read_text(encoding="utf-8")
    for block in re.split(r"\n(?=\[\[cases\]\]\n)", written):
        assert block.strip() in shipped_cases, f"a case of the tutorial is not among the shipped ones:\n{block}"


def test_the_tutorial_shows_a_mistake_with_a_did_you_mean_and_a_failing_case() -> None:
    page = PAGE.read_text(encoding="utf-8")
    runs = [s for s in steps(page) if s.action == "run"]
    assert any(s.argument == "exit=2" and "did you mean" in s.body for s in runs)
    assert any(s.argument == "exit=1" and "FAIL" in s.body for s in runs)
    commands = {s.body.split()[2] for s in runs}
    assert {"check", "params", "evaluate", "explain", "test", "docs"} <= commands


def test_a_stale_output_on_the_page_is_caught(tmp_path: Path) -> None:
    page = PAGE.read_text(encoding="utf-8").replace(": no problems", ": no problem at all", 1)
    with pytest.raises(AssertionError):
        for _step, shown, output in replay(page, tmp_path):
            assert _plain(output) == _plain(shown)


def regenerate() -> None:  # pragma: no cover - run by hand after changing the page: python tests/test_tutorial.py
    import tempfile

    page = PAGE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        outputs = [(step, output) for step, _shown, output in replay(page, Path(tmp))]
    for step, output in reversed(outputs):
        first = step.body.partition("\n")[0]
        page = page[: step.start] + first + "\n" + output + page[step.end :]
    PAGE.write_text(page, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    regenerate()


def test_every_link_of_the_tutorial_leads_to_a_file() -> None:
    page = PAGE.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page)
    assert targets
    missing = [t for t in targets if "://" not in t and not (PAGE.parent / t).exists()]
    assert not missing
