"""Help texts and options shared by the commands that read facts or take what-ifs."""

from __future__ import annotations

import argparse

from swrules.sources import CSV_ENCODINGS

__all__ = ["FACTS_HELP", "SET_HELP", "add_encoding"]

#: How the facts may be given, for the help of every command that reads them.
FACTS_HELP = (
    'the facts: a JSON document ({"facts": [...]}), JSON Lines (a .jsonl file, one fact per line), a folder '
    "of CSV files, one per fact type (person.csv, certificate.csv…; a list in a cell, such as a project's "
    "social_workers, is ids separated by ;), or a folder of Parquet files (person.parquet…; needs "
    "swrules[columnar]); - reads a JSON document from stdin"
)
#: How a --set is written, for the help of every command that takes one.
SET_HELP = (
    "a what-if: change a parameter (see the ruleset's reference page), or the ruleset's window "
    "(applies_from=YYYY-MM-DD, applies_until=YYYY-MM-DD or none); a list value is comma-separated "
    "(NAME=a,b,c); repeat --set for several"
)


def add_encoding(p: argparse.ArgumentParser) -> None:
    """``--encoding``, for a command that reads facts."""
    p.add_argument(
        "--encoding",
        type=str.lower,
        choices=CSV_ENCODINGS,
        default="utf-8",
        help="the encoding of a folder of CSV files: utf-8 (default; a byte-order mark is allowed), utf-8-sig, or "
        "gbk / gb18030 as Chinese spreadsheet software saves CSV. JSON and JSON Lines are always UTF-8",
    )
