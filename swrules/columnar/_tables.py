"""Fact tables in DuckDB, and the checks between facts, run as SQL.

Each fact type has one table (named as the type) holding its valid rows, with the fields as columns and
``_index``, the fact's position in the input. The checks between facts — duplicate ids and overlapping
histories, more than one jurisdiction, dangling references, and with ``keep_going`` the facts that depend on
one left out — run as SQL over those tables (window functions, anti-joins); only the rows they find come back
to Python, where the loader's own functions (:mod:`swrules.load`) word the problems, so that the messages
are the loader's.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import decimal
import enum
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import duckdb
import pyarrow as pa

from swrules.columnar._schema import Column, columns, ddl, quote, sql_text
from swrules.errors import EngineError, InputError, Problem
from swrules.facts import FACT_TYPES, Fact
from swrules.load import (
    FactSet,
    Rejected,
    _check_ids,
    _check_overlaps,
    _Shadow,
    _shadow,
    dependency_reason,
)

__all__ = ["FactTables"]

#: Where the fact at an index came from (``path row N``, ``path line N``), as the loader's ``sources`` name it.
Locate = Callable[[int], str]
#: What could be read of the facts with problems of their own (see ``swrules.load._shadow``), by index.
Shadows = list[tuple[int, _Shadow]]
#: The raw input (as the loader would see it) of the facts of one type at some indexes.
RawLookup = Callable[[str, Sequence[int]], Mapping[int, Any]]


class FactTables:
    """Validated facts held as DuckDB tables, one per fact type (see :mod:`swrules.columnar`).

    ``rejected`` lists what ``keep_going`` left out, exactly as :func:`swrules.load_facts` would;
    ``read`` is how many facts the input held.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, rejected: tuple[Rejected, ...], read: int) -> None:
        self.con = con
        self.rejected = rejected
        self.read = read
        #: Whether each decimal field has a column beside it (``<field>__scale``) for the places its value was
        #: given with, as a fact read from text has (JSON Lines, CSV): the columnar engine then prints each
        #: value as the native engine does (``16`` hours, not ``16.000000000000000000``).
        self.scaled = False
        #: The columnar results whose items are still in this connection's tables: moved out when it closes.
        self.results: list[weakref.ref[Any]] = []

    def __enter__(self) -> FactTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ref in self.results:
            result = ref()
            if result is not None:
                result.detach()
        self.results.clear()
        self.con.close()

    @property
    def counts(self) -> dict[str, int]:
        """How many facts of each type were kept (every type, zero included)."""
        query = " UNION ALL ".join(f"SELECT {sql_text(t)}, count(*) FROM {quote(t)}" for t in FACT_TYPES)
        found = {str(t): int(n) for t, n in self.con.execute(query).fetchall()}
        return {t: found[t] for t in FACT_TYPES}

    def to_arrow(self, fact_type: str) -> pa.Table:
        """The facts of one type as an Arrow table, columns named as the fields, in id order (then window)."""
        names = ", ".join(quote(c.name) for c in columns(fact_type))
        order = "id, valid_from NULLS FIRST, _index"
        return arrow_of(self.con, f"SELECT {names} FROM {quote(fact_type)} ORDER BY {order}")

    def ibis(self) -> Any:
        """An Ibis DuckDB backend over these tables (``.table("person")`` …); needs ibis-framework."""
        import ibis

        return ibis.duckdb.from_connection(self.con)

    def to_factset(self) -> FactSet:
        """The same facts as a native :class:`~swrules.load.FactSet` (Python objects: for small inputs)."""
        found: list[Fact] = []
        for fact_type in FACT_TYPES:
            found.extend(f for _, f in fetch_facts(self.con, fact_type, "true", scaled=self.scaled))
        return FactSet.of(found, self.rejected, self.read)


