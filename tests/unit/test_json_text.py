"""The JSON writer gives the same bytes as the plain one it replaced, on every kind of value it accepts.

``_plain_dumps`` is that writer, kept here as the reference: each value is classified with isinstance, each key and
value encoded anew. The writer in use looks scalars up by exact class, remembers the text of keys, and writes a
list's flat objects in one piece each; none of that may change a byte.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import swrules
from swrules._json import dump, dumps
from swrules.population import generate

_encode_str = json.encoder.encode_basestring


def _scalar(value: object) -> str | None:
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
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            out.append(("," if n else "") + inner + _encode_str(str(key)) + colon)
            _write(item, out, indent, depth + 1)
        out.append(outer + "}")
    elif isinstance(value, Sequence):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for n, item in enumerate(value):
            out.append(("," if n else "") + ("" if indent is None else "\n" + " " * (indent * (depth + 1))))
            _write(item, out, indent, depth + 1)
        out.append(("" if indent is None else "\n" + " " * (indent * depth)) + "]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _plain_dumps(value: object, indent: int | None = 2) -> str:
    out: list[str] = []
    _write(value, out, indent, 0)
    return "".join(out)


class Word(str):
    def __str__(self) -> str:
        return "shouted " + self.upper()


class Colour(StrEnum):
    RED = "red"


class Count(int):
    pass


AWKWARD: list[Any] = [
    {},
    [],
    [{}],
    [[]],
    "",
    "社会工作师 “quoted” \\ back\nslash\ttab \x00 \x1f \u2028 \ud7ff 😀",
    {"数额": Decimal("1000.00"), "tiny": Decimal("0.0012"), "big": Decimal("1E+3"), "neg": Decimal("-0.00")},
    {"exp": Decimal("1.5E-7"), "int": Decimal(7), "zero": Decimal("0E-10")},
    [True, False, None, 0, -1, 10**30, Decimal("3.14159")],
    {"nested": {"deeper": [{"a": 1}, {"b": [None, {}]}, []]}, "after": "x"},
    [{"flat": 1, "second": "two"}, {"flat": [1]}, {"x": {}}, {"y": None}],
    {1: "int key", False: "bool key", None: "null key", "": "empty key", 2.5: "float key"},
    {Word("k"): Word("v")},
    [Colour.RED, {"c": Colour.RED}, Count(5), {"n": Count(6)}],
    ({"tuple": (1, "a")}, [("x",)]),
    {"k": "first"},
    {"k": "again, the key now known", "k2": Decimal("2.50")},
]


@pytest.mark.parametrize("value", AWKWARD)
@pytest.mark.parametrize("indent", [2, None, 0, 4])
def test_awkward_values_give_the_bytes_of_the_plain_writer(value: Any, indent: int | None) -> None:
    expected = _plain_dumps(value, indent)
    assert dumps(value, indent=indent) == expected
    stream = io.StringIO()
    dump(value, stream, indent=indent)
    assert stream.getvalue() == expected


@pytest.mark.parametrize("value", [Decimal("NaN"), [Decimal("Infinity")], {"a": Decimal("-Infinity")}])
def test_a_number_json_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="cannot write"):
        dumps(value)
    with pytest.raises(ValueError, match="cannot write"):
        _plain_dumps(value)


@pytest.mark.parametrize("value", [object(), [1.5], {"a": {1, 2}}, [{"a": b"x"[0:0] or 1.0}]])
def test_what_json_has_no_word_for_is_refused(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot write"):
        dumps(value)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(),
    st.decimals(allow_nan=False, allow_infinity=False),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@given(_values, st.sampled_from([2, None, 1]))
def test_any_plain_value_gives_the_bytes_of_the_plain_writer(value: Any, indent: int | None) -> None:
    assert dumps(value, indent=indent) == _plain_dumps(value, indent)


def test_a_result_document_is_what_the_plain_writer_makes_of_its_dict() -> None:
    facts = generate(60, year=2021, histories=0.3)
    result = swrules.evaluate(facts, ruleset="dingnan-2020", period="2021", engine="native")
    assert result.to_json() == _plain_dumps(result.to_dict()) + "\n"
    assert result.to_json(indent=None) == _plain_dumps(result.to_dict(), None) + "\n"
