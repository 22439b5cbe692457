"""Results as pandas DataFrames, for notebooks (needs the ``analysis`` extra: pandas).

One frame per output section. Money is exact twice over: ``amount`` holds
``Decimal`` objects (as in the JSON) and ``amount_fen`` whole fen as ``Int64``
(null for in-kind benefits), the column to sum or chart. An obligation's
period is also given as dates: ``period_start`` and ``period_end``
(``datetime64``), and the month it falls due as ``due`` (``YYYY-MM``). Numbers
of findings are ``Decimal`` objects (``actual``, ``required``); a finding's
``severity``, ``deadline`` and ``deadline_status`` are text (the last two null
without a deadline); booleans are the nullable ``boolean`` dtype.

The same tables as files: :func:`write_csv` (RFC 4180, spreadsheet-safe text cells,
numbers as numbers, ``true``/``false``) and :func:`write_parquet` (exact DECIMAL,
``date32`` and ``bool`` columns), one file per section with :func:`write_tables`.
"""

from __future__ import annotations

import csv
import importlib
import numbers
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from swrules.errors import SwrulesError
from swrules.period import Period

if TYPE_CHECKING:
    from swrules.result import Result

__all__ = ["FORMULA_START", "spreadsheet_safe", "to_frames", "write_csv", "write_parquet", "write_tables"]


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


# --- files: CSV and Parquet ------------------------------------------------------------------

#: A cell of text beginning with one of these is a formula to a spreadsheet (or, for tab and CR, hides one);
#: the full-width forms count too, as some spreadsheet programs read them as their ASCII originals. A text
#: beginning with ``'`` is included so that the rule can be undone: drop one leading ``'`` from a text cell.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", "'")

#: The Parquet type of each column that is not text, by column name (the same in every section).
_MONEY_COLUMNS: Final = ("amount",)
_NUMBER_COLUMNS: Final = ("actual", "required")
_DATE_COLUMNS: Final = ("period_start", "period_end", "deadline")
_BOOL_COLUMNS: Final = ("eligible", "satisfied")
_INT_COLUMNS: Final = ("tier", "level", "amount_fen")
_MONEY_SCALE: Final = 2
_PRECISION: Final = 38  # the most digits a Parquet DECIMAL (decimal128) holds


