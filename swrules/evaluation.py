"""The library's front door: facts, a ruleset and a period in, a :class:`Result` out."""

from __future__ import annotations

import contextlib
import operator
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, cast

import attrs

from swrules._collector import collector_paused
from swrules.budget import TimeBudget, budget_of, timed
from swrules.engine import Derivation, Program, Progress, compile_programs, durable_available, execute
from swrules.errors import ColumnarUnsupportedError, EngineError
from swrules.facts import Band
from swrules.items import Eligibility, Finding, Item, Obligation, PostGrade
from swrules.load import FactSet, load_facts
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset, load_ruleset

__all__ = [
    "AUTO_COLUMNAR_FACTS",
    "DEFAULT_ENGINE",
    "DEFAULT_SESSION_ENGINE",
    "Routed",
    "World",
    "build_result",
    "evaluate",
]

#: The engine a batch evaluation uses when none is named: ``auto``, which takes the native engine for facts given
#: as Python objects and for small tables, and the columnar engine for tables of at least
#: :data:`AUTO_COLUMNAR_FACTS` facts where the columnar extra is installed and the ruleset compiles. The native
#: engine gives results byte-identical to durable-rules' (a property test and every golden case check it), runs a
#: batch about ten times faster, and loads on every Python swrules supports; the columnar engine gives the same
#: bytes (every golden case checks it). The result names the engine taken (``result.engine``).
DEFAULT_ENGINE = "auto"

#: The engine a :class:`~swrules.session.Session` uses when none is named: durable-rules, the forward-chaining
#: reference, where it can be imported (Python 3.11 and 3.12); an update re-matches a few small partitions, where
#: its speed does not decide. Elsewhere the native engine.
DEFAULT_SESSION_ENGINE = "durable" if durable_available() else "native"

#: ``engine="auto"`` runs the columnar engine on facts given as tables (a :class:`~swrules.columnar.FactTables`)
#: of at least this many facts, when the ruleset compiles; else the native engine (tables read back as a
#: FactSet). Measured on synthetic populations read from Parquet (docs/scaling-out.md, "Choosing an engine:
#: auto"): at 13,506 facts the native engine, reading the tables back included, takes half the columnar
#: engine's time; at 54,473 the two are even (native ahead on zhejiang-2019, columnar on xx-county-2023); at
#: 271,409 the columnar engine is ahead on both (by 9% and 57%). Facts given as Python objects always take the
#: native engine: putting them into DuckDB costs more than the columnar engine saves, at every size measured.
AUTO_COLUMNAR_FACTS: Final = 100_000

#: The engine names ``evaluate`` takes besides the rule engines.
COLUMNAR: Final = "columnar"
AUTO: Final = "auto"
SPARK: Final = "spark"

#: What ``auto`` takes below :data:`AUTO_COLUMNAR_FACTS`, for objects, and where the columnar engine cannot run.
NATIVE: Final = "native"


