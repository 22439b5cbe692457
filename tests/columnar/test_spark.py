"""Spark in local mode reads the Parquet folder the population writer makes, as DuckDB does."""

from __future__ import annotations

from pathlib import Path

import pytest

columnar = pytest.importorskip("swrules.columnar")
pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'swrules[spark]')")

from pyspark.sql import functions  # noqa: E402

from swrules.errors import EngineUnavailableError  # noqa: E402
from swrules.facts import FACT_TYPES  # noqa: E402


def test_spark_counts_the_rows_of_each_type_as_duckdb_does(tmp_path: Path) -> None:
    missing = columnar.java_missing()
    if missing is not None:
        pytest.skip(f"Spark cannot run here: {missing}")
    folder = tmp_path / "pop"
    written = columnar.write_population(str(folder), 400, histories=0.1)
    with columnar.read_parquet_folder(str(folder)) as tables:
        in_duckdb = tables.counts
    spark = columnar.local_session("swrules-test")
    try:
        assert spark.sparkContext.master == "local[2]"
        assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
        paths = [str(folder / f"{t}.parquet") for t in FACT_TYPES]
        # One job: count() reads no column, so the files' different schemas do not matter.
        per_file = spark.read.parquet(*paths).groupBy(functions.input_file_name().alias("file")).count().collect()
        in_spark = dict.fromkeys(FACT_TYPES, 0)
        in_spark.update({Path(r["file"]).name.removesuffix(".parquet"): r["count"] for r in per_file})
        salary = spark.read.parquet(str(folder / "person.parquet")).schema["monthly_salary"].dataType
        assert salary.simpleString() == "decimal(22,2)"  # money stays exact in Spark too
    finally:
        spark.stop()
    assert in_spark == in_duckdb == written


def test_without_java_spark_is_refused_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "Java" in (columnar.java_missing() or "")
    with pytest.raises(EngineUnavailableError, match="Java 17"):
        columnar.local_session()
