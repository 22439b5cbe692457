"""The library's front door: facts, a ruleset and a period in, a :class:`Result` out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from swrules._collector import collector_paused
from swrules.engine import Derivation, Progress, compile_program, durable_available, execute, key_of
from swrules.errors import EngineError
from swrules.items import Eligibility, Finding, Item, Obligation, PostGrade
from swrules.load import FactSet, load_facts
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset, load_ruleset

__all__ = ["DEFAULT_ENGINE", "DEFAULT_SESSION_ENGINE", "build_result", "evaluate"]

#: The engine a batch evaluation uses when none is named: the native engine, which gives results byte-identical
#: to durable-rules' (a property test and every golden case check it), runs a batch about ten times faster, and
#: loads on every Python swrules supports.
DEFAULT_ENGINE = "native"

#: The engine a :class:`~swrules.session.Session` uses when none is named: durable-rules, the forward-chaining
#: reference, where it can be imported (Python 3.11 and 3.12); an update re-matches a few small partitions, where
#: its speed does not decide. Elsewhere the native engine.
DEFAULT_SESSION_ENGINE = "durable" if durable_available() else "native"


def evaluate(
    facts: Any,
    *,
    ruleset: str | Path | Ruleset,
    period: str | Period,
    engine: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> Result:
    """Evaluate ``facts`` against ``ruleset`` for ``period``.

    ``facts`` is a JSON document (``{"facts": [...]}``), a list of fact dicts
    or fact objects, or a :class:`~swrules.load.FactSet`. ``ruleset`` is an id
    (``"dingnan-2020"``), a path to a ruleset file, or a loaded
    :class:`~swrules.rulesets.Ruleset`. ``parameters`` replaces parameter
    values for this evaluation only (a what-if). Bad input raises
    :class:`~swrules.errors.InputError` listing every problem. ``timeout`` is a
    time budget in seconds: an evaluation that runs past it raises
    :class:`~swrules.errors.EvaluationTimeout` and returns nothing partial.
    ``progress`` is called as the evaluation goes (stratum, strata, partitions
    done, partitions in the stratum), for a progress display.
    """
    the_period = Period.parse(period)
    the_ruleset = load_ruleset(ruleset)
    if parameters:
        the_ruleset = the_ruleset.with_parameters(parameters)
    name = engine or DEFAULT_ENGINE
    # durable-rules leaves reference cycles behind every action, so the collector keeps running for it.
    with collector_paused() if name == "native" else contextlib.nullcontext():
        fact_set = facts if isinstance(facts, FactSet) else load_facts(facts)
        program = compile_program(the_ruleset.id, the_ruleset.bindings(), the_ruleset.parameters, the_period)
        run = execute(program, fact_set, name, timeout=timeout, progress=progress)
        return build_result(the_ruleset, the_period, name, run.items, run.derivations, run.objects)


def build_result(
    ruleset: Ruleset,
    period: Period,
    engine: str,
    items: Iterable[Item],
    derivations: Mapping[str, Derivation],
    objects: Mapping[str, Any],
) -> Result:
    """The result of a finished run: items sorted into their sections, every obligation checked in period."""
    sections: dict[str, list[Any]] = {"post_grades": [], "eligibility": [], "obligations": [], "findings": []}
    intermediate = []
    for item in items:
        if item.SECTION is None:
            intermediate.append(item)
        else:
            sections[item.SECTION].append(item)
    reported: dict[str, bool] = {}  # a year's obligations name at most 13 periods
    for ob in sections["obligations"]:
        ok = reported.get(ob.period)
        if ok is None:
            ok = reported[ob.period] = _overlaps(ob.period, period)
        if not ok:
            raise EngineError(f"rule {ob.rule!r} derived obligation {ob.id!r} for {ob.period}, outside {period}")
    return Result(
        ruleset=ruleset,
        period=period,
        engine=engine,
        post_grades=tuple(
            sorted((i for i in sections["post_grades"] if isinstance(i, PostGrade)), key=PostGrade.sort_key)
        ),
        eligibility=tuple(
            sorted((i for i in sections["eligibility"] if isinstance(i, Eligibility)), key=Eligibility.sort_key)
        ),
        obligations=tuple(
            sorted((i for i in sections["obligations"] if isinstance(i, Obligation)), key=Obligation.sort_key)
        ),
        findings=tuple(sorted((i for i in sections["findings"] if isinstance(i, Finding)), key=Finding.sort_key)),
        intermediate=tuple(sorted(intermediate, key=key_of)),
        derivations=derivations,
        objects=objects,
    )


def _overlaps(item_period: str, period: Period) -> bool:
    """An obligation is reported when its period lies within or contains the evaluated one."""
    other = Period.parse(item_period)
    return (
        other.start <= period.end
        and period.start <= other.end
        and (other.year == period.year and (other.month is None or period.month is None or other.month == period.month))
    )
