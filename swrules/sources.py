"""Reading facts from files: a JSON document, or JSON Lines (one fact per line), with bounded memory.

This is the edge of the library: the core takes data, this module reads
bytes. A JSON document is refused before it is read when it is larger than
:data:`MAX_JSON_BYTES` (split it or write JSON Lines); JSON Lines are read a
line at a time, each line at most :data:`MAX_LINE_BYTES`, so a large export
costs memory for its facts, never for its text.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from typing import IO, Any, Final

import attrs

from swrules.errors import InputError, Problem
from swrules.facts import FACT_TYPES
from swrules.load import FactSet, load_facts, parse_json

__all__ = ["MAX_JSON_BYTES", "MAX_LINE_BYTES", "csv_folder_rows", "read_csv_folder", "read_facts", "read_jsonl"]

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
                return read_csv_folder(path, keep_going=keep_going)
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


def read_csv_folder(folder: str, *, keep_going: bool = False) -> FactSet:
    """Facts from a folder of CSV files, one per fact type (``person.csv``, ``certificate.csv``…).

    Columns are named as the fields of the interchange contract; an empty cell
    is an absent field; booleans are ``true``/``false`` (or ``1``/``0``); a
    list (a project's ``social_workers``) is ids separated by ``;``. Files
    are UTF-8 (a byte-order mark is allowed). Every problem names the file,
    the row (the header is row 1) and the column.
    """
    rows, where = csv_folder_rows(folder)
    try:
        return load_facts(rows, keep_going=keep_going)
    except InputError as err:
        located = [
            attrs.evolve(p, source=where[p.index], index=None) if p.index is not None else p for p in err.problems
        ]
        raise InputError(located) from None


def csv_folder_rows(folder: str) -> tuple[list[dict[str, object]], list[str]]:
    """The rows of a CSV folder as the JSON loader takes them, and where each was (``path row N``).

    Problems with the folder, a file or a row's shape raise :class:`InputError`; the facts themselves are
    not validated here (see :func:`read_csv_folder`).
    """
    names = sorted(n for n in os.listdir(folder) if n.endswith(".csv"))
    unknown = [n for n in names if n[:-4] not in FACT_TYPES]
    if unknown or not names:
        expected = ", ".join(f"{t}.csv" for t in FACT_TYPES)
        what = f"unknown file {unknown[0]}" if unknown else "no CSV files"
        raise InputError([Problem(message=f"{folder}: {what} (expected files named {expected})")])
    rows: list[dict[str, object]] = []
    where: list[str] = []
    problems: list[Problem] = []
    for name in names:
        fact_type = name[:-4]
        kinds = {a.name: a.metadata.get("kind") for a in attrs.fields(FACT_TYPES[fact_type])}
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                for column in reader.fieldnames or []:
                    if column not in kinds:
                        problems.append(Problem(message=f"unknown column for a {fact_type}", source=path, field=column))
                for number, record in enumerate(reader, start=2):
                    if None in record:
                        problems.append(Problem(message="more cells than columns", source=f"{path} row {number}"))
                        continue
                    fact: dict[str, object] = {"type": fact_type}
                    for column, cell in record.items():
                        if cell is None or cell == "" or column not in kinds:
                            continue
                        fact[column] = _cell(cell, kinds[column])
                    rows.append(fact)
                    where.append(f"{path} row {number}")
        except UnicodeDecodeError as err:
            problems.append(Problem(message=f"not UTF-8 text ({err.reason} at byte {err.start})", source=path))
        except (OSError, csv.Error) as err:
            problems.append(Problem(message=f"cannot be read as CSV: {err}", source=path))
    if problems:
        raise InputError(problems)
    return rows, where


def _cell(cell: str, kind: object) -> object:
    """A CSV cell as the JSON loader expects it; anything that does not parse is left as text to be reported."""
    text = cell.strip()
    if kind == "bool":
        lowered = text.lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(lowered, text)
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "refs":
        return [part.strip() for part in text.split(";") if part.strip()]
    return text
