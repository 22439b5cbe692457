"""The time budget covers the whole call: loading, evaluating, building the result.

Time is held still and moved on by the tests (an injected clock), so nothing here depends on how fast the
machine is.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import swrules
from swrules import _inputs, cli, evaluation
from swrules import budget as budget_module
from swrules.budget import CHECK_EVERY, TimeBudget, timed
from swrules.engine import ENGINES, durable_available, execute
from swrules.errors import EvaluationTimeout, InputError
from swrules.lang._builtins import BUILTINS, Builtin

ENGINES_HERE = [e for e in ENGINES if e == "native" or durable_available()]
FACTS = [
    {"type": "person", "id": "p1", "role": "community_worker"},
    {"type": "person", "id": "p2", "role": "community_worker"},
]
RULESET = """
[ruleset]
id = "slow-last"
title = "t"
issuer = "i"
published = 2020-01-01
applies_from = 2020-01-01
extends = ["national-grades"]

[[rules]]
id = "tick"
clause = "test.tick"
text = "t"
reading = "r"
rule = '''
match p: person
when tick(p.id)
emit subject_count { subject = p.id, what = "never", count = 0 }
'''
"""


class Clock:
    """Time that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.parametrize("engine", ENGINES_HERE)
def test_a_slow_last_firing_returns_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock, engine: str
) -> None:
    fired: list[str] = []

    slow = [True]

    def tick(person: str) -> bool:
        fired.append(person)
        if person == "p2" and slow[0]:  # the last firing of the run takes 10 s
            clock.now += 10
        return False

    # A built-in only this test has: how a slow rule is simulated.
    monkeypatch.setitem(BUILTINS, "tick", Builtin(tick, 1, 1, bool, "tick(x): a test's slow built-in"))  # type: ignore[arg-type]
    path = tmp_path / "slow.toml"
    path.write_text(RULESET, encoding="utf-8")
    with pytest.raises(EvaluationTimeout, match=r"budget of 5 s"):
        swrules.evaluate(FACTS, ruleset=path, period="2021", engine=engine, timeout=TimeBudget(5, clock=clock))
    assert sorted(fired) == ["p1", "p2"]  # every firing started within the budget: only the end was late
    fired.clear()
    # The same run with the clock held still returns its result.
    slow[0] = False  # (the compiled rule keeps the built-in it was compiled with)
    assert swrules.evaluate(FACTS, ruleset=path, period="2021", engine=engine, timeout=TimeBudget(5, clock=clock))


def test_loading_the_facts_counts(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    real_load = evaluation.load_facts
    engine_ran: list[bool] = []

    def slow_load(data: Any, **kw: Any) -> Any:
        clock.now += 10  # validating the facts takes 10 s
        return real_load(data, **kw)

    def spy(*args: Any, **kw: Any) -> Any:
        engine_ran.append(True)
        return execute(*args, **kw)

    monkeypatch.setattr(evaluation, "load_facts", slow_load)
    monkeypatch.setattr(evaluation, "execute", spy)
    with pytest.raises(EvaluationTimeout):
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", timeout=TimeBudget(5, clock=clock))
    assert not engine_ran  # stopped as soon as loading was done, before any rule ran


def test_building_the_result_counts(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    real_build = evaluation.build_result

    def slow_build(*args: Any) -> Any:
        clock.now += 10
        return real_build(*args)

    monkeypatch.setattr(evaluation, "build_result", slow_build)
    with pytest.raises(EvaluationTimeout):
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", timeout=TimeBudget(5, clock=clock))


def test_a_budget_already_spent_does_no_work(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    budget = TimeBudget(5, clock=clock)
    clock.now += 6
    monkeypatch.setattr(evaluation, "load_facts", lambda *a, **k: pytest.fail("loaded past the budget"))
    with pytest.raises(EvaluationTimeout):
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", timeout=budget)


def test_validating_many_facts_reads_the_budget_as_it_goes(clock: Clock) -> None:
    facts = [{"type": "person", "id": f"p{i}", "role": "community_worker"} for i in range(CHECK_EVERY * 3)]
    seen: list[int] = []
    budget = TimeBudget(CHECK_EVERY + 0.5, clock=clock)
    walked = timed({"facts": facts}, budget)["facts"]
    with pytest.raises(EvaluationTimeout):
        for n, _ in enumerate(walked):
            seen.append(n)
            clock.now += 1  # each fact takes a second to validate
    # Stopped at the first reading after the budget ran out, not at the end of the list.
    assert len(seen) == 2 * CHECK_EVERY
    assert len(walked) == len(facts) and walked[3] is facts[3]


def test_the_cli_budget_starts_before_the_file_is_read(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(budget_module, "_now", clock)
    real_read = _inputs.read_facts  # how every evaluating command reads its facts

    def slow_read(*args: Any, **kw: Any) -> Any:
        clock.now += 10  # reading the file takes 10 s
        return real_read(*args, **kw)

    monkeypatch.setattr(_inputs, "read_facts", slow_read)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"facts": FACTS}), encoding="utf-8")
    out = io.StringIO()
    code = cli.main(["evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021", "--timeout", "5"], out)
    assert code == 1
    assert out.getvalue() == ""
    assert "budget of 5 s" in capsys.readouterr().err
    # Held still, the same command succeeds.
    monkeypatch.setattr(_inputs, "read_facts", real_read)
    out = io.StringIO()
    assert (
        cli.main(["evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021", "--timeout", "5"], out) == 0
    )
    assert json.loads(out.getvalue())["eligibility"]


def test_settle_spends_one_budget_over_all_its_years(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    real = evaluation.build_result
    calls: list[int] = []

    def slow_build(*args: Any) -> Any:
        calls.append(1)
        clock.now += 3  # each year's evaluation takes 3 s: fine alone, too long for a 5 s budget over two years
        return real(*args)

    monkeypatch.setattr(evaluation, "build_result", slow_build)
    with pytest.raises(EvaluationTimeout):
        swrules.settle(FACTS, ruleset="dingnan-2020", through="2022-12", paid=[], timeout=TimeBudget(5, clock=clock))
    assert len(calls) == 2


@pytest.mark.parametrize("bad", [0, -1, 0.0, float("nan"), float("inf"), float("-inf"), True, "5"])
def test_a_budget_is_a_positive_finite_number(bad: Any) -> None:
    with pytest.raises(InputError, match="positive, finite number of seconds"):
        swrules.evaluate(FACTS, ruleset="dingnan-2020", period="2021", timeout=bad)
    with pytest.raises(InputError):
        TimeBudget(bad)
