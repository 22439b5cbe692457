"""The one bound on every decimal swrules reads: digits before and after the point, exponent notation included.

A decimal's exponent keeps a huge or tiny number short to write (``1E+999999999``, ``1e-999999999``) while
its plain notation, which the JSON and CSV output use, runs to a billion digits. Every decimal read from facts
(money, hours) goes through :func:`decimal_problem`; so should any other decimal read from outside.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

__all__ = ["DECIMAL_TEXT", "MAX_DIGITS", "MAX_PLACES", "decimal_problem"]

#: Most digits before the decimal point.
MAX_DIGITS: Final = 20
#: Most digits after the decimal point (zeros included: ``0E-30`` is written with 30).
MAX_PLACES: Final = 20
#: A decimal written as text: ASCII digits only (no full-width or other scripts' digits, no ``_``), no exponent.
DECIMAL_TEXT: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def decimal_problem(value: Decimal) -> str | None:
    """Why ``value`` is not a decimal swrules takes (not finite, or too long in plain notation), or None.

    Works on the exponent alone: the number is never written out to be measured.
    """
    if not value.is_finite():
        return f"must be a finite number (got {value})"
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MAX_PLACES:
        return f"must have at most {MAX_PLACES} digits after the decimal point"
    if not value.is_zero() and value.adjusted() >= MAX_DIGITS:
        return f"must have at most {MAX_DIGITS} digits before the decimal point"
    return None
