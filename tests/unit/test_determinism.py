"""The same facts give the same bytes: twice, shuffled, on either engine, in another process."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from importlib import resources

import pytest

import swrules
from swrules.engine import ENGINES, durable_available

EXAMPLES = {"dingnan-2020": "2021", "zhejiang-2019": "2022", "xx-county-2023": "2023"}


def _example(name: str) -> dict[str, list[dict[str, object]]]:
    data = (resources.files("swrules") / "examples" / f"{name}.json").read_text(encoding="utf-8")
    return json.loads(data)  # type: ignore[no-any-return]


@pytest.mark.parametrize("ruleset", sorted(EXAMPLES))
def test_shuffled_facts_and_both_engines_give_identical_bytes(ruleset: str) -> None:
    doc = _example(ruleset)
    period = EXAMPLES[ruleset]
    reference = swrules.evaluate(doc, ruleset=ruleset, period=period, engine="native").to_json()
    rng = random.Random(7)
    for engine in ENGINES if durable_available() else ("native",):
        for _ in range(3):
            facts = list(doc["facts"])
            rng.shuffle(facts)
            again = swrules.evaluate({"facts": facts}, ruleset=ruleset, period=period, engine=engine).to_json()
            assert again == reference


def test_another_process_gives_the_same_bytes_and_obligation_ids() -> None:
    here = swrules.evaluate(_example("dingnan-2020"), ruleset="dingnan-2020", period="2021").to_json()
    code = (
        "import json, sys, swrules; from importlib import resources;"
        "doc = json.loads((resources.files('swrules') / 'examples' / 'dingnan-2020.json').read_text('utf-8'));"
        "sys.stdout.write(swrules.evaluate(doc, ruleset='dingnan-2020', period='2021').to_json())"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"}
    ).stdout
    assert there == here
    ids = [o["id"] for o in json.loads(here)["obligations"]]
    assert len(ids) == len(set(ids)) > 100
