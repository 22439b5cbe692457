"""``swrules check`` and ``swrules params``: a ruleset's rules checked at load, and its parameters listed.

``check`` loads a ruleset file the way every evaluation does and lists every problem found (each naming the
file, the rule and the offending text, with a did-you-mean); it exits 0 when there is none, 2 otherwise.
``params`` lists each parameter of a ruleset with its type in user words, its value, the rules that read it
and how to change it for one run (``--set name=value``).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from swrules.errors import RuleProblemsError, RulesetError
from swrules.ir import ParamSpec
from swrules.lang import describe_type
from swrules.rulesets import Ruleset, load_ruleset

__all__ = ["add_command", "check", "parameters"]


def check(ref: str) -> list[str]:
    """Every problem of the ruleset ``ref`` (an id or a file), or none."""
    try:
        load_ruleset(ref)
    except RuleProblemsError as err:
        return [str(p) for p in err.problems]
    except RulesetError as err:
        return [str(err)]
    return []


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def parameters(ruleset: Ruleset) -> list[dict[str, Any]]:
    """Each parameter of ``ruleset``: name, type (user words), value, meaning, the rules that read it."""
    readers: dict[str, list[str]] = {}
    kinds: dict[str, ParamSpec] = {}
    for spec in ruleset.rules:
        for name in spec.definition.param_names():
            readers.setdefault(name, []).append(spec.id)
            if name in spec.definition.params:
                kinds.setdefault(name, spec.definition.params[name])
    out = []
    for name in sorted(set(ruleset.parameters) | set(readers)):
        kind = kinds.get(name)
        out.append(
            {
                "name": name,
                "type": describe_type(kind) if kind is not None else "value",
                "value": ruleset.parameters.get(name),
                "doc": kind.doc if kind is not None else "",
                "rules": readers.get(name, []),
                "set": f"--set {name}={_shown(ruleset.parameters[name]) if name in ruleset.parameters else '…'}",
            }
        )
    return out


def add_command(sub: Any) -> None:
    """Register ``swrules check`` and ``swrules params``."""
    p = sub.add_parser("check", help="check a ruleset's rules against the fact and item schemas; exit 2 on problems")
    p.add_argument("ruleset", help="a ruleset id or a .toml path")
    p.set_defaults(handler=_cmd_check)
    p = sub.add_parser("params", help="list a ruleset's parameters: type, value, the rules that read them, --set")
    p.add_argument("ruleset", help="a ruleset id or a .toml path")
    p.set_defaults(handler=_cmd_params)


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    problems = check(args.ruleset)
    if not problems:
        out.write(f"{args.ruleset}: no problems\n")
        return 0
    out.write(f"{args.ruleset}: {len(problems)} problem{'s' if len(problems) != 1 else ''}\n")
    for problem in problems:
        out.write(f"  {problem}\n")
    return 2


def _cmd_params(args: argparse.Namespace, out: TextIO) -> int:
    ruleset = load_ruleset(args.ruleset)
    rows = parameters(ruleset)
    out.write(f"Parameters of {ruleset.id} (change one for a run with --set name=value):\n\n")
    for row in rows:
        out.write(f"{row['name']}\n")
        out.write(f"  type:    {row['type']}\n")
        out.write(f"  value:   {_shown(row['value'])}\n")
        if row["doc"]:
            out.write(f"  meaning: {row['doc']}\n")
        out.write(f"  read by: {', '.join(row['rules']) or '(no rule)'}\n")
        out.write(f"  set:     {row['set']}\n\n")
    return 0
