"""CSV folders in the encodings Chinese spreadsheet software exports: --encoding, and bytes that do not decode."""

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
from swrules.sources import CSV_ENCODINGS, read_csv_folder

EXAMPLE = json.loads((resources.files("swrules") / "examples" / "dingnan-2020.json").read_text("utf-8"))
ARGS = ("--ruleset", "dingnan-2020", "--period", "2021")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        try:
            code = main(list(argv), out=out)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def export(folder: Path, encoding: str) -> Path:
    """The example as a CSV folder, encoded the way a spreadsheet would save it."""
    folder.mkdir()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for fact in EXAMPLE["facts"]:
        by_type.setdefault(fact["type"], []).append(fact)
    for fact_type, rows in by_type.items():
        columns = sorted({k for r in rows for k in r if k != "type"})
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])
        (folder / f"{fact_type}.csv").write_bytes(text.getvalue().encode(encoding))
    return folder


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "GBK"])
def test_a_folder_in_another_encoding_reads_with_encoding(tmp_path: Path, encoding: str) -> None:
    folder = export(tmp_path / "export", encoding.lower())
    expected = swrules.evaluate(EXAMPLE, ruleset="dingnan-2020", period="2021").to_json()
    assert "历市镇".encode() not in (folder / "community.csv").read_bytes() or encoding == "utf-8-sig"
    code, out, err = cli("evaluate", str(folder), *ARGS, "--encoding", encoding)
    assert (code, err) == (0, "")
    assert out == expected
    facts = read_csv_folder(str(folder), encoding=encoding)
    assert {f.township for f in facts.of_type("community")} == {"历市镇", "天九镇", "龙塘镇"}  # type: ignore[attr-defined]


def test_gbk_read_as_utf8_names_the_file_and_line_and_the_option(tmp_path: Path) -> None:
    folder = export(tmp_path / "export", "gbk")
    code, out, err = cli("evaluate", str(folder), *ARGS)
    assert code == 2 and out == ""
    line = next(n for n, row in enumerate((folder / "community.csv").read_bytes().splitlines(), 1) if not row.isascii())
    assert f"community.csv line {line}: not UTF-8 text" in err
    assert "--encoding gbk" in err  # the way out
    assert "Traceback" not in err


def test_bad_bytes_are_reported_by_file_and_line_in_every_encoding(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "community.csv").write_bytes(b"id,kind,township\nc1,urban,ok\nc2,urban,\xff\xff\xff\n")
    for encoding in CSV_ENCODINGS:
        with pytest.raises(InputError) as caught:
            read_csv_folder(str(folder), encoding=encoding)
        (problem,) = caught.value.problems
        assert problem.source is not None and problem.source.endswith("community.csv line 3"), problem
        assert encoding.upper() in problem.message


def test_an_encoding_for_json_is_refused_not_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    code, out, err = cli("evaluate", str(path), *ARGS, "--encoding", "gbk")
    assert code == 2 and out == "" and "JSON is UTF-8" in err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    assert cli("evaluate", "-", *ARGS, "--encoding", "gb18030")[0] == 2
    assert cli("evaluate", str(path), *ARGS, "--encoding", "utf-8")[0] == 0


def test_only_the_encodings_named_are_taken(tmp_path: Path) -> None:
    folder = export(tmp_path / "export", "utf-8")
    code, _, err = cli("evaluate", str(folder), *ARGS, "--encoding", "latin-1")
    assert code == 2 and "--encoding" in err
    with pytest.raises(InputError, match="encoding"):
        read_csv_folder(str(folder), encoding="rot13")


@pytest.mark.parametrize("command", ["explain", "report", "session", "diff", "settle"])
def test_every_command_that_reads_facts_takes_encoding(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--encoding" in capsys.readouterr().out
