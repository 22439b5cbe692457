"""Compile the rule language into relational plans: Ibis expressions over DuckDB tables.

A rule's matches become a join of its patterns (the tests of the bound program, windows included), one row
per combination: the *scope*, keyed by ``_mid``. Every statement then works on the scope as a whole:

* ``let`` adds a column; ``when`` filters the rows; ``if`` splits them; ``for`` joins the rows with the
  elements of a list (a new key column per loop);
* a collection is a list: a table of (scope key, order, element columns), joined to the scope on the
  collection's tests; a comprehension filters and maps it; ``count``, ``sum``, ``max_or``, ``any``, ``first``
  … aggregate it by the scope key and are joined back as columns; ``x in xs`` is a semi-join;
* parameters, the period, the frame and the judgment day are constants, folded with the language's own
  built-ins where every argument is one;
* ``emit`` selects the item's fields from the scope's rows.

Money and numbers stay DECIMAL throughout, and every decimal carries its scale as the native engine would
have it (Python's rules: the larger scale of a sum, the sum of the scales of a product), beside its value:
a column holds ``1000.00`` where the input said ``1000``, so the scale is kept apart and the value is given
that scale when it comes back. A division is compiled only under ``round`` (worked out exactly in integers).

What the compiler cannot translate raises :class:`~swrules.errors.ColumnarUnsupportedError` naming the
ruleset, the rule and the construct, before any fact is read; it never guesses.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, cast

import attrs
import ibis
import ibis.expr.datatypes as dt
import lark

from swrules.engine._program import BoundRule
from swrules.errors import ColumnarUnsupportedError, SwrulesError
from swrules.facts import FACT_TYPES
from swrules.ir import Lit, Op, Ref, Test
from swrules.items import ITEM_TYPES
from swrules.lang._builtins import BUILTINS, plain
from swrules.lang._compile import _unquote, parse
from swrules.lang._tables import Table as DecisionTable
from swrules.lang._types import ENUMS, ListOf, fields_of
from swrules.period import Period, TimeFrame

__all__ = ["ONE", "Check", "Emit", "RulePlan", "Tables", "compile_rule_plan"]

Expr = Any  # an Ibis expression (ibis ships no complete type information)
Fn = Callable[[Any], Any]  # a column expression of a table

#: How patterns see an open end of a window (the engines' OPEN_START / OPEN_END).
_OPEN: Final = {"valid_from": date(1, 1, 1), "valid_until": date(9999, 12, 31)}
_DEC: Final = 38


def _decimal(scale: int) -> dt.DataType:
    return dt.Decimal(_DEC, scale)


class Unsupported(Exception):
    """A construct the compiler does not translate (turned into ColumnarUnsupportedError with the rule named)."""

    def __init__(self, construct: str) -> None:
        super().__init__(construct)
        self.construct = construct


class _NeedsScope(Exception):
    """A comprehension's element or condition reads a name of the scope: it must be joined to it."""


# -- values -------------------------------------------------------------------------------------------


@attrs.frozen
class Const:
    """A value known when the rule is compiled (a literal, a parameter, the period, the judgment day)."""

    value: Any


@attrs.frozen
class Sc:
    """A scalar column of the current table. ``t``: int, Decimal, str, bool, date, an enum class, ListOf(str).

    A decimal has ``sqls``, the scale of its SQL type, and ``scale``, its scale as the native engine has it:
    an int, or a column expression when it varies from row to row."""

    fn: Fn
    t: Any
    sqls: int = 0
    scale: Any = 0


@attrs.frozen
class RowsOf:
    """The kind of a column holding a list of fixed-size tuples (an item's segments): ``kinds`` of each part.

    The column is a list of structs ``p0``, ``p1``, …; a decimal part is DECIMAL(38, ITEM_DECIMAL_SCALE) with
    its places in ``pN__scale`` beside it."""

    kinds: tuple[Any, ...]


@attrs.frozen
class RowV:
    """A fact or item whose fields are the columns ``prefix + field`` (and ``prefix_key``, ``prefix_ord``)."""

    type: str
    prefix: str


@attrs.frozen
class PerV:
    """A period whose year (and month, None for a year) are columns."""

    year: Fn
    month: Fn | None


@attrs.frozen
class TupV:
    parts: tuple[Any, ...]


@attrs.frozen
class TableRowV:
    table: DecisionTable
    inputs: tuple[Any, ...]


@attrs.frozen
class ListV:
    """A list per scope row: ``table`` has the key columns ``keys``, an order column and the element's columns.

    ``elem`` is the element as a value over ``table`` (a RowV, a Sc, a PerV or a TupV of Sc); ``keys`` empty:
    the same list for every row."""

    table: Any
    keys: tuple[str, ...]
    ord: str
    elem: Any
    cols: tuple[str, ...]


@attrs.frozen
class LazyList:
    """A collection, joined to the scope where it is first used (after the guards that narrow the scope)."""

    build: Callable[[Scope], ListV]


@attrs.frozen
class FnDef:
    params: tuple[str, ...]
    body: Any


@attrs.frozen
class Check:
    """Rows that reach an error of the rule: the evaluation fails if ``table`` has any."""

    table: Any
    message: str


@attrs.frozen
class Emit:
    """An emit statement: the rows of ``table`` each make one item of ``kind`` from ``fields``."""

    kind: str
    at_least: bool
    table: Any
    fields: tuple[tuple[str, Any], ...]
    matched: tuple[str, ...]  # the key column of each matched pattern, in pattern order


@attrs.frozen
class RulePlan:
    rule: BoundRule
    emits: tuple[Emit, ...]
    checks: tuple[Check, ...]


#: The name of the one-row table the engine keeps beside the facts.
ONE: Final = "_swrules_one"


class Tables:
    """Where the compiler finds the table of each fact and item type, and which decimal columns carry a scale."""

    def __init__(self, con: Any, names: Mapping[str, str], scaled: frozenset[str]) -> None:
        self.con = con
        self.names = names
        #: ``type.field`` of the decimal columns with a ``field__scale`` column beside them.
        self.scaled = scaled

    def quotient(self, a: Expr, b: Expr) -> Expr:
        """The whole-number quotient of two BIGINTs, truncated, in the backend's own function (no float)."""
        return _div(a, b) if getattr(self.con, "name", "") == "pyspark" else _divide(a, b)

    def one(self) -> Expr:
        """A table of one row, for lists known when compiling."""
        return self.con.table(ONE)

    def table(self, type_: str) -> Expr:
        t = self.con.table(self.names[type_])
        if type_ in ITEM_TYPES:
            return t
        ident = t.id.replace("%", "%25").replace("@", "%40")
        start = t.valid_from.strftime("%Y-%m-%d")
        key = ibis.literal(f"{type_}/") + ident + ibis.ifelse(t.valid_from.isnull(), "", "@" + start)
        order = t.id + "\x00" + start.fill_null("")
        return t.mutate(_key=key, _ord=order)


# -- the scope ------------------------------------------------------------------------------------------


class Scope:
    """The current table of a rule's rows, its key columns, and what each name of the rule stands for."""

    def __init__(self, table: Expr, keys: tuple[str, ...], names: dict[str, Any]) -> None:
        self.table = table
        self.keys = keys
        self.names = names

    def sub(self) -> Scope:
        return Scope(self.table, self.keys, dict(self.names))

    def attach(self, other: Expr, keys: Sequence[str], cols: Sequence[str], fresh: Callable[[], str]) -> None:
        """Left-join ``other`` (its ``keys`` and ``cols``) to the rows on ``keys``."""
        mine = list(self.table.columns)
        if not keys:
            self.table = self.table.cross_join(other.select(*cols)).select(*mine, *cols).view()
            return
        renamed = {fresh(): k for k in keys}
        o = other.select(*keys, *cols).rename(renamed)
        preds = [self.table[k] == o[new] for new, k in renamed.items()]
        self.table = self.table.left_join(o, preds).select(*mine, *cols).view()


def _truth(v: Any, t: Expr) -> Expr:
    """A value as a condition, none counting as false (as Python's truth)."""
    if isinstance(v, Sc):
        e = v.fn(t)
        if v.t is bool:
            return e.fill_null(False)
        if v.t is int or v.t is Decimal:
            return (e != 0).fill_null(False)
        if v.t is str:
            return (e != "").fill_null(False)
        return e.notnull()
    raise Unsupported("a condition on a value that is not true or false")


def _lit(value: Any) -> Expr:
    if isinstance(value, bool):
        return ibis.literal(value, type="boolean")
    if isinstance(value, int):
        return ibis.literal(value, type="int64")
    if isinstance(value, Decimal):
        return ibis.literal(value, type=_decimal(_scale_of(value)))
    if isinstance(value, enum.Enum):
        return ibis.literal(str(value.value), type="string")
    if isinstance(value, str):
        return ibis.literal(value, type="string")
    if isinstance(value, date):
        return ibis.literal(value, type="date")
    raise Unsupported(f"the value {value!r} in a column")


