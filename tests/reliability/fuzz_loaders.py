"""A long fuzzing run of the fact loader and the ruleset loader (not part of the suite).

    python tests/reliability/fuzz_loaders.py [--minutes 5]

Hypothesis generates arbitrary JSON values, raw bytes, mutations of real fact
documents, arbitrary TOML-like text and mutations of the shipped rulesets, for
the given time per target. Anything raised that is not a SwrulesError, and
any input that takes longer than a second, is a finding: printed with the
input that caused it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swrules.errors import RulesetError, SwrulesError
from swrules.load import load_facts, parse_json
from swrules.population import generate
from swrules.rulesets import builtin_dir, load_ruleset

FINDINGS: list[str] = []
COUNT = {"n": 0}
SEED_FACTS = generate(20)
RULESET_TEXT = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
SCRATCH = Path(tempfile.mkdtemp())
(SCRATCH / "national-grades.toml").write_text(
    (builtin_dir() / "base" / "national-grades.toml").read_text(encoding="utf-8"), encoding="utf-8"
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.decimals(),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=12), c, max_size=5),
    max_leaves=50,
)


def check(label: str, call: Any, arg: Any, allowed: type[BaseException] = SwrulesError) -> None:
    COUNT["n"] += 1
    started = time.monotonic()
    try:
        call(arg)
    except allowed:
        pass
    except Exception as err:  # a finding
        FINDINGS.append(f"{label}: {type(err).__name__}: {err} on {arg!r:.300}")
    if time.monotonic() - started > 1.0:
        FINDINGS.append(f"{label}: took {time.monotonic() - started:.1f} s on {arg!r:.300}")


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    facts = [dict(f) for f in SEED_FACTS]
    for _ in range(draw(st.integers(1, 5))):
        fact = draw(st.sampled_from(facts))
        key = draw(st.sampled_from([*fact.keys(), "type", "id", "extra"]))
        fact[key] = draw(json_values)
    return json.dumps({"facts": facts}, default=str).encode()


@st.composite
def mutated_rulesets(draw: st.DrawFn) -> str:
    lines = RULESET_TEXT.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "dup", "text", "swap"]))
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "text":
            lines[i] = draw(st.text(max_size=40))
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def load_ruleset_text(text: str) -> None:
    path = SCRATCH / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load_ruleset(path)


def make_fuzzer(label: str, strategy: Any, call: Any, allowed: type[BaseException]) -> Any:
    @settings(max_examples=2000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def fuzz(value: Any) -> None:
        check(label, call, value, allowed)

    return fuzz


def run(minutes: float) -> int:
    targets = {
        "facts from JSON values": (json_values, lambda v: load_facts({"facts": v} if not isinstance(v, dict) else v)),
        "facts from raw bytes": (st.binary(max_size=400), lambda b: load_facts(parse_json(b))),
        "facts from mutated documents": (mutated_documents(), lambda b: load_facts(parse_json(b))),
        "rulesets from text": (st.text(max_size=400), load_ruleset_text),
        "rulesets from mutated files": (mutated_rulesets(), load_ruleset_text),
    }
    for label, (strategy, call) in targets.items():
        deadline = time.monotonic() + minutes * 60
        before = COUNT["n"]
        allowed: type[BaseException] = RulesetError if label.startswith("rulesets") else SwrulesError
        while time.monotonic() < deadline:
            make_fuzzer(label, strategy, call, allowed)()
        print(f"{label}: {COUNT['n'] - before} inputs in {minutes:g} min", flush=True)
    print(f"\n{COUNT['n']} inputs, {len(FINDINGS)} findings")
    for f in FINDINGS[:50]:
        print("  " + f)
    return 1 if FINDINGS else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0, help="minutes per target")
    sys.exit(run(ap.parse_args().minutes))
