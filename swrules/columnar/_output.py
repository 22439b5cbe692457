"""A columnar result's sections as Parquet files, written by DuckDB from the item tables.

The files are those :func:`swrules.frames.write_tables` writes from a result's items (``post_grades.parquet``,
``eligibility.parquet``, ``obligations.parquet``, ``findings.parquet``): the same columns in the same order, of the
same types (money ``decimal128(38, 2)``, ``actual`` and ``required`` with the most places of any of their values,
dates ``date32``), the rows in the sections' order, streamed from DuckDB in Arrow batches into the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from swrules.columnar._itemsql import first
from swrules.columnar._schema import quote, sql_text
from swrules.errors import SwrulesError
from swrules.period import Period

if TYPE_CHECKING:
    from swrules.columnar._result import ResultTables

__all__ = ["copy_sections"]


def _columns(tables: ResultTables) -> dict[str, tuple[str, list[str], str]]:
    """By section: (item type, its columns as SQL expressions over the item table, anything to join)."""
    periods = [
        row[0]
        for row in tables.execute(f"SELECT DISTINCT period FROM ({tables.source('obligation')}) AS s").fetchall()
        if row[0] is not None
    ]
    spans = " UNION ALL ".join(
        f"SELECT {sql_text(p)} AS p, DATE '{Period.parse(p).start.isoformat()}' AS period_start, "
        f"DATE '{Period.parse(p).end.isoformat()}' AS period_end"
        for p in periods
    )
    join = (
        f" LEFT JOIN ({spans}) AS spans ON spans.p = s.period"
        if periods
        else " LEFT JOIN (SELECT NULL::VARCHAR AS p, NULL::DATE AS period_start, NULL::DATE AS period_end) AS spans"
        " ON FALSE"
    )
    actual, required = (_places(tables, "finding", c) for c in ("actual", "required"))
    return {
        "post_grades": (
            "post_grade",
            [
                "s.post",
                "s.band",
                "CAST(s.tier AS BIGINT) AS tier",
                "CAST(s.level AS BIGINT) AS level",
                "s.title",
                "s.rule",
                "s.clause",
            ],
            "",
        ),
        "eligibility": ("eligibility", ["s.person", "s.band", "s.eligible", "s.rule", "s.clause"], ""),
        "obligations": (
            "obligation",
            [
                "s.id",
                "s.kind",
                "s.payee",
                "s.payer",
                "CAST(s.amount AS DECIMAL(38,2)) AS amount",
                "CAST(s.amount * 100 AS BIGINT) AS amount_fen",
                "s.currency",
                "s.period",
                "spans.period_start",
                "spans.period_end",
                "s.due",
                "s.rule",
                "s.clause",
            ],
            join,
        ),
        "findings": (
            "finding",
            [
                "s.subject",
                "s.requirement",
                "s.satisfied",
                f"CAST(s.actual AS DECIMAL(38,{actual})) AS actual",
                f"CAST(s.required AS DECIMAL(38,{required})) AS required",
                "s.person",
                "s.severity",
                "s.deadline",
                "CASE WHEN s.deadline IS NULL THEN NULL ELSE s.deadline_status END AS deadline_status",
                "s.rule",
                "s.clause",
            ],
            "",
        ),
    }


def _places(tables: ResultTables, kind: str, column: str) -> int:
    """The most places of any value of a decimal column (0 where it has none), as ``write_parquet`` takes."""
    row = first(tables.execute(f"SELECT max({quote(column + '__scale')}) FROM ({tables.source(kind)}) AS s"))
    return int(row[0]) if row is not None and row[0] is not None else 0


def copy_sections(tables: ResultTables, folder: Path) -> list[Path]:
    """Write each section of the result held in ``tables`` to ``folder``: the paths written."""
    from swrules.columnar._result import ORDER

    written = []
    for section, (kind, columns, join) in _columns(tables).items():
        path = folder / f"{section}.parquet"
        query = f"SELECT {', '.join(columns)} FROM ({tables.source(kind)}) AS s{join} ORDER BY {ORDER[kind]}"
        try:
            _write(_reader(tables.con.sql(query)), path)
        except duckdb.Error as err:
            raise SwrulesError(f"{path}: cannot be written: {str(err).splitlines()[0]}") from None
        except OSError as err:
            raise SwrulesError(f"{path}: cannot be written: {err.strerror or err}") from None
        written.append(path)
    return written


#: Rows per batch streamed from DuckDB into the Parquet writer.
_BATCH: Final = 200_000


def _reader(relation: Any) -> pa.RecordBatchReader:
    """A relation's rows as Arrow batches (DuckDB 1.3 and later name it ``to_arrow_reader``)."""
    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    reader: pa.RecordBatchReader = fetch(_BATCH)
    return reader


def _write(reader: pa.RecordBatchReader, path: Path) -> None:
    """The batches of ``reader`` as one Parquet file, every column nullable (as pyarrow writes a table's)."""
    schema = pa.schema([pa.field(f.name, f.type) for f in reader.schema])
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in reader:
            writer.write_table(pa.Table.from_batches([batch]).cast(schema))