def arrow_of(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """The result of a query as an Arrow table (DuckDB 1.3 and later)."""
    relation = con.sql(query)
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    table: pa.Table = fetch()
    return table


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for fact_type in FACT_TYPES:
        con.execute(ddl(fact_type, fact_type))


def fact_from_row(fact_type: str, row: Sequence[Any]) -> Fact:
    """A fact from a row of its table (valid by construction: the table's checks held)."""
    kwargs: dict[str, Any] = {}
    for column, value in zip(columns(fact_type), row, strict=False):
        if value is None:
            continue
        if column.values is not None:
            value = _enum_of(fact_type, column.name)(value)
        elif column.kind == "refs":
            value = tuple(value)
        kwargs[column.name] = value
    return FACT_TYPES[fact_type](**kwargs)


def _enum_of(fact_type: str, name: str) -> type[enum.Enum]:
    found: type[enum.Enum] = attrs.fields_dict(FACT_TYPES[fact_type])[name].metadata["enum"]
    return found


def fetch_facts(
    con: duckdb.DuckDBPyConnection, fact_type: str, where: str, *, scaled: bool = False
) -> Iterator[tuple[int, Fact]]:
    """(index, fact) of the rows of a table that satisfy ``where``, in index order.

    ``scaled``: the table has the places of each decimal beside it, and each value is given them back."""
    cols = columns(fact_type)
    names = ", ".join(quote(c.name) for c in cols)
    decimals = [(i, c.name) for i, c in enumerate(cols) if c.kind in ("money", "number")] if scaled else []
    scales = "".join(f", {quote(name + '__scale')}" for _, name in decimals)
    cur = con.execute(f"SELECT {names}{scales}, _index FROM {quote(fact_type)} WHERE {where} ORDER BY _index")
    width = len(cols)
    while batch := cur.fetchmany(10_000):
        for row in batch:
            values = list(row[:width])
            for n, (i, _) in enumerate(decimals):
                if values[i] is not None:
                    values[i] = _WIDE.quantize(values[i], _QUANTUM[row[width + n]])
            yield int(row[-1]), fact_from_row(fact_type, values)


#: The quantum of each number of places a decimal may have (``Decimal("0.01")`` for 2).
_QUANTUM: Final = {n: Decimal(1).scaleb(-n) for n in range(39)}
#: A context wide enough for every value a column holds (38 digits), so that no quantize is refused.
_WIDE: Final = decimal.Context(prec=76)


def raw_of_row(fact_type: str, cols: Sequence[Column], row: Sequence[Any]) -> dict[str, Any]:
    """A row as the loader reads a fact: a null cell is an absent field, a date its ISO text."""
    raw: dict[str, Any] = {"type": fact_type}
    for column, value in zip(cols, row, strict=False):
        if value is None:
            continue
        if isinstance(value, _dt.date):
            value = value.isoformat()
        raw[column.name] = value
    return raw


def table_raws(con: duckdb.DuckDBPyConnection, fact_type: str, indexes: Sequence[int]) -> dict[int, Any]:
    """The raw facts (as the loader reads them) of a table's rows at some indexes."""
    if not indexes:
        return {}
    cols = columns(fact_type)
    names = ", ".join(quote(c.name) for c in cols)
    _indexes(con, "_wanted", indexes)
    rows = con.execute(
        f"SELECT {names}, _index FROM {quote(fact_type)} WHERE _index IN (SELECT i FROM _wanted)"
    ).fetchall()
    return {int(r[-1]): raw_of_row(fact_type, cols, r[:-1]) for r in rows}


def _problem_for(problems: list[Problem]) -> Callable[..., None]:
    """The callback :func:`swrules.load._check_overlaps` reports through, as :func:`_check_ids` makes it."""

    def problem(index: int, fact: Fact, message: str, field: str | None = "id") -> None:
        problems.append(Problem(message=message, index=index, fact_type=fact.TYPE, fact_id=fact.id, field=field))

    return problem


def _indexes(con: duckdb.DuckDBPyConnection, name: str, indexes: Sequence[int]) -> None:
    """A temporary table ``name`` of one column ``i``: the indexes, handed over as Arrow (not as SQL text)."""
    con.register("_incoming_indexes", pa.table({"i": pa.array(indexes, type=pa.int64())}))
    try:
        _temp(con, name, "SELECT i FROM _incoming_indexes")
    finally:
        con.unregister("_incoming_indexes")


def _temp(con: duckdb.DuckDBPyConnection, name: str, query: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")


def _strings(con: duckdb.DuckDBPyConnection, name: str, values: Sequence[str]) -> None:
    """A temporary table ``name`` of one column ``s``: the strings, handed over as Arrow (not as SQL text)."""
    con.register("_incoming_strings", pa.table({"s": pa.array(values, type=pa.string())}))
    try:
        _temp(con, name, "SELECT s FROM _incoming_strings")
    finally:
        con.unregister("_incoming_strings")


def shadow_of(index: int, raw: object, shadows: Shadows) -> None:
    """Keep what can be read of a fact with problems, as the loader does, so its ids and references are checked."""
    found = _shadow(raw)
    if found is not None:
        shadows.append((index, found))


def check_between(con: duckdb.DuckDBPyConnection, shadows: Shadows, name: Locate) -> list[Problem]:
    """The loader's checks between facts (``swrules.load._check_ids``): histories, jurisdictions, references.

    The valid facts are in the tables; ``shadows`` are what could be read of the others: their ids count as
    present, their windows take part in the histories and their references are checked too, as the loader's
    do, so that every problem is found in one run. The problems come in no particular order (the caller sorts
    them by index, stably, as the loader does).
    """
    problems: list[Problem] = []
    problem = _problem_for(problems)
    shadow_ids: dict[str, set[str]] = {}  # by type: the ids of shadows (present for references)
    windowed: dict[tuple[str, str], list[tuple[int | None, Any]]] = {}  # shadows that take part in histories
    for index, shadow in shadows:
        if shadow.id is not None:
            shadow_ids.setdefault(shadow.TYPE, set()).add(shadow.id)
            if shadow.windowed:
                windowed.setdefault((shadow.TYPE, shadow.id), []).append((index, shadow))
    # Duplicate ids and overlapping windows: per id, versions by start; one overlaps when it starts on or before
    # the furthest end of those before it (no start: since always; no end: for ever).
    groups: list[list[tuple[int | None, Any]]] = []
    for fact_type in sorted({t for t, _ in windowed}):
        ids = sorted(i for t, i in windowed if t == fact_type)
        _strings(con, "_wanted_ids", ids)
        by_id: dict[str, list[tuple[int | None, Any]]] = {i: list(windowed[(fact_type, i)]) for i in ids}
        for index, fact in fetch_facts(con, fact_type, "id IN (SELECT s FROM _wanted_ids)"):
            by_id[fact.id].append((index, fact))
        groups.extend(v for v in by_id.values() if len(v) > 1)
    # One statement for every type (the types' queries run side by side): the ids whose versions overlap.
    overlapping = " UNION ALL ".join(
        f"""
        SELECT * FROM (
            WITH dup AS (SELECT id FROM {quote(t)} GROUP BY id HAVING count(*) > 1),
            v AS (
                SELECT x.id, x.valid_from,
                    max(coalesce(x.valid_until, 'infinity'::DATE)) OVER (
                        PARTITION BY x.id ORDER BY x.valid_from NULLS FIRST, x._index
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
                FROM {quote(t)} x JOIN dup USING (id))
            SELECT DISTINCT {sql_text(t)} AS t, id FROM v
            WHERE reach IS NOT NULL AND (valid_from IS NULL OR reach >= valid_from))
        """
        for t in FACT_TYPES
    )
    _temp(con, "_overlapping", overlapping)
    found_types = {str(r[0]) for r in con.execute("SELECT DISTINCT t FROM _overlapping").fetchall()}
    for fact_type in (t for t in FACT_TYPES if t in found_types):
        valid: dict[str, list[tuple[int | None, Any]]] = {}
        where = f"id IN (SELECT id FROM _overlapping WHERE t = {sql_text(fact_type)})"
        for index, fact in fetch_facts(con, fact_type, where):
            if (fact_type, fact.id) not in windowed:  # those are in a group with their shadows above
                valid.setdefault(fact.id, []).append((index, fact))
        groups.extend(valid.values())
    for versions in groups:
        _check_overlaps(versions, problem, name)
    # More than one jurisdiction: the loader words it (its overlaps are reported above).
    if con.execute("SELECT count(DISTINCT id) FROM jurisdiction").fetchall()[0][0] > 1:
        found: list[Problem] = []
        _check_ids(list(fetch_facts(con, "jurisdiction", "true")), found, None)
        problems.extend(p for p in found if p.field is None)

    # Dangling references: anti-joins find the (index, field, id) that point at no valid fact; an id a shadow
    # holds is present all the same.
    def absent(target: str, ref: str) -> bool:
        return ref not in shadow_ids.get(target, ())

    dangling: dict[str, dict[int, set[tuple[str, str]]]] = {}
    for fact_type, position, index, ref in _missing_refs(con, first_only=False):
        target = columns(fact_type)[position].ref
        assert target is not None
        if absent(target, ref):
            dangling.setdefault(fact_type, {}).setdefault(index, set()).add((target, ref))
    for fact_type, by_index in dangling.items():
        _indexes(con, "_wanted", list(by_index))
        for index, fact in fetch_facts(con, fact_type, "_index IN (SELECT i FROM _wanted)"):
            missing = by_index[index]
            present = {ref: () for ref in _refs(fact) if ref not in missing}
            _check_ids([(index, fact)], problems, None, known=present)
    # The shadows' references: against the tables and the shadows.
    wanted: dict[str, set[str]] = {}
    for _, shadow in shadows:
        for _field, target, values in shadow.refs:
            wanted.setdefault(target, set()).update(v for v in values if absent(target, v))
    held: set[tuple[str, str]] = set()
    for target, refs in sorted(wanted.items()):
        _strings(con, "_wanted_ids", sorted(refs))
        query = f"SELECT DISTINCT id FROM {quote(target)} WHERE id IN (SELECT s FROM _wanted_ids)"
        held.update((target, str(r[0])) for r in con.execute(query).fetchall())
    for index, shadow in shadows:
        known = {
            (target, v): ()
            for _field, target, values in shadow.refs
            for v in values
            if not absent(target, v) or (target, v) in held
        }
        _check_ids([], problems, None, known=known, shadows=[(index, shadow)])
    return problems


def _refs(fact: Fact) -> Iterator[tuple[str, str]]:
    for column in columns(fact.TYPE):
        if column.ref is None:
            continue
        value = getattr(fact, column.name)
        for ref in value if isinstance(value, tuple) else (value,):
            if ref is not None:
                yield column.ref, ref


def _missing_refs(con: duckdb.DuckDBPyConnection, *, first_only: bool) -> list[tuple[str, int, int, str]]:
    """(fact type, column position, index, id) of every reference that points at no fact of its target type.

    One query: per target type, the references of every column that points at it (lists unnested) gathered,
    then one anti-join against the target's ids, so that each target's ids are hashed once. ``first_only``
    keeps, of a list of ids, the first missing one.
    """
    by_target: dict[str, list[str]] = {}
    for fact_type in FACT_TYPES:
        for position, column in enumerate(columns(fact_type)):
            if column.ref is None:
                continue
            t, c = quote(fact_type), quote(column.name)
            head = f"SELECT {sql_text(fact_type)} AS t, {position} AS k, _index"
            if column.kind != "refs":
                part = f"{head}, {c} AS r, 1 AS pos FROM {t} WHERE {c} IS NOT NULL"
            else:
                part = f"{head}, unnest({c}) AS r, generate_subscripts({c}, 1) AS pos FROM {t}"
            by_target.setdefault(column.ref, []).append(part)
    parts = []
    for target, refs in by_target.items():
        missing = f"(SELECT * FROM ({' UNION ALL '.join(refs)}) ANTI JOIN {quote(target)} ON r = {quote(target)}.id)"
        if first_only:
            parts.append(f"SELECT t, k, _index, arg_min(r, pos) FROM {missing} GROUP BY t, k, _index")
        else:
            parts.append(f"SELECT DISTINCT t, k, _index, r FROM {missing}")
    rows = con.execute(" UNION ALL ".join(parts)).fetchall()
    return [(str(t), int(k), int(i), str(r)) for t, k, i, r in rows]


def finish(
    con: duckdb.DuckDBPyConnection,
    row_problems: list[Problem],
    shadows: Shadows,
    read: int,
    raws: RawLookup,
    *,
    keep_going: bool,
    locate: Locate,
) -> FactTables:
    """Run the checks between facts; raise every problem, or with ``keep_going`` leave out what has one.

    The problems are in the loader's order: by index (the fact's position in the input), and for one fact
    its own problems first, then its history, then the jurisdiction, then its references.
    """
    try:
        problems = row_problems + check_between(con, shadows, locate)
        problems.sort(key=lambda p: -1 if p.index is None else p.index)
        if not problems:
            return FactTables(con, (), read)
        if not keep_going or any(p.index is None for p in problems):
            problems = [
                attrs.evolve(p, source=locate(p.index), index=None) if p.index is not None else p for p in problems
            ]
            raise InputError(problems)
        rejected = _keep_going(con, problems, raws, locate)
    except BaseException:
        con.close()
        raise
    return FactTables(con, rejected, read)


def _keep_going(
    con: duckdb.DuckDBPyConnection, problems: list[Problem], raws: RawLookup, locate: Locate
) -> tuple[Rejected, ...]:
    """Leave out every fact with a problem and, pass by pass, every fact that refers to one left out."""
    reasons: dict[int, list[str]] = {}
    for p in problems:
        assert p.index is not None
        reasons.setdefault(p.index, []).append(f"{p.field}: {p.message}" if p.field else p.message)
    gone: dict[int, Any] = {}
    _indexes(con, "_gone", list(reasons))
    for fact_type in FACT_TYPES:
        query = f"SELECT _index FROM {quote(fact_type)} JOIN _gone ON _index = i"
        held = [int(r[0]) for r in con.execute(query).fetchall()]
        gone.update(raws(fact_type, held))
    _delete(con)
    while True:
        dropped: dict[str, dict[int, str]] = {}
        for fact_type, position, index, ref in sorted(_missing_refs(con, first_only=True)):
            mine = dropped.setdefault(fact_type, {})
            if index not in mine:  # the first field (in field order) with a missing reference
                column = columns(fact_type)[position]
                assert column.ref is not None
                mine[index] = dependency_reason(column.name, column.ref, ref)
        if not dropped:
            break
        every = [i for by_index in dropped.values() for i in by_index]
        _indexes(con, "_gone", every)
        for fact_type, by_index in dropped.items():
            gone.update(raws(fact_type, list(by_index)))
            for index, why in by_index.items():
                reasons.setdefault(index, []).append(why)
        _delete(con)
    out = []
    for index in sorted(reasons):
        raw = gone.get(index, raws("", [index]).get(index))
        out.append(Rejected.of(index, raw, reasons[index], locate(index)))
    return tuple(out)


def _delete(con: duckdb.DuckDBPyConnection) -> None:
    for fact_type in FACT_TYPES:
        con.execute(f"DELETE FROM {quote(fact_type)} WHERE _index IN (SELECT i FROM _gone)")


def insert_arrow(con: duckdb.DuckDBPyConnection, fact_type: str, table: pa.Table) -> None:
    """Append rows (the fields in order, then ``_index``) to a fact type's table."""
    con.register("_incoming", table)
    try:
        con.execute(f"INSERT INTO {quote(fact_type)} SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def arrow_of_facts(fact_type: str, facts: Sequence[tuple[int, Fact]]) -> pa.Table:
    """Valid facts of one type as an Arrow table in the table's layout."""
    arrays = []
    for column in columns(fact_type):
        values: list[Any] = []
        for _, fact in facts:
            value = getattr(fact, column.name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            values.append(value)
        arrays.append(pa.array(values, type=column.arrow))
    arrays.append(pa.array([i for i, _ in facts], type=pa.int64()))
    return pa.Table.from_arrays(arrays, names=[*(c.name for c in columns(fact_type)), "_index"])


def fits_columns(index: int, fact: Fact, problems: list[Problem]) -> bool:
    """Whether a valid fact fits its table's columns (integers in 64 bits, hours in 18 places)."""
    ok = True
    for column in columns(fact.TYPE):
        value = getattr(fact, column.name)
        message = None
        if column.kind == "int" and isinstance(value, int) and not -(2**63) < value < 2**63:
            message = f"must be at most {2**63 - 1} in a columnar table (got {value})"
        elif column.kind == "number" and isinstance(value, Decimal) and value.as_tuple().exponent < -18:  # type: ignore[operator]
            message = f"must have at most 18 decimal places in a columnar table (got {value})"
        if message is not None:
            problems.append(
                Problem(message=message, index=index, fact_type=fact.TYPE, fact_id=fact.id, field=column.name)
            )
            ok = False
    return ok


def locator(offsets: Sequence[int], paths: Sequence[str], first_row: int) -> Locate:
    """``path row N`` of a global index, given where each file's rows start (``first_row``: the number of row 0)."""

    def locate(index: int) -> str:
        k = bisect.bisect_right(offsets, index) - 1
        return f"{paths[k]} row {index - offsets[k] + first_row}"

    return locate


def internal(message: str) -> EngineError:
    return EngineError(f"columnar reader: {message}")


def decimal_fields(fact_type: str) -> list[str]:
    """The decimal fields (money, hours) of a fact type."""
    return [c.name for c in columns(fact_type) if c.kind in ("money", "number")]


def add_scales(con: duckdb.DuckDBPyConnection) -> None:
    """A column beside each decimal field of the fact tables for the places of its value (``<field>__scale``)."""
    for fact_type in FACT_TYPES:
        for name in decimal_fields(fact_type):
            con.execute(f"ALTER TABLE {quote(fact_type)} ADD COLUMN {quote(name + '__scale')} BIGINT")


def places(value: Decimal) -> int:
    """The places after the point a decimal was given with (0 for a whole number)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def with_scales(fact_type: str, table: pa.Table, facts: Sequence[tuple[int, Fact]]) -> pa.Table:
    """``table`` (from :func:`arrow_of_facts`) with the places of each decimal field's values after it."""
    for name in decimal_fields(fact_type):
        scales = [None if getattr(f, name) is None else places(getattr(f, name)) for _, f in facts]
        table = table.append_column(name + "__scale", pa.array(scales, type=pa.int64()))
    return table
