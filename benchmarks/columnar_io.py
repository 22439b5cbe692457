#!/usr/bin/env python3
"""Columnar input against the loader: write, then read and validate, a synthetic population.

For each size (persons): write it as a Parquet folder (swrules.columnar.write_population), read and validate
it (swrules.columnar.read_parquet_folder), then export the same facts as JSON Lines and read and validate
those with swrules' own loader (swrules.sources.read_facts). Each step runs in a process of its own, so
its time (the work, after the imports) and its peak memory (maximum resident set, imports included) are its
alone; the ratio is the loader's time over the
columnar reader's.

    python benchmarks/columnar_io.py                 # 100,000 and 1,000,000 persons
    python benchmarks/columnar_io.py 20000 50000     # other sizes
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _step(name: str, folder: str, n: int) -> dict[str, Any]:
    import duckdb

    from swrules.columnar import read_parquet_folder, write_population
    from swrules.facts import FACT_TYPES
    from swrules.sources import read_facts

    start = time.perf_counter()  # the work alone: the imports are done
    out: dict[str, Any] = {}
    if name == "write":
        out["facts"] = sum(write_population(os.path.join(folder, "parquet"), n).values())
    elif name == "read-parquet":
        with read_parquet_folder(os.path.join(folder, "parquet")) as tables:
            out["facts"] = sum(tables.counts.values())
    elif name == "export-jsonl":  # not timed against anything: it makes the loader's input
        con = duckdb.connect()
        with open(os.path.join(folder, "facts.jsonl"), "wb") as sink:
            for fact_type in FACT_TYPES:
                part = os.path.join(folder, f"{fact_type}.jsonl")
                source = os.path.join(folder, "parquet", f"{fact_type}.parquet")
                con.execute(
                    f"COPY (SELECT '{fact_type}' AS type, * FROM read_parquet('{source}')) TO '{part}' (FORMAT json)"
                )
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, sink)
                os.remove(part)
        out["bytes"] = os.path.getsize(os.path.join(folder, "facts.jsonl"))
    elif name == "read-jsonl-loader":
        out["facts"] = len(read_facts(os.path.join(folder, "facts.jsonl")))
    out["seconds"] = time.perf_counter() - start
    return out


def _measure(name: str, folder: str, n: int) -> dict[str, Any]:
    """Run one step in a child process; its own time, and its peak memory from the kernel's accounting."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--step", name, folder, str(n)], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"step {name} failed ({status})")
    result: dict[str, Any] = json.loads(text)
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def main(sizes: list[int]) -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    header = f"{'persons':>10} {'step':<34} {'facts':>10} {'seconds':>9} {'peak MB':>9}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        folder = tempfile.mkdtemp(prefix="swrules-columnar-io-")
        try:
            found = {}
            for step, label in (
                ("write", "write Parquet folder (columnar)"),
                ("read-parquet", "read+validate Parquet (columnar)"),
                ("export-jsonl", "export the same facts as JSON Lines"),
                ("read-jsonl-loader", "read+validate JSON Lines (loader)"),
            ):
                r = found[step] = _measure(step, folder, n)
                facts = r.get("facts", "")
                print(f"{n:>10,} {label:<34} {facts!s:>10} {r['seconds']:>9.2f} {r['peak_mb']:>9.0f}")
            assert found["read-parquet"]["facts"] == found["read-jsonl-loader"]["facts"] == found["write"]["facts"]
            ratio = found["read-jsonl-loader"]["seconds"] / found["read-parquet"]["seconds"]
            memory = found["read-jsonl-loader"]["peak_mb"] / found["read-parquet"]["peak_mb"]
            parquet_mb = sum(p.stat().st_size for p in Path(folder, "parquet").iterdir()) / 2**20
            jsonl_mb = found["export-jsonl"]["bytes"] / 2**20
            print(
                f"{n:>10,} loader / columnar: {ratio:.1f}x the time, {memory:.1f}x the peak memory "
                f"(Parquet {parquet_mb:.0f} MB on disk, JSON Lines {jsonl_mb:.0f} MB)"
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        print(json.dumps(_step(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
