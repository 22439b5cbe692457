"""Decision tables: rows of conditions on inputs giving outputs, under a declared hit policy.

A table is checked when it is loaded: every row's inputs are of the declared type, every output cell is of its
column's type (declared, ``outputs = { amount = "money" }``, or read from the cells: a column with a number in it
holds numbers only), and, over the inputs whose type is an enumeration, no combination of values is left without
a row (a gap) and, under the ``unique`` policy, no two rows can both apply (an overlap). ``first`` takes the first
row that applies.
"""

from __future__ import annotations

import difflib
import enum
import itertools
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from swrules.lang._types import ENUMS

__all__ = ["ANY", "HIT_POLICIES", "OUTPUT_TYPES", "Table", "load_table"]

#: A row's condition that any value meets.
ANY = "-"
HIT_POLICIES = ("unique", "first")
_SCALARS = {"integer": int, "text": str}
#: The types an output column may declare, besides the enumerations: money and decimal cells become decimals.
OUTPUT_TYPES = ("money", "decimal", "integer", "text", "yes/no")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _is_number(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and _NUMBER.fullmatch(v) is not None)


def _cell(tid: str, row: int, name: str, tname: str, v: Any) -> tuple[Any, str]:
    """A cell of an output column of type ``tname`` as the rules see it, or what is wrong with it."""
    where = f"table {tid!r} row {row}: {name} {v!r}"
    if tname in ("money", "decimal"):
        return (Decimal(v), "") if _is_number(v) else (v, f'{where} is not a number (such as "200.00")')
    if tname == "integer":
        ok = isinstance(v, int) and not isinstance(v, bool)
        return v, "" if ok else f"{where} is not a whole number"
    if tname == "text":
        return v, "" if isinstance(v, str) else f"{where} is not text"
    if tname == "yes/no":
        return v, "" if isinstance(v, bool) else f"{where} is not true or false"
    values = [m.value for m in ENUMS[tname]]
    return v, "" if v in values else f"{where} is not one of {', '.join(values)}{_close(v, values)}"


