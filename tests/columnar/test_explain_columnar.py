"""Explanations of a columnar result: every item explained exactly as the native engine explains it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("ibis")
columnar = pytest.importorskip("swrules.columnar")

from swrules.cases import Case, case_files, load_cases  # noqa: E402
from swrules.errors import EngineError  # noqa: E402
from swrules.evaluation import evaluate  # noqa: E402

GOLDEN = Path(__file__).parent.parent / "golden"


def _cases() -> list[Case]:
    found = [
        c for path in case_files([GOLDEN]) for c in load_cases(path) if c.ruleset in ("zhejiang-2019", "xx-county-2023")
    ]
    return found[1::4]  # a quarter of them, other ones than the byte-identity test's third


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{Path(c.file).stem}: {c.name[:60]}") for c in _cases()])
def test_every_item_is_explained_as_on_the_native_engine(case: Case) -> None:
    run = {"ruleset": case.ruleset, "period": case.period, "parameters": case.parameters or None}
    try:
        native = evaluate(case.facts, engine="native", **run)
    except EngineError:
        pytest.skip("the case expects an error")
    result = evaluate(case.facts, engine="columnar", **run)
    assert result.keys() == native.keys()
    for key in native.keys():
        assert result.explain(key).to_dict() == native.explain(key).to_dict(), key
        assert result.explain(key, depth=1).to_text() == native.explain(key, depth=1).to_text(), key
    for item in result.items():
        assert result.explain(item) == native.explain(item.key)


def test_facts_read_as_tables_are_explained_while_open(tmp_path: Path) -> None:
    facts = [
        {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
        {"type": "community", "id": "c1", "kind": "urban", "township": "t1"},
        {"type": "training", "id": "tr1", "person": "p1", "year": 2021, "hours": "16"},
        {"type": "training", "id": "tr2", "person": "p1", "year": 2021, "hours": "60.50"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "senior", "obtained_on": "2021-05-01"},
    ]
    path = tmp_path / "facts.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    native = evaluate(facts, ruleset="zhejiang-2019", period="2022", engine="native")
    with columnar.read_jsonl(str(path)) as tables:
        result = evaluate(tables, ruleset="zhejiang-2019", period="2022", engine="columnar")
        first = result.keys()[0]
        assert result.explain(first) == native.explain(first)  # hours as written: 16 and 60.50
    for key in native.keys():  # the native run was made while the tables were open, and is kept
        assert result.explain(key) == native.explain(key)
    with columnar.read_jsonl(str(path)) as tables:
        late = evaluate(tables, ruleset="zhejiang-2019", period="2022", engine="columnar")
    with pytest.raises(EngineError, match="explain it while its FactTables is open"):
        late.explain(first)
