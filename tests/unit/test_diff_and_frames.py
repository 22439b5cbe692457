"""What-if diffs and tables: reconciling totals, exactly the persons affected, typed frames, files out."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import document, populations

import swrules
from swrules.cli import main
from swrules.compare import diff
from swrules.errors import RulesetError

EXAMPLE = str(resources.files("swrules") / "examples" / "dingnan-2020.json")
pd = pytest.importorskip("pandas")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=40)
@given(populations(), st.integers(0, 400), st.sampled_from(["2021", "2022-03"]))
def test_a_what_if_allowance_reconciles_and_names_exactly_the_persons_whose_allowance_changes(
    facts: list[dict[str, Any]], amount: int, period: str
) -> None:
    d = diff(
        document(facts),
        from_="dingnan-2020",
        to="dingnan-2020",
        period=period,
        set_to={"allowance.assistant": str(amount)},
        engine="native",
    )
    for t in d.totals:
        assert t.old + t.change == t.new
    old = sum((o.amount for o in d.old.obligations if o.amount is not None), Decimal(0))
    new = sum((o.amount for o in d.new.obligations if o.amount is not None), Decimal(0))
    assert old + sum((t.change for t in d.totals), Decimal(0)) == new
    affected = (
        {o.payee for o in d.old.obligations if o.kind.value == "monthly_allowance" and o.amount == Decimal(100)}
        if amount != 100
        else set()
    )
    assert {c.subject for c in d.changes} == affected
    assert all(c.section == "obligations" and set(c.fields) <= {"amount"} for c in d.changes)


def test_the_cli_diff_shows_who_changes_and_totals(tmp_path: Path) -> None:
    code, out, _ = cli(
        "diff",
        EXAMPLE,
        "--from",
        "dingnan-2020",
        "--to",
        "dingnan-2020",
        "--set",
        "allowance.assistant=150",
        "--period",
        "2021",
    )
    assert code == 0
    assert "p05\n  changed  obligation monthly_allowance 2021-04…2021-12 (9 months): amount 100.00 → 150.00" in out
    assert "monthly_allowance            county_finance              10,120.00      14,270.00      +4,150.00" in out
    code, out, _ = cli(
        "diff", EXAMPLE, "--from", "dingnan-2020", "--to", "xx-county-2023", "--period", "2023", "--format", "json"
    )
    doc = json.loads(out)
    assert doc["from"] == "dingnan-2020" and doc["to"] == "xx-county-2023"
    assert Decimal(str(doc["total"]["old"])) + Decimal(str(doc["total"]["change"])) == Decimal(str(doc["total"]["new"]))


def test_unknown_or_malformed_settings_are_bad_input() -> None:
    code, _, err = cli(
        "diff",
        EXAMPLE,
        "--from",
        "dingnan-2020",
        "--to",
        "dingnan-2020",
        "--period",
        "2021",
        "--set",
        "allowance.bonus=1",
    )
    assert code == 2 and "allowance.bonus" in err
    code, _, err = cli(
        "diff",
        EXAMPLE,
        "--from",
        "dingnan-2020",
        "--to",
        "dingnan-2020",
        "--period",
        "2021",
        "--set",
        "allowance.assistant",
    )
    assert code == 2 and "NAME=VALUE" in err
    with pytest.raises(RulesetError):
        diff(
            json.loads(Path(EXAMPLE).read_text("utf-8")),
            from_="dingnan-2020",
            to="dingnan-2020",
            period="2021",
            set_to={"allowance.assistant": "lots"},
        )


def test_frames_have_typed_columns_and_exact_money() -> None:
    result = swrules.evaluate(json.loads(Path(EXAMPLE).read_text("utf-8")), ruleset="dingnan-2020", period="2021")
    frames = result.to_frames()
    assert list(frames) == ["post_grades", "eligibility", "obligations", "findings"]
    ob = frames["obligations"]
    assert str(ob["amount_fen"].dtype) == "Int64" and str(ob["period_start"].dtype).startswith("datetime64")
    assert ob["amount_fen"].sum() == sum(int(o.amount * 100) for o in result.obligations if o.amount is not None)
    assert isinstance(ob["amount"].iloc[0], Decimal)
    assert str(frames["eligibility"]["eligible"].dtype) == "boolean"
    assert len(frames["findings"]) == len(result.findings)
    d = diff(
        result.old if False else json.loads(Path(EXAMPLE).read_text("utf-8")),
        from_="dingnan-2020",
        to="dingnan-2020",
        period="2021",
        set_to={"allowance.senior": "300"},
    )
    tables = d.to_frames()
    assert set(tables["changes"]["field"]) == {"amount"} and len(tables["totals"]) == len(d.totals)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_cli_writes_one_file_per_section(tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    code, _, _ = cli(
        "evaluate",
        EXAMPLE,
        "--ruleset",
        "dingnan-2020",
        "--period",
        "2021",
        "--format",
        fmt,
        "--out",
        str(tmp_path / "tables"),
    )
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "tables").iterdir())
    assert names == sorted(f"{s}.{fmt}" for s in ("post_grades", "eligibility", "obligations", "findings"))
    frame = (
        pd.read_csv(tmp_path / "tables" / f"obligations.{fmt}")
        if fmt == "csv"
        else pd.read_parquet(tmp_path / "tables" / "obligations.parquet")
    )
    assert int(frame["amount_fen"].sum()) == 2_759_000
    code, _, err = cli("evaluate", EXAMPLE, "--ruleset", "dingnan-2020", "--period", "2021", "--format", fmt)
    assert code == 2 and "--out" in err
