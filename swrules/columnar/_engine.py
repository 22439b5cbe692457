"""The columnar engine: a ruleset's rules compiled into relational plans and run in DuckDB, giving a native Result.

Facts are DuckDB tables (a :class:`~swrules.columnar.FactTables` read from Parquet, CSV or JSON Lines, or any
input :func:`swrules.load_facts` accepts, put into tables here). The programs of an evaluation are those of the
native engine (:func:`~swrules.engine.compile_programs`: one per judgment day, rules in strata, the windows of
snapshot rules as tests); each rule is compiled by :mod:`swrules.columnar._compile` and run stratum by stratum,
its items written to a table of their type for the rules after it. The items come back as the native item
classes and make the same :class:`~swrules.result.Result`: the same JSON, byte for byte.

Every rule is compiled before any fact is read: a construct the compiler does not translate stops the
evaluation with :class:`~swrules.errors.ColumnarUnsupportedError` naming the rule.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

import attrs
import duckdb
import ibis
import pyarrow as pa

from swrules.columnar._compile import ITEM_DECIMAL_SCALE, Emit, RulePlan, Sc, Tables, compile_rule_plan
from swrules.columnar._schema import columns
from swrules.columnar._tables import FactTables, arrow_of_facts, create_tables, insert_arrow
from swrules.engine import Derivation, Program, compile_programs
from swrules.engine._program import BoundRule
from swrules.engine._run import stamped
from swrules.errors import ColumnarUnsupportedError, EngineError, RuleFailedError
from swrules.facts import FACT_TYPES
from swrules.items import ITEM_TYPES, Finding, Item
from swrules.lang._types import ListOf, fields_of
from swrules.load import FactSet, load_facts
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset

__all__ = ["ENGINE", "check_columnar", "evaluate_columnar"]

ENGINE = "columnar"


def _decimal_fields(fact_type: str) -> list[str]:
    return [c.name for c in columns(fact_type) if c.kind in ("money", "number")]


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
        else:
            out.append((f.name, ""))  # a field no table can hold (a rule reading it is refused)
    out.append(("_key", "VARCHAR"))
    out.append(("_ord", "VARCHAR"))
    return out


def _scaled(from_objects: bool) -> frozenset[str]:
    found = {f"{t}.{name}" for t in ITEM_TYPES for name, sql in _item_columns(t) if sql.startswith("DECIMAL")}
    if from_objects:
        found.update(f"{t}.{name}" for t in FACT_TYPES for name in _decimal_fields(t))
    return frozenset(found)


class _Store:
    """The item tables of one program, in a DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, world: int) -> None:
        self.con = con
        self.names = {t: f"_swrules_w{world}_{t}" for t in ITEM_TYPES}
        for t, name in self.names.items():
            cols = ", ".join(f'"{c}" {sql}' for c, sql in _item_columns(t) if sql)
            con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" ({cols})')

    def drop(self) -> None:
        for name in self.names.values():
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')

    def add(self, item_type: str, items: Sequence[Item]) -> None:
        if not items:
            return
        arrays: dict[str, list[Any]] = {}
        for name, sql in _item_columns(item_type):
            if not sql:
                continue
            values: list[Any] = []
            for item in items:
                if name == "_key" or name == "_ord":
                    values.append(item.key)
                elif name.endswith("__scale"):
                    v = getattr(item, name[: -len("__scale")])
                    values.append(None if v is None else _places(v))
                else:
                    v = getattr(item, name)
                    if isinstance(v, enum.Enum):
                        v = v.value
                    elif isinstance(v, tuple):
                        v = list(v)
                    values.append(v)
            arrays[name] = values
        schema = pa.schema([(n, _arrow(sql)) for n, sql in _item_columns(item_type) if sql])
        table = pa.table(arrays, schema=schema)
        self.con.register("_swrules_items", table)
        try:
            self.con.execute(f'INSERT INTO "{self.names[item_type]}" SELECT * FROM _swrules_items')
        finally:
            self.con.unregister("_swrules_items")


def _arrow(sql: str) -> pa.DataType:
    if sql.startswith("DECIMAL"):
        return pa.decimal128(38, ITEM_DECIMAL_SCALE)
    return {
        "BIGINT": pa.int64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "VARCHAR": pa.string(),
        "VARCHAR[]": pa.list_(pa.string()),
    }[sql]


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _facts_into(con: duckdb.DuckDBPyConnection, facts: FactSet) -> None:
    """A fact set as the fact tables, each decimal field with the places of its value beside it."""
    create_tables(con)
    for fact_type in FACT_TYPES:
        decimals = _decimal_fields(fact_type)
        for name in decimals:
            con.execute(f'ALTER TABLE "{fact_type}" ADD COLUMN "{name}__scale" BIGINT')
        of_type = list(enumerate(facts.of_type(fact_type)))
        if not of_type:
            continue
        table = arrow_of_facts(fact_type, of_type)
        for name in decimals:
            scales = [None if getattr(f, name) is None else _places(getattr(f, name)) for _, f in of_type]
            table = table.append_column(name + "__scale", pa.array(scales, type=pa.int64()))
        insert_arrow(con, fact_type, table)


