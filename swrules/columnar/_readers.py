"""Readers: a Parquet folder, a CSV folder, JSON Lines, into :class:`FactTables`.

Parquet is read by DuckDB itself: the checks of each field (a required value present, an enum value known,
money with at most two places and never negative, a year in range, a tier within its band, a window in
order…) are SQL predicates (see ``_schema``), the rows failing them are the only ones that come back to
Python, where the loader words their problems. A Parquet column of the wrong physical type (a float where
money belongs, text where a date belongs), an unknown column or a missing required column is a problem
with the file.

CSV and JSON Lines are parsed by the project's own parsers (:func:`swrules.sources.csv_folder_rows`,
:func:`swrules.sources.read_jsonl`, the loader's field conversions): DuckDB's JSON and CSV readers would
turn numbers into doubles, and money is never a float. The facts that pass are handed to DuckDB as Arrow
batches of typed rows; the checks between facts then run in SQL as for Parquet.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import duckdb

from swrules.columnar._schema import Column, columns, ok_in, quote, row_checks, sql_text
from swrules.columnar._tables import (
    FactTables,
    Locate,
    Shadows,
    add_scales,
    arrow_of_facts,
    create_tables,
    finish,
    fits_columns,
    insert_arrow,
    internal,
    locator,
    raw_of_row,
    shadow_of,
    table_raws,
    with_scales,
)
from swrules.errors import InputError, Problem
from swrules.facts import FACT_TYPES, Fact
from swrules.load import _one_fact
from swrules.sources import _read_jsonl as _jsonl_rows
from swrules.sources import csv_folder_rows

__all__ = ["read_csv_folder", "read_jsonl", "read_parquet_folder"]

_INTEGERS: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
_EXPECTED: Final = {
    "id": "VARCHAR",
    "ref": "VARCHAR",
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "refs": "VARCHAR[] (a list of ids)",
    "bool": "BOOLEAN",
    "int": "an integer type",
    "date": "DATE",
    "money": "DECIMAL (money is never a float; write DECIMAL(22,2))",
    "number": "DECIMAL or an integer type (never a float)",
}


def _accepts(column: Column, got: str) -> bool:
    if column.kind in ("id", "ref", "text", "enum"):
        return got == "VARCHAR"
    if column.kind == "refs":
        return got == "VARCHAR[]"
    if column.kind == "bool":
        return got == "BOOLEAN"
    if column.kind == "int":
        return got in _INTEGERS
    if column.kind == "date":
        return got == "DATE"
    return got.startswith("DECIMAL(") or got in _INTEGERS  # money, number


# --- Python-parsed inputs ----------------------------------------------------------------------------------


def _from_rows(rows: Sequence[Any], *, keep_going: bool, locate: Locate) -> FactTables:
    """Validate each row with the loader's own field checks; hand the valid ones to DuckDB; check between them."""
    problems: list[Problem] = []
    shadows: Shadows = []
    by_type: dict[str, list[tuple[int, Fact]]] = defaultdict(list)
    for index, raw in enumerate(rows):
        fact = _one_fact(index, raw, problems, None)
        if fact is None:
            shadow_of(index, raw, shadows)
        elif fits_columns(index, fact, problems):
            by_type[fact.TYPE].append((index, fact))
        else:
            shadow_of(index, raw, shadows)
    con = duckdb.connect()
    try:
        create_tables(con)
        add_scales(con)
        for fact_type, found in by_type.items():
            for start in range(0, len(found), 50_000):
                chunk = found[start : start + 50_000]
                insert_arrow(con, fact_type, with_scales(fact_type, arrow_of_facts(fact_type, chunk), chunk))
    except BaseException:
        con.close()
        raise

    def raws(_fact_type: str, indexes: Sequence[int]) -> Mapping[int, Any]:
        return {i: rows[i] for i in indexes}

    tables = finish(con, problems, shadows, len(rows), raws, keep_going=keep_going, locate=locate)
    tables.scaled = True
    return tables