def spreadsheet_safe(text: str) -> str:
    """A text cell a spreadsheet shows as text: ``'`` before one that starts like a formula (``=``, ``+``, ``-``,
    ``@``, tab, CR, their full-width forms, or ``'`` itself); any other text is returned as it is."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_cell(value: Any, bools: tuple[type, ...]) -> str:
    """One value as CSV text: numbers as numbers (signs included), booleans ``true``/``false`` as CSV input
    takes them, dates ``YYYY-MM-DD``, nulls empty, and text made spreadsheet-safe."""
    if _missing(value):
        return ""
    if isinstance(value, bools):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, float):  # money and findings' numbers are Decimal: a float here is a bug, not data
        raise SwrulesError(f"a table cell holds a float ({value!r}); tables hold exact numbers only")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return spreadsheet_safe(str(value))


def write_csv(frame: Any, path: str | Path) -> None:
    """``frame`` as RFC 4180 CSV (UTF-8, CRLF line ends, fields quoted where they hold a comma, quote, CR or LF).

    Which cells change: a *text* cell (an id, a name, a title…) that begins with ``=``, ``+``, ``-``, ``@``, tab,
    CR, their full-width forms or ``'`` gets a ``'`` in front, so that no spreadsheet runs it as a formula.
    Numbers (amounts, fen, findings' numbers, tiers and levels) are written as numbers, ``-600.00`` included.
    Booleans are ``true``/``false``, missing values empty.
    """
    header = [str(c) for c in frame.columns]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([spreadsheet_safe(h) for h in header])
        bools = (bool, importlib.import_module("numpy").bool_)  # numpy comes with pandas
        for row in frame.itertuples(index=False, name=None):
            writer.writerow([_csv_cell(v, bools) for v in row])


def write_parquet(frame: Any, path: str | Path) -> None:
    """``frame`` as Parquet with typed columns; a value that a column's type cannot hold exactly is an error.

    ``amount`` is ``decimal128(38, 2)``; ``actual`` and ``required`` are ``decimal128(38, s)`` with ``s`` the most
    decimal places of any value in the column; ``period_start``, ``period_end`` and ``deadline`` are ``date32``;
    ``eligible`` and ``satisfied`` are ``bool``; ``tier``, ``level`` and ``amount_fen`` are ``int64``; all other
    columns are text. Missing values are nulls. Nothing is rounded.
    """
    try:
        pa = importlib.import_module("pyarrow")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise SwrulesError("Parquet needs pyarrow: pip install 'swrules[analysis]'") from None
    name = Path(path).name
    arrays = []
    fields = []
    for column in frame.columns:
        values = [None if _missing(v) else v for v in frame[column].tolist()]
        if column in _MONEY_COLUMNS or column in _NUMBER_COLUMNS:
            scale = _MONEY_SCALE if column in _MONEY_COLUMNS else _scale(values)
            kind = pa.decimal128(_PRECISION, scale)
            values = [None if v is None else _fitted(v, scale, name, column, i) for i, v in enumerate(values)]
        elif column in _DATE_COLUMNS:
            kind = pa.date32()
            values = [None if v is None else _as_date(v, name, column, i) for i, v in enumerate(values)]
        elif column in _BOOL_COLUMNS:
            kind = pa.bool_()
            values = [None if v is None else bool(v) for v in values]
        elif column in _INT_COLUMNS:
            kind = pa.int64()
            values = [None if v is None else int(v) for v in values]
        else:
            kind = pa.string()
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=kind))
        fields.append(pa.field(str(column), kind))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    pq.write_table(table, str(path))


def _missing(value: Any) -> bool:
    pd = _pandas()
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _scale(values: list[Any]) -> int:
    """The most decimal places of any value (0 for whole numbers and an empty column)."""
    places = [-int(v.as_tuple().exponent) for v in values if isinstance(v, Decimal) and v.is_finite()]
    return max([0, *places])


def _fitted(value: Any, scale: int, file: str, column: str, row: int) -> Decimal:
    """``value`` as a Decimal that ``decimal128(38, scale)`` holds exactly, or an error naming where it is."""
    number = value if isinstance(value, Decimal) else Decimal(int(value)) if isinstance(value, int) else None
    if number is None or not number.is_finite():
        raise SwrulesError(f"{file}: column {column}, row {row}: {value!r} is not an exact number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -scale:
        raise SwrulesError(
            f"{file}: column {column}, row {row}: {number} has more than {scale} decimal places; "
            "it would have to be rounded, and is not"
        )
    if number and number.adjusted() + 1 + scale > _PRECISION:
        raise SwrulesError(
            f"{file}: column {column}, row {row}: {number} has more digits than a Parquet decimal of scale "
            f"{scale} holds ({_PRECISION})"
        )
    return number


def _as_date(value: Any, file: str, column: str, row: int) -> date:
    if isinstance(value, datetime):
        if value.time() != time():
            raise SwrulesError(f"{file}: column {column}, row {row}: {value} is not a whole day")
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SwrulesError(f"{file}: column {column}, row {row}: {value!r} is not a date YYYY-MM-DD") from None


def write_tables(result: Result, fmt: str, folder: str | Path) -> list[Path]:
    """One ``csv`` or ``parquet`` file per section of ``result`` in ``folder``; returns their paths.

    A columnar engine's result writes Parquet straight from the engine's tables: the same files."""
    if fmt == "parquet":
        direct = getattr(result, "write_parquet", None)
        found = direct(folder) if direct is not None else None
        if found is not None:
            return list(found)
    written = []
    for section, frame in to_frames(result).items():
        path = Path(folder) / f"{section}.{fmt}"
        if fmt == "csv":
            write_csv(frame, path)
        else:
            write_parquet(frame, path)
        written.append(path)
    return written