def _scale_of(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent > 0:
        raise Unsupported(f"the decimal {value} (a positive exponent)")
    return -exponent


def _type_of_const(value: Any) -> Any:
    if isinstance(value, bool):
        return bool
    if isinstance(value, int):
        return int
    if isinstance(value, Decimal):
        return Decimal
    if isinstance(value, enum.Enum):
        return type(value)
    for t in (str, date):
        if isinstance(value, t):
            return t
    return None


def _const_sc(value: Any) -> Sc:
    lit = _lit(value)
    if isinstance(value, Decimal):
        s = _scale_of(value)
        return Sc(lambda t: lit, Decimal, s, s)
    return Sc(lambda t: lit, _type_of_const(value))


# -- the compiler -------------------------------------------------------------------------------------------


_CMP: Final = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPS: Final = {Op.EQ: "==", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}


class _Compiler:
    def __init__(
        self,
        ruleset: str,
        rule: BoundRule,
        logic: str,
        functions: Sequence[str],
        frame: TimeFrame,
        tables: Tables,
        decision_tables: Mapping[str, DecisionTable],
    ) -> None:
        self.ruleset = ruleset
        self.rule = rule
        self.logic = logic
        self.function_texts = functions
        self.frame = frame
        self.tables = tables
        self.decision_tables = decision_tables
        self.params = rule.params
        self.functions: dict[str, FnDef] = {}
        self.emits: list[Emit] = []
        self.checks: list[Check] = []
        self.counter = itertools.count()
        self.matched: tuple[str, ...] = ()

    def fresh(self) -> str:
        return f"c{next(self.counter)}"

    # -- program ----------------------------------------------------------------------------

    def compile(self) -> RulePlan:
        for text in self.function_texts:
            tree, _ = parse(text)
            if tree is None:  # pragma: no cover - the ruleset loaded, so its functions parse
                raise Unsupported("a function text that does not parse")
            for stmt in tree.children:
                self.define(stmt)
        tree, _ = parse(self.logic)
        if tree is None:  # pragma: no cover - the ruleset loaded, so its rules parse
            raise Unsupported("a rule text that does not parse")
        stmts = [s for s in tree.children if s.data not in ("match_stmt", "collect_stmt")]
        scope = self.patterns()
        self.block(stmts, scope)
        return RulePlan(self.rule, tuple(self.emits), tuple(self.checks))

    def define(self, stmt: Any) -> None:
        c = stmt.children
        args = [a for a in c[1:-1] if a is not None]
        self.functions[str(c[0])] = FnDef(tuple(str(a.children[0]) for a in args), c[-1])

    def patterns(self) -> Scope:
        rule = self.rule
        acc: Expr = None
        prefixes: dict[str, str] = {}
        order = []
        for i, m in enumerate(rule.match):
            prefix = f"m{i}_"
            t = self.source(m.type, m.where, prefix, prefixes, acc)
            if acc is None:
                acc = t
            else:
                preds = [
                    self.test(t, m.type, test, prefix, (acc, prefixes))
                    for test in m.where
                    if isinstance(test.operand, Ref)
                ]
                acc = acc.join(t, preds)
            prefixes[m.alias] = prefix
            order.append(prefix + "_ord")
        self.matched = tuple(prefixes[m.alias] + "_key" for m in rule.match)
        table = acc.mutate(_mid=ibis.row_number())
        names: dict[str, Any] = {m.alias: RowV(m.type, prefixes[m.alias]) for m in rule.match}
        for c in rule.collect:
            names[c.alias] = LazyList(self.collection(c.type, c.where, prefixes))
        return Scope(table, ("_mid",), names)

    def source(self, type_: str, where: Sequence[Test], prefix: str, prefixes: Mapping[str, str], acc: Expr) -> Expr:
        """The rows of a type passing the tests that need no other pattern, columns renamed with ``prefix``."""
        t = self.tables.table(type_)
        conds = [self.test(t, type_, test, "", None) for test in where if not isinstance(test.operand, Ref)]
        if conds:
            t = t.filter(*conds)
        return t.rename({prefix + c: c for c in t.columns})

    def test(self, t: Expr, type_: str, test: Test, prefix: str, other: tuple[Expr, Mapping[str, str]] | None) -> Expr:
        col = t[prefix + test.field]
        if test.field in _OPEN:
            col = col.fill_null(_OPEN[test.field])
        operand = test.operand
        if isinstance(operand, Ref):
            assert other is not None
            acc, prefixes = other
            right = acc[prefixes[operand.alias] + operand.field]
            if operand.field in _OPEN:
                right = right.fill_null(_OPEN[operand.field])
            if test.op is Op.IN:
                raise Unsupported("'in' against a field of a matched fact in a match")
            return _compare_cols(test.op, col, right)
        assert isinstance(operand, Lit)
        value = operand.value
        if test.op is Op.IN:
            values = value if isinstance(value, tuple) else ()
            return col.isin(list(values)).fill_null(False) if values else ibis.literal(False)
        if value is None:
            if test.op is Op.EQ:
                return col.isnull()
            if test.op is Op.NE:
                return col.notnull()
            return ibis.literal(False)
        if isinstance(value, str) and col.type().is_date():
            return _compare_cols(test.op, col, _lit(date.fromisoformat(value)))
        return _compare_cols(test.op, col, _lit(value))

    def collection(self, type_: str, where: Sequence[Test], prefixes: Mapping[str, str]) -> Callable[[Scope], ListV]:
        def build(scope: Scope) -> ListV:
            p = self.fresh() + "_"
            t = self.source(type_, where, p, prefixes, None)
            cols = tuple(t.columns)
            refs = [test for test in where if isinstance(test.operand, Ref)]
            if not refs:
                return ListV(t, (), p + "_ord", RowV(type_, p), cols)
            st = scope.table
            j: Expr = None
            ins = [r for r in refs if r.op is Op.IN]
            if ins:
                first = ins[0]
                assert isinstance(first.operand, Ref)
                source_col = prefixes[first.operand.alias] + first.operand.field
                v = self.fresh()
                renamed = {self.fresh(): k for k in scope.keys}
                unnested = st.select(*scope.keys, **{v: st[source_col].unnest()}).distinct().rename(renamed)
                j = unnested.join(t, [unnested[v] == t[p + first.field]]).select(*renamed, *cols).view()
                j = st.join(j, [st[k] == j[new] for new, k in renamed.items()]).select(*st.columns, *cols).view()
                rest = [r for r in refs if r is not first]
            else:
                j = st.join(
                    t,
                    [self.test(t, type_, r, p, (st, prefixes)) for r in refs if r.op is Op.EQ][:1]
                    or [ibis.literal(True)],
                ).view()
                rest = [r for r in refs if r is not next((x for x in refs if x.op is Op.EQ), None)]
            conds = [self.test(j, type_, r, p, (j, prefixes)) for r in rest]
            if conds:
                j = j.filter(*conds)
            return ListV(j.select(*scope.keys, *cols), scope.keys, p + "_ord", RowV(type_, p), cols)

        return build

    # -- statements ----------------------------------------------------------------------------

    def block(self, stmts: Sequence[Any], scope: Scope) -> None:
        for stmt in stmts:
            kind = stmt.data
            c = stmt.children
            if kind == "def_stmt":
                self.define(stmt)
            elif kind == "let_stmt":
                scope.names[str(c[0])] = self.materialize(self.expr(c[1], scope), scope)
            elif kind == "when_stmt":
                if self.guard(c[0], scope) is False:
                    return
            elif kind == "judged_stmt":
                continue  # a note for explanations, not part of the output
            elif kind == "if_stmt":
                cond = self.expr(c[0], scope)
                then, otherwise = c[1].children, (c[2].children if c[2] is not None else [])
                if isinstance(cond, Const):
                    self.block(then if cond.value else otherwise, scope.sub())
                    continue
                yes = _truth(cond, scope.table)
                a = scope.sub()
                a.table = a.table.filter(yes)
                self.block(then, a)
                b = scope.sub()
                b.table = b.table.filter(~yes)
                self.block(otherwise, b)
            elif kind == "for_stmt":
                self.loop(str(c[0]), self.expr(c[1], scope), c[2:], scope)
            elif kind == "emit_stmt":
                self.emit(stmt, scope)
            else:  # pragma: no cover - the grammar has no other statement
                raise Unsupported(f"the statement {kind}")

    def guard(self, node: Any, scope: Scope) -> bool | None:
        """A ``when``: False when it is known to fail (the block ends), else the rows are narrowed."""
        if node.data == "or_" and _is_error(node.children[1]):
            left = self.expr(node.children[0], scope)
            message = self.error_message(node.children[1])
            if isinstance(left, Const):
                if left.value:
                    return None
                self.checks.append(Check(scope.table, message))
                return False
            ok = _truth(left, scope.table)
            self.checks.append(Check(scope.table.filter(~ok), message))
            scope.table = scope.table.filter(ok)
            return None
        cond = self.expr(node, scope)
        if isinstance(cond, Const):
            return None if cond.value else False
        scope.table = scope.table.filter(_truth(cond, scope.table))
        return None

    def error_message(self, node: Any) -> str:
        args = [a for a in node.children[1:] if a is not None]
        if len(args) != 1 or args[0].data != "string":
            raise Unsupported("error(…) with a message that is not a literal")
        return _unquote(str(args[0].children[0]))

    def materialize(self, v: Any, scope: Scope) -> Any:
        """A let's value kept as a column of the rows (computed once, named)."""
        if isinstance(v, Sc):
            name = self.fresh()
            cols = {name: v.fn(scope.table)}
            scale = v.scale
            if v.t is Decimal and not isinstance(v.scale, int):
                cols[name + "__scale"] = v.scale(scope.table)
                scale = _col(name + "__scale")
            scope.table = scope.table.mutate(**cols)
            return Sc(_col(name), v.t, v.sqls, scale)
        return v

    def on_keys(self, left: Any, right: Any, keys: Sequence[str]) -> Any:
        """``left`` joined to ``right`` on the key columns both have (``right``'s renamed apart first), or crossed
        with it where there are none."""
        if not keys:
            return left.cross_join(right)
        renamed = {self.fresh(): k for k in keys}
        right = right.rename(renamed)
        return left.join(right, [left[k] == right[new] for new, k in renamed.items()])

    def loop(self, var: str, source: Any, body: Sequence[Any], scope: Scope) -> None:
        lst = self.as_list(source, scope)
        inner = scope.sub()
        key = self.fresh()
        st = scope.table
        lt = lst.table
        j = self.on_keys(st, lt, lst.keys)
        number = ibis.row_number().over(group_by=[j[k] for k in scope.keys], order_by=[j[lst.ord]])
        inner.table = j.select(*st.columns, *lst.cols, **{key: number}).view()
        inner.keys = (*scope.keys, key)
        inner.names[var] = lst.elem
        self.block(body, inner)

    def emit(self, stmt: Any, scope: Scope) -> None:
        kind_tok, variant, *fields = stmt.children
        values = []
        for f in fields:
            if f is None:
                continue
            name_tok, value = f.children
            v = self.expr(value, scope)
            if isinstance(v, ListV):
                v = self.rows_column(v, scope)
            if isinstance(v, Sc):
                v = self.materialize(v, scope)
            elif not isinstance(v, Const):
                raise Unsupported(f"emitting {type(v).__name__} as the field {name_tok}")
            values.append((str(name_tok), v))
        self.emits.append(Emit(str(kind_tok), variant is not None, scope.table, tuple(values), self.matched))

    # -- lists ---------------------------------------------------------------------------------------

    def as_list(self, v: Any, scope: Scope) -> ListV:
        if isinstance(v, ListV):
            return v
        if isinstance(v, Const) and isinstance(v.value, (tuple, list, frozenset)):
            return self.const_list(v.value)
        if isinstance(v, Sc) and isinstance(v.t, RowsOf):
            st = scope.table
            t = st.select(*scope.keys, **{"_rows": v.fn(st), "_outer": ibis.literal(0, type="int64")})
            return self.unnest_rows(t, scope.keys, "_outer", "_rows", v.t)
        if isinstance(v, Sc) and isinstance(v.t, ListOf):
            st = scope.table
            p = self.fresh() + "_"
            pos = self.fresh()
            un = st.select(*scope.keys, **{p + "e": v.fn(st)}).unnest(p + "e", offset=pos)
            return ListV(un, scope.keys, pos, Sc(_col(p + "e"), v.t.of), (p + "e",))
        raise Unsupported("a list of this kind")

    def const_list(self, values: Any) -> ListV:
        """A list known when compiling, as rows (one per element, numbered in order) of a one-row table."""
        items = sorted(values, key=plain) if isinstance(values, frozenset) else list(values)
        p = self.fresh() + "_"
        order = p + "_ord"
        one = self.tables.one()
        numbers = one.select(**{order: ibis.literal(list(range(len(items))), type="array<int64>")}).unnest(order)
        at = numbers[order]
        if items and all(isinstance(x, Period) for x in items):
            years = ibis.literal([x.year for x in items], type="array<int64>")
            months = ibis.literal([x.month for x in items], type="array<int64>")
            t = numbers.select(order, **{p + "y": years[at], p + "m": months[at]})
            return ListV(t, (), order, PerV(_col(p + "y"), _col(p + "m")), (p + "y", p + "m"))
        kinds = {_type_of_const(x) for x in items}
        if len(kinds) > 1 or None in kinds:
            raise Unsupported("a list of mixed or unknown values")
        kind = kinds.pop() if kinds else str
        if kind is Decimal:
            raise Unsupported("a literal list of decimals")
        sql = {int: "int64", bool: "boolean", date: "date"}.get(kind, "string")
        elements = ibis.literal([plain(x) for x in items], type=f"array<{sql}>")
        t = numbers.select(order, **{p + "e": elements[at]})
        return ListV(t, (), order, Sc(_col(p + "e"), kind), (p + "e",))

    def list_of(self, node: Any, scope: Scope) -> ListV:
        return self.as_list(self.expr(node, scope), scope)

    def elem_cols(self, v: Any, t: Expr, p: str) -> tuple[dict[str, Expr], Any]:
        """The columns that hold an element value under prefix ``p``, and the element over them."""
        if isinstance(v, RowV):
            cols = {p + c[len(v.prefix) :]: t[c] for c in t.columns if c.startswith(v.prefix)}
            return cols, RowV(v.type, p)
        if isinstance(v, Const):
            v = _const_sc(v.value)
        if isinstance(v, Sc):
            cols = {p + "e": v.fn(t)}
            scale = v.scale
            if v.t is Decimal and not isinstance(v.scale, int):
                cols[p + "e__scale"] = v.scale(t)
                scale = _col(p + "e__scale")
            return cols, Sc(_col(p + "e"), v.t, v.sqls, scale)
        if isinstance(v, PerV):
            cols = {p + "y": v.year(t)}
            if v.month is not None:
                cols[p + "m"] = v.month(t)
            return cols, PerV(_col(p + "y"), _col(p + "m") if v.month is not None else None)
        if isinstance(v, TupV):
            out: dict[str, Expr] = {}
            parts = []
            for i, part in enumerate(v.parts):
                c, e = self.elem_cols(part, t, f"{p}{i}_")
                out.update(c)
                parts.append(e)
            return out, TupV(tuple(parts))
        raise Unsupported(f"a list of {type(v).__name__}")

    def comprehension(self, node: Any, scope: Scope) -> ListV:
        elem, var_tok, src, cond = node.children
        var = str(var_tok)
        lst = self.list_of(src, scope)
        try:
            return self.comprehend(lst, var, elem, cond, scope, joined=False)
        except _NeedsScope:
            return self.comprehend(lst, var, elem, cond, scope, joined=True)

    def comprehend(self, lst: ListV, var: str, elem: Any, cond: Any, scope: Scope, *, joined: bool) -> ListV:
        if joined:
            st, lt = scope.table, lst.table
            if lst.keys:
                renamed = {self.fresh(): k for k in lst.keys}
                lt = lt.rename(renamed)
                j = st.join(lt, [st[k] == lt[new] for new, k in renamed.items()])
                j = j.select(*st.columns, *_with_ord(lst)).view()
            else:
                j = st.cross_join(lt).select(*st.columns, *_with_ord(lst)).view()
            sub = Scope(j, (*scope.keys, lst.ord), {**scope.names, var: lst.elem})
            keys = scope.keys
        else:
            names: dict[str, Any] = {n: v for n, v in scope.names.items() if isinstance(v, (Const, FnDef))}
            names.update({n: _Outer() for n, v in scope.names.items() if n not in names})
            names[var] = lst.elem
            sub = Scope(lst.table, (*lst.keys, lst.ord), names)
            keys = lst.keys
        if cond is not None:
            c = self.expr(cond, sub)
            if isinstance(c, Const):
                if not c.value:
                    sub.table = sub.table.filter(ibis.literal(False))
            else:
                sub.table = sub.table.filter(_truth(c, sub.table))
        e = self.expr(elem, sub)
        p = self.fresh() + "_"
        cols, template = self.elem_cols(e, sub.table, p)
        table = sub.table.select(*keys, lst.ord, **{k: v for k, v in cols.items() if k != lst.ord})
        return ListV(table, keys, lst.ord, template, tuple(cols))

    def aggregate(self, lst: ListV, scope: Scope, metrics: Mapping[str, Callable[[Expr], Expr]]) -> None:
        t = lst.table
        exprs = {n: f(t) for n, f in metrics.items()}
        a = t.group_by(list(lst.keys)).aggregate(**exprs) if lst.keys else t.aggregate(**exprs)
        self.check_keys(lst, scope)
        scope.attach(a, lst.keys, list(metrics), self.fresh)

    def check_keys(self, lst: ListV, scope: Scope) -> None:
        if not set(lst.keys) <= set(scope.keys):  # pragma: no cover - lists are made in enclosing scopes
            raise Unsupported("a list used outside the scope it was made in")

    def pick(self, lst: ListV, index: int, scope: Scope) -> Any:
        """The element at ``index`` (negative from the end) of each row's list, as columns of the rows."""
        t = lst.table
        order = t[lst.ord] if index >= 0 else t[lst.ord].desc()
        group = [t[k] for k in lst.keys]
        number = (
            ibis.row_number().over(group_by=group, order_by=[order])
            if group
            else ibis.row_number().over(order_by=[order])
        )
        ranked = t.mutate(_n=number)
        ranked = ranked.filter(ranked._n == (index if index >= 0 else -index - 1))
        p = self.fresh() + "_"
        cols, template = self.elem_cols(lst.elem, ranked, p)
        self.check_keys(lst, scope)
        scope.attach(ranked.select(*lst.keys, **cols), lst.keys, list(cols), self.fresh)
        return template

    # -- expressions -------------------------------------------------------------------------------------

    def expr(self, node: Any, scope: Scope) -> Any:
        method = getattr(self, "x_" + node.data, None)
        if method is None:  # pragma: no cover - the grammar has no other expression
            raise Unsupported(f"the expression {node.data}")
        return method(node, scope)

    def x_number(self, node: Any, scope: Scope) -> Any:
        text = str(node.children[0])
        return Const(Decimal(text) if "." in text else int(text))

    def x_string(self, node: Any, scope: Scope) -> Any:
        return Const(_unquote(str(node.children[0])))

    def x_true(self, node: Any, scope: Scope) -> Any:
        return Const(True)

    def x_false(self, node: Any, scope: Scope) -> Any:
        return Const(False)

    def x_none(self, node: Any, scope: Scope) -> Any:
        return Const(None)

    def x_name(self, node: Any, scope: Scope) -> Any:
        name = str(node.children[0])
        if name in scope.names:
            v = scope.names[name]
            if isinstance(v, _Outer):
                raise _NeedsScope()
            if isinstance(v, LazyList):
                v = scope.names[name] = v.build(scope)
            return v
        if name == "frame":
            return Const(self.frame)
        if name == "period":
            return Const(self.frame.period)
        if name == "day":
            return Const(self.frame.day)
        if name == "deadline":
            return Const(self.rule.deadline)
        if name in self.functions:
            raise Unsupported(f"handing on the function {name!r}")
        raise Unsupported(f"the name {name!r}")  # pragma: no cover - the checker knows every name

    def x_attr(self, node: Any, scope: Scope) -> Any:
        base = self.expr(node.children[0], scope)
        name = str(node.children[1])
        return self.attr(base, name)

    def attr(self, base: Any, name: str) -> Any:
        if isinstance(base, Const):
            return Const(getattr(base.value, name))
        if isinstance(base, RowV):
            return self.field(base, name)
        if isinstance(base, Sc):
            if isinstance(base.t, type) and issubclass(base.t, enum.Enum):
                if name == "value":
                    return Sc(base.fn, str)
                members = list(base.t)
                results = {m: getattr(m, name) for m in members}
                kinds = {_type_of_const(r) for r in results.values()}
                if len(kinds) != 1 or Decimal in kinds:
                    raise Unsupported(f"the property {name!r} of {base.t.__name__}")
                kind = kinds.pop()
                fn = base.fn
                branches = [(m.value, _lit(r)) for m, r in results.items()]

                def prop(t: Expr, fn: Fn = fn, branches: Any = branches) -> Expr:
                    return fn(t).cases(*branches, else_=None)

                return Sc(prop, kind)
            if base.t is date and name in ("year", "month", "day"):
                fn = base.fn
                return Sc(lambda t: getattr(fn(t), name)().cast("int64"), int)
        if isinstance(base, PerV):
            if name == "year":
                return Sc(base.year, int)
            if name == "month" and base.month is not None:
                return Sc(base.month, int)
            if name in ("start", "end"):
                return self.period_day(base, name == "end")
        if isinstance(base, TableRowV):
            return self.table_output(base, name)
        raise Unsupported(f"the field {name!r} of {type(base).__name__}")

    def field(self, row: RowV, name: str) -> Any:
        cls = FACT_TYPES.get(row.type) or ITEM_TYPES[row.type]
        ftype = fields_of(cast(Any, cls)).get(name)
        col = row.prefix + name
        if name in attrs.fields_dict(cls):
            kinds = rows_field(cls, name)
            if kinds is not None:
                return Sc(_col(col), RowsOf(kinds))
            if ftype is Decimal:
                sqls = _decimal_scale(row.type, name)
                scale: Any = sqls
                if f"{row.type}.{name}" in self.tables.scaled:
                    scale = _col(col + "__scale")
                return Sc(_col(col), Decimal, sqls, scale)
            return Sc(_col(col), ftype)
        if name == "key" and row.type in ITEM_TYPES:
            return Sc(_col(row.prefix + "_key"), str)
        prop = _PROPERTIES.get((row.type, name))
        if prop is not None:
            return prop(self, row)
        raise Unsupported(f"the property {name!r} of {row.type}")

    def period_day(self, p: PerV, last: bool) -> Sc:
        year, month = p.year, p.month
        if month is None:
            return Sc(lambda t: ibis.date(year(t), 12 if last else 1, 31 if last else 1), date)
        if not last:
            return Sc(lambda t: ibis.date(year(t), month(t), 1), date)
        return Sc(lambda t: (ibis.date(year(t), month(t), 1) + ibis.interval(months=1)) - ibis.interval(days=1), date)

    def table_output(self, row: TableRowV, name: str) -> Any:
        table = row.table
        if name not in table.outputs:  # pragma: no cover - the checker knows the outputs
            raise Unsupported(f"the output {name!r}")
        values = [getattr(out, name) for _, out in table.rows]
        kinds = {_type_of_const(v) for v in values}
        if len(kinds) != 1 or Decimal in kinds or None in kinds:
            raise Unsupported(f"the table output {name!r} of mixed or decimal values")
        kind = kinds.pop()
        inputs = row.inputs

        def out(t: Expr) -> Expr:
            branches = []
            for conditions, result in table.rows:
                parts = [
                    self.equal(inp, Const(c), t) for inp, c in zip(inputs, conditions, strict=True) if c is not None
                ]
                cond = ibis.literal(True)
                for part in parts:
                    cond = cond & part
                branches.append((cond, _lit(getattr(result, name))))
            return ibis.cases(*branches, else_=None)

        return Sc(out, kind)

    def equal(self, a: Any, b: Any, t: Expr) -> Expr:
        v = self.compare(a, "==", b)
        if isinstance(v, Const):
            return ibis.literal(bool(v.value))
        return _truth(v, t)

    def x_index(self, node: Any, scope: Scope) -> Any:
        base = self.expr(node.children[0], scope)
        key = self.expr(node.children[1], scope)
        if isinstance(base, Const) and isinstance(key, Sc) and key.t is int and isinstance(base.value, tuple):
            # a constant list at a whole number of the facts: a choice among its elements (Python's negative
            # indexes count from the end; past either end there is no element)
            n = len(base.value)
            return _case_const(key.fn, [(i, base.value[i]) for i in range(-n, n)], "a constant list's elements")
        if not isinstance(key, Const) or not isinstance(key.value, int):
            raise Unsupported("an index that is not a whole number literal")
        if isinstance(base, Const):
            return Const(base.value[key.value])
        if isinstance(base, TupV):
            return base.parts[key.value]
        if isinstance(base, ListV):
            return self.pick(base, key.value, scope)
        raise Unsupported(f"indexing {type(base).__name__}")

    def x_list(self, node: Any, scope: Scope) -> Any:
        parts = [self.expr(c, scope) for c in node.children if c is not None]
        if all(isinstance(p, Const) for p in parts):
            return Const(tuple(p.value for p in parts))
        return self.row_list(parts, scope)

    def row_list(self, parts: Sequence[Any], scope: Scope) -> ListV:
        """A list display of values of the rows: one element per part, in order, for each row."""
        scalars = [self.scalar(x) for x in parts]
        kinds = {x.t for x in scalars if x is not None}
        if None in scalars or len(kinds) != 1 or Decimal in kinds or isinstance(next(iter(kinds)), ListOf):
            raise Unsupported("a list of values that are not constants, of different kinds or decimals")
        p = self.fresh() + "_"
        order = p + "_n"
        st = scope.table
        pieces = [
            st.select(*scope.keys, **{p + "e": x.fn(st), order: ibis.literal(i, type="int64")})
            for i, x in enumerate(scalars)
            if x is not None
        ]
        table = pieces[0]
        for piece in pieces[1:]:
            table = table.union(piece)
        return ListV(table, scope.keys, order, Sc(_col(p + "e"), kinds.pop()), (p + "e",))

    def x_tuple(self, node: Any, scope: Scope) -> Any:
        parts = [self.expr(c, scope) for c in node.children if c is not None]
        if all(isinstance(p, Const) for p in parts):
            return Const(tuple(p.value for p in parts))
        return TupV(tuple(parts))

    def x_comp(self, node: Any, scope: Scope) -> Any:
        return self.comprehension(node, scope)

    def x_neg(self, node: Any, scope: Scope) -> Any:
        v = self.expr(node.children[0], scope)
        if isinstance(v, Const):
            return Const(-v.value)
        if isinstance(v, Sc) and v.t in (int, Decimal):
            fn = v.fn
            return attrs.evolve(v, fn=lambda t: -fn(t))
        raise Unsupported("negating a value that is not a number")

    def x_not_(self, node: Any, scope: Scope) -> Any:
        v = self.expr(node.children[0], scope)
        if isinstance(v, Const):
            return Const(not v.value)
        return Sc(lambda t: ~_truth(v, t), bool)

    def x_and_(self, node: Any, scope: Scope) -> Any:
        return self.logic_op(node, scope, both=True)

    def x_or_(self, node: Any, scope: Scope) -> Any:
        return self.logic_op(node, scope, both=False)

    def logic_op(self, node: Any, scope: Scope, *, both: bool) -> Any:
        a = self.expr(node.children[0], scope)
        if isinstance(a, Const) and bool(a.value) != both:  # decided: the right side is never worked out
            return Const(bool(a.value))
        b = self.expr(node.children[1], scope)
        if isinstance(a, Const):
            return Const(bool(b.value)) if isinstance(b, Const) else Sc(lambda t: _truth(b, t), bool)
        if isinstance(b, Const):
            if bool(b.value) == both:
                return Sc(lambda t: _truth(a, t), bool)
            return Const(bool(b.value))
        if both:
            return Sc(lambda t: _truth(a, t) & _truth(b, t), bool)
        return Sc(lambda t: _truth(a, t) | _truth(b, t), bool)

    def x_ifelse(self, node: Any, scope: Scope) -> Any:
        c = self.expr(node.children[0], scope)
        if isinstance(c, Const):
            return self.expr(node.children[1] if c.value else node.children[2], scope)
        a = self.expr(node.children[1], scope)
        b = self.expr(node.children[2], scope)
        return self.choose(c, a, b)

    def choose(self, c: Any, a: Any, b: Any) -> Any:
        if isinstance(a, Const) and isinstance(b, Const) and a.value == b.value and type(a.value) is type(b.value):
            return a
        a2, b2 = self.scalar(a), self.scalar(b)
        if a2 is None and b2 is None:
            raise Unsupported("a choice between values that are not scalars")
        t = a2.t if a2 is not None else b2.t  # type: ignore[union-attr]
        if a2 is not None and b2 is not None and a2.t != b2.t:
            if {a2.t, b2.t} == {int, Decimal}:
                t = Decimal
            elif {a2.t, b2.t} - {str} and all(
                isinstance(x, type) and issubclass(x, (str, enum.Enum)) for x in (a2.t, b2.t)
            ):
                t = str  # text or a member of an enum: compared and written by the member's value
            else:
                raise Unsupported("a choice between values of different kinds")
        sa = _dec(a2) if t is Decimal and a2 is not None else a2
        sb = _dec(b2) if t is Decimal and b2 is not None else b2
        sqls = max(x.sqls for x in (sa, sb) if x is not None)
        sql_type = _decimal(sqls) if t is Decimal else None

        def value(tb: Expr) -> Expr:
            cond = _truth(c, tb)
            va = sa.fn(tb) if sa is not None else None
            vb = sb.fn(tb) if sb is not None else None
            present: Expr = va if va is not None else vb
            kind = sql_type or present.type()
            if va is None:
                va = ibis.null().cast(kind)
            if vb is None:
                vb = ibis.null().cast(kind)
            if sql_type is not None:
                va, vb = va.cast(sql_type), vb.cast(sql_type)
            return ibis.ifelse(cond, va, vb)

        scale: Any = 0
        if t is Decimal:
            scales = [x.scale if x is not None else 0 for x in (sa, sb)]
            if all(isinstance(s, int) for s in scales) and scales[0] == scales[1]:
                scale = scales[0]
            else:

                def scale(tb: Expr) -> Expr:
                    cond = _truth(c, tb)
                    return ibis.ifelse(cond, _scale_expr(scales[0], tb), _scale_expr(scales[1], tb))

        return Sc(value, t, sqls, scale)

    def scalar(self, v: Any) -> Sc | None:
        if isinstance(v, Const):
            return None if v.value is None else _const_sc(v.value)
        if isinstance(v, Sc):
            return v
        raise Unsupported(f"{type(v).__name__} where a single value is expected")

    def x_arith(self, node: Any, scope: Scope) -> Any:
        left, op_tok, right = node.children
        op = str(op_tok)
        if op == "/":
            raise Unsupported("a division outside round(…, places, rounding)")
        return self.arith(self.expr(left, scope), op, self.expr(right, scope), scope)

    def concat(self, a: ListV, b: ListV, scope: Scope) -> ListV:
        """``a + b``: the elements of ``a`` then those of ``b``, for each row."""
        ea, eb = a.elem, b.elem
        same = (isinstance(ea, Sc) and isinstance(eb, Sc) and ea.t == eb.t and (ea.t is not Decimal)) or (
            isinstance(ea, RowV) and isinstance(eb, RowV) and ea.type == eb.type
        )
        if not same:
            raise Unsupported("joining lists whose elements are of different kinds, or decimals")
        keys = a.keys if a.keys else b.keys
        for lst in (a, b):
            if lst.keys and lst.keys != keys:  # pragma: no cover - lists are made in enclosing scopes
                raise Unsupported("joining lists of different scopes")
        p = self.fresh() + "_"
        order = p + "_n"
        parts = []
        template: Any = None
        for side, lst in enumerate((a, b)):
            t = lst.table
            if keys and not lst.keys:  # the same list for every row: repeated for each
                rows = scope.table.select(*keys).distinct()
                t = rows.cross_join(t).view()
            group = [t[k] for k in keys]
            number = (
                ibis.row_number().over(group_by=group, order_by=[t[lst.ord]])
                if group
                else ibis.row_number().over(order_by=[t[lst.ord]])
            )
            cols, template = self.elem_cols(lst.elem, t, p)
            parts.append(t.select(*keys, **cols, **{order: number + ibis.literal(side * 2**40, type="int64")}))
        self.check_keys(ListV(parts[0], keys, order, template, ()), scope)
        joined = parts[0].union(parts[1])
        return ListV(joined, keys, order, template, tuple(c for c in joined.columns if c not in (*keys, order)))

    def arith(self, a: Any, op: str, b: Any, scope: Scope | None = None) -> Any:
        if op == "+" and scope is not None and (isinstance(a, ListV) or isinstance(b, ListV)):
            return self.concat(self.as_list(a, scope), self.as_list(b, scope), scope)
        if isinstance(a, Const) and isinstance(b, Const):
            x, y = a.value, b.value
            if op == "+" and (isinstance(x, str) or isinstance(y, str)):
                return Const(str(x) + str(y))
            return Const({"+": operator.add, "-": operator.sub, "*": operator.mul}[op](x, y))
        sa, sb = self.scalar(a), self.scalar(b)
        if sa is None or sb is None:
            raise Unsupported("arithmetic on none")
        if op == "+" and (sa.t is str or sb.t is str):
            fa, fb = _as_text(sa), _as_text(sb)
            return Sc(lambda t: fa(t).concat(fb(t)), str)
        if sa.t is int and sb.t is int:
            fa2, fb2 = sa.fn, sb.fn
            f = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]
            return Sc(lambda t: f(fa2(t), fb2(t)), int)
        if sa.t not in (int, Decimal) or sb.t not in (int, Decimal):
            raise Unsupported(f"{op} on values that are not numbers")
        da, db = _dec(sa), _dec(sb)
        f = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]
        fa3, fb3 = da.fn, db.fn
        if op == "*":
            sqls = da.sqls + db.sqls
            scale = _scale_op(da.scale, db.scale, operator.add)
        else:
            sqls = max(da.sqls, db.sqls)
            scale = _scale_op(da.scale, db.scale, _greatest)
        if sqls > 24:
            raise Unsupported("a product of decimals with more than 24 places")
        return Sc(lambda t: f(fa3(t), fb3(t)).cast(_decimal(sqls)), Decimal, sqls, scale)

    def x_compare(self, node: Any, scope: Scope) -> Any:
        left, op_tok, right = node.children
        return self.compare(self.expr(left, scope), str(op_tok), self.expr(right, scope))

    def compare(self, a: Any, op: str, b: Any) -> Any:
        f = _CMP[op]
        if isinstance(a, Const) and isinstance(b, Const):
            return Const(f(plain(a.value), plain(b.value)))
        if isinstance(a, (TupV, Const)) and isinstance(b, (TupV, Const)):
            pa = a.parts if isinstance(a, TupV) else tuple(Const(x) for x in a.value)
            pb = b.parts if isinstance(b, TupV) else tuple(Const(x) for x in b.value)
            return self.lexicographic(pa, op, pb)
        if (isinstance(a, Const) and a.value is None) or (isinstance(b, Const) and b.value is None):
            other = b if isinstance(a, Const) and a.value is None else a
            if isinstance(other, RowV) and op in ("==", "!="):
                present = _col(other.prefix + "_key")
                if op == "==":
                    return Sc(lambda t: present(t).isnull(), bool)
                return Sc(lambda t: present(t).notnull(), bool)
            s = self.scalar(other)
            if s is None:  # pragma: no cover - two constants are compared above
                raise Unsupported("a comparison of none with none")
            fn = s.fn
            if op == "==":
                return Sc(lambda t: fn(t).isnull(), bool)
            if op == "!=":
                return Sc(lambda t: fn(t).notnull(), bool)
            raise Unsupported(f"{op} with none")
        sa, sb = self.scalar(a), self.scalar(b)
        if sa is None or sb is None:  # pragma: no cover - handled above
            raise Unsupported("a comparison with none")
        fa, fb = sa.fn, sb.fn
        if op == "==":
            return Sc(lambda t: fa(t).identical_to(fb(t)), bool)
        if op == "!=":
            return Sc(lambda t: ~fa(t).identical_to(fb(t)), bool)
        return Sc(lambda t: f(fa(t), fb(t)), bool)

    def lexicographic(self, a: Sequence[Any], op: str, b: Sequence[Any]) -> Any:
        if len(a) != len(b) or not a:
            raise Unsupported("a comparison of pairs of different lengths")
        if op in ("==", "!="):
            result: Any = Const(True)
            for x, y in zip(a, b, strict=True):
                result = self.both(result, self.compare(x, "==", y))
            return result if op == "==" else self.negate(result)
        if len(a) == 1:
            return self.compare(a[0], op, b[0])
        # (a0, a1) < (b0, b1): a0 < b0, or a0 == b0 and (a1) < (b1); <= keeps its equality for the last part only
        head = self.compare(a[0], op[0], b[0])
        rest = self.lexicographic(a[1:], op, b[1:])
        return self.either(head, self.both(self.compare(a[0], "==", b[0]), rest))

    def both(self, a: Any, b: Any) -> Any:
        if isinstance(a, Const):
            return b if a.value else Const(False)
        if isinstance(b, Const):
            return a if b.value else Const(False)
        return Sc(lambda t: _truth(a, t) & _truth(b, t), bool)

    def either(self, a: Any, b: Any) -> Any:
        if isinstance(a, Const):
            return Const(True) if a.value else b
        if isinstance(b, Const):
            return Const(True) if b.value else a
        return Sc(lambda t: _truth(a, t) | _truth(b, t), bool)

    def negate(self, a: Any) -> Any:
        if isinstance(a, Const):
            return Const(not a.value)
        return Sc(lambda t: ~_truth(a, t), bool)

    def x_in_(self, node: Any, scope: Scope) -> Any:
        return self.member(node, scope)

    def x_not_in(self, node: Any, scope: Scope) -> Any:
        return self.negate(self.member(node, scope))

    def member(self, node: Any, scope: Scope) -> Any:
        a = self.expr(node.children[0], scope)
        b = self.expr(node.children[1], scope)
        if isinstance(b, Const):
            values = b.value
            if isinstance(a, Const):
                return Const(plain(a.value) in {plain(x) for x in values})
            sa = self.scalar(a)
            if sa is None:  # pragma: no cover - handled above
                raise Unsupported("'in' on none")
            plain_values = [plain(x) for x in values]
            if not plain_values:
                return Const(False)
            fa = sa.fn
            if any(x is None for x in plain_values):
                raise Unsupported("'in' a list holding none")
            return Sc(lambda t: fa(t).isin(plain_values).fill_null(False), bool)
        if isinstance(b, Sc) and isinstance(b.t, ListOf):
            sa = self.scalar(a)
            if sa is None:
                raise Unsupported("'in' on none")
            fa, fb = sa.fn, b.fn
            return Sc(lambda t: fb(t).contains(fa(t)).fill_null(False), bool)
        if isinstance(b, ListV):
            sa = self.scalar(a)
            if sa is None or not isinstance(b.elem, Sc):
                raise Unsupported("'in' a list of rows")
            e = b.elem
            found = self.fresh()
            v = self.fresh()
            semi = b.table.select(*b.keys, **{v: e.fn(b.table)}).distinct().mutate(**{found: ibis.literal(True)})
            self.check_keys(b, scope)
            probe = self.fresh()
            scope.table = scope.table.mutate(**{probe: sa.fn(scope.table)})
            st = scope.table
            renamed = {self.fresh(): k for k in (*b.keys, v)}
            o = semi.rename(renamed)
            preds = [st[k] == o[new] for new, k in renamed.items() if k != v]
            preds.append(st[probe] == o[next(n for n, k in renamed.items() if k == v)])
            scope.table = st.left_join(o, preds).select(*st.columns, found).view()
            return Sc(lambda t: t[found].fill_null(False), bool)
        raise Unsupported(f"'in' a {type(b).__name__}")

    # -- calls ------------------------------------------------------------------------------------------------

    def x_call(self, node: Any, scope: Scope) -> Any:
        name_tok, *raw = node.children
        name = str(name_tok)
        args = [a for a in raw if a is not None]
        if name == "param":
            return self.param(args, scope)
        if name == "table":
            table = self.decision_tables[_unquote(str(args[0].children[0]))]
            return TableRowV(table, tuple(self.expr(a, scope) for a in args[1:]))
        if name == "members":
            return Const(tuple(ENUMS[_unquote(str(args[0].children[0]))]))
        if name == "piecewise":
            return self.piecewise(args, scope)
        if name == "obligation_id":
            return self.obligation_id([self.expr(a, scope) for a in args])
        if name in self.functions:
            fn = self.functions[name]
            values = [self.expr(a, scope) for a in args]
            saved = {p: scope.names.get(p, _MISSING) for p in fn.params}
            scope.names.update(zip(fn.params, values, strict=True))
            try:
                return self.expr(fn.body, scope)
            finally:
                for p, old in saved.items():
                    if old is _MISSING:
                        del scope.names[p]
                    else:
                        scope.names[p] = old
        if name == "round":
            return self.round(args, scope)
        if name == "error":
            raise Unsupported("error(…) other than as `when condition or error(…)`")
        values = [self.expr(a, scope) for a in args]
        if all(isinstance(v, Const) for v in values) and name in BUILTINS and name not in _NEVER_FOLD:
            return self.fold(name, [v.value for v in values], scope)
        method = getattr(self, "b_" + name, None)
        if method is None:
            raise Unsupported(f"the built-in {name}(…) on values of the facts")
        return method(values, scope)

    def fold(self, name: str, values: list[Any], scope: Scope) -> Any:
        try:
            return Const(BUILTINS[name].fn(*values))
        except SwrulesError as err:
            message = str(err)
        except Exception as err:
            message = f"{name}(…) cannot be worked out on {values!r}: {err}"
        self.checks.append(Check(scope.table, message))
        return Const(None)

    def param(self, args: list[Any], scope: Scope) -> Any:
        prefix = _unquote(str(args[0].children[0]))
        if len(args) == 1:
            return Const(self.params[prefix])
        key = self.expr(args[1], scope)
        if isinstance(key, Const):
            return Const(self.params.get(f"{prefix}.{plain(key.value)}"))
        if isinstance(key, Sc) and isinstance(key.t, type) and issubclass(key.t, enum.Enum):
            names = [str(m.value) for m in key.t]  # an enum key names one of its members' values
        elif isinstance(key, Sc) and key.t is str:
            names = [k[len(prefix) + 1 :] for k in self.params if k.startswith(prefix + ".")]
        else:
            raise Unsupported("param(group, key) with a key of the facts that is not text")
        found = [(n, self.params[f"{prefix}.{n}"]) for n in names if self.params.get(f"{prefix}.{n}") is not None]
        if not found:
            return Const(None)
        return _case_const(key.fn, found, f"the parameters {prefix}.…")

    def obligation_id(self, values: list[Any]) -> Any:
        parts: list[Any] = [Const(self.ruleset), Const(self.rule.id), *values]
        if all(isinstance(p, Const) for p in parts):
            from swrules.items import obligation_id

            return Const(obligation_id(*(str(p.value) for p in parts)))
        fns = []
        for p in parts:
            s = self.scalar(p)
            if s is None or s.t is not str:
                raise Unsupported("obligation_id(…) of a part that is not text")
            fns.append(s.fn)

        def make(t: Expr) -> Expr:
            out: Expr = None
            for fn in fns:
                piece = fn(t).replace("%", "%25").replace("/", "%2F")
                out = piece if out is None else out.concat("/", piece)
            return out

        return Sc(make, str)

    def round(self, args: list[Any], scope: Scope) -> Any:
        places = self.expr(args[1], scope)
        how = self.expr(args[2], scope) if len(args) > 2 else Const("half_up")
        if not isinstance(places, Const) or not isinstance(how, Const):
            raise Unsupported("round(…) with places or rounding read from the facts")
        p = _scale_of(Decimal(places.value))
        return self.rounded(args[0], p, str(how.value), scope)

    def rounded(self, node: Any, p: int, how: str, scope: Scope) -> Any:
        """``round(node, p places, how)``: a choice rounds each branch; a division is worked out in integers."""
        if node.data == "ifelse":
            c = self.expr(node.children[0], scope)
            if isinstance(c, Const):
                return self.rounded(node.children[1] if c.value else node.children[2], p, how, scope)
            a = self.rounded(node.children[1], p, how, scope)
            b = self.rounded(node.children[2], p, how, scope)
            return self.choose(c, a, b)
        if node.data == "arith" and str(node.children[1]) == "/":
            num = self.expr(node.children[0], scope)
            den = self.expr(node.children[2], scope)
            return self.divide(num, den, p, how, node)
        v = self.expr(node, scope)
        if isinstance(v, Const):
            return self.fold("round", [v.value, str(Decimal(1).scaleb(-p)), how], scope)
        s = self.scalar(v)
        if s is None or s.t not in (int, Decimal):
            raise Unsupported("round(…) of a value that is not a number")
        d = _dec(s)
        return self.divide(d, Const(1), p, how, node)

    def divide(self, num: Any, den: Any, p: int, how: str, node: Any) -> Any:
        """``num / den`` rounded to ``p`` places, exactly: both scaled to whole numbers, divided with a remainder."""
        a, b = self.scalar(num), self.scalar(den)
        if a is None or b is None or a.t not in (int, Decimal) or b.t not in (int, Decimal):
            raise Unsupported("a division of values that are not numbers")
        if how not in ("half_up", "half_even", "down"):
            raise Unsupported(f"rounding {how!r}")
        sa = a.sqls if a.t is Decimal else 0
        sb = b.sqls if b.t is Decimal else 0
        e = sb - sa + p
        fa, fb = a.fn, b.fn

        def whole(fn: Fn, s: int, t: Expr) -> Expr:
            v = fn(t)
            if s:
                v = (v * ibis.literal(10**s, type=_decimal(0))).cast("int64")
            return v.cast("int64")

        def value(t: Expr) -> Expr:
            n, d = whole(fa, sa, t), whole(fb, sb, t)
            if e >= 0:
                n = n * ibis.literal(10**e, type="int64")
            else:
                d = d * ibis.literal(10 ** (-e), type="int64")
            negative = (n < 0) != (d < 0)
            n, d = n.abs(), d.abs()
            q, r = self.tables.quotient(n, d), n % d
            if how == "half_up":
                q = ibis.ifelse(r * 2 >= d, q + 1, q)
            elif how == "half_even":
                q = ibis.ifelse((r * 2 > d) | ((r * 2 == d) & (q % 2 == 1)), q + 1, q)
            q = ibis.ifelse(negative, -q, q)
            return q.cast(_decimal(0)) * ibis.literal(Decimal(1).scaleb(-p), type=_decimal(p))

        del node
        return Sc(lambda t: value(t).cast(_decimal(p)), Decimal, p, p)

    # built-ins on values of the facts

    def b_count(self, values: list[Any], scope: Scope) -> Any:
        lst = self.as_list(values[0], scope)
        name = self.fresh()
        self.aggregate(lst, scope, {name: lambda t: t.count()})
        return Sc(lambda t: t[name].fill_null(0), int)

    def _reduce(self, lst: ListV, scope: Scope, how: str) -> Sc:
        e = lst.elem
        if not isinstance(e, Sc):
            raise Unsupported(f"{how} of a list of rows")
        name = self.fresh()
        fn = e.fn
        self.aggregate(lst, scope, {name: lambda t: getattr(fn(t), how)()})
        if e.t is Decimal and not isinstance(e.scale, int):
            raise Unsupported(f"{how} of decimals whose places differ from row to row")
        return Sc(_col(name), e.t, e.sqls, e.scale)

    def b_sum(self, values: list[Any], scope: Scope) -> Any:
        lst = self.as_list(values[0], scope)
        e = lst.elem
        if not isinstance(e, Sc) or e.t not in (int, Decimal):
            raise Unsupported("sum of a list that is not of numbers")
        name = self.fresh()
        fn = e.fn
        metrics: dict[str, Callable[[Expr], Expr]] = {name: lambda t: fn(t).sum()}
        scale: Any = 0
        if e.t is Decimal and not isinstance(e.scale, int):
            sfn = e.scale
            metrics[name + "__scale"] = lambda t: sfn(t).max()
            scale = _greatest_fn(lambda t: t[name + "__scale"].fill_null(0), 0)
        elif e.t is Decimal and e.scale:  # the sum of no value is Decimal(0), of no places
            static = e.scale
            metrics[name + "__n"] = lambda t: t.count()
            scale = lambda t: ibis.ifelse(t[name + "__n"].fill_null(0) > 0, static, 0)  # noqa: E731
        self.aggregate(lst, scope, metrics)
        sqls = e.sqls if e.t is Decimal else 0
        return Sc(
            lambda t: t[name].cast(_decimal(sqls)).fill_null(Decimal(0)).cast(_decimal(sqls)), Decimal, sqls, scale
        )

    def _or_default(self, values: list[Any], scope: Scope, how: str) -> Any:
        lst = self.as_list(values[0], scope)
        got = self._reduce(lst, scope, how)
        default = values[1]
        return self.coalesce2(got, default)

    def coalesce2(self, got: Sc, default: Any) -> Any:
        d = self.scalar(default)
        if d is None:
            return got
        if d.t != got.t:
            raise Unsupported("a default of another kind than the list's elements")
        if got.t is Decimal and got.scale != d.scale:
            raise Unsupported("a decimal default with other places than the list's")
        fg, fd = got.fn, d.fn
        return attrs.evolve(got, fn=lambda t: ibis.coalesce(fg(t), fd(t)))

    def b_max_or(self, values: list[Any], scope: Scope) -> Any:
        return self._or_default(values, scope, "max")

    def b_min_or(self, values: list[Any], scope: Scope) -> Any:
        return self._or_default(values, scope, "min")

    def b_max(self, values: list[Any], scope: Scope) -> Any:
        return self.extreme(values, scope, "max")

    def b_min(self, values: list[Any], scope: Scope) -> Any:
        return self.extreme(values, scope, "min")

    def extreme(self, values: list[Any], scope: Scope, how: str) -> Any:
        if len(values) == 1:
            lst = self.as_list(values[0], scope)
            got = self._reduce(lst, scope, how)
            message = f"{how}(…) of an empty list"
            self.checks.append(Check(scope.table.filter(got.fn(scope.table).isnull()), message))
            return got
        scalars = [self.scalar(v) for v in values]
        if any(s is None for s in scalars):
            raise Unsupported(f"{how}(…) with none")
        kinds = {s.t for s in scalars if s is not None}
        if len(kinds) != 1 or Decimal in kinds:
            raise Unsupported(f"{how}(…) of decimals or of values of different kinds")
        fns = [s.fn for s in scalars if s is not None]
        pick = ibis.greatest if how == "max" else ibis.least
        return Sc(lambda t: pick(*(f(t) for f in fns)), kinds.pop())

    def b_any(self, values: list[Any], scope: Scope) -> Any:
        return self._quantified(values, scope, every=False)

    def b_all(self, values: list[Any], scope: Scope) -> Any:
        return self._quantified(values, scope, every=True)

    def _quantified(self, values: list[Any], scope: Scope, *, every: bool) -> Any:
        """any(xs) or all(xs): one aggregate per scope row; an empty collection is false for any, true for all."""
        lst = self.as_list(values[0], scope)
        name = self.fresh()
        e = lst.elem
        if every:
            self.aggregate(lst, scope, {name: lambda t: _truth(e, t).all()})
        else:
            self.aggregate(lst, scope, {name: lambda t: _truth(e, t).any()})
        return Sc(lambda t: t[name].fill_null(every), bool)

    def b_set(self, values: list[Any], scope: Scope) -> Any:
        lst = self.as_list(values[0], scope)
        if not isinstance(lst.elem, Sc):
            raise Unsupported("set(…) of rows")
        cols = [c for c in lst.cols]
        t = lst.table.select(*lst.keys, *cols).distinct()
        order = self.fresh()
        first = cols[0]
        t = t.mutate(**{order: t[first]})
        return ListV(t, lst.keys, order, lst.elem, tuple(cols))

    def b_sorted(self, values: list[Any], scope: Scope) -> Any:
        lst = self.as_list(values[0], scope)
        if isinstance(lst.elem, TupV) and all(
            isinstance(x, Sc) and not isinstance(x.t, (ListOf, RowsOf)) for x in lst.elem.parts
        ):
            # tuples in order of their parts, the list's own order breaking ties (Python's sort is stable)
            t = lst.table
            parts = [x.fn(t) for x in lst.elem.parts]
            group = [t[k] for k in lst.keys]
            order = self.fresh()
            number = ibis.row_number().over(group_by=group or None, order_by=[*parts, t[lst.ord]])
            t = t.mutate(**{order: number})
            return ListV(t.select(*lst.keys, *lst.cols, order), lst.keys, order, lst.elem, lst.cols)
        if not isinstance(lst.elem, Sc):
            raise Unsupported("sorted(…) of rows")
        order = self.fresh()
        t = lst.table.mutate(**{order: lst.elem.fn(lst.table)})
        return ListV(t.select(*lst.keys, *lst.cols, order), lst.keys, order, lst.elem, lst.cols)

    def b_first(self, values: list[Any], scope: Scope) -> Any:
        return self.pick(self.as_list(values[0], scope), 0, scope)

    def b_last(self, values: list[Any], scope: Scope) -> Any:
        return self.pick(self.as_list(values[0], scope), -1, scope)

    def b_min_per(self, values: list[Any], scope: Scope) -> Any:
        lst = self.as_list(values[0], scope)
        e = lst.elem
        if not (isinstance(e, TupV) and len(e.parts) == 2 and all(isinstance(x, Sc) for x in e.parts)):
            raise Unsupported("min_per(…) of something other than (key, value) pairs")
        k, v = e.parts
        if v.t is Decimal:
            raise Unsupported("min_per(…) of decimals")
        t = lst.table
        p = self.fresh() + "_"
        groups = [*lst.keys]
        kn = self.fresh()
        grouped = t.mutate(**{kn: k.fn(t)}).group_by([*groups, kn]).aggregate(**{p + "e": v.fn(t).min()})
        return ListV(grouped, lst.keys, kn, Sc(_col(p + "e"), v.t), (p + "e",))

    def b_coalesce(self, values: list[Any], scope: Scope) -> Any:
        scalars = [self.scalar(v) for v in values]
        present = [s for s in scalars if s is not None]
        kinds = {s.t for s in present}
        if len(kinds) != 1 or Decimal in kinds:
            raise Unsupported("coalesce(…) of decimals or of values of different kinds")
        kind = kinds.pop()
        fns = [s.fn for s in present]

        def pick(t: Expr) -> Expr:
            exprs = [f(t) for f in fns]
            if kind is str:
                exprs = [x.nullif("") for x in exprs]
            return ibis.coalesce(*exprs)

        return Sc(pick, kind)

    def b_decimal(self, values: list[Any], scope: Scope) -> Any:
        s = self.scalar(values[0])
        if s is not None and s.t is str:
            return self.decimal_of_text(s, scope)
        if s is None or s.t not in (int, Decimal):
            raise Unsupported("decimal(…) of a value that is not a number")
        return _dec(s)

    def decimal_of_text(self, s: Sc, scope: Scope) -> Sc:
        """decimal(text): the number the text writes, with as many places as it writes (at most _TEXT_PLACES)."""
        fn = s.fn
        pattern = rf"^[+-]?[0-9]+(\.[0-9]{{0,{_TEXT_PLACES}}})?$"
        bad = scope.table.filter(~fn(scope.table).re_search(pattern).fill_null(True))
        self.checks.append(Check(bad, f"decimal(…) of text that is not a number of at most {_TEXT_PLACES} places"))

        def value(t: Expr) -> Expr:
            text = fn(t)
            return ibis.ifelse(text.re_search(pattern), text, ibis.null().cast("string")).cast(_decimal(_TEXT_PLACES))

        def scale(t: Expr) -> Expr:
            text = fn(t)
            return ibis.ifelse(text.contains("."), text.split(".")[1].length(), 0).cast("int64")

        return Sc(value, Decimal, _TEXT_PLACES, scale)

    def b_text(self, values: list[Any], scope: Scope) -> Any:
        v = values[0]
        if isinstance(v, PerV):
            year, month = v.year, v.month
            if month is None:
                return Sc(lambda t: year(t).cast("string").lpad(4, "0"), str)
            return Sc(
                lambda t: year(t).cast("string").lpad(4, "0").concat("-", month(t).cast("string").lpad(2, "0")), str
            )
        s = self.scalar(v)
        if s is None:
            return Const("None")
        if s.t is Decimal and not isinstance(s.scale, int):
            raise Unsupported("text(…) of a decimal whose places differ from row to row")
        if s.t is bool:
            raise Unsupported("text(…) of true or false")
        return Sc(_as_text(s), str)

    def b_year(self, values: list[Any], scope: Scope) -> Any:
        return self.attr(values[0], "year")

    def b_month(self, values: list[Any], scope: Scope) -> Any:
        return self.attr(values[0], "month")

    def b_period(self, values: list[Any], scope: Scope) -> Any:
        y = self.scalar(values[0])
        m = self.scalar(values[1]) if len(values) > 1 else None
        if y is None or y.t is not int or (m is not None and m.t is not int):
            raise Unsupported("period(…) of values that are not whole numbers")
        self.period_check(y, m, scope)
        return PerV(y.fn, m.fn if m is not None else None)

    def period_check(self, y: Sc, m: Sc | None, scope: Scope) -> None:
        t = scope.table
        bad = (y.fn(t) < 1900) | (y.fn(t) > 2999)
        if m is not None:
            bad = bad | (m.fn(t) < 1) | (m.fn(t) > 12)
        self.checks.append(Check(t.filter(bad.fill_null(True)), "period(…) of a year or month out of range"))

    def b_month_of(self, values: list[Any], scope: Scope) -> Any:
        s = self.scalar(values[0])
        if s is None or s.t is not date:
            raise Unsupported("month_of(…) of a value that is not a date")
        fn = s.fn
        return PerV(lambda t: fn(t).year().cast("int64"), lambda t: fn(t).month().cast("int64"))

    def b_first_day(self, values: list[Any], scope: Scope) -> Any:
        if not isinstance(values[0], PerV):
            raise Unsupported("first_day(…) of a value that is not a period")
        return self.period_day(values[0], False)

    def b_last_day(self, values: list[Any], scope: Scope) -> Any:
        if not isinstance(values[0], PerV):
            raise Unsupported("last_day(…) of a value that is not a period")
        return self.period_day(values[0], True)

    def b_in_force(self, values: list[Any], scope: Scope) -> Any:
        row, d = values
        if not isinstance(row, RowV):
            raise Unsupported("in_force(…) of a value that is not a fact or item")
        s = self.scalar(d)
        if s is None or s.t is not date:
            raise Unsupported("in_force(…) on a day that is not a date")
        start, end, fd = row.prefix + "valid_from", row.prefix + "valid_until", s.fn

        def test(t: Expr) -> Expr:
            day = fd(t)
            return (t[start].isnull() | (t[start] <= day)) & (t[end].isnull() | (day <= t[end]))

        return Sc(test, bool)

    def rows_column(self, lst: ListV, scope: Scope) -> Sc:
        """A list of tuples as one column of the rows (a list of structs, in the list's order; empty for none)."""
        e = lst.elem
        if not isinstance(e, TupV) or not all(isinstance(x, Sc) for x in e.parts):
            raise Unsupported("a list of values other than tuples as a field")
        kinds: list[Any] = []
        fields: dict[str, Callable[[Expr], Expr]] = {}
        for i, part in enumerate(e.parts):
            if part.t not in (int, str, bool, date, Decimal):
                raise Unsupported("a list of tuples of values other than numbers, text, dates and true or false")
            kinds.append(part.t)
            if part.t is Decimal:
                fields[f"p{i}"] = _cast_fn(part.fn, _decimal(ITEM_DECIMAL_SCALE))
                fields[f"p{i}__scale"] = _scale_fn(part.scale)
            else:
                fields[f"p{i}"] = part.fn
        rows = RowsOf(tuple(kinds))
        name = self.fresh()
        t = lst.table

        def collect(t: Expr) -> Expr:
            # In the list's order: collected with the order first, sorted (structs compare field by field), the
            # order dropped. An ordered aggregate (collect(order_by=...)) is not portable: Ibis has none on Spark.
            keyed = ibis.struct({"_o": t[lst.ord], **{k: f(t) for k, f in fields.items()}})
            return keyed.collect().sort().map(lambda s: ibis.struct({k: s[k] for k in fields}))

        self.aggregate(lst, scope, {name: collect})
        empty = ibis.literal([], type=dt.Array(_rows_struct(rows)))
        del t
        return Sc(lambda t: ibis.coalesce(t[name], empty), rows)

    def unnest_rows(self, t: Expr, keys: Sequence[str], outer: str, col: str, rows: RowsOf) -> ListV:
        """The tuples of a rows column ``col`` of ``t`` as a list: in order of ``outer``, then of the column."""
        p = self.fresh() + "_"
        pos = self.fresh()
        un = t.select(*keys, outer, **{"_one": t[col]}).unnest("_one", offset=pos)
        group = [un[k] for k in keys]
        number = ibis.row_number().over(group_by=group or None, order_by=[un[outer], un[pos]])
        cols: dict[str, Expr] = {p + "_n": number}
        parts: list[Any] = []
        for i, kind in enumerate(rows.kinds):
            cols[f"{p}{i}"] = un["_one"][f"p{i}"]
            if kind is Decimal:
                cols[f"{p}{i}__scale"] = un["_one"][f"p{i}__scale"]
                parts.append(Sc(_col(f"{p}{i}"), Decimal, ITEM_DECIMAL_SCALE, _col(f"{p}{i}__scale")))
            else:
                parts.append(Sc(_col(f"{p}{i}"), kind))
        table = un.select(*keys, **cols)
        return ListV(table, tuple(keys), p + "_n", TupV(tuple(parts)), tuple(cols))

    def b_flatten(self, values: list[Any], scope: Scope) -> Any:
        lst = self.as_list(values[0], scope)
        e = lst.elem
        if not isinstance(e, Sc) or not isinstance(e.t, RowsOf):
            raise Unsupported("flatten(…) of lists other than lists of tuples")
        t = lst.table
        outer = self.fresh()
        t = t.select(*lst.keys, **{outer: t[lst.ord], "_rows": e.fn(t)})
        return self.unnest_rows(t, lst.keys, outer, "_rows", e.t)

    def b_change_days(self, values: list[Any], scope: Scope) -> Any:
        """The days on which a version of the collections starts or stops being in force (in order, once each)."""
        lists = [self.as_list(v, scope) for v in values]
        if not all(isinstance(lst.elem, RowV) for lst in lists):
            raise Unsupported("change_days(…) of values that are not facts or items")
        keys = next((lst.keys for lst in lists if lst.keys), ())
        p = self.fresh() + "_"
        pieces = []
        for lst in lists:
            if lst.keys and lst.keys != keys:  # pragma: no cover - lists are made in enclosing scopes
                raise Unsupported("change_days(…) of lists of different scopes")
            t = lst.table
            if keys and not lst.keys:
                t = scope.table.select(*keys).distinct().cross_join(t).view()
            assert isinstance(lst.elem, RowV)
            start, end = t[lst.elem.prefix + "valid_from"], t[lst.elem.prefix + "valid_until"]
            pieces.append(t.filter(start.notnull()).select(*keys, **{p + "d": start}))
            pieces.append(t.filter(end.notnull()).select(*keys, **{p + "d": end + ibis.interval(days=1)}))
        table = pieces[0]
        for piece in pieces[1:]:
            table = table.union(piece)
        table = table.distinct()
        self.check_keys(ListV(table, keys, p + "d", None, ()), scope)
        return ListV(table, keys, p + "d", Sc(_col(p + "d"), date), (p + "d",))

    def piecewise(self, args: list[Any], scope: Scope) -> Any:
        """piecewise(first, last, days, f): f worked out on the first day of each stretch between change days,
        the stretches of a value that is not zero kept, neighbours of equal value merged (the last one's places
        kept, as the native engine keeps the last value of a merged run)."""
        if len(args) != 4 or args[3].data != "name" or str(args[3].children[0]) not in self.functions:
            raise Unsupported("piecewise(…) whose rate is not a function of the ruleset")
        fn = self.functions[str(args[3].children[0])]
        if len(fn.params) != 1:
            raise Unsupported("piecewise(…) of a function of other than one day")
        first, last = self.scalar(self.expr(args[0], scope)), self.scalar(self.expr(args[1], scope))
        if first is None or last is None or first.t is not date or last.t is not date:
            raise Unsupported("piecewise(…) from or to a value that is not a date")
        days = self.as_list(self.expr(args[2], scope), scope)
        if not isinstance(days.elem, Sc) or days.elem.t is not date:
            raise Unsupported("piecewise(…) on change days that are not dates")
        self.check_keys(days, scope)
        p = self.fresh() + "_"
        a, b = p + "first", p + "last"
        scope.table = scope.table.mutate(**{a: first.fn(scope.table), b: last.fn(scope.table)})
        st = scope.table
        rows = st.filter(st[a] <= st[b]).select(*scope.keys, a, b)
        dt_ = days.table
        j = self.on_keys(rows, dt_, days.keys)
        day = days.elem.fn
        j = j.select(*scope.keys, a, b, **{"_d": day(j)}).view()
        inside = j.filter((j["_d"] > j[a]) & (j["_d"] <= j[b])).select(*scope.keys, **{p + "s": j["_d"]})
        starts = rows.select(*scope.keys, **{p + "s": rows[a]}).union(inside).distinct()
        # each start a row of an inner scope, as a loop over the starts would make
        inner = scope.sub()
        key = self.fresh()
        renamed = {self.fresh(): k for k in scope.keys}
        sr = starts.rename(renamed)
        joined = st.join(sr, [st[k] == sr[new] for new, k in renamed.items()])
        inner.table = joined.select(*st.columns, p + "s").view()
        inner.table = inner.table.mutate(**{key: inner.table[p + "s"]})
        inner.keys = (*scope.keys, key)
        saved = {q: inner.names.get(q, _MISSING) for q in fn.params}
        inner.names[fn.params[0]] = Sc(_col(p + "s"), date)
        value = self.scalar(self.expr(fn.body, inner))
        del saved
        if value is None or value.t not in (int, Decimal):
            raise Unsupported("piecewise(…) of a function whose value is not a number")
        v = self.materialize(_dec(value), inner)
        assert isinstance(v, Sc)
        it = inner.table
        scale_col = p + "scale"
        t = it.select(*scope.keys, p + "s", b, **{p + "v": v.fn(it), scale_col: _scale_expr(v.scale, it)})
        group = [t[k] for k in scope.keys]
        w = ibis.window(group_by=group, order_by=[t[p + "s"]])
        t = t.mutate(
            **{
                p + "e": ibis.coalesce(t[p + "s"].lead().over(w) - ibis.interval(days=1), t[b]),
                p + "new": (~t[p + "v"].identical_to(t[p + "v"].lag().over(w))).cast("int64"),
            }
        )
        w2 = ibis.cumulative_window(group_by=[t[k] for k in scope.keys], order_by=[t[p + "s"]])
        t = t.mutate(**{p + "run": t[p + "new"].sum().over(w2)})
        t = t.filter(t[p + "v"].notnull() & (t[p + "v"] != 0))
        t = t.group_by([*scope.keys, p + "run"]).aggregate(
            **{
                p + "0": t[p + "s"].min(),
                p + "1": t[p + "e"].max(),
                p + "2": t[p + "v"].max(),
                p + "2__scale": t[scale_col].argmax(t[p + "s"]),
            }
        )
        t = t.select(*scope.keys, p + "0", p + "1", p + "2", p + "2__scale")
        parts = (
            Sc(_col(p + "0"), date),
            Sc(_col(p + "1"), date),
            Sc(_col(p + "2"), Decimal, v.sqls, _col(p + "2__scale")),
        )
        return ListV(t, scope.keys, p + "0", TupV(parts), (p + "0", p + "1", p + "2", p + "2__scale"))

    def b_month_rate(self, values: list[Any], scope: Scope) -> Any:
        """month_rate(month, stretches, how): a month's amount from day-by-day rates, and how it was judged."""
        month, how = values[0], values[2]
        if not isinstance(month, PerV) or not isinstance(how, Const):
            raise Unsupported("month_rate(…) of a value that is not a period, or read as the facts say")
        lst = self.as_list(values[1], scope)
        e = lst.elem
        if not (
            isinstance(e, TupV)
            and len(e.parts) == 3
            and all(isinstance(x, Sc) for x in e.parts)
            and [x.t for x in e.parts] == [date, date, Decimal]
        ):
            raise Unsupported("month_rate(…) of stretches that are not (first day, last day, amount)")
        self.check_keys(lst, scope)
        p = self.fresh() + "_"
        ms, me = self.period_day(month, False), self.period_day(month, True)
        scope.table = scope.table.mutate(**{p + "ms": ms.fn(scope.table), p + "me": me.fn(scope.table)})
        st = scope.table
        here = st.select(*scope.keys, p + "ms", p + "me")
        lt = lst.table
        j = self.on_keys(here, lt, lst.keys)
        j = j.select(*scope.keys, p + "ms", p + "me", *_with_ord(lst)).view()
        fa, fb, fr = (cast(Sc, x).fn for x in e.parts)
        rate_part = e.parts[2]
        assert isinstance(rate_part, Sc)
        sqls, rscale = rate_part.sqls, rate_part.scale
        j = j.filter((fa(j) <= j[p + "me"]) & (fb(j) >= j[p + "ms"]))
        j = j.select(
            *scope.keys,
            **{
                p + "a": ibis.greatest(fa(j), j[p + "ms"]),
                p + "b": ibis.least(fb(j), j[p + "me"]),
                p + "r": fr(j),
                p + "rs": _scale_expr(rscale, j),
                p + "o": j[lst.ord],
            },
        ).view()
        days_in = p + "days"
        scope.table = scope.table.mutate(
            **{days_in: scope.table[p + "me"].delta(scope.table[p + "ms"], unit="day").cast("int64") + 1}
        )
        label = self.b_text([month], scope)
        assert isinstance(label, Sc)
        mode = str(how.value)
        lst_keys = scope.keys
        clipped = ListV(j, lst_keys, p + "o", None, ())
        group = [j[k] for k in lst_keys]
        zero = ibis.literal(Decimal(0), type=_decimal(sqls))
        if mode == "whole_month":
            covered = self.fresh()
            self.aggregate(clipped, scope, {covered: lambda t: (t[p + "b"].delta(t[p + "a"], unit="day") + 1).sum()})
            n = ibis.row_number().over(group_by=group, order_by=[j[p + "r"], j[p + "o"]])
            low = j.mutate(_n=n)
            low = low.filter(low._n == 0)
            self.check_keys(clipped, scope)
            scope.attach(low, lst_keys, [p + "r", p + "rs"], self.fresh)
            full = lambda t: t[covered].fill_null(0) == t[days_in]  # noqa: E731
            text = ": every day of the month"
        elif mode in ("month_end", "month_start"):
            at = p + ("me" if mode == "month_end" else "ms")
            sj = scope.table.select(*lst_keys, at)
            renamed = {self.fresh(): k for k in lst_keys}
            sr = sj.rename(renamed)
            jj = j.join(sr, [j[k] == sr[new] for new, k in renamed.items()]).select(*j.columns, at).view()
            jj = jj.filter((jj[p + "a"] <= jj[at]) & (jj[at] <= jj[p + "b"]))
            n = ibis.row_number().over(group_by=[jj[k] for k in lst_keys], order_by=[jj[p + "o"]])
            hit = jj.mutate(_n=n)
            hit = hit.filter(hit._n == 0)
            scope.attach(hit, lst_keys, [p + "r", p + "rs"], self.fresh)
            full = lambda t: t[p + "r"].notnull()  # noqa: E731
            text = ": on "
        elif mode == "prorated":
            total, tscale = self.fresh(), self.fresh()
            self.aggregate(
                clipped,
                scope,
                {
                    total: lambda t: (t[p + "r"] * (t[p + "b"].delta(t[p + "a"], unit="day") + 1)).sum(),
                    tscale: lambda t: t[p + "rs"].max(),
                },
            )
            amount = self.divide(
                Sc(lambda t: t[total].fill_null(Decimal(0)).cast(_decimal(sqls)), Decimal, sqls, sqls),
                Sc(_col(days_in), int),
                2,
                "half_up",
                None,
            )
            fl = label.fn
            return TupV(
                (
                    amount,
                    Sc(lambda t: fl(t).concat(": prorated over its ", t[days_in].cast("string"), " days"), str),
                )
            )
        else:
            raise Unsupported(f"month_rate(…) read as {mode!r}")
        fl = label.fn
        full_fn: Fn = full

        def amount_value(t: Expr) -> Expr:
            return ibis.ifelse(full_fn(t), t[p + "r"].cast(_decimal(sqls)), zero)

        def amount_scale(t: Expr) -> Expr:
            return ibis.ifelse(full_fn(t), t[p + "rs"], ibis.literal(0, type="int64"))

        if mode == "whole_month":
            judged = Sc(lambda t: fl(t).concat(text), str)
        else:
            at_day = p + ("me" if mode == "month_end" else "ms")
            judged = Sc(lambda t: fl(t).concat(text, t[at_day].strftime("%Y-%m-%d")), str)
        return TupV((Sc(amount_value, Decimal, sqls, amount_scale), judged))

    def b_version_on(self, values: list[Any], scope: Scope) -> Any:
        """The first element of a collection in force on a day, as columns of the rows (none where none is)."""
        lst = self.as_list(values[0], scope)
        day = self.scalar(values[1])
        if not isinstance(lst.elem, RowV) or day is None or day.t is not date:
            raise Unsupported("version_on(…) of values that are not facts or items and a date")
        self.check_keys(lst, scope)
        probe = self.fresh()
        st = scope.table.mutate(**{probe: day.fn(scope.table)})
        scope.table = st
        here = st.select(*scope.keys, probe)
        lt = lst.table
        j = self.on_keys(here, lt, lst.keys)
        j = j.select(*scope.keys, probe, *_with_ord(lst)).view()
        start, end = lst.elem.prefix + "valid_from", lst.elem.prefix + "valid_until"
        d = j[probe]
        j = j.filter((j[start].isnull() | (j[start] <= d)) & (j[end].isnull() | (d <= j[end])))
        return self.pick(ListV(j, scope.keys, lst.ord, lst.elem, lst.cols), 0, scope)

    def b_key(self, values: list[Any], scope: Scope) -> Any:
        row = values[0]
        if not isinstance(row, RowV):
            raise Unsupported("key(…) of a value that is not a fact or item")
        return Sc(_col(row.prefix + "_key"), str)

    def b_days_between(self, values: list[Any], scope: Scope) -> Any:
        a, b = self.scalar(values[0]), self.scalar(values[1])
        if a is None or b is None or a.t is not date or b.t is not date:
            raise Unsupported("days_between(…) of values that are not dates")
        fa, fb = a.fn, b.fn
        return Sc(lambda t: fb(t).delta(fa(t), unit="day").cast("int64"), int)

    def b_add_days(self, values: list[Any], scope: Scope) -> Any:
        a, n = self.scalar(values[0]), self.scalar(values[1])
        if a is None or n is None or a.t is not date or n.t is not int:
            raise Unsupported("add_days(…) of values that are not a date and a whole number")
        fa, fn = a.fn, n.fn
        return Sc(lambda t: fa(t) + fn(t).as_interval("D"), date)

    def b_abs(self, values: list[Any], scope: Scope) -> Any:
        s = self.scalar(values[0])
        if s is None or s.t not in (int, Decimal):
            raise Unsupported("abs(…) of a value that is not a number")
        fn = s.fn
        return attrs.evolve(s, fn=lambda t: fn(t).abs())


