"""``auto`` is the default engine: native for objects and small inputs, columnar for large tables where the
columnar extra is installed, native (and no error) where it is not; the result and the output name the engine
taken."""

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

import swrules  # noqa: E402
from swrules import evaluation  # noqa: E402
from swrules.cli import build_parser, main  # noqa: E402
from swrules.compare import diff  # noqa: E402
from swrules.settlement import settle  # noqa: E402

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "xx-county-2023.json"))
RULESET, PERIOD = "xx-county-2023", "2023"
FACTS: list[Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["facts"]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The xx-county example as a Parquet folder."""
    root = tmp_path_factory.mktemp("default")
    jsonl = root / "facts.jsonl"
    jsonl.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in FACTS), encoding="utf-8")
    with columnar.read_jsonl(str(jsonl)) as tables:
        return write_parquet_folder(tables, root / "parquet")


def test_the_default_is_auto_and_objects_take_the_native_engine() -> None:
    assert swrules.DEFAULT_ENGINE == "auto"
    result = swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD)
    assert result.engine == "native"
    assert result.to_json() == swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="native").to_json()


def test_large_tables_take_the_columnar_engine_by_default(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="native").to_json()
    with columnar.read_parquet_folder(str(folder)) as tables:
        small = swrules.evaluate(tables, ruleset=RULESET, period=PERIOD)
        monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", sum(tables.counts.values()))
        large = swrules.evaluate(tables, ruleset=RULESET, period=PERIOD)
        assert (small.engine, large.engine) == ("native", "columnar")
        assert small.to_json() == large.to_json() == want
        changed = diff(tables, from_=RULESET, to=RULESET, period=PERIOD, set_to={"talent.reward": "2000"})
        assert changed.changes
        settled = settle(tables, ruleset=RULESET, through="2023-12", paid=[])
        assert settled.to_json() == settle(FACTS, ruleset=RULESET, through="2023-12", paid=[]).to_json()


def test_without_the_columnar_engine_large_tables_take_the_native_engine(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", 1)
    monkeypatch.setitem(sys.modules, "swrules.columnar._engine", None)  # the import fails, as without Ibis
    with columnar.read_parquet_folder(str(folder)) as tables:
        result = swrules.evaluate(tables, ruleset=RULESET, period=PERIOD)
    assert result.engine == "native"
    assert result.to_json() == swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="native").to_json()
    code, out, err = cli("report", str(folder), "--ruleset", RULESET, "--period", PERIOD, "--out", "-")
    assert (code, err) == (0, "") and " · engine native · " in out


def test_the_commands_name_the_engine_taken(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = (str(folder), "--ruleset", RULESET, "--period", PERIOD)
    small = cli("report", *run, "--out", "-")
    assert small[0] == 0 and " · engine native · " in small[1]
    monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", 1)
    large = cli("report", *run, "--out", "-")
    assert large[0] == 0 and " · engine columnar · " in large[1]
    assert large[1].replace(" · engine columnar · ", " · engine native · ") == small[1]
    key = json.loads(cli("evaluate", *run)[1])["obligations"][0]["id"]
    explained = cli("explain", *run, "--item", key)
    assert explained[0] == 0 and explained == cli("explain", *run, "--item", key, "--engine", "native")


@pytest.mark.parametrize("command", ["evaluate", "explain", "diff", "report", "settle", "demo"])
def test_the_help_says_auto_is_the_default(command: str) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    engine = next(a for a in sub.choices[command]._actions if a.dest == "engine")  # type: ignore[attr-defined]
    assert engine.default is None and "auto" in engine.choices
    assert " ".join(engine.help.split()).startswith("rule engine (default: auto: columnar for a Parquet folder")


@pytest.mark.parametrize("ruleset", ["xx-county-2023", "zhejiang-2019", "dingnan-2020"])
def test_demo_on_the_columnar_engine_prints_the_native_summary(ruleset: str) -> None:
    native = cli("demo", "--ruleset", ruleset, "--engine", "native")
    assert native[0] == 0 and " · engine native · " in native[1]
    for engine, named in (("columnar", "columnar"), ("auto", "native")):  # auto: the example is small
        code, out, err = cli("demo", "--ruleset", ruleset, "--engine", engine)
        assert (code, err) == (0, "") and out.count(f" · engine {named} · ") == 1, engine
        assert out.replace(f" · engine {named} · ", " · engine native · ") == native[1]
    assert cli("demo", "--ruleset", ruleset) == native


def test_demo_on_the_columnar_engine_of_a_ruleset_it_cannot_compile_says_so(refused_ruleset: Path) -> None:
    code, out, err = cli("demo", "--ruleset", str(refused_ruleset), "--engine", "columnar")  # dingnan's example
    assert (code, out) == (1, "")
    assert err.startswith("swrules: ruleset 'dingnan-2020', rule ") and "evaluate with the native engine" in err
    assert err.count("\n") == 1


def test_a_command_with_the_rule_engines_only_says_native_is_its_default() -> None:
    import argparse

    from swrules._inputs import add_engine
    from swrules.engine import ENGINES

    parser = argparse.ArgumentParser()
    add_engine(parser, ENGINES)
    engine = next(a for a in parser._actions if a.dest == "engine")
    assert engine.help == "rule engine (default: native)" and "auto" not in engine.choices