def read_jsonl(path: str, *, keep_going: bool = False) -> FactTables:
    """Facts from a JSON Lines file (one fact per line), validated as :func:`swrules.sources.read_facts` does.

    Problems and rejects name the file and line (``facts.jsonl line 6``), as the loader's do for the same
    file; a line that is not JSON is a problem of its own, reported (or with ``keep_going`` skipped) with the
    others.
    """
    try:
        with open(path, "rb") as stream:
            rows, where = _jsonl_rows(stream, path)
    except OSError as err:
        raise InputError([Problem(message=f"cannot read {path}: {err.strerror}")]) from None
    return _from_rows(rows, keep_going=keep_going, locate=where.__getitem__)


def read_csv_folder(folder: str, *, keep_going: bool = False, encoding: str = "utf-8") -> FactTables:
    """Facts from a folder of CSV files (as :func:`swrules.sources.read_csv_folder`, in ``encoding``, one of
    :data:`swrules.sources.CSV_ENCODINGS`); problems name file and row."""
    rows, where = csv_folder_rows(folder, encoding=encoding)
    return _from_rows(rows, keep_going=keep_going, locate=where.__getitem__)


# --- Parquet -----------------------------------------------------------------------------------------------


def read_parquet_folder(folder: str, *, keep_going: bool = False) -> FactTables:
    """Facts from a folder of Parquet files, one per fact type (``person.parquet``…), columns named as the fields.

    Types: text, ids and enums VARCHAR; a list of ids VARCHAR[]; booleans BOOLEAN; integers any integer
    type; dates DATE; money DECIMAL (any scale; at most two places in a value) or an integer type, never a
    float; an optional column may be left out, a null cell is an absent field. Problems with a file (an
    unknown or missing required column, a column of the wrong type, not Parquet at all) are reported for every
    file at once before any row; problems with a fact name the file and its row (the first row is row 1).
    """
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".parquet"))
    except OSError as err:
        raise InputError([Problem(message=f"cannot read {folder}: {err.strerror}")]) from None
    unknown = [n for n in names if n[: -len(".parquet")] not in FACT_TYPES]
    if unknown or not names:
        expected = ", ".join(f"{t}.parquet" for t in FACT_TYPES)
        what = f"unknown file {unknown[0]}" if unknown else "no Parquet files"
        raise InputError([Problem(message=f"{folder}: {what} (expected files named {expected})")])
    con = duckdb.connect()
    try:
        return _read_parquet(con, folder, names, keep_going)
    except duckdb.Error as err:
        con.close()
        raise InputError([Problem(message=f"{folder}: cannot be read as Parquet: {err}")]) from None
    except BaseException:
        con.close()
        raise


def _read_parquet(con: duckdb.DuckDBPyConnection, folder: str, names: list[str], keep_going: bool) -> FactTables:
    create_tables(con)
    problems: list[Problem] = []
    files: list[tuple[str, str, dict[str, str], int]] = []  # fact type, path, column types, rows
    for name in names:
        fact_type = name[: -len(".parquet")]
        path = os.path.join(folder, name)
        source = f"read_parquet({sql_text(path)})"
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            counted = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0]
        except duckdb.Error as err:
            problems.append(Problem(message=f"cannot be read as Parquet: {_first_line(err)}", source=path))
            continue
        got = {str(r[0]): str(r[1]) for r in described}
        known = {c.name: c for c in columns(fact_type)}
        for column_name in got:
            if column_name not in known:
                problems.append(Problem(message=f"unknown column for a {fact_type}", source=path, field=column_name))
        for column in known.values():
            if column.name not in got:
                if column.required:
                    problems.append(Problem(message="required column is missing", source=path, field=column.name))
            elif not _accepts(column, got[column.name]):
                problems.append(
                    Problem(
                        message=f"is a {got[column.name]} column; a {column.kind} column must be "
                        f"{_EXPECTED[column.kind]}",
                        source=path,
                        field=column.name,
                    )
                )
        files.append((fact_type, path, got, int(counted[0])))
    if problems:
        raise InputError(problems)
    offsets: list[int] = []
    total = 0
    row_problems: list[Problem] = []
    shadows: Shadows = []
    bad_raws: dict[int, Any] = {}
    # The rows of a table are in no particular order (``_index`` says where each came from): inserted so, the
    # two cores decode and store a file's row groups side by side. Queries made afterwards keep DuckDB's default.
    con.execute("SET preserve_insertion_order = false")
    for fact_type, path, got, count in files:
        offsets.append(total)
        _load_file(con, fact_type, path, got, (total, count), row_problems, shadows, bad_raws)
        total += count
    con.execute("RESET preserve_insertion_order")
    locate = locator(offsets, [p for _, p, _, _ in files], first_row=1)

    def raws(fact_type: str, indexes: Sequence[int]) -> Mapping[int, Any]:
        if not fact_type:
            return {i: bad_raws[i] for i in indexes if i in bad_raws}
        return table_raws(con, fact_type, indexes)

    return finish(con, row_problems, shadows, total, raws, keep_going=keep_going, locate=locate)


