"""``engine="auto"``: the native engine for objects and small tables, the columnar one for large tables."""

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

from swrules import evaluation  # noqa: E402
from swrules.cli import main  # noqa: E402
from swrules.evaluation import AUTO_COLUMNAR_FACTS, evaluate  # noqa: E402

EXAMPLES = Path(str(resources.files("swrules") / "examples"))


def _facts(ruleset: str) -> list[Any]:
    facts: list[Any] = json.loads((EXAMPLES / f"{ruleset}.json").read_text(encoding="utf-8"))["facts"]
    return facts


def _jsonl(tmp_path: Path, ruleset: str) -> Path:
    path = tmp_path / f"{ruleset}.jsonl"
    path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in _facts(ruleset)), encoding="utf-8")
    return path


def _parquet(tmp_path: Path, ruleset: str) -> Path:
    folder = tmp_path / ruleset
    with columnar.read_jsonl(str(_jsonl(tmp_path, ruleset))) as tables:
        return write_parquet_folder(tables, folder)


def test_objects_take_the_native_engine() -> None:
    facts = _facts("zhejiang-2019")
    result = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="auto")
    assert result.engine == "native"
    assert result.to_json() == evaluate(facts, ruleset="zhejiang-2019", period="2021").to_json()


def test_small_tables_take_the_native_engine_and_large_ones_the_columnar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _jsonl(tmp_path, "zhejiang-2019")
    want = evaluate(_facts("zhejiang-2019"), ruleset="zhejiang-2019", period="2021").to_json()
    with columnar.read_jsonl(str(path)) as tables:
        assert sum(tables.counts.values()) < AUTO_COLUMNAR_FACTS
        small = evaluate(tables, ruleset="zhejiang-2019", period="2021", engine="auto")
        assert (small.engine, small.to_json()) == ("native", want)
        named = evaluate(tables, ruleset="zhejiang-2019", period="2021", engine="native")  # read back as objects
        assert (named.engine, named.to_json()) == ("native", want)
        monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", sum(tables.counts.values()))
        large = evaluate(tables, ruleset="zhejiang-2019", period="2021", engine="auto")
        assert (large.engine, large.to_json()) == ("columnar", want)


def test_a_ruleset_the_columnar_engine_refuses_falls_back_to_native(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused_ruleset: Path
) -> None:
    monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", 1)
    path = _jsonl(tmp_path, "dingnan-2020")
    with columnar.read_jsonl(str(path)) as tables:
        result = evaluate(tables, ruleset=refused_ruleset, period="2021", engine="auto")
    assert result.engine == "native"
    want = evaluate(_facts("dingnan-2020"), ruleset=refused_ruleset, period="2021").to_json()
    assert result.to_json() == want


def test_without_the_columnar_package_loaded_auto_is_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "swrules.columnar._tables")
    result = evaluate(_facts("xx-county-2023"), ruleset="xx-county-2023", period="2023", engine="auto")
    assert result.engine == "native"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("ruleset", "period"), [("zhejiang-2019", "2021"), ("dingnan-2020", "2021")])
def test_the_command_line_takes_auto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ruleset: str, period: str
) -> None:
    folder = _parquet(tmp_path, ruleset)
    run = (str(folder), "--ruleset", ruleset, "--period", period)
    native = cli("evaluate", *run)
    assert native[0] == 0
    assert cli("evaluate", *run, "--engine", "auto") == native
    monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", 1)  # columnar where it compiles, native where not
    native_kept = cli("evaluate", *run, "--engine", "native", "--keep-going")
    assert cli("evaluate", *run, "--engine", "auto", "--keep-going") == native_kept
    assert cli("evaluate", *run, "--keep-going") == native_kept  # auto is the default
    jsonl = _jsonl(tmp_path, ruleset)
    assert cli("evaluate", str(jsonl), "--ruleset", ruleset, "--period", period, "--engine", "auto") == cli(
        "evaluate", str(jsonl), "--ruleset", ruleset, "--period", period
    )
