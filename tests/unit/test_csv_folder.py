"""Facts from a folder of CSV files, the way HR systems export them."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stderr
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import swrules
from swrules.cli import main
from swrules.errors import InputError
from swrules.sources import read_csv_folder

EXAMPLE = json.loads((resources.files("swrules") / "examples" / "dingnan-2020.json").read_text("utf-8"))


def write_folder(folder: Path, facts: list[dict[str, Any]]) -> None:
    folder.mkdir(exist_ok=True)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        by_type.setdefault(f["type"], []).append(f)
    for fact_type, rows in by_type.items():
        columns = sorted({k for r in rows for k in r if k != "type"})
        with open(folder / f"{fact_type}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for r in rows:
                cells = []
                for c in columns:
                    v = r.get(c)
                    cells.append(
                        ""
                        if v is None
                        else ";".join(v)
                        if isinstance(v, list)
                        else str(v).lower()
                        if isinstance(v, bool)
                        else str(v)
                    )
                writer.writerow(cells)


def test_a_csv_folder_evaluates_exactly_like_the_same_facts_as_json(tmp_path: Path) -> None:
    write_folder(tmp_path / "export", EXAMPLE["facts"])
    from_csv = swrules.evaluate(read_csv_folder(str(tmp_path / "export")), ruleset="dingnan-2020", period="2021")
    from_json = swrules.evaluate(EXAMPLE, ruleset="dingnan-2020", period="2021")
    assert from_csv.to_json() == from_json.to_json()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(["evaluate", str(tmp_path / "export"), "--ruleset", "dingnan-2020", "--period", "2021"], out=out)
    assert code == 0 and out.getvalue() == from_json.to_json()


def test_problems_name_the_file_the_row_and_the_column(tmp_path: Path) -> None:
    facts = [dict(f) for f in EXAMPLE["facts"]]
    people = [f for f in facts if f["type"] == "person"]
    people[2]["role"] = "wizard"
    certs = [f for f in facts if f["type"] == "certificate"]
    certs[0]["obtained_on"] = "2021-02-30"
    write_folder(tmp_path / "export", facts)
    with pytest.raises(InputError) as caught:
        read_csv_folder(str(tmp_path / "export"))
    messages = [str(p) for p in caught.value.problems]
    assert any("person.csv row 4" in m and "role:" in m and "wizard" in m for m in messages), messages
    assert any("certificate.csv row 2" in m and "obtained_on:" in m for m in messages), messages


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({"people.csv": "id\np1\n"}, "unknown file people.csv"),
        ({}, "no CSV files"),
        ({"person.csv": "id,role,colour\np1,other,red\n"}, "colour: unknown column"),
        ({"person.csv": "id,role\np1,other,extra\n"}, "more cells than columns"),
    ],
)
def test_malformed_folders_are_bad_input(tmp_path: Path, files: dict[str, str], needle: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=needle):
        read_csv_folder(str(tmp_path))


def test_non_utf8_csv_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "person.csv").write_bytes("id,role\n张,other\n".encode("gbk"))
    with pytest.raises(InputError, match="UTF-8"):
        read_csv_folder(str(tmp_path))
