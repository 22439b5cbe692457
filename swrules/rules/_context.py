"""What a rule's ``derive`` function sees: the match, the collections, parameters, the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from swrules.facts import Fact
from swrules.items import Item, obligation_id
from swrules.period import Period

__all__ = ["Context"]

Value = Fact | Item


@attrs.frozen
class Context:
    """The bindings of one firing of one rule.

    ``ctx["p"]`` is the fact matched by pattern ``p``; ``ctx.all("h")`` the
    items collected under ``h`` (in key order); ``ctx.param("a.b")`` a
    parameter value; ``ctx.period`` the evaluation period.
    """

    ruleset: str
    rule: str
    period: Period
    _matched: Mapping[str, Value]
    _collected: Mapping[str, tuple[Value, ...]]
    _params: Mapping[str, Any]

    def __getitem__(self, alias: str) -> Any:
        return self._matched[alias]

    def all(self, alias: str) -> tuple[Any, ...]:
        return self._collected[alias]

    def param(self, name: str) -> Any:
        return self._params[name]

    def has_param(self, name: str) -> bool:
        """Whether the ruleset sets ``name`` (optional parameters, such as an amount for one level only)."""
        return name in self._params

    def obligation_id(self, *parts: str) -> str:
        """A stable id for an obligation of this rule: ruleset, rule, then ``parts``."""
        return obligation_id(self.ruleset, self.rule, *parts)
