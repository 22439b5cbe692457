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

Against the plain reference (``--reference``): 1,000,000 persons written as Parquet; in one process, the
folder read and validated (best of ``--repeat``; peak memory taken before anything else is built), then the
same facts read back as dicts (untimed) and evaluated by benchmarks/reference.py, the hand-written
plain-Python dingnan-2020 year (best of ``--repeat``): the ratio of the two is what reading leaves of the
budget for evaluating and writing. ``--ten-million`` adds 10,000,000 persons (read and validated only: as
dicts they do not fit the memory of the machines this runs on). ``--baseline REV`` reads the same folders
with the reader of an earlier revision of this repository too (``git archive``), in the same run.

    python benchmarks/columnar_io.py --reference [--ten-million] [--repeat 3] [--baseline v0.2.0]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
#: The year benchmarks/reference.py evaluates, and the year the populations are written for.
YEAR = 2021


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


def _as_dicts(folder: str) -> list[dict[str, Any]]:
    """The facts of a Parquet folder as the loader's dicts: a null cell absent, a date its ISO text."""
    import datetime as dt

    import pyarrow.parquet as pq

    facts: list[dict[str, Any]] = []
    for name in sorted(os.listdir(folder)):
        fact_type = name[: -len(".parquet")]
        for row in pq.read_table(os.path.join(folder, name)).to_pylist():
            fact = {"type": fact_type}
            for key, value in row.items():
                if value is not None:
                    fact[key] = value.isoformat() if isinstance(value, dt.date) else value
            facts.append(fact)
    return facts


def _compare(folder: str, repeat: int, reference: bool) -> dict[str, Any]:
    """Read and validate ``repeat`` times (best kept), the peak memory so far; then, in the same process, the
    plain reference on the same facts as dicts (best of ``repeat``)."""
    from swrules.columnar import read_parquet_folder

    reads = []
    for _ in range(repeat):
        start = time.perf_counter()
        with read_parquet_folder(folder) as tables:
            facts = sum(tables.counts.values())
        reads.append(time.perf_counter() - start)
        gc.collect()
    out: dict[str, Any] = {"facts": facts, "seconds": min(reads), "read_peak_mb": _peak_mb()}
    if reference:
        sys.path.insert(0, str(HERE))
        import reference as plain

        import swrules

        ruleset = swrules.load_ruleset("dingnan-2020")
        dicts = _as_dicts(folder)
        assert len(dicts) == facts
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            found = plain.evaluate(dicts, ruleset, YEAR)
            times.append(time.perf_counter() - start)
            out["reference_items"] = sum(len(v) for v in found.values())
            del found
            gc.collect()
        out["reference_seconds"] = min(times)
        out["reference_peak_mb"] = _peak_mb()
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _measure(name: str, folder: str, n: int, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one step in a child process; its own time, and its peak memory from the kernel's accounting."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--step", name, folder, str(n), *extra],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
        env=env,
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


def against_reference(sizes: list[int], repeat: int, baseline: str | None) -> None:
    """Read and validate against the plain reference, and against an earlier revision's reader if asked."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, best of {repeat}")
    old_tree = tempfile.mkdtemp(prefix="swrules-baseline-") if baseline else None
    try:
        env = None
        if baseline and old_tree:
            archive = subprocess.run(["git", "archive", baseline, "swrules"], cwd=ROOT, check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", old_tree], input=archive.stdout, check=True)
            env = {**os.environ, "PYTHONPATH": old_tree}
        for n in sizes:
            folder = tempfile.mkdtemp(prefix="swrules-columnar-io-")
            try:
                parquet = os.path.join(folder, "parquet")
                wrote = _measure("write", folder, n)
                print(f"{n:>10,} persons: {wrote['facts']:,} facts written as Parquet in {wrote['seconds']:.1f} s")
                with_reference = n <= 2_000_000
                rows = []
                if env is not None:
                    old = _measure("compare", parquet, n, str(repeat), "0", env=env)
                    rows.append((f"read+validate ({baseline})", old))
                new = _measure("compare", parquet, n, str(repeat), "1" if with_reference else "0")
                rows.append(("read+validate (this tree)", new))
                for label, r in rows:
                    assert r["facts"] == wrote["facts"]
                    line = f"{n:>10,} {label:<34} {r['seconds']:>7.2f} s  peak {r['read_peak_mb']:>6.0f} MB"
                    if with_reference:
                        line += f"  {r['seconds'] / new['reference_seconds']:.2f}x the plain reference"
                    print(line)
                if with_reference:
                    print(
                        f"{n:>10,} plain reference (dicts, evaluate) {new['reference_seconds']:>7.2f} s  "
                        f"peak {new['reference_peak_mb']:>6.0f} MB (with the dicts; {new['reference_items']:,} items)"
                    )
                    left = 0.3 * new["reference_seconds"] - new["seconds"]
                    print(f"{n:>10,} left of 0.3x the reference for evaluating and writing: {left:.2f} s")
                else:
                    print(f"{n:>10,} plain reference: not run ({wrote['facts']:,} facts as dicts would not fit)")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if old_tree:
            shutil.rmtree(old_tree, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        if sys.argv[2] == "compare":
            found = _compare(sys.argv[3], int(sys.argv[5]), sys.argv[6] == "1")
        else:
            found = _step(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        print(json.dumps(found))
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("sizes", nargs="*", type=int, help="persons (default 100,000 and 1,000,000)")
        parser.add_argument("--reference", action="store_true", help="against the plain reference (1,000,000)")
        parser.add_argument("--ten-million", action="store_true", help="with --reference: 10,000,000 persons too")
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--baseline", help="with --reference: an earlier revision's reader too")
        args = parser.parse_args()
        if args.reference:
            sizes = args.sizes or [1_000_000, *([10_000_000] if args.ten_million else [])]
            against_reference(sizes, args.repeat, args.baseline)
        else:
            main(args.sizes or [100_000, 1_000_000])
