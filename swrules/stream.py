"""The ``swrules session`` command: events in on stdin as JSON Lines, what each changed out on stdout.

For HR and payroll systems that are not written in Python: start one process
per ruleset and period, write an event per line, read back one line per
event. Events:

    {"add": FACT}                 {"add": [FACT, ...]}           (a fact, or several checked together)
    {"replace": FACT}             (the fact of the same type and id)
    {"remove": "certificate/k1"}  {"remove": "p1", "cascade": true}
    {"result": true}              (the whole result document, as ``swrules evaluate`` prints it;
                                   {"result": false} asks for nothing and is answered all the same)

Each answer is one line of one envelope, every key always present in this
order (:data:`ANSWER_KEYS`)::

    {"event": N, "ok": true, "added": [...], "removed": [...],
     "changed": [{"before": ..., "after": ...}], "result": null, "error": []}

``added``, ``removed`` and ``changed`` hold the items the event changed,
tagged with their section; ``result`` is the result document for
``{"result": true}`` and null otherwise; ``error`` lists why an event was
refused (``ok`` false, the lists empty) — the session is then as it was, and
the stream goes on. The exit code at the end is 0 when every event was
applied, 2 when some was bad input, 1 when a re-derivation failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import IO, Any, TextIO

from swrules._help import add_encoding
from swrules._json import dumps
from swrules._text import printable
from swrules.engine import ENGINES
from swrules.errors import EngineError, InputError, Problem, SwrulesError, shown
from swrules.load import parse_json
from swrules.session import Session, Update

__all__ = ["ANSWER_KEYS", "add_command", "serve"]

#: The keys of every answer line, in their order.
ANSWER_KEYS = ("event", "ok", "added", "removed", "changed", "result", "error")

#: The longest event line read (a fact, or a batch of them).
MAX_LINE = 1 << 20
_VERBS = ("add", "replace", "remove", "result")


def add_command(sub: Any) -> None:
    """Register ``swrules session`` on the command line's sub-parsers."""
    p = sub.add_parser("session", help="keep an evaluation current: events in on stdin, changes out on stdout")
    p.add_argument("file", nargs="?", help="facts to start from (JSON, JSON Lines or a CSV folder); none: start empty")
    add_encoding(p)
    p.add_argument("--ruleset", required=True, help="a ruleset id (see `swrules rulesets`) or a .toml path")
    p.add_argument("--period", required=True, help="YYYY (a year) or YYYY-MM (a month)")
    p.add_argument("--engine", choices=ENGINES, default=None, help="rule engine (default: durable where installed)")
    p.set_defaults(handler=_cmd_session)


def _cmd_session(args: argparse.Namespace, out: TextIO) -> int:
    from swrules.sources import read_facts as _read_facts  # size limits, stdin, problems as InputError

    facts = _read_facts(args.file, encoding=args.encoding) if args.file else None
    session = Session(ruleset=args.ruleset, period=args.period, engine=args.engine, facts=facts)
    return serve(session, sys.stdin.buffer, out, sys.stderr)


def serve(session: Session, events: IO[bytes] | IO[str], out: TextIO, err: TextIO) -> int:
    """Apply each event line of ``events`` to ``session``; answer each on ``out``. Returns the exit code.

    ``events`` is best a binary stream: each line is then decoded as UTF-8 on its own, and a line that is not
    UTF-8 is refused like any other bad event (the stream goes on), as a JSON fact file that is not is refused.
    """
    worst = 0
    for number, line in enumerate(_lines(events), start=1):
        if not line.strip():
            continue
        errors: list[str] = []
        answer: dict[str, Any] = {}
        try:
            answer = _apply(session, line)
        except InputError as error:
            worst = max(worst, 2)
            errors = [str(p) for p in error.problems]
        except EngineError as error:
            worst = 2 if worst == 2 else 1
            errors = [str(error)]
        except SwrulesError as error:
            worst = max(worst, 2)
            errors = [str(error)]
        if errors:
            for message in errors:
                print(printable(f"swrules: event {number}: {message}"), file=err)
            answer = {}
        envelope = {
            "event": number,
            "ok": not errors,
            "added": answer.get("added", []),
            "removed": answer.get("removed", []),
            "changed": answer.get("changed", []),
            "result": answer.get("result"),
            "error": errors,
        }
        out.write(dumps(envelope, indent=None) + "\n")
        out.flush()
    return worst


def _lines(events: IO[bytes] | IO[str]) -> Any:
    while True:
        line: str | bytes = events.readline(MAX_LINE + 1)
        if not line:
            return
        newline = b"\n" if isinstance(line, bytes) else "\n"
        if len(line) > MAX_LINE and not line.endswith(newline):  # type: ignore[arg-type]
            while line and not line.endswith(newline):  # type: ignore[arg-type]  # skip the rest of the line
                line = events.readline(MAX_LINE)
            yield "\0too long"
            continue
        yield line


def _apply(session: Session, line: str | bytes) -> dict[str, Any]:
    """One event applied; what its answer carries (the envelope's number and errors are added by the caller)."""
    if line == "\0too long":
        raise InputError([Problem(message=f"an event line may be at most {MAX_LINE:,} characters")])
    event = parse_json(line, source="the event")  # the caller names the event by its number
    if not isinstance(event, Mapping) or len(set(event) & set(_VERBS)) != 1:
        raise InputError([Problem(message=f"an event is an object with one of {', '.join(_VERBS)}")])
    extra = sorted(set(event) - {*_VERBS, "cascade"})
    if extra:
        raise InputError([Problem(message=f"unknown key {shown(extra[0])} in an event")])
    if "result" in event:
        if not isinstance(event["result"], bool):
            raise InputError([Problem(message="result must be true or false")])
        return {"result": session.result().to_dict()} if event["result"] else {}

    update: Update
    if "add" in event:
        facts = event["add"]
        update = session.add_all(facts if isinstance(facts, list) else [facts])
    elif "replace" in event:
        update = session.replace(event["replace"])
    else:
        cascade = event.get("cascade", False)
        if not isinstance(cascade, bool):
            raise InputError([Problem(message="cascade must be true or false")])
        target = event["remove"]
        if not isinstance(target, str):
            raise InputError([Problem(message="remove names a fact by its key type/id, or its id")])
        update = session._remove(target, cascade=cascade, hint=CASCADE_HINT)  # remove, with the hint a JSON user needs
    return update.to_dict()


#: What a refused remove tells a stream's user to do: the key to put in the event, not a Python argument.
CASCADE_HINT = 'add "cascade": true to the event to remove them too'
