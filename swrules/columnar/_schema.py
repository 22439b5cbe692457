"""The columns of each fact type, read from the attrs metadata of :mod:`swrules.facts`.

Each field becomes one column of the DuckDB table (and the Arrow schema) of its fact type, with a SQL
predicate that holds exactly when a value passes the loader's checks for that field. The predicates are
worked out from the same metadata the loader reads (kind, enum, reference target, range check), so that a
new field or check in facts.py either gets its column here or fails loudly at import.
"""

from __future__ import annotations

import enum
import inspect
from decimal import Decimal
from functools import cache
from typing import Any, Final

import attrs
import pyarrow as pa

from swrules import facts as _facts
from swrules._decimal import MAX_DIGITS, MAX_PLACES
from swrules.facts import FACT_TYPES, TIERS
from swrules.load import MAX_ID_LENGTH

__all__ = ["HOURS_SCALE", "MONEY_SQL", "Column", "columns"]

#: Money: two decimal places and the MAX_DIGITS (20) digits before the point that swrules.load accepts.
MONEY_PRECISION: Final = MAX_DIGITS + 2
MONEY_SQL: Final = f"DECIMAL({MONEY_PRECISION},2)"
#: Hours (a training's ``hours``): the loader accepts MAX_DIGITS (20) digits before the point and MAX_PLACES (20)
#: after it; a DECIMAL holds 38 digits in all, so a column keeps the 20 before the point and 18 places.
HOURS_SCALE: Final = 38 - MAX_DIGITS
assert HOURS_SCALE <= MAX_PLACES
HOURS_SQL: Final = f"DECIMAL({MAX_DIGITS + HOURS_SCALE},{HOURS_SCALE})"
#: Integers are BIGINT: every integer field but ``population`` and ``professional_posts`` is small anyway.
INT_MAX: Final = 2**63 - 1

_SQL_TYPES: Final = {
    "id": "VARCHAR",
    "ref": "VARCHAR",
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "refs": "VARCHAR[]",
    "bool": "BOOLEAN",
    "int": "BIGINT",
    "date": "DATE",
    "money": MONEY_SQL,
    "number": HOURS_SQL,
}

# The integer checks of facts.py, as SQL (the column's name takes the place of {c}).
_INT_CHECKS: Final[dict[Any, str]] = {
    _facts._strict_int: "true",
    _facts._year: "{c} BETWEEN 1900 AND 2999",
    _facts._nonneg_int: "{c} >= 0",
    _facts._positive_int: "{c} > 0",
}


@attrs.frozen
class Column:
    """One column of a fact type's table.

    ``sql`` is its DuckDB type, ``check`` a SQL predicate on the column (named ``name``, of that type) that is
    true exactly when a non-null value passes the loader's checks for the field (:func:`ok_in` makes it for a
    value of another type); ``required`` says a null is a problem.
    """

    name: str
    kind: str
    sql: str
    required: bool
    check: str
    values: tuple[str, ...] | None = None
    ref: str | None = None

    @property
    def arrow(self) -> pa.DataType:
        """The column's Arrow type."""
        return _arrow_type(self.sql)

    @property
    def ok(self) -> str:
        """A SQL predicate true when the column's value (null included) is acceptable."""
        return _ok(self.name, self.required, self.check)


def _ok(name: str, required: bool, check: str) -> str:
    quoted = quote(name)
    if required:
        return f"({quoted} IS NOT NULL AND coalesce({check}, false))"
    return f"({quoted} IS NULL OR coalesce({check}, false))"


def ok_in(fact_type: str, column: Column, source: str | None) -> str:
    """:attr:`Column.ok` for a value read in the DuckDB type ``source`` (the Parquet column's type, or None).

    The same verdict on every value, with the parts the type already settles left out: a DECIMAL(22,2) salary
    needs no test of its places or digits, an INTEGER year no test of 64 bits.
    """
    if source is None or source == column.sql:
        return column.ok
    field = attrs.fields_dict(FACT_TYPES[fact_type])[column.name]
    return _ok(column.name, column.required, _check(field, source))


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _arrow_type(sql: str) -> pa.DataType:
    if sql == "VARCHAR":
        return pa.string()
    if sql == "VARCHAR[]":
        return pa.list_(pa.string())
    if sql == "BOOLEAN":
        return pa.bool_()
    if sql == "BIGINT":
        return pa.int64()
    if sql == "DATE":
        return pa.date32()
    precision, scale = sql[len("DECIMAL(") : -1].split(",")
    return pa.decimal128(int(precision), int(scale))


def _money_bounds(check: Any) -> tuple[Decimal | None, bool]:
    """The minimum and strictness a money check of facts.py was made with (see ``facts._money``)."""
    found = inspect.getclosurevars(check).nonlocals
    return found["minimum"], found["strict"]


#: Integer types every value of which a BIGINT holds (and not its minimum, which the loader's checks refuse).
_NARROW_INTEGERS: Final = frozenset({"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"})
#: Integer types of at most MAX_DIGITS (20) digits: as money or hours, no test of the digits before the point.
_SHORT_INTEGERS: Final = _NARROW_INTEGERS | {"BIGINT", "UBIGINT"}
assert len(str(2**64 - 1)) <= MAX_DIGITS


def _decimal_shape(source: str | None) -> tuple[int, int] | None:
    """(precision, scale) of a ``DECIMAL(p,s)`` type, else None."""
    if source is None or not source.startswith("DECIMAL(") or not source.endswith(")"):
        return None
    precision, scale = source[len("DECIMAL(") : -1].split(",")
    return int(precision), int(scale)


