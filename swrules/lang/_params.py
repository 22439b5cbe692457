"""Parameter types in user words (``money``, ``list of role`` …), and back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from swrules.ir import ParamSpec
from swrules.lang._types import ENUMS

__all__ = ["USER_WORDS", "describe_type", "param_spec"]

#: The scalar types a parameter may have, in the words a ruleset uses, and the kind each stands for.
USER_WORDS: Final = {
    "money": "money",
    "decimal": "decimal",
    "integer": "int",
    "month": "month",
    "year-month": "year_month",
    "date": "date",
    "yes/no": "bool",
    "text": "str",
}
_KIND_WORDS: Final = {kind: word for word, kind in USER_WORDS.items()}


def param_spec(raw: Any) -> tuple[ParamSpec | None, str]:
    """A declared type (``"money"``, ``"list of role"``, ``"one of a, b"``, or a table with ``type`` and
    ``doc``) as a :class:`ParamSpec`; or None and what is wrong."""
    doc = ""
    if isinstance(raw, Mapping):
        doc = raw.get("doc", "")
        extra = set(raw) - {"type", "doc"}
        if extra or not isinstance(doc, str):
            return None, f"a parameter type is a text or a table with type and doc (got {sorted(raw)})"
        raw = raw.get("type")
    if not isinstance(raw, str):
        return None, f"a parameter type is a text such as money, integer, list of role (got {raw!r})"
    words = " ".join(raw.split())
    if words in USER_WORDS:
        return ParamSpec(USER_WORDS[words], doc), ""
    if words.startswith("one of "):
        choices = tuple(c.strip() for c in words[len("one of ") :].split(",") if c.strip())
        return ParamSpec("str", doc, choices=choices), ""
    if words.startswith("list of "):
        of = words[len("list of ") :]
        if of == "text":
            return ParamSpec("str_list", doc), ""
        if of in ENUMS:
            return ParamSpec("str_list", doc, choices=tuple(m.value for m in ENUMS[of])), ""
    elif words in ENUMS:
        return ParamSpec("str", doc, choices=tuple(m.value for m in ENUMS[words])), ""
    known = [*USER_WORDS, "one of a, b", *ENUMS, *(f"list of {e}" for e in ENUMS), "list of text"]
    return None, f"unknown parameter type {words!r} (known: {', '.join(known)})"


def describe_type(spec: ParamSpec) -> str:
    """A parameter's type in user words."""
    if spec.kind == "str_list":
        for name, e in ENUMS.items():
            if spec.choices and spec.choices == tuple(m.value for m in e):
                return f"list of {name}"
        return "list of " + (", ".join(spec.choices) if spec.choices else "text")
    if spec.kind == "str" and spec.choices:
        for name, e in ENUMS.items():
            if spec.choices == tuple(m.value for m in e):
                return name
        return "one of " + ", ".join(spec.choices)
    if spec.kind == "grade_table":
        return "grade table"
    return _KIND_WORDS.get(spec.kind, spec.kind)