def evaluate(
    facts: Any,
    *,
    ruleset: str | Path | Ruleset,
    period: str | Period,
    engine: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | TimeBudget | None = None,
    progress: Progress | None = None,
) -> Result:
    """Evaluate ``facts`` against ``ruleset`` for ``period``.

    ``facts`` is a JSON document (``{"facts": [...]}``), a list of fact dicts
    or fact objects, or a :class:`~swrules.load.FactSet`. ``ruleset`` is an id
    (``"dingnan-2020"``), a path to a ruleset file, or a loaded
    :class:`~swrules.rulesets.Ruleset`. ``parameters`` replaces parameter
    values for this evaluation only (a what-if; ``applies_from`` and
    ``applies_until`` move the ruleset's window). A period wholly outside the
    ruleset's window raises :class:`~swrules.errors.PeriodError`. Bad input
    raises :class:`~swrules.errors.InputError` listing every problem.
    ``engine`` is ``"auto"`` unless named (:data:`DEFAULT_ENGINE`): the columnar engine for a FactTables of at
    least :data:`AUTO_COLUMNAR_FACTS` facts whose ruleset it compiles, else the native engine (a FactTables is
    read back as a FactSet); the result names the engine taken. ``engine="native"`` or ``"durable"`` names a
    rule engine; ``engine="columnar"`` compiles the rules into relational plans run in DuckDB (needs the
    columnar extra; ``facts`` may then also be a :class:`~swrules.columnar.FactTables`); a rule it cannot
    compile raises :class:`~swrules.errors.ColumnarUnsupportedError` before any fact is read.
    ``engine="spark"`` runs the columnar engine's plans on PySpark (the spark extra and Java 17; ``facts`` may
    also be a :class:`~swrules.columnar.SparkFacts`: a Parquet folder Spark reads, or facts with a session).
    ``timeout`` is a time
    budget for the whole call, in seconds from the call (or a :class:`~swrules.budget.TimeBudget`
    started earlier, to count
    reading the input too): loading the ruleset, validating the facts,
    evaluating and building the result all count. A call that runs past it
    raises :class:`~swrules.errors.EvaluationTimeout` and returns nothing
    partial; see docs/reliability.md for where it is read. ``progress`` is
    called as the evaluation goes (stratum, strata, partitions done,
    partitions in the stratum), for a progress display.
    """
    budget = budget_of(timeout)
    the_period = Period.parse(period)
    the_ruleset = load_ruleset(ruleset)
    if parameters:
        the_ruleset = the_ruleset.with_parameters(parameters)
    frame = the_ruleset.frame(the_period)
    name = engine or DEFAULT_ENGINE
    tables = _tables_type()
    if name == AUTO:
        name = _auto(facts, tables, the_ruleset, the_period)
    held = tables is not None and isinstance(facts, tables)
    if name not in (COLUMNAR, SPARK) and (held or _is_spark_facts(facts)):  # the native engine takes objects
        facts = cast(Any, facts).to_factset()
    if name == SPARK:  # the same plans on PySpark (swrules.columnar._spark_engine)
        from swrules.columnar._spark_engine import evaluate_spark

        result = evaluate_spark(timed(facts, budget), the_ruleset, the_period)
        if budget is not None:
            budget.check()
        return result
    if name == COLUMNAR:  # rules compiled into relational plans, run in DuckDB (swrules.columnar)
        from swrules.columnar._engine import evaluate_columnar
        from swrules.columnar._watch import watching

        with watching(budget, progress):  # read by the engine rule by rule, and inside each query
            result = evaluate_columnar(timed(facts, budget), the_ruleset, the_period)
        if budget is not None:
            budget.check()
        return result
    # durable-rules leaves reference cycles behind every action, so the collector keeps running for it.
    with collector_paused() if name == NATIVE else contextlib.nullcontext():
        fact_set = facts if isinstance(facts, FactSet) else load_facts(timed(facts, budget))
        if budget is not None:
            budget.check()
        programs = compile_programs(
            the_ruleset.id, the_ruleset.bindings(), the_ruleset.parameters, frame, dated=fact_set.dated_types()
        )
        worlds = []
        for program in programs:
            run = execute(program, fact_set, name, timeout=budget, progress=progress)
            worlds.append(World(program, run.items, run.derivations, run.objects, run.keyed))
        result = build_result(the_ruleset, the_period, name, worlds)
        if budget is not None:
            budget.check()  # building the result counts too: past the budget, nothing is returned
        return result


def _tables_type() -> type | None:
    """:class:`~swrules.columnar.FactTables`, where it has been imported (facts cannot be one otherwise)."""
    module = sys.modules.get("swrules.columnar._tables")
    return None if module is None else cast(type, module.FactTables)


def is_fact_tables(facts: Any) -> bool:
    """Whether ``facts`` is a :class:`~swrules.columnar.FactTables` or a :class:`~swrules.columnar.SparkFacts`
    (evaluated as it is: not loaded again; ``to_factset()`` gives its facts as objects)."""
    tables = _tables_type()
    return (tables is not None and isinstance(facts, tables)) or _is_spark_facts(facts)


def _is_spark_facts(facts: Any) -> bool:
    module = sys.modules.get("swrules.columnar._spark_engine")
    return module is not None and isinstance(facts, module.SparkFacts)


def _auto(facts: Any, tables: type | None, ruleset: Ruleset, period: Period) -> str:
    """The engine ``engine="auto"`` takes for ``facts``: see :data:`AUTO_COLUMNAR_FACTS`."""
    if tables is None or not isinstance(facts, tables):
        return NATIVE
    held: Any = facts
    if sum(held.counts.values()) < AUTO_COLUMNAR_FACTS:
        return NATIVE
    try:
        from swrules.columnar._engine import check_columnar
    except ImportError:  # tables without the engine's part of the extra (Ibis): the native engine reads them
        return NATIVE
    try:
        check_columnar(ruleset, period, scaled=held.scaled)
    except ColumnarUnsupportedError:  # a rule the columnar engine does not compile yet
        return NATIVE
    return COLUMNAR


