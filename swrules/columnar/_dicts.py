"""Fact dicts straight into the columnar engine's tables: no fact object, the loader's checks made in SQL.

A list of plain fact dicts (``{"type": "person", "id": "p1", …}``, dates as ``YYYY-MM-DD`` text, money and hours
as decimal text, an int or a Decimal) is put into Arrow columns as it is, one table per fact type, and judged in
DuckDB by the checks the Parquet reader makes (:func:`~swrules.columnar._schema.ok_in`, the checks between facts
of :func:`~swrules.columnar._tables.check_between`), the text of dates and numbers read there too. It is a fast path,
never a second judge: anything it does not take as it is (a value of another shape, a fact with a problem)
gives None, and the loader reads the facts, words every problem and decides, as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import duckdb
import pyarrow as pa

from swrules.columnar._readers import _filled
from swrules.columnar._schema import HOURS_SCALE, Column, columns, ok_in, quote, row_checks
from swrules.columnar._tables import check_between, decimal_fields, places
from swrules.facts import FACT_TYPES

__all__ = ["tables_of_dicts"]

#: The Arrow type each kind of field is given in: text for dates and numbers (read in SQL).
_ARROW: Final = {
    "id": pa.string(),
    "ref": pa.string(),
    "text": pa.string(),
    "enum": pa.string(),
    "date": pa.string(),
    "money": pa.string(),
    "number": pa.string(),
    "refs": pa.list_(pa.string()),
    "bool": pa.bool_(),
    "int": pa.int64(),
}
_RAW: Final = "_swrules_raw_dicts"


def _values(column: Column, values: list[Any]) -> list[Any] | None:
    """A column's values as its Arrow type takes them, or None where one is not of the plain shape."""
    kind = column.kind
    if kind in ("id", "ref", "text", "enum", "date"):
        return values if all(v is None or type(v) is str for v in values) else None
    if kind == "refs":
        ok = all(v is None or (type(v) is list and all(type(e) is str for e in v)) for v in values)
        return values if ok else None
    if kind == "bool":
        return values if all(v is None or type(v) is bool for v in values) else None
    if kind == "int":
        return values if all(v is None or type(v) is int for v in values) else None
    out: list[Any] = []  # money, number: decimal text as given; an int or a finite Decimal written out
    for v in values:
        if v is None or type(v) is str:
            out.append(v)
        elif type(v) is int:
            out.append(str(v))
        elif type(v) is Decimal and v.is_finite():
            out.append(format(v, "f"))
        else:
            return None
    return out


