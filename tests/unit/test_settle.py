"""Settlement: owed under the facts now, against a ledger of what was paid."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import swrules
from swrules.cli import main
from swrules.errors import InputError, PeriodError
from swrules.settlement import Payment, parse_ledger, read_ledger, settle

FACTS = {
    "facts": [
        {"type": "person", "id": "p1", "role": "community_worker", "community": "c1", "valid_until": "2021-06-30"},
        {"type": "person", "id": "p1", "role": "other", "valid_from": "2021-07-01"},
        {"type": "community", "id": "c1", "kind": "urban"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2019-05-01"},
    ]
}
TWELVE = [
    {"obligation": f"dingnan-2020/monthly-allowance/p1/2021-{m:02d}", "amount": "100.00", "paid_on": f"2021-{m:02d}-25"}
    for m in range(1, 13)
]


def test_a_role_change_entered_late_is_recovered_for_the_months_paid_since() -> None:
    s = settle(FACTS, ruleset="dingnan-2020", through="2021-12", paid=TWELVE)
    assert s.balances() == {"p1": Decimal("-600.00")}
    recover = [line for line in s.lines if line.balance]
    assert [line.due for line in recover] == [f"2021-{m:02d}" for m in range(7, 13)]
    assert all(
        line.owed == 0 and line.paid == 100 and line.payee == "p1" and line.kind == "monthly_allowance"
        for line in recover
    )
    (total,) = s.totals
    assert (total.payer, total.kind, total.owed, total.paid, total.balance) == (
        "county_finance",
        "monthly_allowance",
        Decimal("600.00"),
        Decimal("1200.00"),
        Decimal("-600.00"),
    )
    doc = json.loads(s.to_json())
    assert list(doc) == ["ruleset", "through", "lines", "totals"]
    assert doc["lines"][6] == {
        "obligation": "dingnan-2020/monthly-allowance/p1/2021-07",
        "payee": "p1",
        "payer": "county_finance",
        "kind": "monthly_allowance",
        "due": "2021-07",
        "owed": "0.00",
        "paid": "100.00",
        "balance": "-100.00",
    }
    assert "recover      100.00  p1" in s.to_text()


def test_nothing_paid_yet_leaves_everything_owed_through_the_month_in_arrears() -> None:
    s = settle(FACTS, ruleset="dingnan-2020", through="2021-03", paid=[])
    assert [(line.due, line.balance) for line in s.lines] == [(f"2021-0{m}", Decimal("100.00")) for m in (1, 2, 3)]


def test_the_ledger_says_who_was_paid_where_the_facts_no_longer_do() -> None:
    paid = [
        {"obligation": "elsewhere/x/1", "amount": "5", "paid_on": "2021-02-01", "payee": "q9", "kind": "exam_reward"}
    ]
    (line, *_) = [x for x in settle(FACTS, ruleset="dingnan-2020", through="2021-01", paid=paid).lines if x.paid]
    assert (line.payee, line.kind, line.payer, line.due, line.balance) == ("q9", "exam_reward", None, None, Decimal(-5))


def test_in_kind_benefits_are_not_settled_and_a_payment_against_one_is_recovered() -> None:
    facts = {
        "facts": [
            {"type": "person", "id": "p1", "role": "other"},
            {"type": "talent_selection", "id": "t1", "person": "p1", "year": 2023},
        ]
    }
    paid = [{"obligation": "xx-county-2023/talent-reward/t1/card", "amount": "10.00", "paid_on": "2023-12-20"}]
    s = settle(facts, ruleset="xx-county-2023", through="2023-12", paid=paid)
    assert {(line.kind, line.owed, line.paid) for line in s.lines} == {
        ("talent_reward", Decimal("1500.00"), Decimal("0.00")),
        ("talent_card", Decimal("0.00"), Decimal("10.00")),
    }


def test_settling_runs_through_a_month() -> None:
    with pytest.raises(PeriodError, match="through a month"):
        settle(FACTS, ruleset="dingnan-2020", through="2021", paid=[])


def _ledger(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ledgers_read_from_csv_json_and_json_lines_alike(tmp_path: Path) -> None:
    csv_ = _ledger(tmp_path, "l.csv", "obligation,amount,paid_on\na/b/c,100.00,2021-01-25\n\na/b/d,-5,2021-02-01\n")
    js = _ledger(
        tmp_path,
        "l.json",
        json.dumps(
            {
                "payments": [
                    {"obligation": "a/b/c", "amount": "100.00", "paid_on": "2021-01-25"},
                    {"obligation": "a/b/d", "amount": -5, "paid_on": "2021-02-01"},
                ]
            }
        ),
    )
    jl = _ledger(
        tmp_path,
        "l.jsonl",
        '{"obligation": "a/b/c", "amount": 100.00, "paid_on": "2021-01-25"}\n\n'
        '{"obligation": "a/b/d", "amount": "-5", "paid_on": "2021-02-01"}\n',
    )
    expected = [
        Payment(obligation="a/b/c", amount=Decimal("100.00"), paid_on=swrules.Period(2021, 1).start.replace(day=25)),
        Payment(obligation="a/b/d", amount=Decimal("-5"), paid_on=swrules.Period(2021, 2).start),
    ]
    assert read_ledger(csv_) == read_ledger(js) == read_ledger(jl) == expected
    assert parse_ledger({"payments": expected}) == expected


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("l.csv", "obligation,amount,paid_on\na/b,1.001,2021-01-01\n", "l.csv line 2: amount:"),
        ("l.csv", "obligation,amount,paid_on\na/b,1,2021-02-30\n", "l.csv line 2: paid_on:"),
        ("l.csv", "obligation,amount\na/b,1\n", "l.csv line 1: paid_on: is a required column"),
        ("l.csv", "obligation,amount,paid_on,colour\n", "l.csv line 1: colour: unknown column"),
        ("l.csv", "obligation,amount,paid_on\na/b,1\n", "l.csv line 2: has 2 cells for 3 columns"),
        ("l.csv", "", "the ledger is empty"),
        (
            "l.jsonl",
            '{"obligation": "a", "amount": "1", "paid_on": "2021-01-01"}\n{"obligation": ""}\n',
            "l.jsonl line 2: obligation:",
        ),
        ("l.jsonl", "[1]\n", "l.jsonl line 1: a payment must be an object"),
        ("l.jsonl", "{nope\n", "l.jsonl line 1 is not valid JSON"),
        (
            "l.json",
            (
                '{\n "payments": [\n  {"obligation": "a", "amount": "1", "paid_on": "2021-01-01"},\n'
                '  {"obligation": "b", "amount": true, "paid_on": "2021-01-01", "kind": "gift"}\n ]\n}'
            ),
            "l.json line 4 payments[1]: amount:",
        ),
        (
            "l.json",
            '{"payments": [{"obligation": "b", "amount": "1", "paid_on": "2021-01-01", "kind": "gift"}]}',
            "kind: must be one of",
        ),
        (
            "l.json",
            '{"payments": [{"obligation": "b", "amount": "1", "paid_on": "2021-01-01", "due": "June"}]}',
            "due: must be a month YYYY-MM",
        ),
        ("l.json", '{"paid": []}', 'a ledger document is {"payments": [...]}'),
        ("l.json", "\xff", "l.json"),
    ],
)
def test_a_bad_ledger_names_the_file_the_line_and_the_field(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1") if text == "\xff" else text.encode("utf-8"))
    with pytest.raises(InputError) as caught:
        read_ledger(path)
    assert needle in str(caught.value)


def test_every_problem_of_a_ledger_is_reported_at_once(tmp_path: Path) -> None:
    path = _ledger(tmp_path, "l.csv", "obligation,amount,paid_on\na,x,2021-01-01\nb,1,nope\n,1,2021-01-01\n")
    with pytest.raises(InputError) as caught:
        read_ledger(path)
    assert len(caught.value.problems) == 3


def test_a_missing_ledger_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the ledger"):
        read_ledger(tmp_path / "none.csv")
    with pytest.raises(InputError, match="a ledger is a list of payments"):
        parse_ledger("a,b")
    with pytest.raises(InputError, match=r"payments\[0\]: a payment must be an object"):
        parse_ledger([3])


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def test_the_cli_settles_and_exits_2_on_a_malformed_ledger(tmp_path: Path) -> None:
    facts = _ledger(tmp_path, "facts.json", json.dumps(FACTS))
    rows = "".join(f"{p['obligation']},{p['amount']},{p['paid_on']}\n" for p in TWELVE)
    ledger = _ledger(tmp_path, "paid.csv", "obligation,amount,paid_on\n" + rows)
    code, out, err = _cli(
        "settle", str(facts), "--ruleset", "dingnan-2020", "--through", "2021-12", "--paid", str(ledger)
    )
    assert code == 0 and err == ""
    doc: dict[str, Any] = json.loads(out)
    assert sum(Decimal(line["balance"]) for line in doc["lines"] if line["payee"] == "p1") == Decimal("-600.00")
    code, out, _ = _cli(
        "settle",
        str(facts),
        "--ruleset",
        "dingnan-2020",
        "--through",
        "2021-12",
        "--paid",
        str(ledger),
        "--format",
        "text",
    )
    assert code == 0 and out.startswith("Settlement of dingnan-2020 through 2021-12")
    bad = _ledger(tmp_path, "bad.csv", "obligation,amount,paid_on\nx,ten,2021-01-01\n")
    code, out, err = _cli("settle", str(facts), "--ruleset", "dingnan-2020", "--through", "2021-12", "--paid", str(bad))
    assert code == 2 and out == "" and "bad.csv line 2: amount:" in err
    code, out, err = _cli("settle", str(facts), "--ruleset", "dingnan-2020", "--through", "2021", "--paid", str(ledger))
    assert code == 2 and "through a month" in err