def _load_file(
    con: duckdb.DuckDBPyConnection,
    fact_type: str,
    path: str,
    got: Mapping[str, str],
    rows: tuple[int, int],
    problems: list[Problem],
    shadows: Shadows,
    bad_raws: dict[int, Any],
) -> None:
    """Insert a file's valid rows; only if some were left out, read those again to word their problems.

    ``rows`` is the global index of the file's first row and how many rows it holds. The columns are checked
    in their own Parquet types (an INTEGER year, a DECIMAL(10,3) salary: nothing goes through text) and cast
    to the table's types after the check, so that a value is never rounded or narrowed before it is judged.
    """
    offset, count = rows
    cols = columns(fact_type)
    picked = ", ".join(quote(c.name) if c.name in got else f"CAST(NULL AS {c.sql}) AS {quote(c.name)}" for c in cols)
    src = (
        f"(SELECT {picked}, {offset} + file_row_number AS _index "
        f"FROM read_parquet({sql_text(path)}, file_row_number = true))"
    )
    checks = [ok_in(fact_type, c, got.get(c.name)) for c in cols]
    ok = " AND ".join([*checks, *(f"coalesce({r}, false)" for r in row_checks(fact_type))])
    # The rows that pass: cast to the table's types, defaults filled in, without leaving DuckDB.
    filled = ", ".join(_filled(fact_type, c) for c in cols)
    inserted = con.execute(f"INSERT INTO {quote(fact_type)} SELECT {filled}, _index FROM {src} WHERE {ok}").fetchall()
    if int(inserted[0][0]) == count:
        return
    # The rows that fail: back to Python, where the loader words every problem they have.
    shown = ", ".join(f"CAST({quote(c.name)} AS VARCHAR)" if c.kind == "date" else quote(c.name) for c in cols)
    cur = con.execute(f"SELECT {shown}, _index FROM {src} WHERE NOT ({ok}) ORDER BY _index")
    while batch := cur.fetchmany(10_000):
        for row in batch:
            index = int(row[-1])
            raw = raw_of_row(fact_type, cols, [_plain(v) for v in row[:-1]])
            fact = _one_fact(index, raw, problems, None)
            # The loader takes it: then it is a value a column cannot hold (an integer beyond 64 bits).
            if fact is not None and fits_columns(index, fact, problems):
                raise internal(f"{path} row {index - offset + 1} fails a SQL check the loader does not make")
            bad_raws[index] = raw
            shadow_of(index, raw, shadows)


def _plain(value: object) -> object:
    """A DuckDB value as the loader reads one: a decimal column's padding dropped (8.5000 of a DECIMAL(9,4) is 8.5)."""
    if isinstance(value, Decimal) and value.as_tuple().exponent < -2:  # type: ignore[operator]
        return value.normalize()
    return value


def _filled(fact_type: str, column: Column) -> str:
    """The column cast to its table type, a null replaced by the field's default."""
    default = attrs.fields_dict(FACT_TYPES[fact_type])[column.name].default
    c = quote(column.name)
    if default is attrs.NOTHING or default is None:
        return f"CAST({c} AS {column.sql})"
    if isinstance(default, bool):
        literal = "true" if default else "false"
    elif isinstance(default, Decimal):
        literal = sql_text(str(default))
    elif isinstance(default, tuple) and not default:
        literal = "[]"
    else:  # pragma: no cover - a new kind of default needs its literal here
        raise AssertionError(f"no SQL literal for the default of {fact_type}.{column.name}")
    return f"CAST(coalesce({c}, {literal}) AS {column.sql})"


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
