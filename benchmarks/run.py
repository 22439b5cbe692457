"""Benchmarks: persons per second, peak memory and update latency, against plain Python in the same process.

    python benchmarks/run.py [--sizes 1000,20000,100000] [--repeat 3] [--durable-max 100000]
                             [--sessions 1000,20000] [--updates 300] [--engines native,durable,columnar]
                             [--parquet 1000000] [--parquet-rulesets dingnan-2020,zhejiang-2019]
                             [--memory-limit 4GB]

Batch: each configuration runs in a fresh process (so peak memory is its
own). The population is generated once; then, ``--repeat`` times, its facts
are loaded and validated (``load s``) and a whole year is evaluated on them
(``evaluate s``). The median of each is reported with persons per second
(evaluate alone), the process's peak resident memory (ru_maxrss: the
interpreter, the facts and the result) and two ratios against the
hand-written plain-Python evaluation of the same dingnan-2020 year
(benchmarks/reference.py), timed in the same process on the same heap:
``vs plain`` for evaluate alone, ``e2e`` for load + evaluate (the reference
reads the dicts unchecked). ``dingnan-2020/core`` is the ruleset cut down to
the work the reference does (grades, eligibility, exam rewards, allowances);
the full rulesets also derive every finding. ``dingnan-2020/histories`` is the
full ruleset on a population where a fifth of the persons change role or
community during the year and as many posts fall vacant: the cost of dated
facts (the reference handles the same histories).

The columnar engine (``columnar``, needs the columnar extra) is timed from the fact dicts to the result's dicts:
``evaluate s`` is ``evaluate(dicts, engine="columnar").to_dict()`` (the dicts go into DuckDB without fact objects,
the output dicts come from its tables without item objects), ``load s`` is 0 and ``vs plain`` and ``e2e`` are
the same ratio. Its first run in a process also compiles the rules (a few seconds), which the median leaves out.

Parquet (``--parquet``, sizes in persons; ``''`` for none): a population written as a Parquet folder
(swrules.columnar.write_population, 5% histories), then, in one process: read and validated
(read_parquet_folder), evaluated on the columnar engine and written as one Parquet file per section (the
``--format parquet`` files) — ``--repeat`` times, the median reported with each step's share and the peak
memory at that point — and the same facts as dicts (read back untimed) evaluated by the plain reference, timed
in the same process; the ratio is the first over the second. Above 2,000,000 persons the reference is not run
(its dicts would not fit), and the run is reported with its time and peak memory alone:
``--parquet 10000000`` on request. ``--memory-limit`` sets DuckDB's after the facts are read (it spills its
tables to disk beyond it).

Sessions: a swrules.Session holding a whole county takes ``--updates``
events (a certificate obtained, a certificate withdrawn and restored, a
person moving community, a training recorded), each timed; reported are the
median, 95th percentile and slowest update, and the ratio of evaluating the
county from scratch (native batch engine, the plain alternative) to the
median update. The session's final result is checked byte for byte against
that evaluation.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORE_RULES = (
    "held",
    "person-status",
    "eligibility",
    "post-grade",
    "exam-reward",
    "allowance-rates",
    "monthly-allowance",
)
YEARS = {
    "dingnan-2020": 2021,
    "dingnan-2020/core": 2021,
    "dingnan-2020/histories": 2021,
    "zhejiang-2019": 2022,
    "xx-county-2023": 2023,
}
#: The share of persons with a history (a role change or a move during the year; posts fall vacant as often) in
#: the configurations named ``…/histories``.
HISTORIES = 0.2


def batch(ruleset: str, engine: str, size: int, repeat: int) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    import attrs
    import reference

    import swrules
    from swrules.load import load_facts
    from swrules.population import generate

    year = YEARS[ruleset]
    facts = generate(size, year=year, histories=HISTORIES if ruleset.endswith("/histories") else 0.0)
    rs = swrules.load_ruleset(ruleset.split("/")[0])
    if ruleset.endswith("/core"):
        rs = attrs.evolve(rs, rules=tuple(r for r in rs.rules if r.id in CORE_RULES))
    loads, times, ref_times = [], [], []
    dingnan = swrules.load_ruleset("dingnan-2020")
    if engine == "columnar":  # the rules compiled once, as a long-running process would
        swrules.evaluate(facts[:1000], ruleset=rs, period=str(year), engine=engine)
    for _ in range(repeat):
        if engine == "columnar":  # from the fact dicts to the output dicts, no object of either kind on the way
            start = time.perf_counter()
            result = swrules.evaluate(facts, ruleset=rs, period=str(year), engine=engine)
            result.to_dict()
            times.append(time.perf_counter() - start)
            loads.append(0.0)
            loaded = None
        else:
            start = time.perf_counter()
            loaded = load_facts(facts)
            loads.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = swrules.evaluate(loaded, ruleset=rs, period=str(year), engine=engine)
            times.append(time.perf_counter() - start)
        ours = sorted(
            (o.payee, o.kind.value, o.period, o.amount)
            for o in result.obligations
            if o.kind.value in ("exam_reward", "monthly_allowance")
        )
        counts = (len(result.eligibility), len(result.post_grades) + len(result.obligations) + len(result.findings))
        del result, loaded  # both sides are timed with the same heap: the fact dicts only
        gc.collect()
        start = time.perf_counter()
        ref = reference.evaluate(facts, dingnan, year)
        ref_times.append(time.perf_counter() - start)
        if ruleset.startswith("dingnan"):  # the reference must do the same work, or the ratio means nothing
            assert ours == sorted(ref["obligations"]), "reference and swrules disagree"
            assert counts[0] == len(ref["eligibility"])
        del ref
        gc.collect()
    return {
        "load_s": statistics.median(loads),
        "median_s": statistics.median(times),
        "reference_s": statistics.median(ref_times),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "items": counts[0] + counts[1],
    }


def session(ruleset: str, engine: str, size: int, updates: int) -> dict[str, object]:
    import swrules
    from swrules.population import generate

    year = YEARS[ruleset]
    facts = generate(size, year=year)
    start = time.perf_counter()
    s = swrules.Session(ruleset=ruleset, period=str(year), engine=engine, facts=facts)
    built = time.perf_counter() - start
    rng = random.Random(f"session/{ruleset}/{size}")
    certificates = [f for f in facts if f["type"] == "certificate"]
    persons = [f for f in facts if f["type"] == "person"]
    communities = [f["id"] for f in facts if f["type"] == "community"]
    timings: list[float] = []

    def timed(call: Any, *args: Any) -> None:
        begin = time.perf_counter()
        call(*args)
        timings.append(time.perf_counter() - begin)

    n = 0
    while len(timings) < updates:
        n += 1
        event = n % 4
        if event == 0:  # a certificate obtained
            holder = rng.choice(persons)["id"]
            level = rng.choice(("assistant", "assistant", "intermediate"))
            cert = {"type": "certificate", "id": f"new{n}", "holder": holder, "level": level}
            timed(s.add, {**cert, "obtained_on": f"{year}-{rng.randrange(1, 13):02d}-15"})
        elif event == 1:  # a certificate withdrawn, then restored
            cert = rng.choice(certificates)
            timed(s.remove, f"certificate/{cert['id']}")
            timed(s.add, cert)
        elif event == 2:  # a person moves to another community
            person = dict(rng.choice(persons))
            person["community"] = rng.choice(communities)
            timed(s.replace, person)
        else:  # a training recorded
            trained = rng.choice(persons)["id"]
            timed(s.add, {"type": "training", "id": f"tn{n}", "person": trained, "year": year, "hours": "16"})
    start = time.perf_counter()
    final = s.result()
    result_s = time.perf_counter() - start
    start = time.perf_counter()
    scratch = swrules.evaluate(s.facts, ruleset=ruleset, period=str(year), engine="native")
    scratch_s = time.perf_counter() - start
    assert final.to_json() == scratch.to_json(), "the session and a fresh evaluation disagree"
    timings.sort()
    return {
        "built_s": built,
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(len(timings) * 0.95)] * 1000,
        "max_ms": timings[-1] * 1000,
        "result_s": result_s,
        "scratch_s": scratch_s,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def parquet(ruleset: str, size: int, repeat: int, memory_limit: str = "") -> dict[str, object]:
    """A Parquet folder to Parquet output on the columnar engine, against the plain reference on the same facts."""
    import shutil
    import tempfile

    sys.path.insert(0, str(HERE))
    import columnar_io
    import reference

    import swrules
    from swrules.columnar import read_parquet_folder, write_population
    from swrules.frames import write_tables

    year = YEARS[ruleset]
    work = Path(tempfile.mkdtemp(prefix="swrules-bench-"))
    try:
        folder = work / "facts"
        write_population(str(folder), size, year=year)
        rs = swrules.load_ruleset(ruleset)
        warm = work / "warm"  # the rules compiled once, on a small population, as a long-running process would
        write_population(str(warm), 1000, year=year)
        swrules.evaluate(read_parquet_folder(str(warm)), ruleset=rs, period=str(year), engine="columnar")
        reads, evaluations, writes = [], [], []
        for n in range(repeat):
            out = work / f"out{n}"
            out.mkdir()
            start = time.perf_counter()
            tables = read_parquet_folder(str(folder))
            if memory_limit:  # DuckDB keeps to it, spilling its tables to disk beyond it
                tables.con.execute(f"SET memory_limit = '{memory_limit}'")
            read = time.perf_counter()
            result = swrules.evaluate(tables, ruleset=rs, period=str(year), engine="columnar")
            evaluated = time.perf_counter()
            write_tables(result, "parquet", out)
            written = time.perf_counter()
            reads.append(read - start)
            evaluations.append(evaluated - read)
            writes.append(written - evaluated)
            facts = sum(tables.counts.values())
            del result
            tables.close()
            gc.collect()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        totals = [r + e + w for r, e, w in zip(reads, evaluations, writes, strict=True)]
        out_rows = sum(int(_parquet_rows(p)) for p in sorted((work / "out0").iterdir()) if p.suffix == ".parquet")
        found: dict[str, object] = {
            "facts": facts,
            "rows": out_rows,
            "read_s": statistics.median(reads),
            "evaluate_s": statistics.median(evaluations),
            "write_s": statistics.median(writes),
            "median_s": statistics.median(totals),
            "maxrss_mb": peak,
        }
        if size <= 2_000_000:
            dicts = columnar_io._as_dicts(str(folder))
            dingnan = swrules.load_ruleset("dingnan-2020")
            ref_times = []
            for _ in range(repeat):
                start = time.perf_counter()
                ref = reference.evaluate(dicts, dingnan, year)
                ref_times.append(time.perf_counter() - start)
                del ref
                gc.collect()
            found["reference_s"] = statistics.median(ref_times)
        return found
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    rows: int = pq.ParquetFile(str(path)).metadata.num_rows
    return rows


def _child(kind: str, *args: str) -> dict[str, Any] | str:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return "failed: " + " ".join(done.stderr.strip().splitlines()[-1:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,20000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--rulesets", default="dingnan-2020,dingnan-2020/core,dingnan-2020/histories,zhejiang-2019,xx-county-2023"
    )
    ap.add_argument("--engines", default="native,durable,columnar")
    ap.add_argument("--durable-max", type=int, default=100000, help="largest size run on the durable engine")
    ap.add_argument("--sessions", default="1000,20000", help="county sizes for the session benchmark ('' for none)")
    ap.add_argument("--updates", type=int, default=300, help="updates timed per session")
    ap.add_argument("--parquet", default="1000000", help="persons, Parquet folder to Parquet files ('' for none)")
    ap.add_argument("--parquet-rulesets", default="dingnan-2020,zhejiang-2019")
    ap.add_argument("--memory-limit", default="", help="DuckDB's memory limit for --parquet runs (e.g. 4GB)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.child[0] == "parquet":
            _, ruleset, size, count, limit = args.child
            print(json.dumps(parquet(ruleset, int(size), int(count), limit)))
            return 0
        kind, ruleset, engine, size, count = args.child
        run = batch if kind == "batch" else session
        print(json.dumps(run(ruleset, engine, int(size), int(count))))
        return 0
    sys.path.insert(0, str(HERE.parent))
    from swrules.engine import durable_available

    engines = [e for e in args.engines.split(",") if e != "durable" or durable_available()]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}")
    print(f"batch: a whole year per evaluation, median of {args.repeat} runs, each configuration in its own process\n")
    header = (
        f"{'ruleset':<22} {'engine':<7} {'persons':>8} {'evaluate s':>10} {'persons/s':>10} {'load s':>7}"
        f" {'peak MB':>8} {'vs plain':>9} {'e2e':>7}"
    )
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",") if s):
        for ruleset in args.rulesets.split(","):
            for engine in engines:
                if engine == "durable" and size > args.durable_max:
                    continue
                r = _child("batch", ruleset, engine, str(size), str(args.repeat))
                if isinstance(r, str):
                    print(f"{ruleset:<22} {engine:<7} {size:>8}  {r}")
                    continue
                print(
                    f"{ruleset:<22} {engine:<7} {size:>8} {r['median_s']:>10.3f} {size / r['median_s']:>10,.0f}"
                    f" {r['load_s']:>7.3f} {r['maxrss_mb']:>8.0f} {r['median_s'] / r['reference_s']:>8.1f}×"
                    f" {(r['load_s'] + r['median_s']) / r['reference_s']:>6.1f}×",
                    flush=True,
                )
    _parquet_table(args)
    sizes = [int(s) for s in args.sessions.split(",") if s]
    if not sizes:
        return 0
    print(f"\nsessions: {args.updates} updates each on a county held in a swrules.Session\n")
    header = (
        f"{'ruleset':<22} {'engine':<7} {'persons':>8} {'build s':>8} {'median ms':>10} {'p95 ms':>7}"
        f" {'max ms':>7} {'scratch s':>9} {'vs scratch':>11} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        for ruleset in ("dingnan-2020", "zhejiang-2019", "xx-county-2023"):
            for engine in engines:
                r = _child("session", ruleset, engine, str(size), str(args.updates))
                if isinstance(r, str):
                    print(f"{ruleset:<22} {engine:<7} {size:>8}  {r}")
                    continue
                speedup = r["scratch_s"] * 1000 / r["median_ms"]
                print(
                    f"{ruleset:<22} {engine:<7} {size:>8} {r['built_s']:>8.2f} {r['median_ms']:>10.2f}"
                    f" {r['p95_ms']:>7.2f} {r['max_ms']:>7.1f} {r['scratch_s']:>9.3f} {speedup:>10,.0f}×"
                    f" {r['maxrss_mb']:>8.0f}",
                    flush=True,
                )
    return 0


def _parquet_table(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.parquet.split(",") if s]
    if not sizes:
        return
    print(
        f"\nParquet folder to Parquet files on the columnar engine, median of {args.repeat}; the plain reference "
        "(dingnan-2020, on the same facts as dicts) timed in the same process\n"
    )
    header = (
        f"{'ruleset':<22} {'persons':>10} {'facts':>10} {'read s':>7} {'eval s':>7} {'write s':>7} {'total s':>8}"
        f" {'peak MB':>8} {'plain s':>8} {'vs plain':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        for ruleset in args.parquet_rulesets.split(","):
            r = _child("parquet", ruleset, str(size), str(args.repeat), args.memory_limit)
            if isinstance(r, str):
                print(f"{ruleset:<22} {size:>10,}  {r}", flush=True)
                continue
            plain = f"{r['reference_s']:>8.2f} {r['median_s'] / r['reference_s']:>8.2f}×" if "reference_s" in r else ""
            print(
                f"{ruleset:<22} {size:>10,} {r['facts']:>10,} {r['read_s']:>7.2f} {r['evaluate_s']:>7.2f}"
                f" {r['write_s']:>7.2f} {r['median_s']:>8.2f} {r['maxrss_mb']:>8.0f} {plain}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
