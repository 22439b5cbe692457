"""Settlement on random populations with histories and random ledgers: the claims payroll relies on."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import document, populations

from swrules.settlement import settle

RULESETS = ("dingnan-2020", "xx-county-2023")
THROUGH = {"dingnan-2020": ("2020-12", "2021-06", "2021-12", "2022-03"), "xx-county-2023": ("2023-08", "2023-12")}


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str, str, list[dict[str, Any]]]:
    facts = draw(populations(max_persons=6, histories=True))
    ruleset = draw(st.sampled_from(RULESETS))
    through = draw(st.sampled_from(THROUGH[ruleset]))
    owed = settle(document(facts), ruleset=ruleset, through=through, paid=[]).lines
    ids = [line.obligation for line in owed] + [f"{ruleset}/gone/x{i}" for i in range(3)]
    ledger = (
        [
            {
                "obligation": draw(st.sampled_from(ids)),
                "amount": f"{draw(st.integers(-5000, 40000)) / 100:.2f}",
                "paid_on": "2021-05-25",
            }
            for _ in range(draw(st.integers(0, 12)))
        ]
        if ids
        else []
    )
    return facts, ruleset, through, ledger


@settings(max_examples=60)
@given(cases(), st.randoms(use_true_random=False))
def test_totals_reconcile_order_does_not_matter_and_paying_the_arrears_clears_them(
    case: tuple[list[dict[str, Any]], str, str, list[dict[str, Any]]], rnd: random.Random
) -> None:
    facts, ruleset, through, ledger = case
    first = settle(document(facts), ruleset=ruleset, through=through, paid=ledger)
    # totals reconcile: for every payer and kind, and over everything
    for total in first.totals:
        lines = [x for x in first.lines if (x.payer, x.kind) == (total.payer, total.kind)]
        assert total.owed == sum((x.owed for x in lines), Decimal(0))
        assert total.paid == sum((x.paid for x in lines), Decimal(0))
        assert total.owed - total.paid == total.balance == sum((x.balance for x in lines), Decimal(0))
    assert sum(t.paid for t in first.totals) == sum((Decimal(p["amount"]) for p in ledger), Decimal(0))
    # the ledger's order does not matter
    shuffled = list(ledger)
    rnd.shuffle(shuffled)
    assert settle(document(facts), ruleset=ruleset, through=through, paid=shuffled).to_json() == first.to_json()
    # paying every positive balance and settling again leaves no arrears
    paid_more = ledger + [
        {"obligation": x.obligation, "amount": f"{x.balance:.2f}", "paid_on": "2024-01-01"}
        for x in first.lines
        if x.balance > 0
    ]
    again = settle(document(facts), ruleset=ruleset, through=through, paid=paid_more)
    assert all(x.balance <= 0 for x in again.lines)
    assert [x for x in again.lines if x.balance < 0] == [x for x in first.lines if x.balance < 0]
