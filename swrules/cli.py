"""The ``swrules`` command: argument parsing and printing; the policy lives in the library.

Exit codes: 0 success, 1 a check failed (``swrules test``) or an internal
error, 2 bad input (facts, ruleset, period, arguments, an output that cannot
be written), 141 the reader of stdout went away (``… | head``; quietly, as
Unix tools end on SIGPIPE). Errors go to stderr, one line per problem;
stdout gets nothing on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from swrules import __version__, docgen, report, rulecheck, stream
from swrules._help import FACTS_HELP, SET_HELP, add_encoding
from swrules._inputs import EVALUATE_ENGINES, add_engine, read_input
from swrules._json import dumps
from swrules._outputs import check_file, check_folder
from swrules._text import printable
from swrules.budget import TimeBudget
from swrules.engine import ENGINES
from swrules.errors import EngineError, InputError, Problem, SwrulesError, shown
from swrules.evaluation import COLUMNAR, SPARK, evaluate
from swrules.facts import FACT_TYPES
from swrules.frames import write_tables
from swrules.items import Finding
from swrules.load import FactSet, Rejected, load_facts, parse_json
from swrules.period import Period
from swrules.progress import ProgressLine
from swrules.result import Result
from swrules.rulesets import Ruleset, list_rulesets, load_ruleset

if TYPE_CHECKING:
    from swrules.columnar import FactTables, SparkFacts

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _report_rejects(rejected: Sequence[Rejected], read: int, kept: int, rejects_path: str | None) -> None:
    """Print each rejected fact and the reconciliation on stderr; write them as JSON Lines if asked."""
    for r in rejected:
        kind = "" if r.fact_type is None else r.fact_type if r.fact_type in FACT_TYPES else shown(r.fact_type)
        name = " ".join(x for x in (kind, shown(r.fact_id) if r.fact_id else "") if x)
        print(
            printable(f"swrules: rejected {' '.join(x for x in (r.where, name) if x)}: {'; '.join(r.reasons)}"),
            file=sys.stderr,
        )
    if rejects_path is not None:
        try:
            with open(rejects_path, "w", encoding="utf-8") as fh:
                for r in rejected:
                    fh.write(dumps({**r.to_dict(), "fact": r.raw_fact()}, indent=None))
                    fh.write("\n")
        except OSError as err:
            raise InputError([Problem(message=f"cannot write {rejects_path}: {err.strerror}")]) from None
    print(
        f"swrules: facts read {read} = evaluated {kept} + rejected {len(rejected)}",
        file=sys.stderr,
    )


def _example_path(name: str) -> Path:
    return Path(str(resources.files("swrules") / "examples" / f"{name}.json"))


class _Seconds(argparse.Action):
    """``--timeout``: a positive, finite number of seconds (argparse's float takes ``nan`` and ``inf`` too)."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, option: Any = None
    ) -> None:
        if not (math.isfinite(value) and value > 0):
            parser.error(
                f"argument {self.option_strings[0]}: must be a positive, finite number of seconds (got {value})"
            )
        setattr(namespace, self.dest, value)


def _add_eval_args(
    p: argparse.ArgumentParser, *, file: bool = True, period: bool = True, engines: Sequence[str] = ENGINES
) -> None:
    if file:
        p.add_argument("file", help=FACTS_HELP)
        add_encoding(p)
    p.add_argument("--ruleset", required=file, help="a ruleset id (see `swrules rulesets`) or a .toml path")
    if period:
        p.add_argument("--period", required=file, help="YYYY (a year) or YYYY-MM (a month)")
    add_engine(p, engines)
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help=SET_HELP)


def _settings(args: argparse.Namespace) -> dict[str, Any] | None:
    from swrules.compare import settings_for

    return settings_for(args.ruleset, getattr(args, "set", None))


