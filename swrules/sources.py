"""Reading facts from files: a JSON document, or JSON Lines (one fact per line), with bounded memory.

This is the edge of the library: the core takes data, this module reads
bytes. A JSON document is refused before it is read when it is larger than
:data:`MAX_JSON_BYTES` (split it or write JSON Lines); JSON Lines are read a
line at a time, each line at most :data:`MAX_LINE_BYTES`, so a large export
costs memory for its facts, never for its text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import IO, Any, Final

from swrules.errors import InputError, Problem
from swrules.load import FactSet, load_facts, parse_json

__all__ = ["MAX_JSON_BYTES", "MAX_LINE_BYTES", "read_facts", "read_jsonl"]

#: Largest JSON document read whole (bytes); bigger inputs belong in JSON Lines.
MAX_JSON_BYTES: Final = 128 * 1024 * 1024
#: Largest line of a JSON Lines file (bytes).
MAX_LINE_BYTES: Final = 1024 * 1024


def read_jsonl(stream: IO[bytes], *, source: str) -> list[Any]:
    """Every fact of a JSON Lines stream; a bad line is an error naming the line (blank lines are skipped)."""
    facts: list[Any] = []
    problems: list[Problem] = []
    for number, line in _lines(stream, source):
        if not line.strip():
            continue
        try:
            facts.append(parse_json(line, source=f"{source} line {number}"))
        except InputError as err:
            problems.extend(err.problems)
    if problems:
        raise InputError(problems)
    return facts


def _lines(stream: IO[bytes], source: str) -> Iterator[tuple[int, bytes]]:
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise InputError([Problem(message=f"{source} line {number} is longer than {MAX_LINE_BYTES} bytes")])
        yield number, line


def read_facts(path: str, *, keep_going: bool = False) -> FactSet:
    """Load and validate the facts of ``path`` (``-`` for stdin): ``.jsonl`` as JSON Lines, else one JSON document."""
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            stream: IO[bytes] = sys.stdin.buffer
        else:
            if os.path.isdir(path):
                raise InputError([Problem(message=f"{source} is a folder, not a file of facts")])
            stream = open(path, "rb")
    except OSError as err:
        raise InputError([Problem(message=f"cannot read {source}: {err.strerror}")]) from None
    try:
        if path.endswith(".jsonl"):
            data: Any = read_jsonl(stream, source=source)
        else:
            if path != "-":
                size = os.fstat(stream.fileno()).st_size
                if size > MAX_JSON_BYTES:
                    raise InputError(
                        [
                            Problem(
                                message=f"{source} is {size} bytes, more than the {MAX_JSON_BYTES} a JSON document "
                                "may have; write it as JSON Lines (one fact per line, .jsonl) instead"
                            )
                        ]
                    )
            raw = stream.read(MAX_JSON_BYTES + 1)
            if len(raw) > MAX_JSON_BYTES:
                raise InputError([Problem(message=f"{source} is larger than {MAX_JSON_BYTES} bytes")])
            data = parse_json(raw, source=source)
    except OSError as err:
        raise InputError([Problem(message=f"cannot read {source}: {err.strerror}")]) from None
    finally:
        if path != "-":
            stream.close()
    return load_facts(data, keep_going=keep_going)