@attrs.frozen
class World:
    """What one program of an evaluation derived: the items, how each came to be, and every object by key."""

    program: Program
    items: Sequence[Item]
    derivations: Mapping[str, Derivation]
    objects: Mapping[str, Any]
    keyed: Mapping[str, Item] | None = None  # the items by key, where the run kept them so (keys not made again)


def build_result(ruleset: Ruleset, period: Period, engine: str, worlds: Sequence[World]) -> Result:
    """The result of finished runs: items sorted into their sections, every obligation checked due in period.

    The first world is the main one; a later world (a deadline's) contributes only the items of the rules it owns.
    """
    sections: dict[str, list[Any]] = {"post_grades": [], "eligibility": [], "obligations": [], "findings": []}
    intermediate: list[Item] = []
    owner: dict[str, int] = {}
    for number, world in enumerate(worlds):
        owned = world.program.owned
        for item in world.items:
            if number:
                if item.rule not in owned:
                    continue
                owner[item.key] = number
            if item.SECTION is None:
                if not number:
                    intermediate.append(item)
            else:
                sections[item.SECTION].append(item)
    frame = worlds[0].program.frame
    due = {str(m) for m in frame.due_months}
    for ob in sections["obligations"]:
        if ob.due not in due:
            raise EngineError(
                f"rule {ob.rule!r} derived obligation {ob.id!r} due {ob.due}, which is not a month of {period} "
                "within the ruleset's window"
            )
    keyed = worlds[0].keyed
    if keyed is not None:  # sorted by the keys the run made, not by keys made again
        steps = [keyed[key] for key in sorted(key for key, item in keyed.items() if item.SECTION is None)]
    else:
        steps = sorted(intermediate, key=_BY_KEY)
    views = tuple((w.derivations, w.objects) for w in worlds)
    return Result(
        ruleset=ruleset,
        period=period,
        engine=engine,
        post_grades=tuple(sorted((i for i in sections["post_grades"] if isinstance(i, PostGrade)), key=_POST_ORDER)),
        eligibility=_eligibility_in_order([i for i in sections["eligibility"] if isinstance(i, Eligibility)]),
        obligations=tuple(
            sorted((i for i in sections["obligations"] if isinstance(i, Obligation)), key=_OBLIGATION_ORDER)
        ),
        findings=tuple(sorted((i for i in sections["findings"] if isinstance(i, Finding)), key=Finding.sort_key)),
        intermediate=tuple(steps),
        derivations=Routed(views, owner, 0),
        objects=Routed(views, owner, 1),
    )


# The orders of the items' ``sort_key`` methods, read at C speed (a test holds them equal): a post grade by post, an
# obligation by payee, kind, period and id, an eligibility by person and then band rank.
_BY_KEY = operator.attrgetter("key")
_POST_ORDER = operator.attrgetter("post")
_OBLIGATION_ORDER = operator.attrgetter("payee", "kind._value_", "period", "id")
_BANDS_BY_RANK = tuple(sorted(Band, key=lambda band: f"{band.rank}"))


def _eligibility_in_order(items: list[Eligibility]) -> tuple[Eligibility, ...]:
    """``items`` in ``Eligibility.sort_key`` order: by band rank, then (a stable sort) by person."""
    by_band: dict[str, list[Eligibility]] = {band.value: [] for band in _BANDS_BY_RANK}
    for item in items:
        by_band[item.band._value_].append(item)  # the member's value as stored (``.value`` is a slower property)
    ordered = [item for band in _BANDS_BY_RANK for item in by_band[band.value]]
    ordered.sort(key=_PERSON)
    return tuple(ordered)


_PERSON = operator.attrgetter("person")


class Routed(Mapping[str, Any]):
    """Derivations (``part`` 0) or objects (1) of several worlds by key: a deadline's items from their own world."""

    def __init__(
        self, views: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], owner: Mapping[str, int], part: int
    ):
        self.views = views
        self.owner = owner
        self._part = part

    def world_of(self, key: str) -> int:
        return self.owner.get(key, 0)

    def __getitem__(self, key: str) -> Any:
        return self.views[self.owner.get(key, 0)][self._part][key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.views[self.owner.get(key, 0)][self._part]

    def __iter__(self) -> Iterator[str]:
        yield from self.views[0][self._part]
        yield from self.owner

    def __len__(self) -> int:
        return len(self.views[0][self._part]) + len(self.owner)
