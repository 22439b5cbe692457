"""Deterministic JSON: Decimal written as an exact number, never through float."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final, TextIO

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


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as JSON")
    return format(value, "f")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _null(value: None) -> str:
    return "null"


#: The text of a scalar of exactly these classes (a subclass takes the longer way through ``_scalar``).
_EXACT: Final[dict[type, Callable[..., str]]] = {
    str: _encode_str,
    type(None): _null,
    bool: _bool,
    int: int.__repr__,
    Decimal: _decimal,
}


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
        return _decimal(value)
    return None


#: A str key as JSON with what follows it (``"key": `` or ``"key":``), by separator then key: output items repeat a
#: few keys many times.
_KEYS: Final[dict[str, dict[str, str]]] = {": ": {}, ":": {}}


def _key(key: object, colon: str) -> str:
    text = _encode_str(str(key)) + colon
    known = _KEYS[colon]
    if key.__class__ is str and len(known) < 4096:  # the keys of the output contract, not every key ever written
        known[key] = text
    return text


def _flat(value: Mapping[object, object], inner: str, outer: str, colon: str) -> str | None:
    """A non-empty object whose values are all scalars, in one piece; None if some value is a container."""
    known, exact = _KEYS[colon], _EXACT
    try:  # the usual item: known str keys, values of exactly the scalar classes
        pieces = [
            (known[key] if key.__class__ is str else _key(key, colon)) + exact[item.__class__](item)
            for key, item in value.items()
        ]
    except KeyError:  # a key met for the first time, or a value of another class: one by one
        pieces = []
        for key, item in value.items():
            text = _scalar(item)
            if text is None:
                return None
            pieces.append(_key(key, colon) + text)
    return "{" + inner + ("," + inner).join(pieces) + outer + "}"


def _write(value: object, out: list[str], indent: int | None, depth: int) -> None:
    write = _EXACT.get(value.__class__)
    text = write(value) if write is not None else _scalar(value)
    if text is not None:
        out.append(text)
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        inner = "" if indent is None else "\n" + " " * (indent * (depth + 1))
        outer = "" if indent is None else "\n" + " " * (indent * depth)
        colon = ":" if indent is None else ": "
        flat = _flat(value, inner, outer, colon)
        if flat is not None:  # a flat object (every output item is one): written in one piece
            out.append(flat)
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
        inner = "" if indent is None else "\n" + " " * (indent * (depth + 1))
        inside = "" if indent is None else "\n" + " " * (indent * (depth + 2))
        colon = ":" if indent is None else ": "
        out.append("[")
        sep = inner
        for item in value:
            if item.__class__ is dict and item:  # an output item: flat, written with its separator in one piece
                flat = _flat(item, inside, inner, colon)
                if flat is not None:
                    out.append(sep + flat)
                    sep = "," + inner
                    continue
            out.append(sep)
            sep = "," + inner
            _write(item, out, indent, depth + 1)
        if indent is not None:
            out.append("\n" + " " * (indent * depth))
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")
