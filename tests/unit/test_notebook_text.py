"""What the analyst notebook says and uses holds for the library as it is (its run is tests/test_notebook.py)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import swrules

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebooks" / "analyst-tour.ipynb"


def _cells(kind: str) -> list[str]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind]


def test_the_notebook_names_the_default_engine_the_library_has() -> None:
    prose = " ".join(" ".join(_cells("markdown")).split())
    for sentence in re.split(r"(?<=[.;])\s", prose):
        if "default" in sentence and "engine" in sentence:
            others = {"native", "durable"} - {swrules.DEFAULT_ENGINE}
            assert not any(re.search(rf"default\W+(\w+\W+)?{o}", sentence) for o in others), sentence
    assert "swrules.DEFAULT_ENGINE" in prose


def test_the_notebook_takes_its_tables_from_to_frames() -> None:
    code = "\n".join(_cells("code"))
    assert ".to_frames()" in code
    assert "pd.DataFrame(doc[" not in code and "def frames(" not in code  # no frames of its own making


def test_the_analysis_extra_can_open_the_notebook() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(re.match(r"jupyterlab\b", dep) for dep in extras["analysis"])
    told = (ROOT / "README.md").read_text(encoding="utf-8") + " ".join(_cells("markdown"))
    assert "jupyter lab docs/notebooks/analyst-tour.ipynb" in told
