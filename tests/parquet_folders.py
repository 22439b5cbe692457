"""Facts read into DuckDB tables, written back out as a Parquet folder (one file per type that has facts)."""

from __future__ import annotations

from pathlib import Path

from swrules import columnar


def write_parquet_folder(tables: columnar.FactTables, folder: Path) -> Path:
    """Each type's facts as ``<type>.parquet`` in ``folder`` (made here), columns named as the fields, rows in input
    order."""
    folder.mkdir()
    for fact_type, n in tables.counts.items():
        if n:
            names = ", ".join(f'"{c.name}"' for c in columnar.columns(fact_type))
            target = str(folder / f"{fact_type}.parquet").replace("'", "''")
            tables.con.execute(
                f"COPY (SELECT {names} FROM \"{fact_type}\" ORDER BY _index) TO '{target}' (FORMAT parquet)"
            )
    return folder
