"""The library's own promises about its code: ``mypy --strict`` and ``ruff check`` are clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_passes_on_the_library() -> None:
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "swrules")])
    assert status == 0, out + err


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(), reason="no ruff"
)
def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    done = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
