"""``swrules diff``, ``report`` and ``settle`` on the columnar engine and ``auto``: the native engine's output,
from a Parquet folder, JSON Lines or a JSON document, and a ruleset the engine cannot compile refused in one line."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from importlib import resources
from pathlib import Path

import pytest

pytest.importorskip("ibis")
columnar = pytest.importorskip("swrules.columnar")

from parquet_folders import write_parquet_folder  # noqa: E402

from swrules import evaluation  # noqa: E402
from swrules.cli import main  # noqa: E402
from swrules.compare import diff  # noqa: E402
from swrules.evaluation import evaluate  # noqa: E402
from swrules.settlement import settle  # noqa: E402

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "xx-county-2023.json"))
DINGNAN = Path(str(resources.files("swrules") / "examples" / "dingnan-2020.json"))
RULESET = "xx-county-2023"
FACTS = json.loads(EXAMPLE.read_text(encoding="utf-8"))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The xx-county example as a JSON document, JSON Lines and a Parquet folder."""
    root = tmp_path_factory.mktemp("inputs")
    facts = FACTS["facts"]
    jsonl = root / "facts.jsonl"
    jsonl.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts), encoding="utf-8")
    folder = root / "parquet"
    with columnar.read_jsonl(str(jsonl)) as tables:
        write_parquet_folder(tables, folder)
    return {"json": EXAMPLE, "jsonl": jsonl, "parquet": folder}


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Some of what is owed paid, part of one paid twice, and two ids no longer owed (their payee inferred)."""
    owed = [ob for ob in evaluate(FACTS, ruleset=RULESET, period="2023").obligations if ob.amount]
    assert len(owed) >= 2
    rows = [f"{owed[0].id},{owed[0].amount},2023-12-20", f"{owed[1].id},1.00,2023-12-20"]
    rows += [f"{owed[1].id},1.00,2023-12-21", f"{RULESET}/gone/xx-ts1/2023-11,5.00,2023-11-01"]
    rows += [f"{RULESET}/gone/nobody/2023-10,7.00,2023-10-01"]
    path = tmp_path / "paid.csv"
    path.write_text("obligation,amount,paid_on\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _commands(path: Path, ledger: Path) -> dict[str, tuple[str, ...]]:
    run = ("--ruleset", RULESET, "--period", "2023")
    return {
        "diff": ("diff", str(path), "--from", RULESET, "--to", RULESET, "--period", "2023",
                 "--set", "talent.reward=2000"),
        "diff-json": ("diff", str(path), "--from", RULESET, "--to", RULESET, "--period", "2023",
                      "--set-from", "talent.reward=1000", "--format", "json"),
        "report": ("report", str(path), *run, "--out", "-"),
        "settle": ("settle", str(path), "--ruleset", RULESET, "--through", "2023-12", "--paid", str(ledger)),
        "settle-text": ("settle", str(path), "--ruleset", RULESET, "--through", "2023-12", "--paid",
                        str(ledger), "--format", "text", "--set", "talent.reward=1600"),
    }  # fmt: skip


def _same(name: str, got: tuple[int, str, str], native: tuple[int, str, str], engine: str) -> None:
    if name == "report":  # the report names the engine that ran, in one place
        said = f" · engine {engine} · "
        assert got[1].count(said) == 1
        got = (got[0], got[1].replace(said, " · engine native · "), got[2])
    assert got == native, name


@pytest.mark.parametrize("form", ["json", "jsonl", "parquet"])
def test_the_commands_on_the_columnar_engine_print_what_native_prints(
    inputs: dict[str, Path], ledger: Path, form: str
) -> None:
    for name, argv in _commands(inputs[form], ledger).items():
        native = cli(*argv)
        assert native[0] == 0 and native[1] and native[2] == "", (name, native[2])
        _same(name, cli(*argv, "--engine", "columnar"), native, "columnar")
        _same(name, cli(*argv, "--engine", "auto"), native, "native")  # small: auto takes native


def test_auto_on_a_large_enough_parquet_folder_runs_columnar_and_prints_the_same(
    inputs: dict[str, Path], ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "AUTO_COLUMNAR_FACTS", 1)
    for name, argv in _commands(inputs["parquet"], ledger).items():
        native = cli(*argv, "--engine", "native")
        _same(name, cli(*argv, "--engine", "auto"), native, "columnar")
        _same(name, cli(*argv), native, "columnar")  # auto is the default


def test_the_library_functions_take_tables(inputs: dict[str, Path], ledger: Path) -> None:
    want_diff = diff(FACTS, from_=RULESET, to=RULESET, period="2023", set_to={"talent.reward": "2000"})
    want_settle = settle(FACTS, ruleset=RULESET, through="2023-12", paid=ledger)
    with columnar.read_jsonl(str(inputs["jsonl"])) as tables:
        for engine in ("columnar", "auto"):
            got = diff(
                tables, from_=RULESET, to=RULESET, period="2023", set_to={"talent.reward": "2000"}, engine=engine,
            )  # fmt: skip
            assert got.to_json() == want_diff.to_json() and got.changes
            settled = settle(tables, ruleset=RULESET, through="2023-12", paid=ledger, engine=engine)
            assert settled.to_json() == want_settle.to_json()


@pytest.mark.parametrize("command", ["diff", "report", "settle"])
def test_a_ruleset_the_engine_cannot_compile_is_refused_in_one_line_before_the_facts_are_read(
    tmp_path: Path, ledger: Path, command: str, refused_ruleset: Path
) -> None:
    unreadable = str(tmp_path / "missing.jsonl")  # never opened: the ruleset is refused first
    rs = str(refused_ruleset)
    argv = {
        "diff": ("diff", unreadable, "--from", rs, "--to", rs, "--period", "2021"),
        "report": ("report", unreadable, "--ruleset", rs, "--period", "2021", "--out", "-"),
        "settle": ("settle", unreadable, "--ruleset", rs, "--through", "2021-12", "--paid", str(ledger)),
    }[command]
    code, out, err = cli(*argv, "--engine", "columnar")
    assert (code, out) == (1, "")
    assert err.startswith("swrules: ruleset 'dingnan-2020', rule '") and "native engine" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    # auto takes the native engine for it, and prints what native prints
    argv = tuple(str(DINGNAN) if a == unreadable else a for a in argv)
    native = cli(*argv)
    assert native[0] == 0 and native[1]
    _same(command, cli(*argv, "--engine", "auto"), native, "native")
