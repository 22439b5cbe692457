"""Spark in local mode: two cores, quiet, on the loopback interface only (needs ``swrules[spark]`` and Java 17)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

__all__ = ["java_missing", "local_session"]


def java_missing() -> str | None:
    """Why Spark cannot start here (no ``java`` on PATH or under JAVA_HOME, or no pyspark), or None if it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'swrules[spark]')"
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return None
    if shutil.which("java") is None:
        return "no Java runtime: Spark needs Java 17 (install a JDK, or set JAVA_HOME)"
    return None


def local_session(
    app_name: str = "swrules",
    *,
    cores: int = 2,
    shuffle_partitions: int = 4,
    quick_start: bool = True,
    driver_memory: str = "2g",
) -> Any:
    """A SparkSession in local mode: ``local[2]``, no web UI, bound to 127.0.0.1, few shuffle partitions, UTC.

    ``quick_start`` starts the JVM with its quick compiler only and the serial collector (about half the
    start-up and first-job time on two cores), its code cache at 256 MB (the quick compiler's own 48 MB runs out
    on the code Spark generates for large plans); pass False for long jobs. It applies to the first session of a
    process, and not when PYSPARK_SUBMIT_ARGS is set. ``driver_memory`` is the JVM's heap: Spark's planner
    needs about 2 GB for dingnan-2020's allowance rules (1 GB, Spark's default, runs out). Raises
    :class:`~swrules.errors.EngineUnavailableError` when Java or pyspark is missing.
    """
    from swrules.errors import EngineUnavailableError

    missing = java_missing()
    if missing is not None:
        raise EngineUnavailableError(f"Spark cannot start: {missing}")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if quick_start:
        options = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m"
        os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-java-options '{options}' pyspark-shell")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers run this interpreter
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(cores))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", driver_memory)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
