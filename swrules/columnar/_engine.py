"""The columnar engine: a ruleset's rules compiled into relational plans and run in DuckDB, giving a native Result.

Facts are DuckDB tables (a :class:`~swrules.columnar.FactTables` read from Parquet, CSV or JSON Lines, or any
input :func:`swrules.load_facts` accepts, put into tables here). The programs of an evaluation are those of the
native engine (:func:`~swrules.engine.compile_programs`: one per judgment day, rules in strata, the windows of
snapshot rules as tests); each rule is compiled by :mod:`swrules.columnar._compile` and run stratum by stratum,
each emit's items made in SQL straight into a table of their type (:mod:`swrules.columnar._itemsql`) for the
rules after it. The result (:class:`~swrules.columnar._result.ColumnarResult`) keeps those tables and reads
the native item classes from them only when asked: the same :class:`~swrules.result.Result`, the same JSON,
byte for byte. Plain fact dicts go into the fact tables without fact objects (:mod:`swrules.columnar._dicts`).

Every rule is compiled before any fact is read: a construct the compiler does not translate stops the
evaluation with :class:`~swrules.errors.ColumnarUnsupportedError` naming the rule.
"""

from __future__ import annotations

import enum
import itertools
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

import attrs
import duckdb
import ibis
import pyarrow as pa

from swrules.columnar._compile import (
    ITEM_DECIMAL_SCALE,
    ONE,
    Emit,
    Sc,
    Tables,
    compile_rule_plan,
    rows_arrow,
    rows_field,
    rows_sql,
    unfused,
)
from swrules.columnar._dicts import tables_of_dicts
from swrules.columnar._itemsql import NEGATIVE, add_rows, apart, first, item_rows, key_prefix
from swrules.columnar._result import ORDER, ColumnarResult, ResultTables, _drop
from swrules.columnar._schema import sql_text
from swrules.columnar._tables import (
    FactTables,
    add_scales,
    arrow_of,
    arrow_of_facts,
    create_tables,
    decimal_fields,
    insert_arrow,
    with_scales,
)
from swrules.columnar._watch import watched
from swrules.engine import Derivation, Program, compile_programs
from swrules.engine._program import BoundRule
from swrules.errors import ColumnarUnsupportedError, EngineError, RuleFailedError
from swrules.facts import FACT_TYPES
from swrules.items import ITEM_TYPES
from swrules.lang._types import ListOf, fields_of
from swrules.load import FactSet, load_facts
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset

__all__ = ["ENGINE", "check_columnar", "evaluate_columnar"]

ENGINE = "columnar"


def _item_columns(item_type: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of an item table: its fields, the scale of each decimal, its key and order."""
    cls = ITEM_TYPES[item_type]
    out: list[tuple[str, str]] = []
    for f in attrs.fields(cls):
        t = fields_of(cast(Any, cls)).get(f.name)
        if t is Decimal:
            out.append((f.name, f"DECIMAL(38,{ITEM_DECIMAL_SCALE})"))
            out.append((f.name + "__scale", "BIGINT"))
        elif t is int:
            out.append((f.name, "BIGINT"))
        elif t is bool:
            out.append((f.name, "BOOLEAN"))
        elif t is date:
            out.append((f.name, "DATE"))
        elif t is str or (isinstance(t, type) and issubclass(t, enum.Enum)):
            out.append((f.name, "VARCHAR"))
        elif isinstance(t, ListOf) and t.of is str:
            out.append((f.name, "VARCHAR[]"))
        elif (kinds := rows_field(cls, f.name)) is not None:  # a list of tuples (segments)
            out.append((f.name, rows_sql(kinds)))
        else:
            out.append((f.name, ""))  # a field no table can hold (a rule reading it is refused)
    out.append(("_key", "VARCHAR"))
    out.append(("_ord", "VARCHAR"))
    out.append(("_matched", "VARCHAR"))  # the keys of what the rule matched: one key, or a JSON list of them
    out.append(("_batch", "BIGINT"))  # the emit (by number, within the program) that made it
    return out


def _scaled(scaled: bool) -> frozenset[str]:
    found = {f"{t}.{name}" for t in ITEM_TYPES for name, sql in _item_columns(t) if sql.startswith("DECIMAL")}
    if scaled:  # the places of the facts' decimals are in columns beside them
        found.update(f"{t}.{name}" for t in FACT_TYPES for name in decimal_fields(t))
    return frozenset(found)


def _item_tables(world: int) -> dict[str, str]:
    return {t: f"_swrules_w{world}_{t}" for t in ITEM_TYPES}


class _Store:
    """The item tables of one program, in a DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, world: int) -> None:
        self.con = con
        self.names = _item_tables(world)
        for t, name in self.names.items():
            # The order of an item is its key: a column worked out when read, not stored a second time.
            cols = ", ".join(
                f'"{c}" {sql} GENERATED ALWAYS AS ("_key") VIRTUAL' if c == "_ord" else f'"{c}" {sql}'
                for c, sql in _item_columns(t)
                if sql
            )
            con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" ({cols})')

    def drop(self) -> None:
        for name in self.names.values():
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')


