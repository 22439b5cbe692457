"""``timeout`` and ``progress`` on the columnar engine: progress rule by rule in each stratum, and the budget
honoured between rules and inside a long DuckDB query (interrupted), with the native engine's error."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stderr
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ibis")
columnar = pytest.importorskip("swrules.columnar")

import swrules  # noqa: E402
from swrules import cli  # noqa: E402
from swrules.budget import TimeBudget  # noqa: E402
from swrules.columnar import _engine, _watch  # noqa: E402
from swrules.engine import compile_programs  # noqa: E402
from swrules.errors import EvaluationTimeout  # noqa: E402
from swrules.progress import ProgressLine  # noqa: E402

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "xx-county-2023.json"))
RULESET, PERIOD = "xx-county-2023", "2023"
FACTS: list[Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["facts"]
#: A query DuckDB works on for minutes: only an interrupt ends it within a test's time.
ENDLESS = "SELECT count(*) FROM range(1000000000000) t(x) WHERE x % 7 = 3"


def _programs() -> tuple[Any, ...]:
    """The programs of the evaluation, as the engines compile them (strata of rules)."""
    ruleset = swrules.load_ruleset(RULESET)
    frame = ruleset.frame(swrules.Period.parse(PERIOD))
    return compile_programs(ruleset.id, ruleset.bindings(), ruleset.parameters, frame, dated=None)


def test_progress_is_reported_rule_by_rule_to_the_end_of_every_stratum() -> None:
    calls: list[tuple[int, int, int, int]] = []
    result = swrules.evaluate(
        FACTS, ruleset=RULESET, period=PERIOD, engine="columnar", progress=lambda *a: calls.append(a)
    )
    assert result.engine == "columnar"
    rules = sum(len(stratum) for program in _programs() for stratum in program.strata)
    assert len(calls) == rules
    for program in _programs():
        strata = len(program.strata)
        for number, stratum in enumerate(program.strata):
            mine = [c for c in calls if c[1] == strata and c[0] == number and c[3] == len(stratum)]
            assert [c[2] for c in mine][-len(stratum) :] == list(range(1, len(stratum) + 1))
    assert all(0 < done <= total and 0 <= s < strata for s, strata, done, total in calls)


def test_a_terminal_gets_a_progress_line_from_the_columnar_engine() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    line = ProgressLine(stream)
    swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar", progress=line)
    line.close()
    last = stream.getvalue().strip().split("\r")[-1]
    assert last.startswith("evaluating: step ")
    done, total = last.rsplit(" ", 1)[1].split("/")
    assert done == total


def test_the_budget_is_read_between_rules() -> None:
    now = [0.0]
    budget = TimeBudget(5, clock=lambda: now[0])
    seen: list[tuple[int, int, int, int]] = []

    def progress(*step: int) -> None:
        seen.append(step)  # type: ignore[arg-type]
        now[0] = 6.0  # the first rule took the whole budget

    with pytest.raises(EvaluationTimeout) as caught:
        swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar", timeout=budget, progress=progress)
    assert len(seen) == 1 and caught.value.seconds == 5


def _endless_first_query(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the engine's first rule query run ``ENDLESS`` first; returns when it started."""
    started: list[float] = []
    real = _engine.arrow_of

    def slow(con: Any, sql: str) -> Any:
        if not started:
            started.append(time.monotonic())
            con.execute(ENDLESS).fetchall()
        return real(con, sql)

    monkeypatch.setattr(_engine, "arrow_of", slow)
    return started


def _budget_from(started: list[float], seconds: float) -> TimeBudget:
    """A budget of ``seconds`` counted from the start of the endless query (nothing before it counts, however
    slowly the machine gets there)."""
    return TimeBudget(seconds, clock=lambda: time.monotonic() - started[0] if started else 0.0)


def test_a_long_query_is_interrupted_when_the_budget_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar")  # its plans compiled and kept
    started = _endless_first_query(monkeypatch)
    with pytest.raises(EvaluationTimeout, match="budget of 1 s") as caught:
        swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar", timeout=_budget_from(started, 1))
    assert started and time.monotonic() - started[0] < 60  # stopped, not run to its end
    assert caught.value.__cause__ is None
    monkeypatch.undo()
    assert swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar").engine == "columnar"


def test_tables_held_by_the_caller_stay_usable_after_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in FACTS), encoding="utf-8")
    want = swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="native").to_json()
    with columnar.read_jsonl(str(path)) as tables:
        swrules.evaluate(tables, ruleset=RULESET, period=PERIOD, engine="columnar")
        started = _endless_first_query(monkeypatch)
        with pytest.raises(EvaluationTimeout):
            swrules.evaluate(
                tables, ruleset=RULESET, period=PERIOD, engine="columnar", timeout=_budget_from(started, 0.5)
            )
        assert started
        monkeypatch.undo()
        assert swrules.evaluate(tables, ruleset=RULESET, period=PERIOD, engine="columnar").to_json() == want


def test_an_error_of_a_rule_within_the_budget_is_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(con: Any, sql: str) -> Any:
        return con.sql("SELECT CAST('x' AS INTEGER) AS x").fetchall()  # a failure that is no timeout

    monkeypatch.setattr(_engine, "arrow_of", broken)
    with pytest.raises(swrules.errors.RuleFailedError, match="cannot be worked out on the facts: Conversion Error"):
        swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar", timeout=60)


def test_the_command_line_stops_a_long_columnar_query_at_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    swrules.evaluate(FACTS, ruleset=RULESET, period=PERIOD, engine="columnar")
    _endless_first_query(monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    argv = ["evaluate", str(EXAMPLE), "--ruleset", RULESET, "--period", PERIOD, "--engine", "columnar"]
    with redirect_stderr(err):
        code = cli.main([*argv, "--timeout", "1"], out=out)
    assert (code, out.getvalue()) == (1, "")
    assert err.getvalue() == "swrules: the evaluation took longer than its budget of 1 s and was stopped; no result\n"


def test_no_watch_outside_an_evaluation() -> None:
    assert _watch._WATCH.get() is None
    with _watch.watching(None, None):
        assert _watch._WATCH.get() is None
    with _watch.watching(TimeBudget(5), None):
        assert _watch._WATCH.get() is not None
    assert _watch._WATCH.get() is None


def test_a_budget_that_runs_out_in_a_rule_between_its_queries_stops_it() -> None:
    import duckdb

    con = duckdb.connect()
    program = _programs()[0]
    with _watch.watching(TimeBudget(0.05), None):
        with pytest.raises(EvaluationTimeout), _watch.watched(con, program, program.strata[0][0]):
            time.sleep(0.5)  # Python work of the rule: the timer interrupts an idle connection
    assert con.execute("SELECT 1").fetchall() == [(1,)]  # which runs its next query as ever
    con.close()
