"""--keep-going: bad facts and their dependants are left out, the rest evaluated, and the counts reconcile."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import populations

from swrules.cli import main
from swrules.errors import InputError
from swrules.load import load_facts

BAD_CHANGES: list[tuple[str, Any]] = [
    ("role", "wizard"),
    ("level", "expert"),
    ("obtained_on", "2021-02-30"),
    ("tier", 9),
    ("kind", "suburb"),
    ("year", "soon"),
    ("hours", -1),
    ("funds", "0"),
]


def _spoil(fact: dict[str, Any], rnd: st.DataObject) -> dict[str, Any]:
    fields = [(k, v) for k, v in BAD_CHANGES if k in fact]
    if not fields:
        return {**fact, "unknown_field": 1}
    key, value = rnd.draw(st.sampled_from(fields))
    return {**fact, key: value}


@given(populations(max_persons=8), st.data())
def test_read_equals_evaluated_plus_rejected_and_only_dependants_of_bad_facts_are_rejected(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    spoiled = set(data.draw(st.sets(st.integers(0, max(0, len(facts) - 1)), max_size=3))) if facts else set()
    mixed = [_spoil(f, data) if i in spoiled else f for i, f in enumerate(facts)]
    loaded = load_facts(mixed, keep_going=True)
    assert loaded.read == len(mixed) == len(loaded) + len(loaded.rejected)
    rejected = {r.index for r in loaded.rejected}
    assert spoiled <= rejected
    # Every other rejection depends, through references, on a spoiled fact.
    bad_ids = {(facts[i]["type"], facts[i]["id"]) for i in spoiled}
    for r in loaded.rejected:
        if r.index not in spoiled:
            assert any("depends on" in reason or "which is invalid" in reason for reason in r.reasons), r
    kept = {(f.TYPE, f.id) for f in loaded}
    assert not kept & bad_ids
    # Without keep_going the same input is refused whole.
    if spoiled:
        with pytest.raises(InputError):
            load_facts(mixed)


def test_dependants_are_rejected_transitively() -> None:
    facts = [
        {"type": "person", "id": "p1", "role": "wizard"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-01-01"},
        {"type": "post", "id": "q1", "band": "junior", "tier": 1, "holder": "p1"},
        {"type": "person", "id": "p2", "role": "community_worker", "organization": "o1"},
        {"type": "organization", "id": "o1", "kind": "nonsense"},
        {"type": "exam_registration", "id": "e2", "person": "p2", "year": 2021},
        {"type": "person", "id": "p3", "role": "community_worker"},
    ]
    loaded = load_facts(facts, keep_going=True)
    assert [f.id for f in loaded] == ["p3"]
    reasons = {r.fact_id: r.reasons for r in loaded.rejected}
    assert reasons["e2"] == ("person: depends on person 'p2', which was rejected",)
    assert "role" in reasons["p1"][0]


def test_the_cli_evaluates_the_rest_writes_rejects_and_prints_the_reconciliation(tmp_path: Path) -> None:
    facts = {
        "facts": [
            {"type": "person", "id": "p1", "role": "community_worker"},
            {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-01-05"},
            {"type": "person", "id": "p2", "role": "wizard"},
            {"type": "certificate", "id": "k2", "holder": "p2", "level": "assistant", "obtained_on": "2021-01-05"},
        ]
    }
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(["evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021"], out=out)
    assert code == 2 and out.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()
    argv = ["evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021", "--keep-going", "--rejects"]
    with redirect_stderr(err):
        code = main([*argv, str(rejects)], out=out)
    assert code == 0
    doc = json.loads(out.getvalue())
    assert {o["payee"] for o in doc["obligations"]} == {"p1"}
    assert "facts read 4 = evaluated 2 + rejected 2" in err.getvalue()
    assert "rejected facts[2] person 'p2': role:" in err.getvalue()
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["index"], r["id"]) for r in lines] == [(2, "p2"), (3, "k2")]
    assert lines[1]["fact"]["holder"] == "p2"