def _arrow(sql: str) -> pa.DataType:
    if sql.startswith("STRUCT"):
        return rows_arrow(sql)
    if sql.startswith("DECIMAL"):
        return pa.decimal128(38, ITEM_DECIMAL_SCALE)
    return {
        "BIGINT": pa.int64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "VARCHAR": pa.string(),
        "VARCHAR[]": pa.list_(pa.string()),
    }[sql]


def _fact_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty fact tables, each decimal field with a column beside it for the places of its value."""
    create_tables(con)
    add_scales(con)


def _insert_facts(con: duckdb.DuckDBPyConnection, facts: FactSet) -> None:
    for fact_type in FACT_TYPES:
        of_type = list(enumerate(facts.of_type(fact_type)))
        if not of_type:
            continue
        insert_arrow(con, fact_type, with_scales(fact_type, arrow_of_facts(fact_type, of_type), of_type))


def _logic(ruleset: Ruleset) -> tuple[dict[str, str], tuple[str, ...]]:
    return {r.id: r.logic for r in ruleset.rules}, tuple(text for _, text in ruleset.functions)


def _order(ruleset: str, stratum: Sequence[BoundRule]) -> list[BoundRule]:
    """A stratum's rules, each after the rules whose items it matches (positive patterns chain in a stratum)."""
    producers: dict[str, set[str]] = {}
    for r in stratum:
        for t in r.definition.emits:
            producers.setdefault(t, set()).add(r.id)
    done: set[str] = set()
    out: list[BoundRule] = []
    todo = list(stratum)
    while todo:
        ready = [r for r in todo if all(p in done or p == r.id for m in r.match for p in producers.get(m.type, ()))]
        if not ready or any(r.id in producers.get(m.type, ()) for r in ready for m in r.match):
            rule = (ready or todo)[0]
            raise ColumnarUnsupportedError(ruleset, rule.id, "a rule matching what it or a later rule derives")
        for r in ready:
            out.append(r)
            done.add(r.id)
        todo = [r for r in todo if r.id not in done]
    return out


@attrs.frozen
class _Compiled:
    """A rule ready to run: its checks and emits as SQL (compiled once per program, kept for the next run)."""

    rule: BoundRule
    checks: tuple[tuple[str, str], ...]  # (sql, message)
    emits: tuple[tuple[Emit, str], ...]
    inserts: tuple[str, ...] = ()  # of each emit: its items as rows of their table, stamped and keyed, in SQL


#: Compiled programs by (ruleset, program fingerprint, world, the places of the facts' decimals in columns): Ibis
#: compiles a plan in tenths of a second, so a ruleset run again for the same period and parameters reuses its
#: SQL. The program is kept with its SQL, so the rule definitions its fingerprint names stay alive while the entry
#: does.
_CACHE: dict[tuple[str, str, int, bool], tuple[Program, tuple[_Compiled, ...]]] = {}
_CACHE_SIZE = 64


def _compile(
    con: duckdb.DuckDBPyConnection, ruleset: Ruleset, program: Program, number: int, scaled: bool
) -> tuple[_Compiled, ...]:
    key = (ruleset.id, program.fingerprint, number, scaled)
    found = _CACHE.get(key)
    if found is not None:
        return found[1]
    logic, functions = _logic(ruleset)
    backend = ibis.duckdb.from_connection(con)
    names = {**{t: t for t in FACT_TYPES}, **_item_tables(number)}
    tables = Tables(backend, names, _scaled(scaled))
    out = []
    with unfused():
        for stratum in program.strata:
            for rule in _order(ruleset.id, stratum):
                plan = compile_rule_plan(
                    ruleset.id, rule, logic[rule.id], functions, program.frame, tables, ruleset.tables
                )
                checks = tuple((backend.compile(c.table.limit(1)), c.message) for c in plan.checks)
                emits = tuple((e, backend.compile(_selection(e))) for e in plan.emits)
                inserts = tuple(item_rows(ruleset.id, rule, e, sql) for e, sql in emits)
                out.append(_Compiled(rule, checks, emits, inserts))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (program, tuple(out))
    return tuple(out)


