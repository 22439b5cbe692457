"""Decision tables: rows of conditions on inputs giving outputs, under a declared hit policy.

A table is checked when it is loaded: every row's inputs are of the declared type, and, over the inputs
whose type is an enumeration, no combination of values is left without a row (a gap) and, under the
``unique`` policy, no two rows can both apply (an overlap). ``first`` takes the first row that applies.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Mapping
from typing import Any

import attrs

from swrules.lang._types import ENUMS

__all__ = ["ANY", "HIT_POLICIES", "Table", "load_table"]

#: A row's condition that any value meets.
ANY = "-"
HIT_POLICIES = ("unique", "first")
_SCALARS = {"integer": int, "text": str}


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
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        return None, [*problems, f"table {tid!r}: outputs must be a list of names"]
    if not isinstance(rows_raw, list) or not all(isinstance(r, dict) for r in rows_raw):
        return None, [*problems, f"table {tid!r}: rows must be an array of tables"]
    types: list[Any] = []
    for name, tname in inputs_raw.items():
        t = ENUMS.get(tname) if isinstance(tname, str) else None
        t = t or (_SCALARS.get(tname) if isinstance(tname, str) else None)
        if t is None:
            problems.append(
                f"table {tid!r}: input {name!r} has unknown type {tname!r} (one of {', '.join([*ENUMS, *_SCALARS])})"
            )
        types.append(t)
    names = tuple(inputs_raw)
    row_type = attrs.make_class(f"Row_{tid.replace('-', '_')}", list(outputs), frozen=True)
    rows: list[tuple[tuple[Any, ...], Any]] = []
    for i, row in enumerate(rows_raw):
        extra = set(row) - set(names) - set(outputs)
        missing = (set(names) | set(outputs)) - set(row)
        if extra or missing:
            problems.append(
                f"table {tid!r} row {i + 1}: "
                + "; ".join(
                    ([f"unknown column(s) {', '.join(sorted(extra))}"] if extra else [])
                    + ([f"missing column(s) {', '.join(sorted(missing))}"] if missing else [])
                )
            )
            continue
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
        rows.append((tuple(conditions), row_type(*(row[o] for o in outputs))))
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