def _dated(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    found = set()
    for t in FACT_TYPES:
        row = con.execute(
            f'SELECT 1 FROM "{t}" WHERE valid_from IS NOT NULL OR valid_until IS NOT NULL LIMIT 1'
        ).fetchone()
        if row is not None:
            found.add(t)
    return frozenset(found)


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


def _plan(
    ruleset: Ruleset, program: Program, rule: BoundRule, tables: Tables, logic: Mapping[str, str], functions: Any
) -> RulePlan:
    return compile_rule_plan(ruleset.id, rule, logic[rule.id], functions, program.frame, tables, ruleset.tables)


def check_columnar(ruleset: Ruleset, period: Period) -> None:
    """Compile every rule of ``ruleset`` for ``period`` on empty tables: ColumnarUnsupportedError if one cannot be."""
    frame = ruleset.frame(period)
    con = duckdb.connect()
    try:
        create_tables(con)
        programs = compile_programs(ruleset.id, ruleset.bindings(), ruleset.parameters, frame, dated=None)
        logic, functions = _logic(ruleset)
        for number, program in enumerate(programs):
            store = _Store(con, number)
            tables = Tables(
                ibis.duckdb.from_connection(con), {**{t: t for t in FACT_TYPES}, **store.names}, _scaled(False)
            )
            for stratum in program.strata:
                for rule in _order(ruleset.id, stratum):
                    _plan(ruleset, program, rule, tables, logic, functions)
    finally:
        con.close()


def evaluate_columnar(facts: Any, ruleset: Ruleset, period: Period) -> Result:
    """Evaluate ``facts`` (a FactTables, or what load_facts accepts) on the columnar engine."""
    check_columnar(ruleset, period)
    if isinstance(facts, FactTables):
        con, own, scaled = facts.con, False, _scaled(False)
    else:
        fact_set = facts if isinstance(facts, FactSet) else load_facts(facts)
        con, own, scaled = duckdb.connect(), True, _scaled(True)
        _facts_into(con, fact_set)
    try:
        return _run(con, ruleset, period, scaled)
    finally:
        if own:
            con.close()


def _run(con: duckdb.DuckDBPyConnection, ruleset: Ruleset, period: Period, scaled: frozenset[str]) -> Result:
    from swrules.evaluation import World, build_result

    frame = ruleset.frame(period)
    programs = compile_programs(ruleset.id, ruleset.bindings(), ruleset.parameters, frame, dated=_dated(con))
    logic, functions = _logic(ruleset)
    backend = ibis.duckdb.from_connection(con)
    worlds = []
    stores = []
    try:
        for number, program in enumerate(programs):
            store = _Store(con, number)
            stores.append(store)
            tables = Tables(backend, {**{t: t for t in FACT_TYPES}, **store.names}, scaled)
            items: list[Item] = []
            derivations: dict[str, Derivation] = {}
            objects: dict[str, Any] = {}
            for stratum in program.strata:
                for rule in _order(ruleset.id, stratum):
                    plan = _plan(ruleset, program, rule, tables, logic, functions)
                    made = _execute(backend, plan, derivations, objects)
                    items.extend(made)
                    by_type: dict[str, list[Item]] = {}
                    for item in made:
                        by_type.setdefault(item.TYPE, []).append(item)
                    for t, of_type in by_type.items():
                        store.add(t, of_type)
            worlds.append(World(program, items, derivations, objects))
        return build_result(ruleset, period, ENGINE, worlds)
    finally:
        for store in stores:
            store.drop()


def _execute(backend: Any, plan: RulePlan, derivations: dict[str, Derivation], objects: dict[str, Any]) -> list[Item]:
    rule = plan.rule
    for check in plan.checks:
        hit = backend.to_pyarrow(check.table.limit(1))
        if hit.num_rows:
            raise RuleFailedError(rule.id, [], check.message)
    emits = frozenset(rule.definition.emits)
    params = tuple(sorted(rule.params.items()))
    made: list[Item] = []
    for emit in plan.emits:
        for item, matched in _items(backend, emit):
            item = stamped(item, rule, emits, ())
            key = item.key
            known = objects.get(key)
            if known is not None:
                if known == item and derivations[key].rule == rule.id:
                    continue
                raise EngineError(
                    f"rules {derivations[key].rule!r} and {rule.id!r} both derive {key!r}; an item has one cause"
                )
            objects[key] = item
            derivations[key] = Derivation(
                key=key,
                rule=rule.id,
                clause=rule.clause,
                matched=tuple((m.alias, k) for m, k in zip(rule.match, matched, strict=True)),
                collected=(),
                params=params,
                judged=rule.judged,
            )
            made.append(item)
    return made


def _items(backend: Any, emit: Emit) -> Iterable[tuple[Item, tuple[str, ...]]]:
    t = emit.table
    select: dict[str, Any] = {}
    for i, (_, v) in enumerate(emit.fields):
        if isinstance(v, Sc):
            select[f"f{i}"] = v.fn(t)
            if v.t is Decimal:
                select[f"s{i}"] = ibis.literal(v.scale, type="int64") if isinstance(v.scale, int) else v.scale(t)
    for j, key in enumerate(emit.matched):
        select[f"k{j}"] = t[key]
    rows = backend.to_pyarrow(t.select(**select)).to_pylist()
    cls = ITEM_TYPES[emit.kind]
    types = fields_of(cast(Any, cls))
    make: Any = Finding.at_least if emit.at_least else cls
    for row in rows:
        kw: dict[str, Any] = {}
        for i, (name, v) in enumerate(emit.fields):
            if isinstance(v, Sc):
                value = row[f"f{i}"]
                if v.t is Decimal and value is not None:
                    scale = row[f"s{i}"]
                    value = Decimal(value).quantize(Decimal(1).scaleb(-int(scale)))
            else:
                value = v.value
            kw[name] = value if emit.at_least else _convert(types.get(name), value)
        yield make(**kw), tuple(row[f"k{j}"] for j in range(len(emit.matched)))


def _convert(ftype: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(ftype, type) and issubclass(ftype, enum.Enum):
        return ftype(value) if isinstance(value, str) else value
    if ftype is Decimal and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value