_NEVER_FOLD: Final = frozenset({"error"})
#: The most places decimal(…) reads from a text of the facts (the scale of the SQL type it is read into).
_TEXT_PLACES: Final = 10
_MISSING: Final = object()


class _Outer:
    """A name of the enclosing scope, seen from a comprehension not (yet) joined to it."""


@ibis.udf.scalar.builtin(name="divide")  # type: ignore[untyped-decorator]
def _divide(a: int, b: int) -> int:  # type: ignore[empty-body]
    """DuckDB's whole-number division (``//`` in Ibis goes through a floating point quotient)."""


@ibis.udf.scalar.builtin(name="div")  # type: ignore[untyped-decorator]
def _div(a: int, b: int) -> int:  # type: ignore[empty-body]
    """Spark's whole-number division (``a div b``), as ``divide`` on DuckDB."""


def _with_ord(lst: ListV) -> tuple[str, ...]:
    return lst.cols if lst.ord in lst.cols else (*lst.cols, lst.ord)


def _is_error(node: Any) -> bool:
    return isinstance(node, lark.Tree) and node.data == "call" and str(node.children[0]) == "error"


def _col(name: str) -> Fn:
    return lambda t: t[name]


def _compare_cols(op: Op, left: Expr, right: Expr) -> Expr:
    if op is Op.EQ:
        return left.identical_to(right)
    if op is Op.NE:
        return ~left.identical_to(right)
    return _CMP[_OPS[op]](left, right).fill_null(False)


