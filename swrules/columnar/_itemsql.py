"""Items as rows of their tables, made in SQL: fields, key, rule and clause, never a Python object per item.

An emit's query (:func:`swrules.columnar._engine._selection`: a column per field worked out, the keys matched) is
wrapped here into the rows of the item table of its kind: each field as the item class would hold it (a decimal
with its places beside it, an obligation's amount in cents, a finding of ``at_least`` with its ``satisfied``),
stamped with the rule as :func:`swrules.engine._run.stamped` stamps an item, keyed exactly as the class's ``key``
property keys it. :func:`add_rows` puts them into the table, with the native engine's check that an item has one
cause done in SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, cast

import attrs
import duckdb

from swrules.columnar._compile import ITEM_DECIMAL_SCALE, Emit, Sc
from swrules.columnar._schema import quote, sql_text
from swrules.engine._program import BoundRule
from swrules.errors import ColumnarUnsupportedError, EngineError, RuleFailedError
from swrules.items import ITEM_TYPES
from swrules.lang._types import fields_of

__all__ = ["NEGATIVE", "add_rows", "decimal_text", "first", "item_rows", "key_sql"]

#: What the error an obligation of a negative amount raises in SQL begins with.
NEGATIVE: Final = "swrules: obligation "

_DEC: Final = f"DECIMAL(38,{ITEM_DECIMAL_SCALE})"


def literal(value: Any) -> str:
    """``value`` (a constant of a rule) as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"CAST({value} AS BIGINT)"
    if isinstance(value, Decimal):
        return f"CAST('{format(value, 'f')}' AS {_DEC})"
    if isinstance(value, str):
        return sql_text(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return f"CAST([{', '.join(sql_text(v) for v in value)}] AS VARCHAR[])"
    raise TypeError(f"no SQL literal for {value!r}")


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _text(column: str) -> str:
    """A text column as the f-string of the key property writes it (None as ``None``)."""
    return f"COALESCE(CAST({quote(column)} AS VARCHAR), 'None')"


def _escaped(sql: str) -> str:
    """``swrules.items._escape_key`` in SQL."""
    return f"replace(replace({sql}, '%', '%25'), '@', '%40')"


def _versioned(base: str) -> str:
    return f"{base} || CASE WHEN COALESCE(\"version\", '') <> '' THEN '@' || \"version\" ELSE '' END"


def key_sql(kind: str, deadline: date | None) -> str:
    """The key of an item of ``kind`` from its columns, as the ``key`` property of its class makes it."""
    if kind == "held":
        return _versioned(f"'held/' || {_escaped(_text('certificate'))}")
    if kind == "allowance_rates":
        return _versioned(f"'allowance_rates/' || {_escaped(_text('person'))}")
    if kind == "person_status":
        return f"'person_status/' || {_text('person')}"
    if kind == "post_status":
        return f"'post_status/' || {_text('post')}"
    if kind == "subject_count":
        return f"'subject_count/' || {_text('what')} || '/' || {_text('subject')}"
    if kind == "post_grade":
        return f"'post_grade/' || {_text('post')}"
    if kind == "eligibility":
        return f"'eligibility/' || {_text('person')} || '/' || {_text('band')}"
    if kind == "obligation":
        return _text("id")
    if kind == "finding":
        dated = "" if deadline is None else f" || '@{deadline.isoformat()}'"
        tail = "CASE WHEN \"person\" IS NULL THEN '' ELSE '/' || \"person\" END"
        return f"'finding/' || {_text('requirement')} || '/' || {_text('subject')} || {tail}{dated}"
    raise ValueError(f"no key for items of type {kind!r}")  # pragma: no cover - every item type is above


def key_prefix(emit: Emit) -> str:
    """What every key ``emit`` makes begins with, as far as its constants say (at least its type's prefix)."""
    given = dict(emit.fields)
    requirement = given.get("requirement")
    if emit.kind == "finding" and requirement is not None and not isinstance(requirement, Sc):
        if isinstance(requirement.value, str):
            return f"finding/{requirement.value}/"
    return "" if emit.kind == "obligation" else f"{emit.kind}/"


def apart(prefix: str, others: Sequence[str]) -> bool:
    """Whether no key beginning with ``prefix`` can be a key beginning with one of ``others``."""
    return all(not (prefix.startswith(o) or o.startswith(prefix)) for o in others)


def columns_of(kind: str) -> list[tuple[str, str]]:
    from swrules.columnar._engine import _item_columns

    return [(name, sql) for name, sql in _item_columns(kind) if sql]


def item_rows(ruleset: str, rule: BoundRule, emit: Emit, selection: str) -> str:
    """The query giving the rows of the item table of ``emit.kind`` that ``emit`` derives (``selection`` is its
    compiled :func:`~swrules.columnar._engine._selection`), with every column of the table."""
    cls = ITEM_TYPES[emit.kind]
    types = fields_of(cast(Any, cls))
    holdable = {name for name, _ in columns_of(emit.kind)}
    given = {name: (i, v) for i, (name, v) in enumerate(emit.fields)}
    values: dict[str, str] = {}
    scales: dict[str, str] = {}

    def decimal(name: str) -> tuple[str, str]:
        """A decimal field as the item holds it: (its value, its places), from a column, an int or a constant."""
        i, v = given[name]
        if isinstance(v, Sc):
            value = f"CAST(f{i} AS {_DEC})"
            scale = f"s{i}" if v.t is Decimal else "CAST(0 AS BIGINT)"  # Decimal(int): no places
            return value, f"CASE WHEN f{i} IS NULL THEN NULL ELSE {scale} END"
        constant = v.value
        if constant is None:
            return "NULL", "NULL"
        number = constant if isinstance(constant, Decimal) else Decimal(constant)
        return literal(number), f"CAST({_places(number)} AS BIGINT)"

    for field in attrs.fields(cls):
        name = field.name
        ftype = types.get(name)
        if name not in holdable:
            if name in given:
                raise ColumnarUnsupportedError(ruleset, rule.id, f"the field {name} of a {emit.kind} in a table")
            continue
        if emit.at_least and name in ("actual", "required"):
            values[name], scales[name] = decimal(name)
        elif emit.at_least and name == "satisfied":
            continue  # from actual and required, below
        elif name in given and ftype is Decimal:
            values[name], scales[name] = decimal(name)
        elif name in given:
            i, v = given[name]
            sql = dict(columns_of(emit.kind))[name]
            values[name] = f"CAST(f{i} AS {sql})" if isinstance(v, Sc) else f"CAST({literal(v.value)} AS {sql})"
        else:
            default = None if field.default is attrs.NOTHING else field.default
            sql = dict(columns_of(emit.kind))[name]
            values[name] = f"CAST({literal(default)} AS {sql})"
            if ftype is Decimal:
                scales[name] = "NULL" if default is None else f"CAST({_places(default)} AS BIGINT)"
    if emit.at_least:
        values["satisfied"] = f"({values['actual']}) >= ({values['required']})"
    # stamped: the rule and its clause; a finding also the rule's severity, deadline and where the deadline lies
    values["rule"] = literal(rule.id)
    values["clause"] = literal(rule.clause)
    if emit.kind == "finding":
        values["severity"] = f"CAST({literal(rule.severity)} AS VARCHAR)"
        values["deadline"] = f"CAST({literal(rule.deadline)} AS DATE)"
        values["deadline_status"] = f"CAST({literal(rule.deadline_status)} AS VARCHAR)"
    if emit.kind == "obligation":  # Obligation keeps its amount in cents (Decimal.quantize: half to even)
        raw = values["amount"]
        matched = " || chr(1) || ".join(f"CAST(k{j} AS VARCHAR)" for j in range(len(emit.matched))) or "''"
        negative = (
            f"error('{NEGATIVE}' || {matched} || chr(2) || COALESCE(CAST({values['id']} AS VARCHAR), 'None') || "
            f"': amount must not be negative (got ' || ({_text_of(raw, scales['amount'])}) || ')')"
        )
        values["amount"] = f"CASE WHEN ({raw}) < 0 THEN {negative} ELSE CAST(round_even({raw}, 2) AS {_DEC}) END"
        scales["amount"] = f"CASE WHEN ({raw}) IS NULL THEN NULL ELSE CAST(2 AS BIGINT) END"
    select = []
    for name, _ in columns_of(emit.kind):
        if name in ("_key", "_ord", "_batch"):
            continue
        if name == "_matched":
            # one key as it is (cheaper than a list), more as a JSON list of them
            keys = [f"CAST(k{j} AS VARCHAR)" for j in range(len(emit.matched))]
            matched = keys[0] if len(keys) == 1 else f"CAST(to_json([{', '.join(keys)}]::VARCHAR[]) AS VARCHAR)"
            select.append(f"{matched} AS _matched")
        elif name.endswith("__scale"):
            select.append(f"{scales.get(name[: -len('__scale')], 'NULL')} AS {quote(name)}")
        else:
            select.append(f"{values[name]} AS {quote(name)}")
    key = key_sql(emit.kind, rule.deadline if emit.kind == "finding" else None)
    inner = f"SELECT {', '.join(select)} FROM ({selection}) AS _emitted"
    return f"SELECT _item.*, {key} AS _key FROM ({inner}) AS _item"


def _content(kind: str, alias: str) -> list[str]:
    """The columns that make two derivations one: the items equal (as attrs compares them: decimals by value, not
    by places), from the same match (the rule is a column of the item). Each over the table as ``alias``."""
    out = []
    for name, sql in columns_of(kind):
        if name.endswith("__scale") or name in ("_key", "_ord", "_batch"):
            continue
        if sql.startswith("STRUCT"):  # a list of tuples: its parts, not the places beside its decimals
            parts = [p.split(" ", 1)[0] for p in sql[len("STRUCT(") : -len(")[]")].split(", ")]
            packed = ", ".join(f"{p} := x.{p}" for p in parts if not p.endswith("__scale"))
            out.append(f"list_transform({alias}.{quote(name)}, lambda x: struct_pack({packed}))")
        else:
            out.append(f"{alias}.{quote(name)}")
    return out


def add_rows(
    con: duckdb.DuckDBPyConnection,
    rule: BoundRule,
    emit: Emit,
    rows: str,
    table: str,
    batch: int,
    held: bool,
    query: Callable[[str], Any],
) -> int:
    """Put the rows ``rows`` (from :func:`item_rows`) of ``rule``'s ``emit`` into ``table``, marked ``batch``
    (``held``: rows there before, of lower marks): how many it kept. As the native engine: two items with one key
    from different rules, or different items with one key from one rule, are an error; the same item derived
    again by the same rule is one item."""
    names = ", ".join(quote(name) for name, _ in columns_of(emit.kind) if name not in ("_batch", "_ord"))
    made = int(first(query(f"INSERT INTO {quote(table)} ({names}, _batch) SELECT {names}, {batch} FROM ({rows})"))[0])
    if not made:
        return 0
    if emit.kind not in rule.definition.emits:
        raise RuleFailedError(rule.id, [], f"derived a {emit.kind}, which it does not declare")
    t = quote(table)
    new = f"{t} AS n WHERE n._batch = {batch}"
    # Different keys may share a hash, never one key two: as many hashes as rows, and the keys are all different.
    distinct = int(first(con.execute(f"SELECT count(DISTINCT hash(n._key)) FROM {new}"))[0])
    same = " AND ".join(
        f"{n} IS NOT DISTINCT FROM {o}" for n, o in zip(_content(emit.kind, "n"), _content(emit.kind, "o"), strict=True)
    )
    kept = made
    if held:
        clash = first(
            con.execute(
                f"SELECT n._key, o.rule, ({same}) AND o.rule = ? FROM {t} AS n JOIN {t} AS o "
                f"ON n._key = o._key AND o._batch < {batch} WHERE n._batch = {batch} ORDER BY 3, n._key LIMIT 1",
                [rule.id],
            )
        )
        if clash is not None:
            if not clash[2]:
                raise EngineError(f"rules {clash[1]!r} and {rule.id!r} both derive {clash[0]!r}; an item has one cause")
            # derived again, the same: the item is there already
            kept -= int(
                first(
                    con.execute(
                        f"DELETE FROM {t} AS n WHERE n._batch = {batch} AND EXISTS "
                        f"(SELECT 1 FROM {t} AS o WHERE o._batch < {batch} AND o._key = n._key)"
                    )
                )[0]
            )
    if distinct < made:
        whole = ", ".join(_content(emit.kind, "n"))
        clash = first(
            con.execute(
                f"SELECT n._key FROM {new} GROUP BY n._key HAVING count(DISTINCT ({whole})) > 1 ORDER BY n._key LIMIT 1"
            )
        )
        if clash is not None:
            raise EngineError(f"rules {rule.id!r} and {rule.id!r} both derive {clash[0]!r}; an item has one cause")
        kept -= int(
            first(
                con.execute(
                    f"DELETE FROM {t} WHERE _batch = {batch} AND rowid NOT IN "
                    f"(SELECT min(rowid) FROM {t} WHERE _batch = {batch} GROUP BY _key)"
                )
            )[0]
        )
    return kept


def first(cursor: Any) -> Any:
    """The first row of a query's result (all of it fetched: DuckDB wants a result finished), or None."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def decimal_text(column: str, prefix: str = "") -> str:
    """A decimal column (``DECIMAL(38,10)`` and its places beside it) as the text of the Decimal an item holds:
    ``Decimal(text)`` is that value with its places, ``format(…, "f")`` of it that text."""
    return _text_of(f"{prefix}{quote(column)}", f"{prefix}{quote(column + '__scale')}")


def _text_of(value: str, scale: str) -> str:
    """The text of a ``DECIMAL(38,10)`` value with ``scale`` places (more places than it holds: zeros)."""
    text = f"CAST(CAST({value} AS {_DEC}) AS VARCHAR)"
    cut = f"{ITEM_DECIMAL_SCALE} - ({scale}) + CASE WHEN ({scale}) = 0 THEN 1 ELSE 0 END"
    wider = f"{text} || repeat('0', CAST(({scale}) - {ITEM_DECIMAL_SCALE} AS BIGINT))"
    return (
        f"CASE WHEN ({value}) IS NULL THEN NULL WHEN ({scale}) > {ITEM_DECIMAL_SCALE} THEN {wider} "
        f"ELSE substr({text}, 1, length({text}) - ({cut})) END"
    )


#: Conversions of a column's Python value into a field's, by field type (enums by value).
def converter(ftype: Any) -> Callable[[Any], Any] | None:
    if isinstance(ftype, type) and issubclass(ftype, enum.Enum):
        members: Mapping[Any, Any] = ftype._value2member_map_
        return members.__getitem__
    if ftype is Decimal:
        return Decimal
    return None
