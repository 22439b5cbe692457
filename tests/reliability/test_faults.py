"""A rule that raises, an evaluation past its budget, an action durable would cut short: clean errors only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import swrules
from swrules.engine import ENGINES, _durable, durable_available
from swrules.errors import EngineError, EvaluationTimeout, RuleFailedError
from swrules.lang._builtins import BUILTINS, Builtin
from swrules.population import generate

ENGINES_HERE = [e for e in ENGINES if e == "native" or durable_available()]

RULESET = """
[ruleset]
id = "faulty"
title = "t"
issuer = "i"
published = 2020-01-01
applies_from = 2020-01-01
extends = ["national-grades"]

[[rules]]
id = "boom"
clause = "test.boom"
text = "t"
reading = "r"
rule = '''
match p: person
when boom(p.id)
emit subject_count { subject = p.id, what = "never", count = 0 }
'''
"""


def _boom(person: str) -> bool:
    if person in ("p2", "p9"):
        raise ZeroDivisionError("a bug in a rule")
    return False


def _slow(person: str) -> bool:
    time.sleep(0.002)
    return False


def install(monkeypatch: pytest.MonkeyPatch, fn: object) -> None:
    """A built-in that misbehaves (the language has none): how a bug in a rule is simulated."""
    monkeypatch.setitem(BUILTINS, "boom", Builtin(fn, 1, 1, bool, "boom(x): a test's misbehaving built-in"))  # type: ignore[arg-type]


@pytest.fixture
def faulty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install(monkeypatch, _boom)
    path = tmp_path / "faulty.toml"
    path.write_text(RULESET, encoding="utf-8")
    return path


FACTS = [
    {"type": "person", "id": "p1", "role": "community_worker"},
    {"type": "person", "id": "p2", "role": "community_worker"},
]


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_a_rule_that_raises_fails_the_evaluation_naming_rule_and_facts(faulty: Path, engine: str) -> None:
    with pytest.raises(RuleFailedError) as caught:
        swrules.evaluate(FACTS, ruleset=faulty, period="2021", engine=engine)
    assert caught.value.rule == "boom" and caught.value.facts == ("person/p2",)
    assert "ZeroDivisionError: a bug in a rule" in str(caught.value)
    # The next evaluation in the same process is unaffected.
    after = swrules.evaluate(FACTS[:1], ruleset=faulty, period="2021", engine=engine)
    assert [e.person for e in after.eligibility] == ["p1", "p1", "p1"]
    good = swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", engine=engine)
    assert len(good.eligibility) == 6


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_an_evaluation_past_its_budget_fails_cleanly_and_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    install(monkeypatch, _slow)
    path = tmp_path / "slow.toml"
    path.write_text(RULESET, encoding="utf-8")
    facts = generate(300)
    started = time.monotonic()
    with pytest.raises(EvaluationTimeout, match=r"budget of 0\.05 s"):
        swrules.evaluate(facts, ruleset=path, period="2021", engine=engine, timeout=0.05)
    assert time.monotonic() - started < 5
    assert swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", engine=engine, timeout=30).eligibility
    with pytest.raises(EngineError, match="positive"):
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", engine=engine, timeout=0)


@pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable here")
def test_an_action_durable_would_cut_short_is_reported_not_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_durable, "ACTION_LIMIT", -1.0)  # every action counts as too slow
    with pytest.raises(EngineError, match="stops a chain after 10 s"):
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", engine="durable")
    monkeypatch.undo()
    assert swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", engine="durable").eligibility