def _columns(cols: Sequence[Column], facts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The facts' columns as Arrow arrays, or None where a value is not of the plain shape.

    All at once where every value already has its Arrow type (Arrow reads the dicts); Arrow would take a float for
    an integer and a tuple for a list, which the loader refuses, so those columns are looked at here too."""
    struct = pa.struct([(c.name, _ARROW[c.kind]) for c in cols])
    try:
        whole = pa.array(facts, type=struct)
    except (pa.ArrowException, UnicodeError, OverflowError, TypeError, ValueError):
        whole = None  # a value of another type (money as an int, say): column by column
    arrays: dict[str, Any] = {}
    for i, column in enumerate(cols):
        if whole is not None and column.kind not in ("int", "refs"):
            arrays[column.name] = whole.field(i)
            continue
        values = _values(column, [fact.get(column.name) for fact in facts])
        if values is None:
            return None
        arrays[column.name] = whole.field(i) if whole is not None else pa.array(values, type=_ARROW[column.kind])
    return arrays


def _typed(column: Column) -> tuple[str, str, str | None]:
    """(the column read from its raw text or value, the raw value's own check, its places where a decimal)."""
    c = quote(column.name)
    if column.kind == "date":
        shape = f"regexp_full_match({c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND TRY_CAST({c} AS DATE) IS NOT NULL"
        return f"TRY_CAST({c} AS DATE)", f"({c} IS NULL OR ({shape}))", None
    if column.kind in ("money", "number"):
        places = 2 if column.kind == "money" else HOURS_SCALE
        # Digits with an optional point and at most as many places as the table keeps; no negative zero (the
        # loader keeps its sign, a DECIMAL does not).
        shape = (
            f"regexp_full_match({c}, '-?[0-9]{{1,20}}([.][0-9]{{1,{places}}})?') "
            f"AND NOT regexp_full_match({c}, '-0*([.]0*)?')"
        )
        scale = (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN contains({c}, '.') THEN length({c}) - strpos({c}, '.') ELSE 0 END"
        )
        return f"TRY_CAST({c} AS DECIMAL(38,{places}))", f"({c} IS NULL OR ({shape}))", scale
    return c, "true", None


def tables_of_dicts(con: duckdb.DuckDBPyConnection, rows: Sequence[Any]) -> bool:
    """Put ``rows`` (fact dicts) into the empty fact tables of ``con`` (with their ``__scale`` columns): True,
    or False with the tables left empty where the loader must read them (see the module's text)."""
    by_type: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        if type(row) is not dict:
            return False
        fact_type = row.get("type")
        if type(fact_type) is not str or fact_type not in FACT_TYPES:
            return False
        by_type.setdefault(fact_type, []).append(index)

    try:
        taken = all(_insert(con, t, [rows[i] for i in indexes], indexes) for t, indexes in by_type.items())
        if taken and not check_between(con, [], str):  # a problem between facts: the loader words it
            return True
    except (duckdb.Error, pa.ArrowException, UnicodeError, OverflowError):  # a value not taken as it is
        pass
    for fact_type in FACT_TYPES:
        con.execute(f"DELETE FROM {quote(fact_type)}")
    return False


def _insert(con: duckdb.DuckDBPyConnection, fact_type: str, facts: list[dict[str, Any]], indexes: list[int]) -> bool:
    """Put the facts of one type into its table: False (nothing kept) where one is not taken as it is."""
    cols = columns(fact_type)
    known = {c.name for c in cols}
    known.add("type")
    for fact in facts:
        if not known.issuperset(fact):
            return False  # an unknown field: the loader names it
    arrays = _columns(cols, facts)
    if arrays is None:
        return False
    arrays["_index"] = pa.array(indexes, type=pa.int64())
    raw = pa.table(arrays)
    typed_parts, raw_ok, scales = [], [], {}
    for column in cols:
        value, shape, scale = _typed(column)
        typed_parts.append(f"{value} AS {quote(column.name)}")
        raw_ok.append(shape)
        if scale is not None:
            scales[column.name] = scale
    defaults = attrs.fields_dict(FACT_TYPES[fact_type])
    scale_parts = []
    for name in decimal_fields(fact_type):  # a decimal left out has its default's places, as a fact object does
        default = defaults[name].default
        given = scales[name]
        if isinstance(default, Decimal):
            given = f"coalesce({given}, {places(default)})"
        scale_parts.append(f"{given} AS {quote(name + '__scale')}")
    typed = (
        f"(SELECT {', '.join([*typed_parts, *scale_parts])}, _index, ({' AND '.join(raw_ok)}) AS _raw_ok FROM {_RAW})"
    )
    source_types = {c.name: c.sql for c in cols}
    for column in cols:
        if column.kind in ("money", "number"):
            source_types[column.name] = f"DECIMAL(38,{2 if column.kind == 'money' else HOURS_SCALE})"
    checks = [ok_in(fact_type, c, source_types[c.name]) for c in cols]
    ok = " AND ".join(["_raw_ok", *checks, *(f"coalesce({r}, false)" for r in row_checks(fact_type))])
    names = [*(quote(c.name) for c in cols), "_index", *(quote(n + "__scale") for n in decimal_fields(fact_type))]
    filled = ", ".join([*(_filled(fact_type, c) for c in cols), "_index"])
    scaled = "".join(f", {quote(n + '__scale')}" for n in decimal_fields(fact_type))
    con.register(_RAW, raw)
    try:
        inserted = con.execute(
            f"INSERT INTO {quote(fact_type)} ({', '.join(names)}) SELECT {filled}{scaled} FROM {typed} WHERE {ok}"
        ).fetchall()
    finally:
        con.unregister(_RAW)
    return int(inserted[0][0]) == len(facts)
