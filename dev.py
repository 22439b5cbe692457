#!/usr/bin/env python3
"""Project tasks that need nothing but Python 3.11+: `python3 dev.py demo` and `python3 dev.py test`.

Each task makes (or reuses) a virtual environment in .venv, installs swrules
into it with what the task needs, then runs the task. `test` runs the suite
with branch coverage (at least 90%), on one worker process per core, and
then, where a Python 3.13 interpreter is installed, runs it again there in
.venv313, where durable-rules cannot load and the native engine is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def _python(env: Path = VENV, base: str | None = None) -> Path:
    exe = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not exe.exists():
        print(f"creating virtual environment in {env}", file=sys.stderr)
        if base is None:
            venv.EnvBuilder(with_pip=True).create(env)
        else:
            subprocess.run([base, "-m", "venv", str(env)], check=True)
    return exe


def _python313() -> str | None:
    """A Python 3.13 interpreter, if this machine has one (on PATH or under pyenv)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob("3.13*/bin/python3.13"), reverse=True):
        return str(candidate)
    found = shutil.which("python3.13")
    if found and "shims" not in Path(found).parts:  # a pyenv shim runs only when that version is selected
        return found
    return None


def _install(py: Path, extras: str) -> None:
    spec = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", spec], check=True)


def demo(args: list[str]) -> int:
    py = _python()
    _install(py, "")
    return subprocess.run([str(py), "-m", "swrules", "demo", *args]).returncode


#: pytest-xdist: one worker per core, each taking the next test when it is free (the tests' times vary from
#: milliseconds to a minute). ``python3 dev.py test -n0 ...`` runs in one process.
WORKERS = ["-n", "auto", "--dist", "worksteal"]


def test(args: list[str]) -> int:
    py = _python()
    _install(py, "dev")
    coverage = ["--cov=swrules", "--cov-branch", "--cov-report=term", "--cov-fail-under=90"]
    code = subprocess.run([str(py), "-m", "pytest", *WORKERS, *coverage, *args], cwd=ROOT).returncode
    if code != 0 or args:
        return code
    # durable-rules does not import on Python 3.13+: the same suite runs there on the native engine.
    base = _python313()
    if base is None:
        print("Python 3.13 not found: the native-engine run on 3.13 is skipped", file=sys.stderr)
        return code
    print(f"running the suite again on {base} (native engine)", file=sys.stderr)
    py313 = _python(ROOT / ".venv313", base)
    _install(py313, "dev")
    return subprocess.run([str(py313), "-m", "pytest", *WORKERS, "-q", *args], cwd=ROOT).returncode


TASKS = {"demo": demo, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 dev.py {{{','.join(TASKS)}}} [args...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(TASKS[sys.argv[1]](sys.argv[2:]))
