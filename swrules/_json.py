"""Deterministic JSON: Decimal written as an exact number, never through float."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TextIO

__all__ = ["dump", "dumps"]

#: A str as JSON, exactly as ``json.dumps(text, ensure_ascii=False)`` writes it (the C encoder, called directly).
_encode_str = json.encoder.encode_basestring


class _Sink:
    """Collects JSON text and hands it to a stream in large pieces (bounded memory for big documents)."""

    def __init__(self, stream: TextIO, size: int = 1 << 16) -> None:
        self.stream, self.size, self.parts, self.length = stream, size, list[str](), 0

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        if self.length >= self.size:
            self.flush()

    def flush(self) -> None:
        self.stream.write("".join(self.parts))
        self.parts, self.length = [], 0


def dump(value: object, stream: TextIO, *, indent: int | None = 2) -> None:
    """Write what :func:`dumps` returns to ``stream``, piece by piece; sequences may be computed lazily."""
    sink = _Sink(stream)
    _write(value, sink, indent, 0)  # type: ignore[arg-type]
    sink.flush()


def dumps(value: object, *, indent: int | None = 2) -> str:
    """Serialise plain data (dict, list, str, int, bool, None, Decimal) to JSON text.

    Keys keep their insertion order (the output contract fixes it); Decimal is
    written in plain notation (``1000.00``, ``0.0012``), so the same value
    always gives the same bytes.
    """
    parts: list[str] = []
    _write(value, parts, indent, 0)
    return "".join(parts)


def _scalar(value: object) -> str | None:
    """The JSON text of a scalar, or None for a container."""
    if isinstance(value, str):
        return _encode_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        return format(value, "f")
    return None


def _write(value: object, out: list[str], indent: int | None, depth: int) -> None:
    text = _scalar(value)
    if text is not None:
        out.append(text)
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        inner = "" if indent is None else "\n" + " " * (indent * (depth + 1))
        outer = "" if indent is None else "\n" + " " * (indent * depth)
        colon = ":" if indent is None else ": "
        pieces = [
            _encode_str(str(key)) + colon + text for key, item in value.items() if (text := _scalar(item)) is not None
        ]
        if len(pieces) == len(value):  # a flat object (every output item is one): written in one piece
            out.append("{" + inner + ("," + inner).join(pieces) + outer + "}")
            return
        out.append("{")
        first = True
        for key, item in value.items():
            out.append("" if first else ",")
            first = False
            out.append(inner)
            out.append(_encode_str(str(key)) + colon)
            _write(item, out, indent, depth + 1)
        out.append(outer)
        out.append("}")
    elif isinstance(value, Sequence):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _newline(out, indent, depth + 1)
            _write(item, out, indent, depth + 1)
        _newline(out, indent, depth)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _newline(out: list[str], indent: int | None, depth: int) -> None:
    if indent is not None:
        out.append("\n" + " " * (indent * depth))
