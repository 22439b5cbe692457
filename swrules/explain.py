"""Provenance: from a derived item to the rule, the clause, the parameters and the facts behind it."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

import attrs

from swrules._text import printable
from swrules.engine import Derivation
from swrules.items import plain
from swrules.load import fact_to_dict
from swrules.rulesets import Ruleset

__all__ = ["Explanation", "explain"]


@attrs.frozen(kw_only=True)
class Explanation:
    """Why an item was derived.

    ``facts`` are the input facts the rule matched or collected (by alias),
    ``premises`` the explanations of the derived items it built on, so a chain
    (certificate → held → eligibility → finding) reads from top to bottom.
    """

    key: str
    item: Mapping[str, Any]
    ruleset: str
    rule: str
    logic: str  # the rule in the rule language
    clause: str
    text: str
    reading: str
    assumptions: tuple[Mapping[str, str], ...]
    parameters: Mapping[str, Any]
    facts: tuple[Mapping[str, Any], ...]
    collected: Mapping[str, tuple[str, ...]]
    premises: tuple[Explanation, ...]
    judged: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "item": dict(self.item),
            "ruleset": self.ruleset,
            "rule": self.rule,
            "logic": self.logic,
            "clause": self.clause,
            "text": self.text,
            "reading": self.reading,
            "assumptions": [dict(a) for a in self.assumptions],
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "facts": [dict(f) for f in self.facts],
            "collected": {k: list(v) for k, v in self.collected.items()},
            "judged": self.judged,
            "premises": [p.to_dict() for p in self.premises],
        }

    def to_text(self, depth: int = 0) -> str:
        """The explanation for a person to read; control characters in ids and texts are escaped."""
        return "\n".join(printable(line) for line in self._lines(depth))

    def _lines(self, depth: int) -> list[str]:
        pad = "  " * depth
        lines = [f"{pad}{self.key}"]
        fields = ", ".join(f"{k}={_short(v)}" for k, v in self.item.items() if k not in ("rule", "clause"))
        lines.append(f"{pad}  = {fields}")
        lines.append(f"{pad}  rule    {self.ruleset} / {self.rule}")
        lines.append(f"{pad}  clause  {self.clause}")
        for line in textwrap.wrap(self.text, 60):
            lines.append(f"{pad}          {line}")
        for i, line in enumerate(textwrap.wrap(self.reading, 76)):
            lines.append(f"{pad}  {'reading' if i == 0 else '       '} {line}")
        if self.judged:
            lines.append(f"{pad}  judged  {self.judged}")
        for a in self.assumptions:
            lines.append(f"{pad}  assumes {a['id']}: {a['statement']}")
        for name, value in self.parameters.items():
            lines.append(f"{pad}  param   {name} = {_short(_jsonable(value))}")
        for fact in self.facts:
            alias = fact["alias"]
            body = ", ".join(f"{k}={_short(v)}" for k, v in fact["fact"].items())
            lines.append(f"{pad}  fact    {alias}: {body}")
        for alias, keys in self.collected.items():
            shown = ", ".join(keys[:8]) + (f", … ({len(keys)} in all)" if len(keys) > 8 else "")
            lines.append(f"{pad}  counted {alias}: {shown or '(none)'}")
        for premise in self.premises:
            lines.append(f"{pad}  because")
            lines.extend(premise._lines(depth + 2))
        return lines


#: How many derived items of one collection an explanation follows (the rest are listed by key).
COLLECTED_PREMISES = 8


def explain(
    key: str,
    ruleset: Ruleset,
    derivations: Mapping[str, Derivation],
    objects: Mapping[str, Any],
    *,
    depth: int = 8,
) -> Explanation:
    """The explanation of the item ``key``, following derived premises ``depth`` levels down."""
    d = derivations[key]
    spec = ruleset.rule(d.rule)
    facts = []
    premises = []
    for alias, premise in d.matched:
        obj = objects[premise]
        if premise in derivations:
            if depth > 0:
                premises.append(explain(premise, ruleset, derivations, objects, depth=depth - 1))
            facts.append({"alias": alias, "key": premise, "fact": _item_dict(obj)})
        else:
            facts.append({"alias": alias, "key": premise, "fact": fact_to_dict(obj)})
    if depth > 0:  # derived items a rule counted are premises too (the first few of a large collection)
        matched = {key for _, key in d.matched}
        for _alias, keys in d.collected:
            for premise in keys[:COLLECTED_PREMISES]:
                if premise in derivations and premise not in matched:
                    premises.append(explain(premise, ruleset, derivations, objects, depth=depth - 1))
    return Explanation(
        key=key,
        item=_item_dict(objects[key]),
        ruleset=ruleset.id,
        rule=d.rule,
        logic=spec.logic,
        clause=d.clause,
        text=spec.text,
        reading=spec.reading,
        assumptions=tuple(
            {
                "id": a.id,
                "statement": a.statement,
                "reason": a.reason,
                **({"parameter": a.parameter} if a.parameter else {}),
            }
            for a in spec.assumptions
        ),
        parameters=dict(d.params),
        facts=tuple(facts),
        collected=dict(d.collected),
        premises=tuple(premises),
        judged=_judged(d.judged),
    )


def _judged(note: str) -> str:
    """How a derivation was judged, in words: a bare ISO day is the day whose facts decided it."""
    if len(note) == 10 and note[4] == "-" and note[7] == "-":
        return f"on {note}, from the facts in force that day"
    return note


def _item_dict(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    out: dict[str, Any] = {}
    for a in attrs.fields(type(obj)):
        value = getattr(obj, a.name)
        if a.name in ("rule", "clause") or (value is None and a.name in ("valid_from", "valid_until")):
            continue
        if a.name == "segments":
            value = [f"{start.isoformat()}..{end.isoformat()}: {rate}" for start, end, rate in value]
        out[a.name] = plain(value)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _spelled(value: Any) -> str:
    """A value as the JSON output writes it (``["a", "b"]``, ``false``, ``null``), a text standing alone unquoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | Mapping):
        return json.dumps(_jsonable(value), ensure_ascii=False, default=str)
    return str(value)


def _short(value: Any) -> str:
    text = _spelled(value)
    return text if len(text) <= 70 else text[:67] + "…"