def _cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    # Every output is checked before any work is done: nothing is printed and then refused.
    if args.format != "json" and args.out is None:
        raise InputError([Problem(message=f"--format {args.format} writes files: give a folder with --out DIR")])
    if args.out is not None:
        (check_file if args.format == "json" else check_folder)(args.out, "--out")
    if args.rejects is not None:
        if not args.keep_going:
            raise InputError([Problem(message="--rejects lists the facts --keep-going leaves out: give both")])
        check_file(args.rejects, "--rejects")
    budget = None if args.timeout is None else TimeBudget(args.timeout)  # reading the facts counts too
    with contextlib.ExitStack() as stack:
        ruleset: Any
        facts: FactSet | FactTables | SparkFacts
        if args.engine in (COLUMNAR, SPARK):
            ruleset, settings = _with_settings(load_ruleset(args.ruleset), _settings(args)), None
        else:
            ruleset, settings = args.ruleset, _settings(args)
        facts = read_input(args, stack, budget=budget, checks=[(ruleset, args.period)])
        progress = ProgressLine(sys.stderr)
        try:
            result = evaluate(
                facts,
                ruleset=ruleset,
                period=args.period,
                engine=args.engine,
                parameters=settings,
                timeout=budget,
                progress=progress if progress.enabled else None,
            )
        finally:
            progress.close()
        if args.keep_going:  # counted while the tables are open, reported once the result is written
            rejected = facts.rejected
            read = facts.read
            kept = len(facts) if isinstance(facts, FactSet) else sum(facts.counts.values())
    if args.format == "json" and args.out is not None:
        try:
            with open(args.out, "w", encoding="utf-8") as fh:
                result.write_json(fh)
        except OSError as err:
            raise InputError([Problem(message=f"--out {args.out}: cannot be written: {err.strerror}")]) from None
        out.write(f"{args.out}\n")
    elif args.format == "json":
        result.write_json(out)
    else:
        _write_tables(result, args.format, args.out, out)
    if args.keep_going:
        _report_rejects(rejected, read, kept, args.rejects)
    return 0


def _with_settings(ruleset: Ruleset, settings: Mapping[str, Any] | None) -> Ruleset:
    return ruleset.with_parameters(settings) if settings else ruleset


