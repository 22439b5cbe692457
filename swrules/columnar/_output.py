"""A columnar result's sections as Parquet files, written by DuckDB from the item tables.

The files are those :func:`swrules.frames.write_tables` writes from a result's items (``post_grades.parquet``,
``eligibility.parquet``, ``obligations.parquet``, ``findings.parquet``): the same columns in the same order, of the
same types (money ``decimal128(38, 2)``, ``actual`` and ``required`` with the most places of any of their values,
dates ``date32``), the rows in the sections' order. DuckDB streams each one out: no row passes through Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from swrules.columnar._itemsql import first
from swrules.columnar._schema import quote, sql_text
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
        tables.execute(f"COPY ({query}) TO {sql_text(str(path))} (FORMAT parquet)")
        written.append(path)
    return written
