#!/usr/bin/env python3
"""Project tasks that need nothing but Python 3.11+: `python3 dev.py demo` and `python3 dev.py test`.

Each task makes (or reuses) a virtual environment in .venv, installs swrules
into it with what the task needs, then runs the task.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def _python() -> Path:
    exe = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not exe.exists():
        print(f"creating virtual environment in {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    return exe


def _install(py: Path, extras: str) -> None:
    spec = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", spec], check=True)


def demo(args: list[str]) -> int:
    py = _python()
    _install(py, "")
    return subprocess.run([str(py), "-m", "swrules", "demo", *args]).returncode


def test(args: list[str]) -> int:
    py = _python()
    _install(py, "dev")
    coverage = ["--cov=swrules", "--cov-branch", "--cov-report=term", "--cov-fail-under=90"]
    return subprocess.run([str(py), "-m", "pytest", *coverage, *args], cwd=ROOT).returncode


TASKS = {"demo": demo, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 dev.py {{{','.join(TASKS)}}} [args...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(TASKS[sys.argv[1]](sys.argv[2:]))
