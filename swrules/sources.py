"""Reading facts from files: a JSON document, or JSON Lines (one fact per line), with bounded memory.

This is the edge of the library: the core takes data, this module reads
bytes. A JSON document is refused before it is read when it is larger than
:data:`MAX_JSON_BYTES` (split it or write JSON Lines); JSON Lines are read a
line at a time, each line at most :data:`MAX_LINE_BYTES`, so a large export
costs memory for its facts, never for its text.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import sys
from collections.abc import Iterator
from typing import IO, Any, Final

import attrs

from swrules.budget import TimeBudget, timed
from swrules.errors import InputError, Problem
from swrules.facts import FACT_TYPES
from swrules.load import FactSet, Unreadable, field_name, load_facts, parse_json

__all__ = [
    "CSV_ENCODINGS",
    "MAX_JSON_BYTES",
    "MAX_LINE_BYTES",
    "csv_folder_rows",
    "folder_format",
    "read_csv_folder",
    "read_facts",
    "read_jsonl",
]

#: Largest JSON document read whole (bytes); bigger inputs belong in JSON Lines.
MAX_JSON_BYTES: Final = 128 * 1024 * 1024
#: Largest line of a JSON Lines file, or of a CSV file (bytes).
MAX_LINE_BYTES: Final = 1024 * 1024
#: The encodings a folder of CSV files may be in: UTF-8 (the default; a byte-order mark is allowed either way),
#: and GBK and GB 18030, in which Chinese spreadsheet software saves CSV. JSON is always UTF-8.
CSV_ENCODINGS: Final = ("utf-8", "utf-8-sig", "gbk", "gb18030")


def read_jsonl(stream: IO[bytes], *, source: str) -> list[Any]:
    """Every fact of a JSON Lines stream; a bad line is an error naming the line (blank lines are skipped)."""
    facts, where = _read_jsonl(stream, source)
    problems = [
        Problem(message=f.message, source=w) for f, w in zip(facts, where, strict=True) if isinstance(f, Unreadable)
    ]
    if problems:
        raise InputError(problems)
    return facts


def _read_jsonl(stream: IO[bytes], source: str) -> tuple[list[Any], list[str]]:
    """Each line's fact, or :class:`Unreadable` for a line that is not JSON or too long; and where each was."""
    facts: list[Any] = []
    where: list[str] = []
    for number, line in _lines(stream):
        here = f"{source} line {number}"
        if line is None:
            facts.append(Unreadable(f"the line is longer than {MAX_LINE_BYTES} bytes"))
        elif not line.strip():
            continue
        else:
            try:
                facts.append(parse_json(line.rstrip(b"\r\n"), source="the line"))
            except InputError as err:  # one line: its column is enough
                facts.append(Unreadable(err.problems[0].message.replace(" at line 1 column ", " at column ")))
        where.append(here)
    return facts, where


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines of at most MAX_LINE_BYTES; None for a longer one (the rest of which is skipped)."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_LINE_BYTES)
            yield number, None
            continue
        yield number, line


def read_facts(
    path: str, *, keep_going: bool = False, budget: TimeBudget | None = None, encoding: str = "utf-8"
) -> FactSet:
    """Load and validate the facts of ``path`` (``-`` for stdin): ``.jsonl`` as JSON Lines, a folder as CSV files
    (in ``encoding``, one of :data:`CSV_ENCODINGS`) or, when it holds ``.parquet`` files, as a Parquet folder
    (:func:`swrules.columnar.read_parquet_folder`, needs the columnar extra), else one JSON document.

    ``budget``, when given, is read after the file is read and as the facts are validated.
    """
    source = "stdin" if path == "-" else path
    folder = path != "-" and os.path.isdir(path)
    parquet = folder and folder_format(path) == "parquet"
    if (parquet or not folder) and csv_encoding(encoding) != "utf-8":
        what = "Parquet has its own types" if parquet else "JSON is UTF-8"
        raise InputError([Problem(message=f"{source}: an encoding ({encoding}) is for a folder of CSV files; {what}")])
    if parquet:
        from swrules.columnar import read_parquet_folder  # the columnar extra: a clear error where it is missing

        with read_parquet_folder(path, keep_going=keep_going) as tables:
            if budget is not None:
                budget.check()
            return tables.to_factset()
    try:
        if path == "-":
            stream: IO[bytes] = sys.stdin.buffer
        else:
            if folder:
                return read_csv_folder(path, keep_going=keep_going, budget=budget, encoding=encoding)
            stream = open(path, "rb")
    except OSError as err:
        raise InputError([Problem(message=f"cannot read {source}: {err.strerror}")]) from None
    where: list[str] | None = None
    try:
        if path.endswith(".jsonl"):
            data, where = _read_jsonl(stream, source)
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
    return load_facts(timed(data, budget), keep_going=keep_going, sources=where)