def _cmd_rulesets(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_rulesets()
    width = max((len(r.id) for r in rows), default=0)
    for r in rows:
        until = r.applies_until.isoformat() if r.applies_until else "…"
        out.write(printable(f"{r.id:<{width}}  {r.applies_from.isoformat()} – {until}  {r.title}") + "\n")
        if r.title_en:
            out.write(printable(f"{'':<{width}}  {r.title_en}") + "\n")
    return 0


def _cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    ruleset = _with_settings(load_ruleset(args.ruleset), _settings(args))
    with contextlib.ExitStack() as stack:  # a columnar result's items are explained while its tables are open
        facts = read_input(args, stack, checks=[(ruleset, args.period)])
        result = evaluate(facts, ruleset=ruleset, period=args.period, engine=args.engine)
        explanation = result.explain(args.item)
    if args.format == "json":
        out.write(dumps(explanation.to_dict()) + "\n")
    else:
        out.write(explanation.to_text() + "\n")
    return 0


def _bundled_examples() -> dict[str, Path]:
    """The bundled example facts by the id of the ruleset they are for: ``examples/<id>.json`` and
    ``examples/<id>/facts.json``."""
    root = Path(str(resources.files("swrules") / "examples"))
    found = {p.stem: p for p in root.glob("*.json")}
    found.update({p.parent.name: p for p in root.glob("*/facts.json")})
    return dict(sorted(found.items()))


def _demo_facts(ruleset: str, ruleset_id: str) -> Path:
    """The example facts for ``ruleset``: a facts.json beside a ruleset file, else the bundled example of its id."""
    beside = Path(ruleset).parent / "facts.json" if ruleset.endswith(".toml") else None
    if beside is not None and beside.is_file():
        return beside
    examples = _bundled_examples()
    if ruleset_id in examples:
        return examples[ruleset_id]
    raise SwrulesError(
        f"ruleset {ruleset_id!r} has no bundled example facts (there are some for {', '.join(examples)}; "
        "a ruleset file finds them in a facts.json beside it); evaluate your own facts with: "
        f"swrules evaluate FACTS.json --ruleset {ruleset} --period YEAR"
    )


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    ruleset = args.ruleset or "dingnan-2020"
    loaded = load_ruleset(ruleset)
    period = args.period or _demo_year(loaded)
    path = _demo_facts(str(ruleset), loaded.id)
    facts = load_facts(parse_json(path.read_bytes(), source=str(path)))
    result = evaluate(facts, ruleset=ruleset, period=period, engine=args.engine, parameters=_settings(args))
    out.write(summary(result, facts, example=path.name))
    return 0


def _cmd_settle(args: argparse.Namespace, out: TextIO) -> int:
    from swrules.settlement import read_ledger, settle

    ruleset = _with_settings(load_ruleset(args.ruleset), _settings(args))
    first_year = Period.parse(str(ruleset.applies_from.year))  # every year settled compiles as this one does
    with contextlib.ExitStack() as stack:
        facts = read_input(args, stack, checks=[(ruleset, first_year)])
        payments = read_ledger(args.paid)
        settlement = settle(facts, ruleset=ruleset, through=args.through, paid=payments, engine=args.engine)
    if args.format == "json":
        settlement.write_json(out)
    else:
        out.write(settlement.to_text())
    return 0


def _demo_year(ruleset: Any) -> str:
    """The last whole year the ruleset's window reaches the end of, else the year after it starts."""
    if ruleset.applies_until is None:
        return str(ruleset.applies_from.year + 1)
    year = (
        ruleset.applies_until.year
        if ruleset.applies_until.month == 12 and ruleset.applies_until.day == 31
        else (ruleset.applies_until.year - 1)
    )
    return str(max(year, ruleset.applies_from.year))


def _cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    from swrules.cases import run_paths

    results = run_paths(args.paths, engine=args.engine)
    if not results:
        raise InputError(
            [Problem(message=f"no case found in {', '.join(args.paths)}: give case files (.toml) or folders of them")]
        )
    failed = 0
    current = None
    for r in results:
        if r.case.file != current and not args.quiet:
            current = r.case.file
            print(printable(f"{current}"), file=out)
        if not r.passed:
            failed += 1
        if r.passed and args.quiet:
            continue
        print(printable(f"  {'PASS' if r.passed else 'FAIL'}  {r.case.name}"), file=out)
        for failure in r.failures:
            print("\n".join(printable("        " + line) for line in failure.split("\n")), file=out)
    passed = len(results) - failed
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0


def _cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from swrules.compare import diff, parse_settings
    from swrules.rulesets import load_ruleset

    old_rs, new_rs = load_ruleset(args.from_), load_ruleset(args.to)
    set_from, set_to = parse_settings(old_rs, args.set_from or []), parse_settings(new_rs, args.set or [])
    sides = [(_with_settings(old_rs, set_from), args.period), (_with_settings(new_rs, set_to), args.period)]
    with contextlib.ExitStack() as stack:
        result = diff(
            read_input(args, stack, checks=sides),
            from_=old_rs,
            to=new_rs,
            period=args.period,
            set_from=set_from,
            set_to=set_to,
            engine=args.engine,
        )
    out.write(result.to_json() if args.format == "json" else result.to_text())
    return 0


def _write_tables(result: Result, fmt: str, out_dir: str | None, out: TextIO) -> None:
    """Write one CSV or Parquet file per section into ``out_dir``."""
    if out_dir is None:
        raise InputError([Problem(message=f"--format {fmt} writes files: give a folder with --out DIR")])
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError([Problem(message=f"cannot create {out_dir}: {err.strerror}")]) from None
    try:
        written = write_tables(result, fmt, folder)
    except OSError as err:
        raise InputError([Problem(message=f"cannot write into {out_dir}: {err.strerror}")]) from None
    for path in written:
        out.write(printable(str(path)) + "\n")


def finding_line(f: Finding) -> str:
    """One finding as a line: its mark (a target whose deadline is ahead is progress, not a failure), subject,
    numbers, severity and deadline."""
    ahead = f.deadline_status is not None and f.deadline_status.value == "ahead"
    mark = {True: "ok  ", False: "due " if ahead else "FAIL", None: "info"}[f.satisfied]
    who = f" ({f.person})" if f.person else ""
    req = "" if f.required is None else f" required {f.required}"
    severity = "" if f.severity is None else f" [{f.severity.value}"
    if f.deadline is not None and f.deadline_status is not None:
        severity += f", deadline {f.deadline.isoformat()} {f.deadline_status.value}"
    severity += "]" if severity else ""
    return f"{mark} {f.requirement:<34} {f.subject}{who}: actual {f.actual}{req}{severity}"


def summary(result: Result, facts: FactSet, *, example: str = "") -> str:
    """A readable digest of a result: what a person checks before trusting the JSON."""
    rs = result.ruleset
    lines = [
        f"swrules — {rs.id}: {rs.title}",
        f"  {rs.title_en}" if rs.title_en else "",
        f"  issued by {rs.issuer}{f' ({rs.document_number})' if rs.document_number else ''}, published {rs.published}",
        f"Period {result.period} · engine {result.engine} · {len(facts)} facts"
        + (f" from {example}" if example else ""),
        "",
    ]
    if result.post_grades:
        lines.append(f"Post grades ({len(result.post_grades)})")
        for g in result.post_grades:
            lines.append(f"  {g.post:<12} {g.band.value:<12} tier {g.tier}  level {g.level:>2}  {g.title}")
        lines.append("")
    if result.eligibility:
        persons = sorted({e.person for e in result.eligibility})
        lines.append(f"Eligibility ({len(persons)} persons)")
        for band in ("junior", "intermediate", "senior"):
            n = sum(1 for e in result.eligibility if e.band.value == band and e.eligible)
            lines.append(f"  {band:<13} {n:>4} eligible of {len(persons)}")
        lines.append("")
    if result.obligations:
        lines.append(f"Obligations ({len(result.obligations)})")
        totals: dict[tuple[str, str], Decimal] = {}
        counts: dict[tuple[str, str], int] = {}
        for ob in result.obligations:
            k = (ob.kind.value, ob.payer)
            totals[k] = totals.get(k, Decimal(0)) + (ob.amount or Decimal(0))
            counts[k] = counts.get(k, 0) + 1
        for (kind, payer), total in sorted(totals.items()):
            lines.append(f"  {kind:<28} paid by {payer:<16} {counts[(kind, payer)]:>4} items  {total:>12,.2f} CNY")
        grand = sum(totals.values(), Decimal(0))
        lines.append(f"  {'total':<28} {'':<24} {len(result.obligations):>4} items  {grand:>12,.2f} CNY")
        lines.append("")
    if result.findings:
        unmet = [f for f in result.findings if f.satisfied is False]
        ahead = [f for f in unmet if f.deadline_status is not None and f.deadline_status.value == "ahead"]
        tail = f", {len(ahead)} of them targets still ahead" if ahead else ""
        lines.append(f"Findings ({len(result.findings)}: {len(unmet)} not satisfied{tail})")
        for f in result.findings:
            lines.append("  " + finding_line(f))
        lines.append("")
    by_kind = {o.kind.value: o for o in reversed(result.obligations)}
    first = (
        by_kind.get("exam_reward")
        or by_kind.get("talent_reward")
        or next(iter(result.obligations), None)
        or next((f for f in result.findings if f.satisfied is False), None)
        or next(iter(result.findings), None)
        or next(iter(result.post_grades), None)
    )
    if first is not None:
        lines.append("Why? (swrules explain … --item " + first.key + ")")
        lines.extend(result.explain(first, depth=1).to_text().splitlines())  # each line escaped on its own
        lines.append("")
    kept = (line for i, line in enumerate(lines) if line or (i and lines[i - 1]))
    return "\n".join(printable(line) for line in kept) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="swrules", description="Evaluate social-work talent policy rulesets against typed facts.")
    parser.add_argument("--version", action="version", version=f"swrules {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("evaluate", help="evaluate facts; print the result as JSON")
    _add_eval_args(p, engines=EVALUATE_ENGINES)
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="leave out bad facts (and the facts that depend on them) instead of refusing the input",
    )
    p.add_argument("--rejects", metavar="FILE", help="with --keep-going: write the rejected facts as JSON Lines")
    p.add_argument(
        "--timeout",
        type=float,
        action=_Seconds,
        default=None,
        metavar="SECONDS",
        help="a time budget for the whole command (reading the facts, evaluating, building the result): past it, "
        "stop with exit 1 and print nothing",
    )
    p.add_argument(
        "--format",
        choices=("json", "csv", "parquet"),
        default="json",
        help="json on stdout (default) or in the --out file, or one csv/parquet file per section in the --out folder",
    )
    p.add_argument(
        "--out",
        metavar="PATH",
        help="with --format json: the file to write (its path is printed); with csv or parquet: the folder",
    )

    p.set_defaults(handler=_cmd_evaluate)

    p = sub.add_parser("diff", help="compare the results of two rulesets, or of one with changed parameters")
    p.add_argument("file", help=FACTS_HELP)
    add_encoding(p)
    p.add_argument("--from", dest="from_", required=True, metavar="RULESET", help="ruleset id or path (the old side)")
    p.add_argument("--to", required=True, metavar="RULESET", help="ruleset id or path (the new side)")
    p.add_argument("--period", required=True, help="YYYY or YYYY-MM")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="change a parameter of the new side")
    p.add_argument("--set-from", action="append", metavar="NAME=VALUE", help="change a parameter of the old side")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_engine(p)
    p.set_defaults(handler=_cmd_diff)

    p = sub.add_parser(
        "settle", help="what to pay or recover now: obligations owed through a month against a ledger of payments"
    )
    _add_eval_args(p, period=False, engines=EVALUATE_ENGINES)
    p.add_argument("--through", required=True, metavar="YYYY-MM", help="settle obligations due up to this month")
    p.add_argument(
        "--paid",
        required=True,
        metavar="LEDGER",
        help='payments made: CSV (obligation,amount,paid_on), JSON {"payments": [...]} or JSON Lines (.jsonl)',
    )
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.set_defaults(handler=_cmd_settle)

    p = sub.add_parser("rulesets", help="list the rulesets shipped with swrules")
    p.set_defaults(handler=_cmd_rulesets)

    p = sub.add_parser("explain", help="explain one derived item: rule, clause, parameters, facts")
    _add_eval_args(p, engines=EVALUATE_ENGINES)
    p.add_argument("--item", required=True, help="the item's key: an obligation id, post_grade/P1, finding/…")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_cmd_explain)

    p = sub.add_parser(
        "demo",
        help="evaluate a bundled example and print a readable summary (--ruleset: the ruleset's own example "
        "facts, or a facts.json beside a ruleset file)",
    )
    _add_eval_args(p, file=False, engines=EVALUATE_ENGINES)
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser("test", help="run golden case files (a file or a folder); exit 1 if any case fails")
    p.add_argument("paths", nargs="+", metavar="PATH", help="case files (.toml) or folders of them")
    p.add_argument("--engine", choices=ENGINES, default=None, help="rule engine for cases that name none")
    p.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    p.set_defaults(handler=_cmd_test)

    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return parser


