"""Rule definitions as data: the form every backend compiles or interprets.

A rule is a left-hand side of *patterns* — typed facts or derived items, with
tests on their fields that compare against literals, ruleset parameters or
fields of facts matched earlier (joins) — plus *collections* (every item of a
type that passes some tests: how a rule counts, sums or finds that something is
absent), and a right-hand side ``derive``: a pure function from the match to
the items it concludes. The patterns are plain data that the durable backend
compiles into a durable-rules ruleset and the native backend interprets; the
evaluator computes collections the same way for both, at stratum boundaries,
so negation and aggregation are never order-dependent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

if TYPE_CHECKING:
    from swrules.context import Context
    from swrules.items import Item

__all__ = [
    "Collect",
    "Lit",
    "Match",
    "Op",
    "Operand",
    "Param",
    "ParamSpec",
    "Ref",
    "RuleDef",
    "Test",
]


class Op(enum.Enum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"  # field value is one of a list (a parameter or a list field of a matched fact)


@attrs.frozen
class Lit:
    """A literal value: str, int, bool or None; a tuple of str only for ``in``."""

    value: str | int | bool | tuple[str, ...] | None


@attrs.frozen
class Param:
    """A ruleset parameter (``allowance.assistant``) or a period value (``period.end``)."""

    name: str


@attrs.frozen
class Ref:
    """A field of a fact matched by an earlier pattern: a join."""

    alias: str
    field: str


Operand: TypeAlias = Lit | Param | Ref


@attrs.frozen
class Test:
    """``field op operand`` on the fact a pattern matches."""

    field: str
    op: Op
    operand: Operand


@attrs.frozen
class Match:
    """A positive pattern: one fact of ``type`` passing every test."""

    alias: str
    type: str
    where: tuple[Test, ...] = ()


@attrs.frozen
class Collect:
    """Every fact of ``type`` passing every test, gathered once the type is complete."""

    alias: str
    type: str
    where: tuple[Test, ...] = ()


@attrs.frozen
class ParamSpec:
    """What a rule expects of one parameter.

    ``kind`` is one of ``money``, ``int``, ``decimal``, ``bool``, ``str``,
    ``str_list``, ``grade_table``; ``choices`` restricts ``str`` and the items of
    ``str_list``.
    """

    kind: str
    doc: str
    choices: tuple[str, ...] = ()


@attrs.frozen
class RuleDef:
    """A compiled rule (the rule language makes one per ruleset rule), bound by a ruleset to a clause and values."""

    name: str
    doc: str
    match: tuple[Match, ...]
    emits: tuple[str, ...]
    derive: Callable[[Context], Iterable[Item]] = attrs.field(eq=False, repr=False)
    collect: tuple[Collect, ...] = ()
    params: Mapping[str, ParamSpec] = attrs.field(factory=dict)
    #: ``snapshot``: the rule sees what is in force on its judgment day (the period's last day, or its deadline);
    #: ``history``: the rule sees every version of every fact and judges each item on its own day(s).
    reads: str = "snapshot"
    #: Parameters read by key (``param("allowance", level)``): a ruleset may leave any of them unset.
    optional: tuple[str, ...] = ()

    def operands(self) -> Iterable[Operand]:
        patterns: tuple[Match | Collect, ...] = (*self.match, *self.collect)
        for pattern in patterns:
            for test in pattern.where:
                yield test.operand

    def param_names(self) -> tuple[str, ...]:
        """Every ruleset parameter the rule reads: declared ones and those its tests name."""
        names = set(self.params)
        names.update(o.name for o in self.operands() if isinstance(o, Param) and not _frame_value(o.name))
        return tuple(sorted(names))


def _frame_value(name: str) -> bool:
    """Whether a test operand names a value of the time frame rather than a ruleset parameter."""
    return name.startswith("period.") or name == "day" or name.startswith("day.")


def describe(rule: RuleDef) -> dict[str, Any]:
    """A plain, JSON-ready view of a rule's left-hand side (for docs and explanations)."""

    def operand(o: Operand) -> Any:
        if isinstance(o, Lit):
            return o.value
        if isinstance(o, Param):
            return {"param": o.name}
        return {"ref": f"{o.alias}.{o.field}"}

    def pattern(p: Match | Collect) -> dict[str, Any]:
        return {
            "alias": p.alias,
            "type": p.type,
            "where": [{"field": t.field, "op": t.op.value, "value": operand(t.operand)} for t in p.where],
        }

    return {
        "match": [pattern(p) for p in rule.match],
        "collect": [pattern(p) for p in rule.collect],
        "emits": list(rule.emits),
    }
