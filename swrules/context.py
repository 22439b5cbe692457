"""What a rule's ``derive`` function sees: the match, the collections, parameters, the period."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from swrules.facts import Fact, in_force
from swrules.items import Item, obligation_id
from swrules.period import Period, TimeFrame

__all__ = ["Context"]

Value = Fact | Item


class Context:
    """The bindings of one firing of one rule.

    ``ctx["p"]`` is the fact matched by pattern ``p``; ``ctx.all("h")`` the
    items collected under ``h`` (in key order); ``ctx.param("a.b")`` a
    parameter value; ``ctx.period`` the evaluation period, ``ctx.frame`` its
    time frame (the day snapshot rules judge on, the months in which
    something may fall due). A rule that reads histories notes the day it
    judged an item on in ``ctx.judged`` before yielding it (explanations show
    it). One is made per firing, so it is a plain slotted object rather than
    a validated class.
    """

    __slots__ = ("_collected", "_matched", "_params", "deadline", "frame", "judged", "period", "rule", "ruleset")

    def __init__(
        self,
        ruleset: str,
        rule: str,
        frame: TimeFrame | Period,
        matched: Mapping[str, Value],
        collected: Mapping[str, tuple[Value, ...]],
        params: Mapping[str, Any],
        deadline: date | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.deadline = deadline  # the rule's deadline, where its ruleset entry gives one
        self.rule = rule
        if isinstance(frame, Period):  # a bare period: the whole of it, judged on its last day
            frame = TimeFrame(frame, date.min, None, frame.end)
        self.frame: TimeFrame = frame
        self.period: Period = frame.period
        self.judged = ""
        self._matched = matched
        self._collected = collected
        self._params = params

    def rebind(self, collected: Mapping[str, tuple[Value, ...]]) -> None:
        """Serve the next firing of the same rule (the engine reuses one context per rule and batch)."""
        self._collected = collected

    def __repr__(self) -> str:
        return f"Context(ruleset={self.ruleset!r}, rule={self.rule!r}, period={self.period!s})"

    def __getitem__(self, alias: str) -> Any:
        return self._matched[alias]

    def all(self, alias: str) -> tuple[Any, ...]:
        return self._collected[alias]

    def param(self, name: str) -> Any:
        return self._params[name]

    @property
    def params(self) -> Mapping[str, Any]:
        """Every parameter value the rule may read, by name."""
        return self._params

    def has_param(self, name: str) -> bool:
        """Whether the ruleset sets ``name`` (optional parameters, such as an amount for one level only)."""
        return name in self._params

    @property
    def day(self) -> date:
        """The day a snapshot rule judges on."""
        return self.frame.day

    @staticmethod
    def in_force(obj: Value, day: date) -> bool:
        """Whether a fact version (or an item with a window) is in force on ``day``."""
        return in_force(obj, day)

    def obligation_id(self, *parts: str) -> str:
        """A stable, readable id for an obligation of this rule: ruleset, rule, then ``parts``."""
        return obligation_id(self.ruleset, self.rule, *parts)