def _setup(con: duckdb.DuckDBPyConnection, programs: Sequence[Program], from_objects: bool) -> list[_Store]:
    if from_objects:
        _fact_tables(con)
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{ONE}" AS SELECT 1 AS one')
    return [_Store(con, number) for number in range(len(programs))]


def _programs(ruleset: Ruleset, period: Period) -> tuple[Program, ...]:
    # Every type gets the window tests of snapshot rules: an undated fact passes them (its open ends), so the
    # plans need not know which types the facts date, and are compiled before any fact is read.
    return compile_programs(ruleset.id, ruleset.bindings(), ruleset.parameters, ruleset.frame(period), dated=None)


def check_columnar(ruleset: Ruleset, period: Period, *, scaled: bool = True) -> None:
    """Compile every rule of ``ruleset`` for ``period``: ColumnarUnsupportedError if one cannot be.

    ``scaled`` says whether the facts will have the places of their decimals beside them (Python objects, or a
    FactTables read from JSON Lines or CSV; not one read from Parquet): the SQL compiled is kept for that
    evaluation."""
    programs = _programs(ruleset, period)
    con = duckdb.connect()
    try:
        create_tables(con)
        if scaled:
            add_scales(con)
        _setup(con, programs, False)
        for number, program in enumerate(programs):
            _compile(con, ruleset, program, number, scaled)
    finally:
        con.close()


def evaluate_columnar(facts: Any, ruleset: Ruleset, period: Period) -> Result:
    """Evaluate ``facts`` (a FactTables, or what load_facts accepts) on the columnar engine.

    Every rule is compiled before the facts are read (or, for a FactTables, looked at). The result keeps its
    items in the engine's tables (in the FactTables' connection, for a FactTables) until they are asked for."""
    programs = _programs(ruleset, period)
    from_objects = not isinstance(facts, FactTables)
    con = duckdb.connect() if from_objects else facts.con
    stores: list[_Store] = []
    kept = False
    try:
        stores = _setup(con, programs, from_objects)
        scaled = from_objects or facts.scaled
        compiled = [_compile(con, ruleset, p, n, scaled) for n, p in enumerate(programs)]
        if from_objects and not (isinstance(facts, list) and tables_of_dicts(con, facts)):
            facts = facts if isinstance(facts, FactSet) else load_facts(facts)
            _insert_facts(con, facts)
        tables = _run(con, ruleset, period, programs, compiled, stores)
        if from_objects:  # the facts are not read again: only the items are kept
            for fact_type in FACT_TYPES:
                con.execute(f'DROP TABLE IF EXISTS "{fact_type}"')
        kept = True
        result = ColumnarResult.of(
            ruleset, period, ENGINE, tables, _native_run(facts, ruleset, period), close=from_objects
        )
        if not from_objects:
            facts.results.append(weakref.ref(result))
        return result
    finally:
        if not kept:
            for store in stores:
                store.drop()
        con.execute(f'DROP TABLE IF EXISTS "{ONE}"')
        if from_objects and not kept:
            con.close()


def _native_run(facts: Any, ruleset: Ruleset, period: Period) -> Callable[[], Result]:
    """The native engine's result on the same facts, made once when first asked for: a columnar run keeps what
    each item matched, not what it counted or on which day it was judged, so its items are explained from it.

    Facts held as tables are read back as a FactSet then (they must still be open): the cost of one native run.
    """
    made: list[Result] = []

    def native() -> Result:
        if not made:
            from swrules.evaluation import evaluate

            if isinstance(facts, FactTables):
                try:
                    fact_set = facts.to_factset()
                except duckdb.Error as err:
                    raise EngineError(
                        "an item of a columnar result is explained from its facts, which are no longer there "
                        f"({str(err).splitlines()[0]}): explain it while its FactTables is open"
                    ) from None
            else:
                fact_set = facts
            made.append(evaluate(fact_set, ruleset=ruleset, period=period, engine="native"))
        return made[0]

    return native


