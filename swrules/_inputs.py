"""How the command line reads its facts: the ``--engine`` option and the input for each engine.

Shared by every command that evaluates (``evaluate``, ``diff``, ``settle``, ``report``), so that a command
module needs nothing from :mod:`swrules.cli` (which imports them). The columnar extra is imported only when a
columnar engine is asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from swrules.budget import TimeBudget
from swrules.engine import ENGINES
from swrules.errors import EngineUnavailableError, InputError, Problem
from swrules.evaluation import AUTO, AUTO_COLUMNAR_FACTS, COLUMNAR, DEFAULT_ENGINE, SPARK
from swrules.load import FactSet
from swrules.period import Period
from swrules.rulesets import load_ruleset
from swrules.sources import csv_encoding, folder_format, read_facts

if TYPE_CHECKING:
    from swrules.columnar import FactTables
    from swrules.columnar._spark_engine import SparkFacts

__all__ = ["EVALUATE_ENGINES", "add_engine", "read_input"]

#: The engines ``evaluate`` takes: the rule engines, the columnar engine (the ``columnar`` extra), which reads
#: a Parquet or CSV folder or JSON Lines straight into DuckDB tables, ``spark``, the same plans on PySpark (the
#: ``spark`` extra), and ``auto`` (see AUTO_COLUMNAR_FACTS).
EVALUATE_ENGINES = (*ENGINES, COLUMNAR, SPARK, AUTO)


def add_engine(p: argparse.ArgumentParser, engines: Sequence[str] = EVALUATE_ENGINES) -> None:
    """``--engine``: the rule engines, and the columnar engine and ``auto`` (the default) where ``engines`` has
    them."""
    if COLUMNAR in engines:
        default = (
            f"auto: columnar for a Parquet folder of at least {AUTO_COLUMNAR_FACTS:,} facts whose ruleset it "
            "compiles, where the columnar extra is installed, else native"
        )
        more = (
            "; columnar compiles the rules into DuckDB plans and reads a Parquet or CSV folder or JSON Lines as "
            "tables (pip install 'swrules[columnar]'); spark runs the same plans on PySpark, a Parquet folder "
            "read by Spark (pip install 'swrules[spark]', Java 17; the session spark-submit configures, else a "
            "local one)"
        )
    else:
        default, more = "native", ""
    p.add_argument("--engine", choices=engines, default=None, help=f"rule engine (default: {default}{more})")


def _columnar_installed() -> bool:
    """Whether the columnar engine can run here: the ``columnar`` extra is installed."""
    try:
        import swrules.columnar._engine  # noqa: F401
    except (EngineUnavailableError, ImportError):
        return False
    return True


def _utf8_only(path: str, encoding: str, *, parquet: bool) -> None:
    """An encoding is for a folder of CSV files: refused for JSON Lines and Parquet, as the loader refuses it."""
    if csv_encoding(encoding) != "utf-8":
        what = "Parquet has its own types" if parquet else "JSON is UTF-8"
        raise InputError([Problem(message=f"{path}: an encoding ({encoding}) is for a folder of CSV files; {what}")])


def _parquet(folder: str) -> bool:
    return folder_format(folder) == "parquet"


def read_input(
    args: argparse.Namespace,
    stack: contextlib.ExitStack,
    *,
    budget: TimeBudget | None = None,
    checks: Sequence[tuple[Any, str | Period]] = (),
) -> FactSet | FactTables | SparkFacts:
    """The facts of ``args.file`` as ``args.engine`` takes them, any tables closed with ``stack``.

    ``columnar``: every (ruleset, period) of ``checks`` compiled first (a rule the engine cannot compile is
    refused before any fact is read), then a Parquet or CSV folder or JSON Lines read by a columnar reader into
    DuckDB tables; a JSON document (or stdin) has no columnar reader: the loader reads it, and the engine puts it
    into tables. ``spark``: as ``columnar``, but a Parquet folder is validated by the columnar reader and then
    read by Spark itself (a :class:`~swrules.columnar.SparkFacts`). ``auto`` (the default where ``args.engine`` is
    None): a Parquet folder read as tables where the columnar extra is installed (evaluate picks the engine by
    their number). Else, and for anything else, the loader's FactSet. ``args.keep_going`` (where the command has
    it) is passed on.
    """
    path = args.file
    keep_going = bool(getattr(args, "keep_going", False))
    folder = path != "-" and os.path.isdir(path)
    engine = args.engine or DEFAULT_ENGINE
    if engine == AUTO and folder and _parquet(path) and _columnar_installed():
        from swrules.columnar import read_parquet_folder

        _utf8_only(path, args.encoding, parquet=True)
        found = read_parquet_folder(path, keep_going=keep_going)
        stack.callback(found.close)
        return found
    if engine not in (COLUMNAR, SPARK):  # the loader's FactSet (a Parquet folder without the extra: its clear error)
        return read_facts(path, keep_going=keep_going, budget=budget, encoding=args.encoding)
    from swrules.columnar import read_csv_folder, read_jsonl  # the extra, or a clear error
    from swrules.columnar import read_parquet_folder as read_parquet
    from swrules.columnar._engine import check_columnar

    tables = folder or path.endswith(".jsonl")
    parquet = folder and _parquet(path)
    for ruleset, period in checks:
        check_columnar(load_ruleset(ruleset), Period.parse(period), scaled=not parquet)
    if not tables:
        return read_facts(path, keep_going=keep_going, budget=budget, encoding=args.encoding)
    if parquet or not folder:
        _utf8_only(path, args.encoding, parquet=parquet)
    if parquet and args.engine == SPARK:
        from swrules.columnar import SparkFacts

        spark_facts = SparkFacts.parquet(path, keep_going=keep_going)
        stack.callback(spark_facts.close)
        return spark_facts
    if parquet:
        found = read_parquet(path, keep_going=keep_going)
    elif folder:
        found = read_csv_folder(path, keep_going=keep_going, encoding=args.encoding)
    else:
        found = read_jsonl(path, keep_going=keep_going)
    stack.callback(found.close)
    if budget is not None:
        budget.check()
    return found
