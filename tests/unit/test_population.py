"""The synthetic population: deterministic, valid, and shaped like a county."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from swrules.load import load_facts
from swrules.population import generate, write_jsonl


def test_the_same_size_and_seed_give_the_same_facts_and_other_seeds_differ() -> None:
    assert generate(300) == generate(300)
    assert generate(300, seed=1) != generate(300)


def test_a_population_loads_without_a_problem_and_has_every_fact_type() -> None:
    facts = generate(2_000)
    loaded = load_facts(facts)
    types = Counter(f.TYPE for f in loaded)
    assert types["person"] == 2_000 and types["jurisdiction"] == 1
    for fact_type in (
        "certificate",
        "post",
        "community",
        "organization",
        "exam_registration",
        "training",
        "service_project",
        "talent_selection",
    ):
        assert types[fact_type] > 0, fact_type
    certified = {f.holder for f in loaded.of_type("certificate")}
    assert 0.25 < len(certified) / 2_000 < 0.45


def test_jsonl_holds_one_fact_per_line(tmp_path: Path) -> None:
    path = tmp_path / "county.jsonl"
    count = write_jsonl(path, 500)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == count and [json.loads(line) for line in lines] == generate(500)