def _dec(s: Sc) -> Sc:
    if s.t is Decimal:
        return s
    fn = s.fn
    return Sc(lambda t: fn(t).cast(_decimal(0)), Decimal, 0, 0)


def _cast_fn(fn: Fn, to: dt.DataType) -> Fn:
    return lambda t: fn(t).cast(to)


def _scale_fn(scale: Any) -> Fn:
    return lambda t: _scale_expr(scale, t)


def _scale_expr(scale: Any, t: Expr) -> Expr:
    return ibis.literal(scale, type="int64") if isinstance(scale, int) else scale(t)


def _scale_op(a: Any, b: Any, f: Callable[[Any, Any], Any]) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return f(a, b)
    return lambda t: f(_scale_expr(a, t), _scale_expr(b, t))


def _greatest(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return ibis.greatest(a, b)


def _greatest_fn(fn: Fn, floor: int) -> Fn:
    return lambda t: ibis.greatest(fn(t), ibis.literal(floor, type="int64"))


def _as_text(s: Sc) -> Fn:
    fn = s.fn
    if s.t is str or (isinstance(s.t, type) and issubclass(s.t, enum.Enum)):
        return fn
    if s.t is date:
        return lambda t: fn(t).strftime("%Y-%m-%d")
    if s.t is int:
        return lambda t: fn(t).cast("string")
    if s.t is Decimal and isinstance(s.scale, int):
        scale = s.scale
        return lambda t: fn(t).cast(_decimal(scale)).cast("string")
    raise Unsupported(f"text of a value of kind {getattr(s.t, '__name__', s.t)}")


def rows_field(cls: Any, name: str) -> tuple[Any, ...] | None:
    """The kinds of the parts of a field holding a tuple of fixed-size tuples (``tuple[tuple[date, Decimal], ...]``),
    else None."""
    import typing

    hint = typing.get_type_hints(cls).get(name)
    if typing.get_origin(hint) is not tuple:
        return None
    args = typing.get_args(hint)
    if len(args) != 2 or args[1] is not Ellipsis or typing.get_origin(args[0]) is not tuple:
        return None
    kinds = typing.get_args(args[0])
    if not kinds or not all(k in (int, str, bool, date, Decimal) for k in kinds):
        return None
    return tuple(kinds)


_STRUCT_SQL: Final = {int: "BIGINT", str: "VARCHAR", bool: "BOOLEAN", date: "DATE"}


def _rows_struct(rows: RowsOf) -> dt.DataType:
    fields: dict[str, Any] = {}
    for i, kind in enumerate(rows.kinds):
        if kind is Decimal:
            fields[f"p{i}"] = _decimal(ITEM_DECIMAL_SCALE)
            fields[f"p{i}__scale"] = dt.int64
        else:
            fields[f"p{i}"] = {int: dt.int64, str: dt.string, bool: dt.boolean, date: dt.date}[kind]
    return dt.Struct(fields)


def rows_sql(kinds: tuple[Any, ...]) -> str:
    """The DuckDB type of a column holding a list of tuples of ``kinds`` (see :class:`RowsOf`)."""
    parts = []
    for i, kind in enumerate(kinds):
        if kind is Decimal:
            parts += [f"p{i} DECIMAL(38,{ITEM_DECIMAL_SCALE})", f"p{i}__scale BIGINT"]
        else:
            parts.append(f"p{i} {_STRUCT_SQL[kind]}")
    return f"STRUCT({', '.join(parts)})[]"


def rows_arrow(sql: str) -> Any:
    """The Arrow type of a column of type ``sql``, as :func:`rows_sql` writes it."""
    import pyarrow as pa

    fields = []
    for part in sql[len("STRUCT(") : -len(")[]")].split(", "):
        name, kind = part.split(" ", 1)
        if kind.startswith("DECIMAL"):
            fields.append(pa.field(name, pa.decimal128(_DEC, ITEM_DECIMAL_SCALE)))
        else:
            fields.append(
                pa.field(
                    name,
                    {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "BOOLEAN": pa.bool_(), "DATE": pa.date32()}[kind],
                )
            )
    return pa.list_(pa.struct(fields))


def rows_to_column(kinds: tuple[Any, ...], value: Any) -> Any:
    """A tuple of tuples as the column's value: a list of dicts, each decimal with its places beside it."""
    if value is None:
        return None
    out = []
    for row in value:
        d: dict[str, Any] = {}
        for i, (kind, x) in enumerate(zip(kinds, row, strict=True)):
            d[f"p{i}"] = x
            if kind is Decimal:
                d[f"p{i}__scale"] = None if x is None else _scale_of(Decimal(x))
        out.append(d)
    return out


def rows_from_column(kinds: tuple[Any, ...], value: Any) -> Any:
    """The column's value (a list of dicts) as a tuple of tuples, each decimal given back its places."""
    if value is None:
        return None
    out = []
    for d in value:
        row = []
        for i, kind in enumerate(kinds):
            x = d[f"p{i}"]
            if kind is Decimal and x is not None:
                x = Decimal(x).quantize(Decimal(1).scaleb(-d[f"p{i}__scale"]))
            row.append(x)
        out.append(tuple(row))
    return tuple(out)


def _case_const(key: Fn, branches: Sequence[tuple[Any, Any]], what: str) -> Sc:
    """The value of ``branches`` (match, value) whose match equals ``key``'s, none where no match does."""
    kinds = {_type_of_const(v) for _, v in branches}
    if len(kinds) != 1 or None in kinds:
        raise Unsupported(f"{what} of mixed or unknown kinds")
    kind = kinds.pop()
    pairs = [(_lit(plain(m)), v) for m, v in branches]
    if kind is not Decimal:
        return Sc(lambda t: key(t).cases(*((m, _lit(v)) for m, v in pairs), else_=None), kind)
    scales = [_scale_of(v) for _, v in pairs]
    sqls = max(scales)
    sql = _decimal(sqls)

    def value(t: Expr) -> Expr:
        return key(t).cases(*((m, _lit(v).cast(sql)) for m, v in pairs), else_=ibis.null().cast(sql))

    if len(set(scales)) == 1:
        return Sc(value, Decimal, sqls, sqls)

    def scale(t: Expr) -> Expr:
        return key(t).cases(
            *((m, ibis.literal(x, type="int64")) for (m, _), x in zip(pairs, scales, strict=True)), else_=0
        )

    return Sc(value, Decimal, sqls, scale)


def _decimal_scale(type_: str, field: str) -> int:
    if type_ in FACT_TYPES:
        from swrules.columnar._schema import HOURS_SCALE, columns

        for c in columns(type_):
            if c.name == field:
                return 2 if c.kind == "money" else HOURS_SCALE
    return ITEM_DECIMAL_SCALE


#: The scale of the decimal columns of item tables (their own scale is kept beside them).
ITEM_DECIMAL_SCALE: Final = 10


def _certified(c: _Compiler, row: RowV) -> Sc:
    return Sc(lambda t: t[row.prefix + "top_level"].notnull(), bool)


def _holder_certified(c: _Compiler, row: RowV) -> Sc:
    return Sc(lambda t: t[row.prefix + "holder_level"].notnull(), bool)


def _held_rank(c: _Compiler, row: RowV) -> Any:
    return c.attr(c.field(row, "level"), "rank")


#: Properties of item classes, as columns (a property not listed here is refused).
_PROPERTIES: Final[dict[tuple[str, str], Callable[[_Compiler, RowV], Any]]] = {
    ("person_status", "certified"): _certified,
    ("post_status", "holder_certified"): _holder_certified,
    ("held", "rank"): _held_rank,
}


@contextlib.contextmanager
def unfused() -> Iterator[None]:
    """Ibis compiling without fusing a select into the selects that read it: a plan reads the rows of a rule
    from many places (each aggregate joined back), and fusing copies them into each (SQL growing exponentially
    with the statements of a rule); kept apart, each is a common table expression DuckDB plans once."""
    options = ibis.options.sql
    before = options.fuse_selects
    options.fuse_selects = False
    try:
        yield
    finally:
        options.fuse_selects = before


def compile_rule_plan(
    ruleset: str,
    rule: BoundRule,
    logic: str,
    functions: Sequence[str],
    frame: TimeFrame,
    tables: Tables,
    decision_tables: Mapping[str, DecisionTable],
) -> RulePlan:
    """The plan of one bound rule over ``tables``; a construct not compiled raises ColumnarUnsupportedError."""
    try:
        return _Compiler(ruleset, rule, logic, functions, frame, tables, decision_tables).compile()
    except Unsupported as err:
        raise ColumnarUnsupportedError(ruleset, rule.id, err.construct) from None
