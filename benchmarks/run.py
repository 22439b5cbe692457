"""Benchmarks: persons per second and peak memory per ruleset, engine and size, against plain Python.

    python benchmarks/run.py [--sizes 1000,20000,100000] [--repeat 3] [--durable-max 20000]

Each configuration runs in a fresh process (so peak memory is its own): the
population is generated, then evaluated ``--repeat`` times for a whole year;
the median wall time is reported, with persons per second, the process's peak
resident memory (ru_maxrss, which includes the interpreter and the facts), and
the ratio against the hand-written plain-Python evaluation of the same
dingnan-2020 year (benchmarks/reference.py) timed in the same process.
``dingnan-2020/core`` is the ruleset cut down to the work the reference does
(grades, eligibility, exam rewards, allowances); the full rulesets also
derive every finding.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORE_RULES = ("held", "person-status", "eligibility", "post-grade", "exam-reward", "monthly-allowance")
YEARS = {"dingnan-2020": 2021, "dingnan-2020/core": 2021, "zhejiang-2019": 2022, "xx-county-2023": 2023}


def child(ruleset: str, engine: str, size: int, repeat: int) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    import attrs
    import reference

    import swrules
    from swrules.load import load_facts
    from swrules.population import generate

    year = YEARS[ruleset]
    facts = generate(size, year=year)
    rs = swrules.load_ruleset(ruleset.split("/")[0])
    if ruleset.endswith("/core"):
        rs = attrs.evolve(rs, rules=tuple(r for r in rs.rules if r.id in CORE_RULES))
    times, ref_times = [], []
    dingnan = swrules.load_ruleset("dingnan-2020")
    for _ in range(repeat):
        start = time.perf_counter()
        result = swrules.evaluate(load_facts(facts), ruleset=rs, period=str(year), engine=engine)
        times.append(time.perf_counter() - start)
        ours = sorted(
            (o.payee, o.kind.value, o.period, o.amount)
            for o in result.obligations
            if o.kind.value in ("exam_reward", "monthly_allowance")
        )
        counts = (len(result.eligibility), len(result.post_grades) + len(result.obligations) + len(result.findings))
        del result  # both sides are timed with the same heap: the facts only
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
        "median_s": statistics.median(times),
        "reference_s": statistics.median(ref_times),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "items": counts[0] + counts[1],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,20000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rulesets", default="dingnan-2020,dingnan-2020/core,zhejiang-2019,xx-county-2023")
    ap.add_argument("--engines", default="native,durable")
    ap.add_argument("--durable-max", type=int, default=20000, help="largest size run on the durable engine")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        ruleset, engine, size, repeat = args.child
        print(json.dumps(child(ruleset, engine, int(size), int(repeat))))
        return 0
    sys.path.insert(0, str(HERE.parent))
    from swrules.engine import durable_available

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}")
    print(f"median of {args.repeat} runs, a whole year per evaluation, facts loaded and validated each run\n")
    header = (
        f"{'ruleset':<20} {'engine':<8} {'persons':>8} {'median s':>9} {'persons/s':>10} {'peak MB':>8} {'vs plain':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        for ruleset in args.rulesets.split(","):
            for engine in args.engines.split(","):
                if engine == "durable" and (size > args.durable_max or not durable_available()):
                    continue
                done = subprocess.run(
                    [sys.executable, __file__, "--child", ruleset, engine, str(size), str(args.repeat)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    print(f"{ruleset:<20} {engine:<8} {size:>8}  failed: {done.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(done.stdout)
                ratio = r["median_s"] / r["reference_s"]
                print(
                    f"{ruleset:<20} {engine:<8} {size:>8} {r['median_s']:>9.3f} {size / r['median_s']:>10,.0f}"
                    f" {r['maxrss_mb']:>8.0f} {ratio:>8.1f}×",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