def _check(a: attrs.Attribute[Any], source: str | None = None) -> str:
    """The SQL check of a field; ``source``, the type the value is read in, may settle some parts of it."""
    c = quote(a.name)
    kind = a.metadata["kind"]
    if kind in ("id", "ref", "text"):
        # length() counts characters, a walk through the text; strlen() (bytes) is at hand: a text of at most
        # MAX_ID_LENGTH bytes has at most as many characters, and only a longer one is counted.
        return (
            f"({c} <> '' AND (strlen({c}) <= {MAX_ID_LENGTH} OR length({c}) <= {MAX_ID_LENGTH}) "
            f"AND NOT contains({c}, chr(0)))"
        )
    if kind == "refs":
        # Each entry 1 to MAX_ID_LENGTH characters without a NUL, without a lambda (none in a CHECK constraint):
        # joined by NUL, the entries hold no NUL when the NULs are the len - 1 separators, and then a run of
        # more than MAX_ID_LENGTH characters other than NUL is an entry too long.
        joined = f"array_to_string({c}, chr(0))"
        return (
            f"(list_count({c}) = len({c}) AND len(list_distinct({c})) = len({c}) AND NOT list_contains({c}, '') "
            f"AND (len({c}) = 0 OR (length({joined}) - length(replace({joined}, chr(0), '')) = len({c}) - 1 "
            f"AND NOT regexp_matches({joined}, '[^\\x00]{{{MAX_ID_LENGTH + 1}}}'))))"
        )
    if kind == "bool":
        return "true"
    if kind == "enum":
        values = ", ".join(sql_text(m.value) for m in a.metadata["enum"])
        return f"{c} IN ({values})"
    if kind == "int":
        check = a.metadata["check"]
        if check not in _INT_CHECKS:  # pragma: no cover - a new check in facts.py needs its SQL here
            raise AssertionError(f"no SQL for the check of {a.name}")
        parts = [] if source in _NARROW_INTEGERS else [f"{c} BETWEEN {-INT_MAX} AND {INT_MAX}"]
        return "(" + " AND ".join([*parts, _INT_CHECKS[check].format(c=c)]) + ")"
    if kind == "date":
        return f"{c} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31'"
    if kind in ("money", "number"):
        places = 2 if kind == "money" else HOURS_SCALE
        shape = _decimal_shape(source)
        parts = []
        if not (source in _SHORT_INTEGERS or (shape is not None and shape[1] <= places)):
            parts.append(f"{c} = round({c}, {places})")
        if not (source in _SHORT_INTEGERS or (shape is not None and shape[0] - shape[1] <= MAX_DIGITS)):
            # The bound in the value's own type (which holds it: more than MAX_DIGITS digits before the point),
            # never as a double: 99999999999999999999 is 1e20 as a double.
            parts.append(f"abs({c}) < CAST('1{'0' * MAX_DIGITS}' AS {source or 'HUGEINT'})")
        if kind == "number":
            parts.append(f"{c} >= 0")
        else:
            minimum, strict = _money_bounds(a.metadata["check"])
            if minimum is not None:
                parts.append(f"{c} {'>' if strict else '>='} {minimum}")
        return "(" + " AND ".join(parts or ["true"]) + ")"
    raise AssertionError(f"unhandled field kind {kind}")  # pragma: no cover


@cache
def columns(fact_type: str) -> tuple[Column, ...]:
    """The columns of a fact type's table, in the order of its fields (``valid_from``/``valid_until`` last)."""
    out = []
    for a in attrs.fields(FACT_TYPES[fact_type]):
        kind = a.metadata["kind"]
        enum_cls: type[enum.Enum] | None = a.metadata.get("enum")
        out.append(
            Column(
                name=a.name,
                kind=kind,
                sql=_SQL_TYPES[kind],
                required=a.default is attrs.NOTHING,
                check=_check(a, _SQL_TYPES[kind]),
                values=tuple(m.value for m in enum_cls) if enum_cls is not None else None,
                ref=a.metadata.get("ref"),
            )
        )
    return tuple(out)


def row_checks(fact_type: str) -> list[str]:
    """SQL predicates between fields of one row: the window's order, and a post's tier within its band."""
    names = {c.name for c in columns(fact_type)}
    found = ["(valid_from IS NULL OR valid_until IS NULL OR valid_until >= valid_from)"]
    if {"band", "tier"} <= names:
        tiers = " OR ".join(
            f"(band = {sql_text(band.value)} AND tier IN ({', '.join(str(t) for t in allowed)}))"
            for band, allowed in TIERS.items()
        )
        found.append(f"(band IS NULL OR tier IS NULL OR {tiers})")
    return found


def arrow_schema(fact_type: str) -> pa.Schema:
    """The Arrow schema of a fact type's Parquet file (and of :meth:`FactTables.to_arrow`)."""
    return pa.schema([pa.field(c.name, c.arrow, nullable=not c.required) for c in columns(fact_type)])


def ddl(fact_type: str, table: str) -> str:
    """CREATE TABLE for a fact type: its columns and ``_index``.

    The checks are not CHECK constraints: the readers insert only rows that passed them, and a constraint
    would judge every row a second time (half again the cost of reading a Parquet file).
    """
    parts = [f"{quote(c.name)} {c.sql}" for c in columns(fact_type)]
    parts.append("_index BIGINT NOT NULL")
    return f"CREATE TABLE {quote(table)} ({', '.join(parts)})"