def read_csv_folder(
    folder: str, *, keep_going: bool = False, budget: TimeBudget | None = None, encoding: str = "utf-8"
) -> FactSet:
    """Facts from a folder of CSV files, one per fact type (``person.csv``, ``certificate.csv``…).

    Columns are named as the fields of the interchange contract; an empty cell
    is an absent field; booleans are ``true``/``false`` (or ``1``/``0``); a
    list (a project's ``social_workers``) is ids separated by ``;``. Files
    are in ``encoding`` (one of :data:`CSV_ENCODINGS`; UTF-8 by default, a
    byte-order mark allowed), a line at most :data:`MAX_LINE_BYTES`; bytes
    that do not decode are an error naming the file and line. Numbers are ASCII
    digits (no full-width digits, no ``_``); a column named twice is refused. Every other
    problem names the file, the row (the header is row 1) and the column.
    """
    rows, where = csv_folder_rows(folder, encoding=encoding)
    return load_facts(timed(rows, budget), keep_going=keep_going, sources=where)


def folder_format(folder: str) -> str:
    """What a folder of facts holds: ``"parquet"`` (``person.parquet``…) or ``"csv"`` (``person.csv``…).

    A folder with both is refused; one that cannot be listed, or holds neither, is a CSV folder (whose reader
    says what is wrong with it)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return "csv"
    parquet = any(n.endswith(".parquet") for n in names)
    if parquet and any(n.endswith(".csv") for n in names):
        raise InputError([Problem(message=f"{folder}: holds both CSV and Parquet files; give a folder of one kind")])
    return "parquet" if parquet else "csv"


def csv_folder_rows(folder: str, *, encoding: str = "utf-8") -> tuple[list[dict[str, object]], list[str]]:
    """The rows of a CSV folder as the JSON loader takes them, and where each was (``path row N``).

    Problems with the folder, a file (its encoding, its lines) or a row's shape raise :class:`InputError`;
    the facts themselves are not validated here (see :func:`read_csv_folder`).
    """
    encoding = csv_encoding(encoding)
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
            with open(path, "rb") as fh:
                reader = csv.reader(_decoded_lines(fh, path, encoding))
                header = next(reader, [])
                seen: set[str] = set()
                for column in header:
                    if column not in kinds:
                        problems.append(
                            Problem(message=f"unknown column for a {fact_type}", source=path, field=field_name(column))
                        )
                    elif column in seen:
                        problems.append(
                            Problem(message="column appears twice in the header", source=path, field=column)
                        )
                    seen.add(column)
                for number, record in enumerate(reader, start=2):  # rows as a spreadsheet numbers them
                    if not record:
                        continue
                    if len(record) > len(header):
                        problems.append(Problem(message="more cells than columns", source=f"{path} row {number}"))
                        continue
                    fact: dict[str, object] = {"type": fact_type}
                    for column, cell in zip(header, record, strict=False):  # a short row: the rest absent
                        if cell == "" or column not in kinds:
                            continue
                        fact[column] = _cell(cell, kinds[column])
                    rows.append(fact)
                    where.append(f"{path} row {number}")
        except InputError as err:
            problems.extend(err.problems)
        except (OSError, csv.Error) as err:
            problems.append(Problem(message=f"cannot be read as CSV: {err}", source=path))
    if problems:
        raise InputError(problems)
    return rows, where


_INT_TEXT: Final = re.compile(r"-?[0-9]+", re.ASCII)


def csv_encoding(name: str) -> str:
    """``name`` as one of :data:`CSV_ENCODINGS` (any case), or :class:`InputError`."""
    lowered = name.lower()
    if lowered not in CSV_ENCODINGS:
        expected = ", ".join(CSV_ENCODINGS)
        raise InputError([Problem(message=f"unknown encoding {name!r} for CSV files (expected one of {expected})")])
    return lowered


def _decoded_lines(stream: IO[bytes], path: str, encoding: str) -> Iterator[str]:
    """The lines of a CSV file as text, decoded a line at a time so that an error can name its line.

    A line break never occurs inside a character in UTF-8, GBK or GB 18030, so a line decodes on its own.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding.startswith("utf-8") else encoding)()
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise InputError([Problem(message=f"longer than {MAX_LINE_BYTES} bytes", source=f"{path} line {number}")])
        try:
            text = decoder.decode(line, final=not line)
        except UnicodeDecodeError as err:
            hint = (
                " — saved by Chinese spreadsheet software? read it with --encoding gbk (encoding='gbk' in Python)"
                if encoding.startswith("utf-8")
                else ""
            )
            where = f"{path} line {number if line else number - 1}"
            message = f"not {encoding.upper()} text ({err.reason} at byte {err.start + 1} of the line){hint}"
            raise InputError([Problem(message=message, source=where)]) from None
        if text:
            yield text
        if not line:
            return


def _cell(cell: str, kind: object) -> object:
    """A CSV cell as the JSON loader expects it; anything that does not parse is left as text to be reported."""
    text = cell.strip()
    if kind == "bool":
        lowered = text.lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(lowered, text)
    if kind == "int":  # ASCII digits only: int() would take "２０２１" and "2_021"
        return int(text) if _INT_TEXT.fullmatch(text) and len(text) <= 21 else text
    if kind == "refs":
        return [part.strip() for part in text.split(";") if part.strip()]
    return text
