"""Facts as columns: DuckDB tables, Parquet, a calendar table, synthetic populations, a Spark local session.

The groundwork of a columnar engine (see docs/scaling-out.md): nothing here evaluates rules yet.

* :func:`columns` — the DuckDB/Arrow schema of each fact type, from the attrs metadata of :mod:`swrules.facts`.
* :func:`read_parquet_folder`, :func:`read_csv_folder`, :func:`read_jsonl` — facts into one DuckDB table per
  type (:class:`FactTables`), validated in the engine with the loader's messages.
* :func:`months_sql`, :func:`months` — the months of a period as a generated table.
* :func:`write_population` — a synthetic population written as a Parquet folder, in chunks.
* :func:`local_session`, :func:`java_missing` — Spark in local mode (needs ``swrules[spark]`` and Java 17).
* :class:`SparkFacts` — facts for ``engine="spark"``: a Parquet folder Spark reads, or facts with a session.

Needs the ``columnar`` extra: ``pip install 'swrules[columnar]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swrules.errors import EngineUnavailableError

try:
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401
except ImportError as _err:  # pragma: no cover - the extras are installed wherever the suite runs
    raise EngineUnavailableError(
        f"swrules.columnar needs the columnar extra ({_err.name} is missing): pip install 'swrules[columnar]'"
    ) from None

from swrules.columnar._calendar import months, months_sql
from swrules.columnar._population import write_population
from swrules.columnar._readers import read_csv_folder, read_jsonl, read_parquet_folder
from swrules.columnar._schema import Column, arrow_schema, columns
from swrules.columnar._tables import FactTables

if TYPE_CHECKING:
    from swrules.columnar._spark import java_missing, local_session
    from swrules.columnar._spark_engine import SparkFacts

__all__ = [
    "Column",
    "FactTables",
    "SparkFacts",
    "arrow_schema",
    "columns",
    "java_missing",
    "local_session",
    "months",
    "months_sql",
    "read_csv_folder",
    "read_jsonl",
    "read_parquet_folder",
    "write_population",
]


def __getattr__(name: str) -> Any:
    # Spark is imported only when asked for: pyspark is a separate extra and slow to import.
    if name in ("local_session", "java_missing"):
        from swrules.columnar import _spark

        return getattr(_spark, name)
    if name == "SparkFacts":  # imports Ibis, not pyspark
        from swrules.columnar._spark_engine import SparkFacts

        return SparkFacts
    raise AttributeError(name)
