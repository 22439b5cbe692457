"""The Python rule templates the shipped rules were bound to before the rule language, kept as the reference
the rewrite is proven against (tests/equivalence/test_rewrite.py); swrules itself no longer has them.

Every :class:`~swrules.ir.RuleDef` defined at the top level of a family
module listed in ``_FAMILIES`` is a template, registered under its ``name``.
"""

from __future__ import annotations

import importlib
from typing import Final

from swrules.ir import RuleDef

__all__ = ["TEMPLATES"]

_FAMILIES: Final = ("grades", "rewards", "talent", "staffing", "coverage", "services", "targets")


def _discover() -> dict[str, RuleDef]:
    found: dict[str, RuleDef] = {}
    for family in _FAMILIES:
        module = importlib.import_module(f"{__name__}.{family}")
        for value in vars(module).values():
            if isinstance(value, RuleDef):
                if value.name in found and found[value.name] is not value:
                    raise RuntimeError(f"two rule templates are named {value.name!r}")
                if not value.name.startswith(family + "."):
                    raise RuntimeError(f"template {value.name!r} must be named {family}.<rule>")
                found[value.name] = value
    return dict(sorted(found.items()))


#: Every rule template by name (``family.rule``).
TEMPLATES: Final[dict[str, RuleDef]] = _discover()
