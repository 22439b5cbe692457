"""``swrules evaluate --engine columnar`` and Parquet folders as input: the native engine's output and messages."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ibis")
columnar = pytest.importorskip("swrules.columnar")

from parquet_folders import write_parquet_folder  # noqa: E402

from swrules.cli import main  # noqa: E402
from swrules.columnar._schema import columns  # noqa: E402

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "zhejiang-2019.json"))
RUN = ("--ruleset", "zhejiang-2019", "--period", "2021")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def _jsonl(path: Path, facts: list[Any]) -> Path:
    path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts), encoding="utf-8")
    return path


def _parquet(folder: Path, facts: list[Any]) -> Path:
    """The facts as a Parquet folder, one file per type that has facts, rows in input order."""
    with columnar.read_jsonl(str(_jsonl(folder.parent / f"{folder.name}.jsonl", facts))) as tables:
        return write_parquet_folder(tables, folder)


@pytest.fixture(scope="module")
def example_facts() -> list[Any]:
    facts: list[Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["facts"]
    return facts


def test_every_input_form_gives_the_native_output(tmp_path: Path, example_facts: list[Any]) -> None:
    jsonl = _jsonl(tmp_path / "facts.jsonl", example_facts)
    parquet = _parquet(tmp_path / "parquet", example_facts)
    native = cli("evaluate", str(EXAMPLE), *RUN)
    assert native[0] == 0 and native[2] == ""
    for path in (EXAMPLE, jsonl):
        assert cli("evaluate", str(path), *RUN, "--engine", "columnar") == native
    # A Parquet folder holds hours as DECIMAL(38,18): the same output on both engines, its places kept.
    from_parquet = cli("evaluate", str(parquet), *RUN)
    assert from_parquet[0] == 0 and from_parquet[1] != native[1]
    assert cli("evaluate", str(parquet), *RUN, "--engine", "columnar") == from_parquet


def test_a_csv_folder_and_what_ifs_on_the_columnar_engine(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").write_text("id,role,community,full_time\np1,community_worker,c1,true\n", encoding="gbk")
    (folder / "certificate.csv").write_text(
        "id,holder,level,obtained_on,registered\nk1,p1,intermediate,2020-01-01,true\n", encoding="gbk"
    )
    (folder / "community.csv").write_text("id,kind,township\nc1,urban,t1\n", encoding="gbk")
    run = (str(folder), *RUN, "--encoding", "gbk", "--set", "applies_from=2019-06-01")
    native = cli("evaluate", *run)
    assert native[0] == 0, native[2]
    assert cli("evaluate", *run, "--engine", "columnar") == native


def test_keep_going_reports_as_on_the_native_engine(tmp_path: Path, example_facts: list[Any]) -> None:
    bad = [
        *example_facts,
        {"type": "certificate", "id": "bad-1", "holder": "nobody", "level": "senior", "obtained_on": "2020-01-01"},
        {"type": "person", "id": "bad-2", "role": "astronaut"},
    ]
    jsonl = _jsonl(tmp_path / "facts.jsonl", bad)
    refused = cli("evaluate", str(jsonl), *RUN, "--engine", "columnar")
    assert refused[0] == 2 and refused[1] == "" and refused[2] == cli("evaluate", str(jsonl), *RUN)[2]
    runs = []
    for engine in ("native", "columnar"):
        rejects = tmp_path / f"rejects-{engine}.jsonl"
        code, out, err = cli(
            "evaluate", str(jsonl), *RUN, "--keep-going", "--rejects", str(rejects), "--engine", engine
        )
        assert code == 0
        runs.append((out, err, rejects.read_text(encoding="utf-8")))
    assert runs[0] == runs[1]
    out, err, rejects = runs[0]
    assert "rejected" in err and f"facts read {len(bad)} = evaluated {len(bad) - 2} + rejected 2" in err
    assert len(rejects.splitlines()) == 2
    # The same from a Parquet folder on both engines (the bad person's role is text in its column).
    parquet = _parquet_with_bad_person(tmp_path, example_facts)
    assert cli("evaluate", str(parquet), *RUN, "--keep-going") == cli(
        "evaluate", str(parquet), *RUN, "--keep-going", "--engine", "columnar"
    )


def _parquet_with_bad_person(tmp_path: Path, facts: list[Any]) -> Path:
    folder = _parquet(tmp_path / "parquet", facts)
    with columnar.read_parquet_folder(str(folder)) as tables:
        names = ", ".join(f'"{c.name}"' for c in columns("person"))
        target = str(tmp_path / "person.parquet").replace("'", "''")
        tables.con.execute(
            f"COPY (SELECT {names} FROM person UNION ALL SELECT * REPLACE ('astronaut' AS role, 'bad-2' AS id) "
            f"FROM (SELECT {names} FROM person LIMIT 1)) TO '{target}' (FORMAT parquet)"
        )
    (tmp_path / "person.parquet").replace(folder / "person.parquet")
    return folder


def test_a_refused_ruleset_is_one_line_before_the_facts_are_read(tmp_path: Path, refused_ruleset: Path) -> None:
    unreadable = tmp_path / "missing.jsonl"  # never opened: the ruleset is refused first
    code, out, err = cli(
        "evaluate", str(unreadable), "--ruleset", str(refused_ruleset), "--period", "2021", "--engine", "columnar"
    )
    assert (code, out) == (1, "")
    assert err.startswith("swrules: ruleset 'dingnan-2020', rule '") and "native engine" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_folder_of_both_kinds_and_an_encoding_for_parquet_are_refused(
    tmp_path: Path, example_facts: list[Any]
) -> None:
    folder = _parquet(tmp_path / "parquet", example_facts)
    for engine in ("native", "columnar"):
        code, out, err = cli("evaluate", str(folder), *RUN, "--encoding", "gbk", "--engine", engine)
        assert (code, out) == (2, "") and "Parquet has its own types" in err
    (folder / "person.csv").write_text("id,role\np9,other\n", encoding="utf-8")
    for engine in ("native", "columnar"):
        code, out, err = cli("evaluate", str(folder), *RUN, "--engine", engine)
        assert (code, out) == (2, "") and "holds both CSV and Parquet files" in err


def test_a_jsonl_file_in_another_encoding_is_refused(tmp_path: Path, example_facts: list[Any]) -> None:
    jsonl = _jsonl(tmp_path / "facts.jsonl", example_facts)
    native = cli("evaluate", str(jsonl), *RUN, "--encoding", "gbk")
    assert native[0] == 2
    assert cli("evaluate", str(jsonl), *RUN, "--encoding", "gbk", "--engine", "columnar") == native


def test_without_the_columnar_extra_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example_facts: list[Any]
) -> None:
    folder = _parquet(tmp_path / "parquet", example_facts)
    for name in [n for n in sys.modules if n == "swrules.columnar" or n.startswith("swrules.columnar.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb fails, as where it is not installed
    for argv in (
        ("evaluate", str(EXAMPLE), *RUN, "--engine", "columnar"),
        ("evaluate", str(folder), *RUN),  # a Parquet folder needs the extra on the native engine too
    ):
        code, out, err = cli(*argv)
        assert (code, out) == (1, "")
        assert "pip install 'swrules[columnar]'" in err and len(err.splitlines()) == 1


def test_explain_on_the_columnar_engine_is_the_native_explanation() -> None:
    item = "post_grade/zj-q01"
    for fmt in ("text", "json"):
        native = cli("explain", str(EXAMPLE), *RUN, "--item", item, "--format", fmt)
        assert native[0] == 0 and item in native[1]
        assert cli("explain", str(EXAMPLE), *RUN, "--item", item, "--format", fmt, "--engine", "columnar") == native


def test_a_time_budget_covers_reading_a_parquet_folder(tmp_path: Path, example_facts: list[Any]) -> None:
    folder = _parquet(tmp_path / "parquet", example_facts)
    runs = [cli("evaluate", str(folder), *RUN, "--timeout", "600", "--engine", e) for e in ("native", "columnar")]
    assert runs[0][0] == 0 and runs[0] == runs[1]
