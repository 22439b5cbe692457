"""The analyst notebook runs from top to bottom (the `analysis` extra; installed with `dev`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
nbclient = pytest.importorskip("nbclient", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
pytest.importorskip("ipykernel", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
pytest.importorskip("pandas", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
pytest.importorskip("matplotlib", reason="the analysis extra is not installed (pip install -e '.[analysis]')")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "analyst-tour.ipynb"


def _outputs(nb: Any, kind: str) -> list[Any]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == kind]


def test_analyst_tour_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not _outputs(nb, "display_data") and not _outputs(nb, "execute_result"), "commit the notebook cleared"
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no display, whatever the machine
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    started = time.monotonic()
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    elapsed = time.monotonic() - started
    assert not [o for o in _outputs(nb, "error")]
    images = [o for o in _outputs(nb, "display_data") if "image/png" in o.data]
    assert len(images) >= 4, "monthly obligations, cost per community, the what-if and the comparison are drawn"
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for o in _outputs(nb, "stream") + _outputs(nb, "execute_result") + _outputs(nb, "display_data")
    )
    for expected in ("community_staffing", "xx-county-2023", "dingnan-2020", "what-if"):
        assert expected in text, expected
    assert elapsed < 60, f"the notebook took {elapsed:.1f} s"
