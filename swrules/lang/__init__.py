"""The rule language: rules written in the ruleset files, checked at load, compiled to closures.

A rule is a short program: ``match`` and ``collect`` patterns (their conditions become the
:class:`~swrules.ir.Test` data both engines run), then ``let`` bindings, ``when`` guards, ``for`` loops and
``emit`` statements evaluated in order. See ``docs/language.md``.
"""

from __future__ import annotations

from swrules.lang._compile import Problem, compile_rule, evaluate_expression, parse
from swrules.lang._params import USER_WORDS, describe_type, param_spec
from swrules.lang._tables import Table, load_table

__all__ = [
    "USER_WORDS",
    "Problem",
    "Table",
    "compile_rule",
    "describe_type",
    "evaluate_expression",
    "load_table",
    "param_spec",
    "parse",
]