#: Hooks that add further sub-commands (kept in their own modules).
_EXTRA_COMMANDS: list[Callable[[Any], None]] = []
_EXTRA_COMMANDS += [docgen.add_command, report.add_command, stream.add_command, rulecheck.add_command]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    stdout = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args, stdout))
        stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:  # `swrules … | head`: the reader has all it wanted
        _silence(stdout)
        return 141
    except InputError as err:  # one line per problem: control characters in what it quotes are escaped
        for problem in err.problems:
            print(printable(f"swrules: {problem}"), file=sys.stderr)
        return 2
    except EngineError as err:  # the input was fine; the evaluation failed
        print(printable(f"swrules: {err}"), file=sys.stderr)
        return 1
    except SwrulesError as err:
        print(printable(f"swrules: {err}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("swrules: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # never a traceback for a user; SWRULES_DEBUG=1 shows one
        if os.environ.get("SWRULES_DEBUG"):
            raise
        print(printable(f"swrules: internal error: {type(err).__name__}: {err}"), file=sys.stderr)
        return 1


def _silence(stdout: TextIO) -> None:
    """Point stdout at the null device, so that Python's own flush at exit does not fail on the closed pipe."""
    try:
        fd = stdout.fileno()
    except (OSError, ValueError):  # not a real file (a test's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def run() -> NoReturn:  # pragma: no cover - the console script
    sys.exit(main())
