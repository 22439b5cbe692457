"""Text for people: what every line printed to a terminal or a text file goes through.

Values from the input (ids, names) and from ruleset files are printed inside
swrules's own lines. A control character in one of them would act on the
terminal (``ESC [31m``), start a line of its own (``\\n``, ``\\r``, U+2028) or
reorder what is shown (bidirectional overrides). :func:`printable` writes each
such character as an escape instead, so one line printed is one line seen.
JSON output needs none of this: the JSON writer escapes control characters.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["printable"]

#: C0 and C1 controls and DEL, the Unicode line and paragraph separators, and the bidirectional marks,
#: embeddings, overrides and isolates.
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    named = _NAMED.get(c)
    if named is not None:
        return named
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u202e``).

    Applying it twice changes nothing more; text without such characters is returned as it is.
    """
    return _UNSAFE.sub(_escape, text)
