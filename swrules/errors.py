"""The whole exception tree: every error swrules raises is a :class:`SwrulesError`."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = [
    "ColumnarUnsupportedError",
    "EngineError",
    "EngineUnavailableError",
    "EvaluationTimeout",
    "FactError",
    "InputError",
    "ItemNotFoundError",
    "PeriodError",
    "Problem",
    "RuleExpressionError",
    "RuleFailedError",
    "RuleProblemsError",
    "RulesetError",
    "SwrulesError",
    "UnknownRulesetError",
    "shown",
]

#: The most characters of a value an error message echoes (see :func:`shown`).
SHOWN_LENGTH = 60


def shown(value: object, limit: int = SHOWN_LENGTH) -> str:
    """A value as an error message echoes it: ``repr`` for text (control characters, NUL and lone surrogates
    escaped), cut to ``limit`` characters with the full length said, so a 5 MB id costs a line, not 5 MB.

    Every message that echoes a value of the input goes through here.
    """
    if isinstance(value, str):
        if len(value) > limit:
            return repr(value[:limit]) + f"… ({len(value):,} characters)"
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return "a number of more than 40 digits"
    try:
        text = str(value)
    except (ValueError, RecursionError):  # an integer too long to write out, or nested too deeply
        return f"a {type(value).__name__} too large to show"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SwrulesError(Exception):
    """Base of every error swrules raises."""


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with one fact of the input.

    ``index`` is the fact's position in the input (``None`` for a problem with
    the document as a whole), ``fact_id`` and ``fact_type`` name it where they
    could be read, ``field`` is the offending field (``None`` for the fact as a
    whole), ``source`` names a file and row when the input came from one.
    """

    message: str
    index: int | None = None
    fact_type: str | None = None
    fact_id: str | None = None
    field: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        where: list[str] = []
        if self.source is not None:
            where.append(self.source)
        if self.index is not None:
            where.append(f"facts[{self.index}]")
        if self.fact_type is not None:
            where.append(self.fact_type)
        if self.fact_id is not None:
            where.append(shown(self.fact_id))
        head = " ".join(where)
        body = f"{self.field}: {self.message}" if self.field else self.message
        return f"{head}: {body}" if head else body


class InputError(SwrulesError, ValueError):
    """The facts handed in are not valid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the input:\n{lines}")


class FactError(InputError, TypeError):
    """A typed fact (:mod:`swrules.facts`) was built with a value it cannot hold; the message says what to pass.

    Also a :class:`TypeError`, as attrs validators' errors are, so code that caught those still does.
    """

    def __init__(self, field: str, message: str, *, fact_type: str | None = None) -> None:
        self.problems = (Problem(message=message, fact_type=fact_type, field=field),)
        self.field, self.message = field, message
        Exception.__init__(self, f"{field} {message}")


class PeriodError(SwrulesError, ValueError):
    """A period is not ``YYYY`` or ``YYYY-MM``."""


class RulesetError(SwrulesError, ValueError):
    """A ruleset file is malformed; the message names the file and the key."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ""
        if file is not None:
            where = file + (f" [{key}]" if key else "") + ": "
        elif key is not None:
            where = f"[{key}]: "
        super().__init__(where + message)


class RuleProblemsError(RulesetError):
    """The rules of a ruleset name things that do not exist; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[RulesetError]) -> None:
        self.problems: tuple[RulesetError, ...] = tuple(problems)
        first = self.problems[0] if self.problems else None
        n = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the rules:\n{lines}")
        self.file = first.file if first else None
        self.key = first.key if first else None


class UnknownRulesetError(RulesetError, LookupError):
    """No ruleset has the id asked for."""


class EngineError(SwrulesError, RuntimeError):
    """The rule engine failed; the evaluation produced no result."""


class EngineUnavailableError(EngineError):
    """The engine asked for cannot run here (for example durable-rules on Python 3.13)."""


class ColumnarUnsupportedError(EngineError):
    """A rule uses a construct the columnar engine does not compile yet; raised before any fact is read."""

    def __init__(self, ruleset: str, rule: str, construct: str) -> None:
        self.ruleset = ruleset
        self.rule = rule
        self.construct = construct
        super().__init__(
            f"ruleset {ruleset!r}, rule {rule!r}: the columnar engine does not compile {construct} yet; "
            "evaluate with the native engine"
        )


class EvaluationTimeout(EngineError):
    """An evaluation ran past its time budget; nothing of it is returned."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the evaluation took longer than its budget of {seconds:g} s and was stopped; no result")


class RuleFailedError(EngineError):
    """A rule raised while firing; names the rule and the facts it matched."""

    def __init__(self, rule: str, facts: Sequence[str], cause: str) -> None:
        self.rule = rule
        self.facts = tuple(facts)
        self.cause = cause
        super().__init__(f"rule {rule!r} failed on facts {', '.join(self.facts) or '(none)'}: {cause}")


class RuleExpressionError(SwrulesError, ValueError):
    """An expression of a rule in the language cannot be worked out on the values it met (a division by zero, a
    day that does not exist, a decision table without a row for them); the message quotes the expression and the
    values. The engines report it as a :class:`RuleFailedError` naming the rule and its facts."""


class ItemNotFoundError(SwrulesError, LookupError):
    """No derived item has the id asked for."""
