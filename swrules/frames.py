"""Results as pandas DataFrames, for notebooks (needs the ``analysis`` extra: pandas).

One frame per output section. Money is exact twice over: ``amount`` holds
``Decimal`` objects (as in the JSON) and ``amount_fen`` whole fen as ``Int64``
(null for in-kind benefits), the column to sum or chart. An obligation's
period is also given as dates: ``period_start`` and ``period_end``
(``datetime64``), and the month it falls due as ``due`` (``YYYY-MM``). Numbers
of findings are ``Decimal`` objects (``actual``, ``required``); a finding's
``severity``, ``deadline`` and ``deadline_status`` are text (the last two null
without a deadline); booleans are the nullable ``boolean`` dtype.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from swrules.errors import SwrulesError
from swrules.period import Period

if TYPE_CHECKING:
    from swrules.result import Result

__all__ = ["to_frames"]


def _pandas() -> Any:
    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise SwrulesError(
            "tables need pandas: install swrules with the analysis extra (pip install 'swrules[analysis]')"
        ) from None
    return pandas


def to_frames(result: Result) -> dict[str, Any]:
    """``{"post_grades": DataFrame, "eligibility": …, "obligations": …, "findings": …}``."""
    pd = _pandas()
    frames: dict[str, Any] = {}
    frames["post_grades"] = pd.DataFrame(
        [i.to_dict() for i in result.post_grades],
        columns=["post", "band", "tier", "level", "title", "rule", "clause"],
    ).astype({"tier": "int64", "level": "int64"})
    frames["eligibility"] = pd.DataFrame(
        [i.to_dict() for i in result.eligibility], columns=["person", "band", "eligible", "rule", "clause"]
    ).astype({"eligible": "boolean"})
    rows = []
    for ob in result.obligations:
        period = Period.parse(ob.period)
        row = ob.to_dict()
        row["amount"] = ob.amount
        row["amount_fen"] = None if ob.amount is None else int(ob.amount * 100)
        row["period_start"], row["period_end"] = period.start, period.end
        rows.append(row)
    columns = [
        "id",
        "kind",
        "payee",
        "payer",
        "amount",
        "amount_fen",
        "currency",
        "period",
        "period_start",
        "period_end",
        "due",
        "rule",
        "clause",
    ]
    obligations = pd.DataFrame(rows, columns=columns)
    obligations["amount_fen"] = obligations["amount_fen"].astype("Int64")
    for col in ("period_start", "period_end"):
        obligations[col] = pd.to_datetime(obligations[col])
    frames["obligations"] = obligations
    findings = pd.DataFrame(
        [f.to_dict() for f in result.findings],
        columns=[
            "subject",
            "requirement",
            "satisfied",
            "actual",
            "required",
            "person",
            "severity",
            "deadline",
            "deadline_status",
            "rule",
            "clause",
        ],
    )
    findings["satisfied"] = findings["satisfied"].astype("boolean")
    frames["findings"] = findings
    return frames