def _close(word: Any, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@attrs.frozen(eq=False)
class Table:
    id: str
    hit: str
    inputs: tuple[str, ...]
    input_types: tuple[Any, ...]
    outputs: tuple[str, ...]
    rows: tuple[tuple[tuple[Any, ...], Any], ...]
    row_type: type

    #: Rows whose every condition is a value, by their conditions (for ``unique`` tables: a lookup is one probe).
    exact: Mapping[tuple[Any, ...], Any] = attrs.field(factory=dict)

    def lookup(self, key: tuple[Any, ...]) -> Any:
        hit = self.exact.get(key)
        if hit is not None:
            return hit
        for conditions, out in self.rows:
            if all(c is None or c == k for c, k in zip(conditions, key, strict=True)):
                return out
        shown = ", ".join(f"{n} {k}" for n, k in zip(self.inputs, key, strict=True))
        raise LookupError(f"decision table {self.id!r} has no row for {shown}")


def load_table(raw: Mapping[str, Any]) -> tuple[Table | None, list[str]]:
    """A table from its TOML form, or None and every problem (each a message naming the row or key)."""
    problems: list[str] = []
    tid = raw.get("id")
    if not isinstance(tid, str) or not tid:
        return None, ["a table needs an id"]
    for key in raw:
        if key not in ("id", "hit", "inputs", "outputs", "rows", "doc"):
            problems.append(f"table {tid!r}: unknown key {key!r}")
    hit = raw.get("hit", "unique")
    if hit not in HIT_POLICIES:
        problems.append(f"table {tid!r}: hit must be one of {', '.join(HIT_POLICIES)} (got {hit!r})")
    inputs_raw = raw.get("inputs")
    outputs = raw.get("outputs")
    rows_raw = raw.get("rows")
    if not isinstance(inputs_raw, dict) or not inputs_raw:
        return None, [*problems, f"table {tid!r}: inputs must be a table of input name = type"]
    declared: dict[str, str] = {}
    if isinstance(outputs, dict) and outputs:
        for oname, otype in outputs.items():
            if otype not in (*OUTPUT_TYPES, *ENUMS):
                known = ", ".join((*OUTPUT_TYPES, *ENUMS))
                problems.append(f"table {tid!r}: output {oname!r} has unknown type {otype!r} (one of {known})")
            else:
                declared[oname] = otype
        outputs = list(outputs)
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        return None, [
            *problems,
            f"table {tid!r}: outputs must be a list of names, or a table of name = type (money, text, …)",
        ]
    if not isinstance(rows_raw, list) or not all(isinstance(r, dict) for r in rows_raw):
        return None, [*problems, f"table {tid!r}: rows must be an array of tables"]
    types: list[Any] = []
    for name, tname in inputs_raw.items():
        t = ENUMS.get(tname) if isinstance(tname, str) else None
        t = t or (_SCALARS.get(tname) if isinstance(tname, str) else None)
        if t is None:
            scalars = [*ENUMS, *_SCALARS]
            problems.append(
                f"table {tid!r}: input {name!r} has unknown type {tname!r} (one of {', '.join(scalars)})"
                + _close(tname, scalars)
            )
        types.append(t)
    names = tuple(inputs_raw)
    # An output column without a declared type holds numbers when any of its cells is one (a number, or text
    # written as one such as "200.00"): then every cell must be. Its cells keep the values written.
    for oname in outputs:
        if oname not in declared and any(isinstance(r, dict) and _is_number(r.get(oname)) for r in rows_raw):
            declared[oname] = "number"
    row_type = attrs.make_class(f"Row_{tid.replace('-', '_')}", list(outputs), frozen=True)
    rows: list[tuple[tuple[Any, ...], Any]] = []
    # A column named wrongly in inputs or outputs (or in every row) is one problem, not one for each row.
    columns = set(names) | set(outputs)
    in_no_row = {c for c in columns if rows_raw and all(c not in r for r in rows_raw)}
    in_every_row = {c for c in set().union(*map(set, rows_raw)) - columns if all(c in r for r in rows_raw)}
    paired: set[str] = set()
    for c in sorted(in_no_row):
        close = difflib.get_close_matches(c, sorted(in_every_row - paired), n=1, cutoff=0.6)
        if close:
            paired.add(close[0])
            problems.append(
                f"table {tid!r}: {c!r} names no column of the rows, which have {close[0]!r}; did you mean {close[0]!r}?"
            )
        else:
            problems.append(f"table {tid!r}: no row has a column {c!r}")
    for c in sorted(in_every_row - paired):
        problems.append(f"table {tid!r}: every row has a column {c!r} that is neither an input nor an output")
    for i, row in enumerate(rows_raw):
        extra = set(row) - columns - in_every_row
        missing = columns - set(row) - in_no_row
        if extra or missing:
            problems.append(
                f"table {tid!r} row {i + 1}: "
                + "; ".join(
                    ([f"unknown column(s) {', '.join(sorted(extra))}"] if extra else [])
                    + ([f"missing column(s) {', '.join(sorted(missing))}"] if missing else [])
                )
            )
        if extra or missing or in_no_row or in_every_row:
            continue  # a table whose columns are misnamed is not read further (one problem, not one per row)
        conditions: list[Any] = []
        for name, t in zip(names, types, strict=True):
            v = row[name]
            if v == ANY:
                conditions.append(None)
            elif isinstance(t, type) and issubclass(t, enum.Enum):
                values = [m.value for m in t]
                if v not in values:
                    problems.append(f"table {tid!r} row {i + 1}: {name} {v!r} is not one of {', '.join(values)}")
                conditions.append(v)
            elif t is not None and (not isinstance(v, t) or isinstance(v, bool)):
                problems.append(f"table {tid!r} row {i + 1}: {name} must be {'a whole number' if t is int else 'text'}")
                conditions.append(v)
            else:
                conditions.append(v)
        cells: list[Any] = []
        for oname in outputs:
            otype, v = declared.get(oname), row[oname]
            if otype == "number":
                if not _is_number(v):
                    problems.append(
                        f"table {tid!r} row {i + 1}: {oname} {v!r} is not a number, as the column's other cells are "
                        f'(declare outputs = {{ {oname} = "text" }} if the column holds text)'
                    )
            elif otype is not None:
                v, why = _cell(tid, i + 1, oname, otype, v)
                if why:
                    problems.append(why)
            cells.append(v)
        rows.append((tuple(conditions), row_type(*cells)))
    if problems:
        return None, problems
    if hit == "unique":
        for (i, (a, _)), (j, (b, _)) in itertools.combinations(enumerate(rows), 2):
            if all(x is None or y is None or x == y for x, y in zip(a, b, strict=True)):
                problems.append(f"table {tid!r}: rows {i + 1} and {j + 1} overlap (hit policy unique)")
    enum_at = [k for k, t in enumerate(types) if isinstance(t, type) and issubclass(t, enum.Enum)]
    for combo in itertools.product(*([m.value for m in types[k]] for k in enum_at)):
        covered = (all(c[k] is None or c[k] == v for k, v in zip(enum_at, combo, strict=True)) for c, _ in rows)
        if not any(covered):
            shown = ", ".join(f"{names[k]} {v}" for k, v in zip(enum_at, combo, strict=True))
            problems.append(f"table {tid!r}: no row for {shown} (a gap)")
    if problems:
        return None, problems
    exact = {c: out for c, out in rows if None not in c} if hit == "unique" else {}
    return Table(tid, hit, names, tuple(types), tuple(outputs), tuple(rows), row_type, exact), []
