"""The worked example of the user guide ("Time and payroll"), replayed: what it shows must stay true."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import swrules
from swrules.settlement import settle

HERE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "payroll"
EXAMPLE = Path(swrules.__file__).parent / "examples" / "dingnan-2020.json"


def test_the_monthly_runs_paid_what_the_ledger_holds_and_settlement_recovers_july_to_september() -> None:
    first = json.loads((HERE / "county-as-first-known.json").read_text("utf-8"))
    runs = [
        (o.id, f"{o.amount:.2f}", f"{o.due}-25")
        for m in range(1, 10)
        for o in swrules.evaluate(first, ruleset="dingnan-2020", period=f"2021-{m:02d}").obligations
    ]
    with open(HERE / "paid-through-2021-09.csv", encoding="utf-8") as fh:
        ledger = [(r["obligation"], r["amount"], r["paid_on"]) for r in csv.DictReader(fh)]
    assert sorted(runs) == sorted(ledger)
    corrected = json.loads((HERE / "county-corrected.json").read_text("utf-8"))
    s = settle(corrected, ruleset="dingnan-2020", through="2021-09", paid=HERE / "paid-through-2021-09.csv")
    assert len(s.lines) == 16
    assert [(x.obligation.rsplit("/", 1)[1], x.balance) for x in s.lines if x.balance] == [
        ("2021-07", Decimal("-100.00")),
        ("2021-08", Decimal("-100.00")),
        ("2021-09", Decimal("-100.00")),
    ]
    assert [(t.kind, t.owed, t.paid, t.balance) for t in s.totals] == [
        ("exam_reward", Decimal("2000.00"), Decimal("2000.00"), Decimal("0.00")),
        ("monthly_allowance", Decimal("1500.00"), Decimal("1800.00"), Decimal("-300.00")),
    ]
    october = swrules.evaluate(corrected, ruleset="dingnan-2020", period="2021-10").obligations
    assert [o.id for o in october] == ["dingnan-2020/monthly-allowance/p2/2021-10"]


def test_the_twelve_monthly_runs_of_the_bundled_example_list_exactly_the_years_obligations() -> None:
    facts = json.loads(EXAMPLE.read_text("utf-8"))
    year = swrules.evaluate(facts, ruleset="dingnan-2020", period="2021").obligations
    months = [
        o
        for m in range(1, 13)
        for o in swrules.evaluate(facts, ruleset="dingnan-2020", period=f"2021-{m:02d}").obligations
    ]
    assert sorted(months, key=lambda o: o.id) == sorted(year, key=lambda o: o.id)
    assert len(year) == 109
