"""Mutation testing: does the suite notice when the policy code is subtly wrong?

Each mutant changes one thing in one module — a comparison flipped (``<=`` to
``<``, ``==`` to ``!=``), a number or boolean changed, ``and``/``or`` swapped,
a ``not`` dropped — in a scratch copy of the project, then runs the fast part
of the suite against it. A mutant the suite fails on is *killed*; one it
passes *survives* and points at an untested behaviour.

    python tests/mutation/run.py [--limit N] [--seed S] [--modules GLOB ...]

Prints every survivor and the score (killed / total). Not part of the suite.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODULES = [
    "swrules/lang/*.py",
    "swrules/engine/_run.py",
    "swrules/engine/_program.py",
    "swrules/period.py",
    "swrules/items.py",
    "swrules/load.py",
]
TESTS = [
    "tests/test_golden.py",
    "tests/properties",
    "tests/unit/test_determinism.py",
    "tests/unit/test_bad_input.py",
    "tests/unit/test_cli.py",
    "tests/unit/test_cases_runner.py",
    "tests/unit/test_rulesets_loader.py",
    "tests/unit/test_edges.py",
    "tests/unit/test_engine_isolation.py",
]
_FLIP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes whose mutants are equivalent or cosmetic: class/function decorators (``attrs.frozen(kw_only=True)``),
    keyword flags of ``attrs.field`` (``eq=False``, ``repr=False``) and the text of messages (f-strings)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            roots.extend(node.decorator_list)
        elif isinstance(node, ast.JoinedStr):
            roots.append(node)
        elif isinstance(node, ast.keyword) and node.arg in ("eq", "repr", "kw_only", "slots", "order", "hash"):
            roots.append(node.value)
        for root in roots:
            out.update(id(n) for n in ast.walk(root))
    return out


def sites(tree: ast.AST) -> list[tuple[int, str]]:
    """(node index, kind) for every place a mutation can be made, in walk order."""
    out = []
    skipped = _skipped(tree)
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _FLIP:
            out.append((i, "compare"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            out.append((i, "bool"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            out.append((i, "int"))
        elif isinstance(node, ast.BoolOp):
            out.append((i, "boolop"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            out.append((i, "not"))
    return out


def mutate(source: str, index: int, kind: str) -> tuple[str, str, int]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    node = list(ast.walk(tree))[index]
    line = getattr(node, "lineno", 0)
    if kind == "compare":
        assert isinstance(node, ast.Compare)
        old = type(node.ops[0])
        node.ops[0] = _FLIP[old]()
        what = f"{old.__name__} -> {_FLIP[old].__name__}"
    elif kind == "bool":
        assert isinstance(node, ast.Constant)
        node.value = not node.value
        what = f"{not node.value} -> {node.value}"
    elif kind == "int":
        assert isinstance(node, ast.Constant)
        old_value = node.value
        node.value = old_value + 1
        what = f"{old_value} -> {node.value}"
    elif kind == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        what = "and <-> or"
    else:
        parent = parents[node]
        assert isinstance(node, ast.UnaryOp)
        for field, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, field, node.operand)
            elif isinstance(value, list):
                setattr(parent, field, [node.operand if v is node else v for v in value])
        what = "drop not"
    return ast.unparse(tree), what, line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="run a random sample of this many mutants (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modules", nargs="*", default=DEFAULT_MODULES)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--tests", nargs="*", default=TESTS, help="test files or folders run against each mutant")
    args = ap.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        # Everything is read from a snapshot, so edits made to the project meanwhile do not mix in.
        work = Path(scratch) / "swrules-mutant"
        shutil.copytree(
            ROOT, work, ignore=shutil.ignore_patterns(".venv*", ".git", "__pycache__", ".hypothesis", "mutants")
        )
        env = dict(os.environ, HYPOTHESIS_PROFILE="dev", PYTHONPATH=str(work), PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *args.tests]
        baseline = subprocess.run(command, cwd=work, env=env, capture_output=True, timeout=args.timeout)
        if baseline.returncode != 0:
            print("the tests fail without any mutation; fix them first:\n" + baseline.stdout.decode()[-3000:])
            return 2
        files = sorted({p for pattern in args.modules for p in work.glob(pattern) if p.name != "__init__.py"})
        candidates = []
        for path in files:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for index, kind in sites(tree):
                candidates.append((path, index, kind))
        rng = random.Random(args.seed)
        if args.limit and args.limit < len(candidates):
            candidates = rng.sample(candidates, args.limit)
        print(f"{len(candidates)} mutants in {len(files)} modules; tests: {' '.join(args.tests)}", flush=True)
        killed, survived, invalid = 0, [], 0
        for n, (path, index, kind) in enumerate(candidates, 1):
            rel = path.relative_to(work)
            original = path.read_text(encoding="utf-8")
            try:
                mutant, what, line = mutate(original, index, kind)
            except (AssertionError, KeyError, ValueError):
                invalid += 1
                continue
            target = work / rel
            target.write_text(mutant, encoding="utf-8")
            try:
                done = subprocess.run(command, cwd=work, env=env, capture_output=True, timeout=args.timeout)
                dead = done.returncode != 0
            except subprocess.TimeoutExpired:
                dead = True
            finally:
                target.write_text(original, encoding="utf-8")
            label = f"{rel}:{line} {what}"
            if dead:
                killed += 1
            else:
                survived.append(label)
            print(f"[{n}/{len(candidates)}] {'killed  ' if dead else 'SURVIVED'} {label}", flush=True)
    total = killed + len(survived)
    print(f"\nmutants: {total} run ({invalid} not applicable), killed {killed}, survived {len(survived)}")
    print(f"mutation score: {killed / total:.1%}" if total else "no mutants")
    print(f"time: {time.time() - started:.0f} s")
    for label in survived:
        print(f"  survivor: {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