def _run(
    con: duckdb.DuckDBPyConnection,
    ruleset: Ruleset,
    period: Period,
    programs: Sequence[Program],
    compiled: Sequence[Sequence[_Compiled]],
    stores: Sequence[_Store],
) -> ResultTables:
    """Run every program's rules, their items made in SQL into the item tables: those tables, kept for a result."""
    for program, program_rules, store in zip(programs, compiled, stores, strict=True):
        batches = itertools.count()
        held: dict[str, list[str]] = {t: [] for t in store.names}  # by type: the key prefixes of the rows held
        for one in program_rules:
            with watched(con, program, one.rule):  # progress, and the time budget inside the query too
                _execute_rows(con, one, store, batches, held)
    owned = [frozenset(r.id for s in programs[0].strata for r in s)] + [p.owned for p in programs[1:]]
    by_id = [{r.rule.id: r.rule for r in one} for one in compiled]
    tables = ResultTables.keep(con, [store.names for store in stores], owned, by_id)
    due = ", ".join(sql_text(str(m)) for m in programs[0].frame.due_months) or "NULL"
    late = first(
        tables.execute(
            f"SELECT rule, id, due FROM ({tables.source('obligation')}) AS s WHERE due NOT IN ({due}) "
            f"ORDER BY {ORDER['obligation']} LIMIT 1"
        )
    )
    if late is not None:
        _drop(con, tables.all_names(), False)
        raise EngineError(
            f"rule {late[0]!r} derived obligation {late[1]!r} due {late[2]}, which is not a month of {period} "
            "within the ruleset's window"
        )
    return tables


def _execute_rows(
    con: duckdb.DuckDBPyConnection,
    compiled: _Compiled,
    store: _Store,
    batches: Iterator[int],
    held: dict[str, list[str]],
) -> None:
    """Run one rule: its checks, then each emit's items made in SQL and put into the table of their type."""
    rule = compiled.rule
    for sql, message in compiled.checks:
        if _query(con, rule, sql).num_rows:
            raise RuleFailedError(rule.id, [], message)

    def run(sql: str) -> Any:
        try:
            return con.execute(sql)
        except duckdb.Error as err:
            raise _failed(rule, err) from None

    for (emit, _), rows in zip(compiled.emits, compiled.inserts, strict=True):
        # The rows held can share a key with the new ones only where the keys' known beginnings allow it.
        prefix = key_prefix(emit)
        clash = not apart(prefix, held[emit.kind])
        if add_rows(con, rule, emit, rows, store.names[emit.kind], next(batches), clash, run):
            held[emit.kind].append(prefix)


def _failed(rule: BoundRule, err: duckdb.Error) -> RuleFailedError:
    first = str(err).splitlines()[0] if str(err) else type(err).__name__
    if NEGATIVE in first:  # as Obligation refuses it, in the native engine: the keys matched, then the message
        matched, _, why = first.split(NEGATIVE, 1)[1].partition("\x02")
        return RuleFailedError(rule.id, matched.split("\x01") if matched else [], "ValueError: obligation " + why)
    why = "division by zero" if "division by zero" in first.lower() else first
    return RuleFailedError(rule.id, [], f"an expression cannot be worked out on the facts: {why}")


class _Derivations(Mapping[str, Derivation]):
    """How each item came to be, by key: built on first access from the rule and the matched keys kept."""

    def __init__(self) -> None:
        self.kept: dict[str, tuple[BoundRule, tuple[str, ...]]] = {}
        self._built: dict[str, Derivation] = {}

    def __getitem__(self, key: str) -> Derivation:
        found = self._built.get(key)
        if found is None:
            rule, matched = self.kept[key]
            found = self._built[key] = Derivation(
                key=key,
                rule=rule.id,
                clause=rule.clause,
                matched=tuple((m.alias, k) for m, k in zip(rule.match, matched, strict=True)),
                collected=(),
                params=tuple(sorted(rule.params.items())),
                judged=rule.judged,
            )
        return found

    def __contains__(self, key: object) -> bool:
        return key in self.kept

    def __iter__(self) -> Iterator[str]:
        return iter(self.kept)

    def __len__(self) -> int:
        return len(self.kept)


def _query(con: duckdb.DuckDBPyConnection, rule: BoundRule, sql: str) -> pa.Table:
    """A rule's query; what cannot be worked out on the facts (a division by zero) fails naming the rule."""
    try:
        return arrow_of(con, sql)
    except duckdb.Error as err:
        raise _failed(rule, err) from None


def _selection(emit: Emit) -> Any:
    """The query of an emit: a column per field worked out in SQL (and its scale, for a decimal), the match keys."""
    t = emit.table
    select: dict[str, Any] = {}
    for i, (_, v) in enumerate(emit.fields):
        if isinstance(v, Sc):
            select[f"f{i}"] = v.fn(t)
            if v.t is Decimal:
                select[f"s{i}"] = ibis.literal(v.scale, type="int64") if isinstance(v.scale, int) else v.scale(t)
    for j, key in enumerate(emit.matched):
        select[f"k{j}"] = t[key]
    return t.select(**select)
