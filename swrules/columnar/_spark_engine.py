"""The Spark engine: the columnar engine's compiled plans, run on PySpark (``engine="spark"``).

Nothing is compiled twice over: each rule becomes the same Ibis plan as on DuckDB
(:func:`~swrules.columnar._compile.compile_rule_plan`), bound to Ibis's pyspark backend and compiled to Spark SQL.
Rules run stratum by stratum as on the columnar engine; each rule's items come back as the native item classes
and are written to a temporary view of their type (from Arrow) for the rules after it. The result is the
native :class:`~swrules.result.Result`, its JSON byte-identical to the native engine's.

An evaluation runs in a session of its own made from the given one (``session.newSession()``: its own temporary
views and SQL settings, the same Spark context, so on a cluster the same executors), set for exact results
(:data:`SPARK_SQL_CONF`): ANSI mode, so that an overflow or a bad cast fails rather than becoming null, and no
decimal rounded to fit a type. Money is DECIMAL from the facts to the result; nothing goes through a float.

Facts: a :class:`SparkFacts` (a Parquet folder Spark reads itself, on every executor), or a FactTables or what
:func:`swrules.load_facts` accepts, handed to Spark as Arrow tables. Without a SparkFacts naming one, the
session is the active one (``SparkSession.getActiveSession()``: the one a ``spark-submit`` driver made) or a
local one (:func:`~swrules.columnar._spark.local_session`).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, cast

import attrs
import duckdb
import pyarrow as pa

from swrules.columnar._compile import (
    ONE,
    Emit,
    Sc,
    Tables,
    compile_rule_plan,
    rows_field,
    rows_from_column,
    rows_to_column,
    unfused,
)
from swrules.columnar._engine import (
    _arrow,
    _Derivations,
    _item_columns,
    _item_tables,
    _logic,
    _native_run,
    _order,
    _programs,
    _scaled,
    _selection,
)
from swrules.columnar._readers import read_parquet_folder
from swrules.columnar._schema import quote
from swrules.columnar._tables import (
    FactTables,
    add_scales,
    arrow_of,
    arrow_of_facts,
    create_tables,
    places,
    with_scales,
)
from swrules.engine import Program
from swrules.engine._program import BoundRule
from swrules.engine._run import stamped
from swrules.errors import ColumnarUnsupportedError, EngineError, EngineUnavailableError, RuleFailedError
from swrules.facts import FACT_TYPES
from swrules.items import ITEM_TYPES, Finding, Item
from swrules.lang._types import fields_of
from swrules.load import FactSet, Rejected, load_facts
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset

__all__ = ["ENGINE", "SPARK_SQL_CONF", "SparkFacts", "evaluate_spark"]

ENGINE: Final = "spark"

#: The SQL settings of every evaluation on Spark (set on the evaluation's own session, not the one given):
#: ANSI mode, so that an overflow, a division by zero or a cast that does not fit fails instead of giving null;
#: decimal arithmetic that never rounds a result to fit its type (it fails instead); dates and times in UTC.
SPARK_SQL_CONF: Final = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.session.timeZone": "UTC",
}


class SparkFacts:
    """Facts for ``engine="spark"``, and the Spark session to evaluate them in (None: the active one or a local
    one).

    ``SparkFacts(facts, session=...)`` takes a FactTables, a FactSet or what :func:`swrules.load_facts` accepts
    (validated here), handed to Spark from this process as Arrow tables. :meth:`parquet` names a Parquet folder
    that Spark reads itself: on a cluster, each executor reads its part from shared storage.
    """

    def __init__(self, facts: Any, *, session: Any = None) -> None:
        held = facts if isinstance(facts, FactSet | FactTables) else load_facts(facts)
        self.facts: FactSet | FactTables | None = held
        self.session = session
        self.path: str | None = None
        #: The fact types with a file in the folder when it was validated (the others have no facts).
        self.files: frozenset[str] = frozenset()
        #: What ``keep_going`` left out, and how many facts the input held (as a FactSet or FactTables says).
        self.rejected: tuple[Rejected, ...] = held.rejected
        self.read: int = held.read
        self._counts = held.counts if isinstance(held, FactTables) else None
        self._owned = False  # tables read here (from a Parquet folder), closed by close()

    @classmethod
    def parquet(cls, path: str | os.PathLike[str], *, session: Any = None, keep_going: bool = False) -> SparkFacts:
        """A Parquet folder (``person.parquet``, ``certificate.parquet``, … as
        :func:`~swrules.columnar.read_parquet_folder` reads it), validated first by that reader in this process
        (every problem at once, naming file, row and field; ``keep_going`` leaves out what the loader would),
        then read by Spark from the same path (so a cluster's executors must see it at that path too).

        Where ``keep_going`` left rows out, Spark is given the rows kept (from the validated tables, as Arrow)
        instead of the files, and the tables stay open until :meth:`close`."""
        tables = read_parquet_folder(os.fspath(path), keep_going=keep_going)
        found = cls(tables, session=session)
        found._owned = True
        if not tables.rejected:
            tables.close()
            found.facts = None
            found.path = os.fspath(path)
            found.files = frozenset(t for t in FACT_TYPES if os.path.exists(os.path.join(found.path, f"{t}.parquet")))
        return found

    @property
    def counts(self) -> dict[str, int]:
        """How many facts of each type were kept (every type, zero included)."""
        if self._counts is not None:
            return dict(self._counts)
        assert isinstance(self.facts, FactSet)
        return {t: len(self.facts.of_type(t)) for t in FACT_TYPES}

    def to_factset(self) -> FactSet:
        """The same facts as a native FactSet (a Parquet folder is read again: for small inputs)."""
        if self.path is not None:
            with read_parquet_folder(self.path) as tables:
                return tables.to_factset()
        return self.facts if isinstance(self.facts, FactSet) else cast(FactTables, self.facts).to_factset()

    def close(self) -> None:
        """Close the tables :meth:`parquet` holds where ``keep_going`` left rows out (tables given are the
        caller's to close)."""
        if self._owned and isinstance(self.facts, FactTables):
            self.facts.close()

    def __enter__(self) -> SparkFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the session ------------------------------------------------------------------------------------------


def _session_of(given: Any) -> Any:
    """The session an evaluation runs in: a new one of ``given``, the active one or a local one, set up."""
    from swrules.columnar._spark import java_missing, local_session

    missing = java_missing()
    if missing is not None:
        raise EngineUnavailableError(f"the spark engine cannot start: {missing}")
    base = given
    if base is None:
        from pyspark.sql import SparkSession

        base = SparkSession.getActiveSession()
        if base is None and os.environ.get("PYSPARK_GATEWAY_PORT"):  # a driver spark-submit started: its settings
            base = SparkSession.builder.appName("swrules").getOrCreate()
        if base is None:
            base = local_session()
            # a failing query is an error of the evaluation, worded once: not a task's stack trace logged too
            base.sparkContext.setLogLevel("FATAL")
    session = base.newSession()
    for key, value in SPARK_SQL_CONF.items():
        session.conf.set(key, value)
    return session


@contextlib.contextmanager
def _spark_errors(what: str, rule: BoundRule | None = None) -> Iterator[None]:
    """Spark's failures as swrules errors: a rule's query failing names the rule; nothing of Py4J escapes."""
    quiet = [logging.getLogger(n) for n in ("SQLQueryContextLogger", "DataFrameQueryContextLogger", "py4j")]
    before = [q.disabled for q in quiet]
    for q in quiet:
        q.disabled = True
    try:
        with warnings.catch_warnings():
            # pyspark checks pandas on its first Arrow conversion; the engine hands it Arrow, never pandas
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
            yield
    except EngineError:
        raise
    except Exception as err:  # pyspark, py4j and the JVM raise many kinds; each becomes ours
        if not _is_spark_error(err):
            raise
        message = _first_line(err)
        if rule is not None and _is_data_error(err):
            why = "division by zero" if "DIVIDE_BY_ZERO" in message or "REMAINDER_BY_ZERO" in message else message
            raise RuleFailedError(rule.id, [], f"an expression cannot be worked out on the facts: {why}") from None
        raise EngineError(f"spark engine: {what} failed: {message}") from None
    finally:
        for q, was in zip(quiet, before, strict=True):
            q.disabled = was


def _is_spark_error(err: BaseException) -> bool:
    module = type(err).__module__ or ""
    return module.startswith(("pyspark", "py4j", "ibis")) or isinstance(err, ConnectionError)


def _is_data_error(err: BaseException) -> bool:
    """An error of the values (a division by zero, an overflow), not of the query or the cluster."""
    names = {t.__name__ for t in type(err).__mro__}
    return bool(names & {"ArithmeticException", "NumberFormatException", "DateTimeException"})


def _first_line(err: BaseException) -> str:
    java = getattr(err, "java_exception", None)  # Py4J's own wording names no cause; the JVM's exception does
    text = str(err).strip()
    if java is not None:
        try:
            text = str(java.toString()).strip() or text
        except Exception:  # the JVM is gone: Py4J's wording it is
            pass
    return text.splitlines()[0] if text else type(err).__name__


# -- tables -----------------------------------------------------------------------------------------------


def _fact_schemas(scaled: bool) -> dict[str, pa.Schema]:
    """The Arrow schema of each fact table, as the columnar engine's DuckDB tables have it."""
    con = duckdb.connect()
    try:
        create_tables(con)
        if scaled:
            add_scales(con)
        return {t: arrow_of(con, f"SELECT * FROM {quote(t)} LIMIT 0").schema for t in FACT_TYPES}
    finally:
        con.close()


def _item_schema(item_type: str) -> pa.Schema:
    return pa.schema([(n, _arrow(sql)) for n, sql in _item_columns(item_type) if sql])


def _view(session: Any, name: str, table: pa.Table) -> None:
    session.createDataFrame(table).createOrReplaceTempView(name)


def _parquet_view(session: Any, given: SparkFacts, fact_type: str, schema: pa.Schema) -> None:
    """A fact type's Parquet file read by Spark as the columnar reader reads it into DuckDB (a file it validated):
    each column cast to the table's type, a null (or a column left out) the field's default, as an absent
    field. A type without a file has no rows; ``_index`` (a position in the input) is left null: no rule reads
    it."""
    from pyspark.sql import functions
    from pyspark.sql.pandas.types import from_arrow_type

    if fact_type not in given.files:
        _view(session, fact_type, schema.empty_table())
        return
    df = session.read.parquet(os.path.join(cast(str, given.path), f"{fact_type}.parquet"))
    present = set(df.columns)
    fields = attrs.fields_dict(FACT_TYPES[fact_type])
    cols = []
    for field in schema:
        spark_type = from_arrow_type(field.type)
        value = functions.col(f"`{field.name}`") if field.name in present else functions.lit(None)
        default = fields[field.name].default if field.name in fields else None
        if isinstance(default, bool | Decimal):
            value = functions.coalesce(value, functions.lit(str(default) if isinstance(default, Decimal) else default))
        elif default == ():
            value = functions.coalesce(value, functions.array())
        elif default not in (None, attrs.NOTHING):  # pragma: no cover - a new kind of default needs its value here
            raise EngineError(f"spark engine: no value for the default of {fact_type}.{field.name}")
        cols.append(value.cast(spark_type).alias(field.name))
    df.select(*cols).createOrReplaceTempView(fact_type)


class _Store:
    """The item views of one program: the items of each type so far, as Arrow tables."""

    def __init__(self, session: Any, world: int) -> None:
        self.session = session
        self.names = _item_tables(world)
        self.held: dict[str, list[pa.Table]] = {}
        for t, name in self.names.items():
            _view(session, name, _item_schema(t).empty_table())

    def add(self, item_type: str, items: Sequence[Item]) -> None:
        if not items:
            return
        self.held.setdefault(item_type, []).append(_item_arrow(item_type, items))
        _view(self.session, self.names[item_type], pa.concat_tables(self.held[item_type]))


def _item_arrow(item_type: str, items: Sequence[Item]) -> pa.Table:
    arrays: dict[str, list[Any]] = {}
    keys = [item.key for item in items]
    for name, sql in _item_columns(item_type):
        if not sql:
            continue
        if name in ("_key", "_ord"):
            arrays[name] = keys
            continue
        if name in ("_matched", "_batch"):  # the DuckDB engine's bookkeeping: what each item matched is kept here
            arrays[name] = [None] * len(items)
            continue
        field = name[: -len("__scale")] if name.endswith("__scale") else name
        values = [getattr(item, field) for item in items]
        if name.endswith("__scale"):
            values = [None if v is None else places(v) for v in values]
        elif sql == "VARCHAR":
            values = [v.value if isinstance(v, enum.Enum) else v for v in values]
        elif sql == "VARCHAR[]":
            values = [None if v is None else list(v) for v in values]
        elif sql.startswith("STRUCT"):
            kinds = cast(Any, rows_field(ITEM_TYPES[item_type], name))
            values = [rows_to_column(kinds, v) for v in values]
        arrays[name] = values
    return pa.table(arrays, schema=_item_schema(item_type))


# -- compiling --------------------------------------------------------------------------------------------


@attrs.frozen
class _Compiled:
    rule: BoundRule
    checks: tuple[tuple[str, str], ...]
    emits: tuple[tuple[Emit, str], ...]


class _Backend:
    """The pyspark backend as the compiler sees it, each table's schema looked up once (a Spark round trip)."""

    name = "pyspark"

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.tables: dict[str, Any] = {}

    def table(self, name: str) -> Any:
        found = self.tables.get(name)
        if found is None:
            found = self.tables[name] = self.backend.table(name)
        return found


_CACHE: dict[tuple[str, str, int, bool], tuple[Program, tuple[_Compiled, ...]]] = {}
_CACHE_SIZE: Final = 64


def _compile(backend: _Backend, ruleset: Ruleset, program: Program, number: int, scaled: bool) -> tuple[_Compiled, ...]:
    key = (ruleset.id, program.fingerprint, number, scaled)
    found = _CACHE.get(key)
    if found is not None:
        return found[1]
    logic, functions = _logic(ruleset)
    names = {**{t: t for t in FACT_TYPES}, **_item_tables(number)}
    tables = Tables(backend, names, _scaled(scaled))
    out = []
    with unfused():  # as on DuckDB: without it a rule's plan copies its rows into every select that reads them
        for stratum in program.strata:
            for rule in _order(ruleset.id, stratum):
                plan = compile_rule_plan(
                    ruleset.id, rule, logic[rule.id], functions, program.frame, tables, ruleset.tables
                )
                try:
                    checks = tuple((backend.backend.compile(c.table.limit(1)), c.message) for c in plan.checks)
                    emits = tuple((e, backend.backend.compile(_selection(e))) for e in plan.emits)
                except Exception as err:  # an Ibis construct the pyspark backend lacks
                    if not _is_spark_error(err):
                        raise
                    raise ColumnarUnsupportedError(ruleset.id, rule.id, f"for Spark ({_first_line(err)})") from None
                out.append(_Compiled(rule, checks, emits))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (program, tuple(out))
    return tuple(out)


# -- evaluating -------------------------------------------------------------------------------------------


def evaluate_spark(facts: Any, ruleset: Ruleset, period: Period) -> Result:
    """Evaluate ``facts`` (a :class:`SparkFacts`, a FactTables, or what load_facts accepts) on Spark.

    Every rule is compiled (by the columnar compiler, into Spark SQL) before any fact is given to Spark."""
    import ibis

    given = facts if isinstance(facts, SparkFacts) else SparkFacts(facts)
    programs = _programs(ruleset, period)
    scaled = given.facts is not None and (not isinstance(given.facts, FactTables) or given.facts.scaled)
    schemas = _fact_schemas(scaled)
    with _spark_errors("starting Spark"):
        session = _session_of(given.session)
    with _spark_errors("setting up the tables"):
        for t in FACT_TYPES:
            _view(session, t, schemas[t].empty_table())
        _view(session, ONE, pa.table({"one": pa.array([1], pa.int32())}))
        stores = [_Store(session, number) for number in range(len(programs))]
        backend = _Backend(ibis.pyspark.connect(session))
    with _spark_errors("compiling the rules for Spark"):
        compiled = [_compile(backend, ruleset, p, n, scaled) for n, p in enumerate(programs)]
    with _spark_errors("reading the facts"):
        for t in FACT_TYPES:
            if given.path is not None:
                _parquet_view(session, given, t, schemas[t])
            else:
                _view(session, t, _fact_arrow(cast(FactSet | FactTables, given.facts), t, schemas[t]))
    result = _run(session, ruleset, period, programs, compiled, stores)
    return attrs.evolve(result, explained_by=_explainer(given, ruleset, period))


def _explainer(given: SparkFacts, ruleset: Ruleset, period: Period) -> Callable[[], Result]:
    """The native engine's result on the same facts, made when first asked for (see the columnar engine's)."""
    if given.facts is not None:
        return _native_run(given.facts, ruleset, period)
    made: list[Callable[[], Result]] = []

    def native() -> Result:
        if not made:
            made.append(_native_run(given.to_factset(), ruleset, period))
        return made[0]()

    return native


def _fact_arrow(facts: FactSet | FactTables, fact_type: str, schema: pa.Schema) -> pa.Table:
    if isinstance(facts, FactTables):
        return arrow_of(facts.con, f"SELECT * FROM {quote(fact_type)}").cast(schema)
    of_type = list(enumerate(facts.of_type(fact_type)))
    return with_scales(fact_type, arrow_of_facts(fact_type, of_type), of_type).cast(schema)


def _run(
    session: Any,
    ruleset: Ruleset,
    period: Period,
    programs: Sequence[Program],
    compiled: Sequence[Sequence[_Compiled]],
    stores: Sequence[_Store],
) -> Result:
    from swrules.evaluation import World, build_result

    worlds = []
    for program, rules, store in zip(programs, compiled, stores, strict=True):
        items: list[Item] = []
        derivations = _Derivations()
        objects: dict[str, Any] = {}
        for one in rules:
            made = _execute(session, one, derivations, objects)
            items.extend(made)
            by_type: dict[str, list[Item]] = {}
            for item in made:
                by_type.setdefault(item.TYPE, []).append(item)
            with _spark_errors("writing derived items"):
                for t, of_type in by_type.items():
                    store.add(t, of_type)
        worlds.append(World(program, items, derivations, objects))
    return build_result(ruleset, period, ENGINE, worlds)


def _execute(session: Any, compiled: _Compiled, derivations: _Derivations, objects: dict[str, Any]) -> list[Item]:
    rule = compiled.rule
    for sql, message in compiled.checks:
        if _query(session, rule, sql).num_rows:
            raise RuleFailedError(rule.id, [], message)
    emits = frozenset(rule.definition.emits)
    kept = derivations.kept
    made: list[Item] = []
    for emit, sql in compiled.emits:
        for item, matched in _items(_query(session, rule, sql).to_pylist(), emit):
            item = stamped(item, rule, emits, ())
            key = item.key
            known = objects.get(key)
            if known is not None:
                if known == item and kept[key][0].id == rule.id:
                    continue
                raise EngineError(
                    f"rules {kept[key][0].id!r} and {rule.id!r} both derive {key!r}; an item has one cause"
                )
            objects[key] = item
            kept[key] = (rule, matched)
            made.append(item)
    return made


def _query(session: Any, rule: BoundRule, sql: str) -> pa.Table:
    with _spark_errors(f"rule {rule.id!r}", rule):
        return cast(pa.Table, session.sql(sql).toArrow())


def _items(rows: list[dict[str, Any]], emit: Emit) -> Iterable[tuple[Item, tuple[str, ...]]]:
    cls = ITEM_TYPES[emit.kind]
    types = fields_of(cast(Any, cls))
    make: Any = Finding.at_least if emit.at_least else cls
    constants = {name: v.value for name, v in emit.fields if not isinstance(v, Sc)}
    if not emit.at_least:
        constants = {name: _convert(types.get(name), v) for name, v in constants.items()}
    # (field, column, scale column or None, conversion or None) of each field worked out in SQL
    columns = [
        (
            name,
            f"f{i}",
            f"s{i}" if v.t is Decimal else None,
            None if emit.at_least else _converter(types.get(name), rows_field(cls, name)),
        )
        for i, (name, v) in enumerate(emit.fields)
        if isinstance(v, Sc)
    ]
    keys = [f"k{j}" for j in range(len(emit.matched))]
    for row in rows:
        kw = dict(constants)
        for name, column, scale, convert in columns:
            value = row[column]
            if value is not None:
                if scale is not None:
                    value = Decimal(value).quantize(_QUANTUM[row[scale]])
                if convert is not None:
                    value = convert(value)
            kw[name] = value
        yield make(**kw), tuple(row[k] for k in keys)


#: The quantum of each scale a decimal may have (``Decimal("0.01")`` for 2).
_QUANTUM: Final = {places: Decimal(1).scaleb(-places) for places in range(39)}


def _converter(ftype: Any, kinds: tuple[Any, ...] | None = None) -> Any:
    if kinds is not None:
        return lambda value: rows_from_column(kinds, value)
    if isinstance(ftype, type) and issubclass(ftype, enum.Enum):
        return ftype
    if ftype is Decimal:
        return _to_decimal
    return None


def _to_decimal(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _convert(ftype: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(ftype, type) and issubclass(ftype, enum.Enum):
        return ftype(value) if isinstance(value, str) else value
    if ftype is Decimal and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value
