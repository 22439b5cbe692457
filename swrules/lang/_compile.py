"""Compile a rule of the language into a :class:`~swrules.ir.RuleDef`: patterns into tests, the rest into closures.

Everything a rule names is checked here, once, at load: aliases, fact and item types, fields, parameters,
item kinds, enum values, built-ins, tables. Every problem is collected (none stops the check), each with the
text it is about and a did-you-mean. Expressions become Python closures over a scope dict, built once; a
firing runs them and never walks a tree.
"""

from __future__ import annotations

import decimal
import difflib
import enum
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, cast

import attrs
import lark

from swrules.context import Context
from swrules.errors import RuleExpressionError, SwrulesError
from swrules.ir import Collect, Lit, Match, Op, Operand, Param, ParamSpec, Ref, RuleDef, Test
from swrules.items import ITEM_TYPES, Finding, ObligationKind
from swrules.lang._builtins import BUILTINS, member, plain, text_of
from swrules.lang._grammar import GRAMMAR
from swrules.lang._tables import Table
from swrules.lang._types import ENUMS, SCHEMAS, ListOf, field_type, fields_of, type_name
from swrules.period import Period, TimeFrame

__all__ = ["Problem", "compile_rule", "evaluate_expression", "parse"]

Fn = Callable[[dict[str, Any]], Any]

_PARSER: lark.Lark | None = None


def _parser() -> lark.Lark:
    global _PARSER
    if _PARSER is None:
        _PARSER = lark.Lark(GRAMMAR, start="program", parser="lalr", propagate_positions=True)
    return _PARSER


@attrs.frozen
class Problem:
    """One thing wrong with a rule: the text it is about and what is wrong."""

    text: str
    message: str
    #: The index of the ruleset's function text the problem is in, or -1 when it is in the rule itself.
    origin: int = -1

    def __str__(self) -> str:
        return f"{self.message} (in `{self.text}`)" if self.text else self.message


class _Failed(Exception):
    """Raised inside the compiler after a problem is noted, to skip the rest of one expression."""


def parse(source: str) -> tuple[lark.Tree[Any] | None, list[Problem]]:
    try:
        return _parser().parse(source), []
    except lark.exceptions.UnexpectedInput as err:
        line = source.splitlines()[err.line - 1] if 0 < err.line <= len(source.splitlines()) else ""
        expected = sorted(getattr(err, "expected", ()) or getattr(err, "allowed", ()) or ())
        hint = f"; expected one of {', '.join(expected[:8])}" if expected else ""
        return None, [Problem(line.strip(), f"cannot read the rule at line {err.line}, column {err.column}{hint}")]
    except lark.exceptions.LarkError as err:  # pragma: no cover - other parser failures
        return None, [Problem("", f"cannot read the rule: {err}")]


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


_CMP: Final = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPS: Final = {"==": Op.EQ, "!=": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE}
_FLIP: Final = {Op.EQ: Op.EQ, Op.NE: Op.NE, Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}
_ARITH: Final = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_SPECIAL: Final = {"frame": TimeFrame, "period": Period, "day": date, "deadline": date}
_CTX: Final = "__ctx"
_P: Final = "__params"
_PARAM_TYPES: Final = {
    "money": Decimal,
    "decimal": Decimal,
    "int": int,
    "month": int,
    "bool": bool,
    "str": str,
    "year_month": str,
    "date": date,
    "str_list": ListOf(str),
    "table": None,
}

# Step kinds of a compiled body.
_LET, _WHEN, _EMIT, _JUDGED, _FOR, _IF = range(6)
_MISSING: Final = object()


def _div(a: Any, b: Any) -> Decimal:
    return Decimal(a) / Decimal(b)


@attrs.frozen
class _Function:
    params: tuple[str, ...]
    body: Fn
    params_read: Mapping[str, ParamSpec]
    literal_reads: frozenset[str]
    #: The scope key of each parameter.
    keys: tuple[str, ...]
    #: Whether the body reads no fact (only its arguments, parameters and the period): its value for the same
    #: arguments is the same throughout an evaluation.
    pure: bool


class _Compiler:
    def __init__(
        self,
        rule_id: str,
        source: str,
        param_specs: Mapping[str, ParamSpec],
        tables: Mapping[str, Table],
        functions: Sequence[str],
        broken_tables: frozenset[str] = frozenset(),
    ) -> None:
        self.rule_id = rule_id
        self.broken_tables = broken_tables
        #: A part of the rule names something whose own problems are reported elsewhere (a broken table).
        self.quietly_failed = False
        self.source = source
        self.param_specs = param_specs
        self.tables = tables
        self.problems: list[Problem] = []
        self.params_read: dict[str, ParamSpec] = {}
        self.literal_reads: set[str] = set()
        self.optional: set[str] = set()
        self.keyed: set[str] = set()
        self.match: list[Match] = []
        self.collect: list[Collect] = []
        self.emits: set[str] = set()
        self.functions: dict[str, _Function] = {}
        self.types: dict[str, Any] = {}
        self.matched: list[str] = []
        self.collected: list[str] = []
        self.ruleset_functions = functions
        #: The scope key of each visible name: its own name, or ``function.param`` for a function's parameter
        #: (each function's parameters have keys of their own, so a call binds them without saving the caller's).
        self.keys: dict[str, str] = {}
        #: Scope keys whose value depends on no fact: the parameters, the period and literals only.
        self.fact_free: set[str] = set()
        #: How many reads of a fact-dependent name were compiled so far (a count that does not move while an
        #: expression compiles means the expression depends on no fact).
        self.fact_reads = 0
        #: How deep the compiler is in a function's body or a comprehension's element: there, an expression that
        #: reads no fact may still read the function's arguments or the element, and is not kept.
        self.inner = 0
        #: Names bound more than once (a let repeated, a loop variable): never taken as fact-free.
        self.rebound: set[str] = set()
        #: Whether fact-free values are kept per evaluation (off for a bare expression, which has no context).
        self.caching = True
        #: The closures that read a local name (and a path of fields on it): its scope key and the getter of the
        #: path, so that a comparison or a call on it reads it in place, one closure fewer.
        self.readers: dict[Fn, tuple[str, Callable[[Any], Any] | None]] = {}
        #: Closures cheaper than keeping their value (a parameter read): never kept per evaluation.
        self.cheap: set[Fn] = set()

    # -- problems ------------------------------------------------------------------

    def text(self, node: Any) -> str:
        meta = getattr(node, "meta", None)
        if meta is not None and not getattr(meta, "empty", True):
            return " ".join(self.source[meta.start_pos : meta.end_pos].split())
        if isinstance(node, lark.Token):
            return str(node)
        return ""

    def fail(self, node: Any, message: str) -> _Failed:
        self.problems.append(Problem(self.text(node), message))
        return _Failed()

    # -- the program -------------------------------------------------------------

    def program(self, tree: lark.Tree[Any]) -> list[tuple[Any, ...]]:
        for index, source in enumerate(self.ruleset_functions):
            sub, problems = parse(source)
            before = len(self.problems)
            self.problems.extend(problems)
            if sub is not None:
                rule_source, self.source = self.source, source
                try:
                    for stmt in sub.children:
                        if stmt.data != "def_stmt":
                            self.fail(stmt, "only function definitions (def) may stand among a ruleset's functions")
                        else:
                            try:
                                self.statement(stmt)
                            except _Failed:
                                pass
                finally:
                    self.source = rule_source
            self.problems[before:] = [attrs.evolve(p, origin=index) for p in self.problems[before:]]
        bound = [str(n.children[0]) for n in tree.iter_subtrees() if n.data in ("let_stmt", "for_stmt")]
        self.rebound = {n for n in bound if bound.count(n) > 1}
        stmts = list(tree.children)
        body_start = 0
        for i, stmt in enumerate(stmts):
            if stmt.data in ("match_stmt", "collect_stmt"):
                if i != body_start:
                    self.fail(stmt, "match and collect come first, before let, when, emit and for")
                body_start = i + 1
                self.pattern(stmt)
        if not self.matched:
            self.problems.append(Problem("", "a rule needs at least one match"))
        steps = self.block(stmts[body_start:])
        if not self.emits:
            self.problems.append(Problem("", "a rule must emit something"))
        return steps

    def block(self, stmts: Sequence[lark.Tree[Any]]) -> list[tuple[Any, ...]]:
        steps: list[tuple[Any, ...]] = []
        for stmt in stmts:
            try:
                step = self.statement(stmt)
            except _Failed:
                continue
            if step is not None:
                steps.append(step)
        return steps

    def statement(self, stmt: lark.Tree[Any]) -> tuple[Any, ...] | None:
        kind = stmt.data
        c = stmt.children
        if kind in ("match_stmt", "collect_stmt"):
            raise self.fail(stmt, "match and collect come first, before let, when, emit and for")
        if kind == "let_stmt":
            name = str(c[0])
            self.check_new_name(c[0])
            self.types.setdefault(name, None)  # a let that fails to compile still names something
            self.keys.pop(name, None)
            self.fact_free.discard(name)
            before = self.fact_reads
            fn, t = self.expr(c[1])
            self.types[name] = t
            if self.fact_reads == before and name not in self.rebound:
                self.fact_free.add(name)
                if self.caching and not _is_literal(c[1]) and fn not in self.cheap:
                    fn = _per_evaluation(fn)
            return (_LET, name, fn)
        if kind == "when_stmt":
            return (_WHEN, self.truth(c[0]))
        if kind == "judged_stmt":
            fn, _ = self.expr(c[0])
            return (_JUDGED, fn)
        if kind == "for_stmt":
            name = str(c[0])
            self.check_new_name(c[0])
            self.types.setdefault(name, None)
            self.keys.pop(name, None)
            self.fact_free.discard(name)
            fn, t = self.expr(c[1])
            self.types[name] = t.of if isinstance(t, ListOf) else None
            return (_FOR, name, fn, self.block(c[2:]))
        if kind == "if_stmt":
            fn = self.truth(c[0])
            then = self.block(c[1].children)
            otherwise = self.block(c[2].children) if c[2] is not None else []
            return (_IF, fn, then, otherwise)
        if kind == "def_stmt":
            fname = str(c[0])
            if fname in BUILTINS or fname in ("param", "obligation_id", "table", "members"):
                raise self.fail(c[0], f"{fname!r} is a built-in function; choose another name")
            args = [a for a in c[1:-1] if a is not None]
            params = tuple(str(a.children[0]) for a in args)
            saved_types, saved_reads, saved_literal = dict(self.types), self.params_read, self.literal_reads
            saved_keys, saved_free = dict(self.keys), set(self.fact_free)
            self.params_read, self.literal_reads = {}, set()
            keys = tuple(f"{fname}.{p}" for p in params)  # no name has a dot: these keys are the function's own
            try:
                for a, key in zip(args, keys, strict=True):
                    tname = a.children[1]
                    if tname is not None and str(tname) not in SCHEMAS:
                        self.fail(tname, f"no fact or item type {str(tname)!r}{_hint(str(tname), SCHEMAS)}")
                    self.types[str(a.children[0])] = SCHEMAS.get(str(tname)) if tname is not None else None
                    self.keys[str(a.children[0])] = key
                    self.fact_free.add(key)
                before = self.fact_reads
                self.inner += 1
                try:
                    body, _ = self.expr(c[-1])
                except _Failed:  # noted; a placeholder keeps every call of it from failing again
                    self.functions[fname] = _Function(params, _constant(None), {}, frozenset(), keys, False)
                    raise
                finally:
                    self.inner -= 1
                pure = self.fact_reads == before
                reads, literal = self.params_read, frozenset(self.literal_reads)
            finally:
                self.types, self.params_read, self.literal_reads = saved_types, saved_reads, saved_literal
                self.keys, self.fact_free = saved_keys, saved_free
            self.functions[fname] = _Function(params, body, reads, literal, keys, pure)
            return None
        if kind == "emit_stmt":
            return self.emit(stmt)
        raise self.fail(stmt, f"unknown statement {kind}")  # pragma: no cover - the grammar has no other

    def check_new_name(self, token: Any) -> None:
        name = str(token)
        if name in self.matched or name in self.collected or name in _SPECIAL:
            raise self.fail(token, f"{name!r} already names a pattern or a built-in value; choose another name")

    def pattern(self, stmt: lark.Tree[Any]) -> None:
        pat = stmt.children[0]
        alias_tok, type_tok, where = pat.children
        alias, type_name_ = str(alias_tok), str(type_tok)
        if alias in self.types or alias in _SPECIAL:
            self.fail(alias_tok, f"alias {alias!r} is used twice")
            return
        cls = SCHEMAS.get(type_name_)
        if cls is None:
            self.fail(type_tok, f"no fact or item type {type_name_!r}{_hint(type_name_, SCHEMAS)}")
        tests: list[Test] = []
        collecting = stmt.data == "collect_stmt"
        if where is not None and cls is not None:
            for conjunct in self.conjuncts(where):
                try:
                    tests.append(self.test(alias, cls, conjunct))
                except _Failed:
                    pass
        if collecting:
            self.collect.append(Collect(alias, type_name_, tuple(tests)))
            self.collected.append(alias)
            self.types[alias] = ListOf(cls)
        else:
            self.match.append(Match(alias, type_name_, tuple(tests)))
            self.matched.append(alias)
            self.types[alias] = cls

    @staticmethod
    def conjuncts(node: lark.Tree[Any]) -> Iterator[lark.Tree[Any]]:
        if isinstance(node, lark.Tree) and node.data == "and_":
            for child in node.children:
                yield from _Compiler.conjuncts(child)
        else:
            yield node

    def test(self, alias: str, cls: type, node: Any) -> Test:
        """One condition of a pattern as a test the engines run: ``alias.field op operand``."""
        if not isinstance(node, lark.Tree) or node.data not in ("compare", "in_"):
            raise self.fail(node, "a pattern's condition compares a field: alias.field op value, joined by 'and'")
        if node.data == "compare":
            left, op_tok, right = node.children
            op = _OPS[str(op_tok)]
        else:
            left, right = node.children
            op = Op.IN
        if not self.own_field(alias, left) and op is not Op.IN and self.own_field(alias, right):
            left, right, op = right, left, _FLIP[op]
        if not self.own_field(alias, left):
            raise self.fail(node, f"a condition of pattern {alias!r} starts with a field of {alias!r} ({alias}.field)")
        field = str(left.children[1])
        known, ftype = field_type(cls, field)
        if not known:
            raise self.fail(left, f"{type_name(cls)} has no field {field!r}{_hint(field, fields_of(cls))}")
        return Test(field, op, self.operand(right, ftype, op))

    def own_field(self, alias: str, node: Any) -> bool:
        return (
            isinstance(node, lark.Tree)
            and node.data == "attr"
            and isinstance(node.children[0], lark.Tree)
            and node.children[0].data == "name"
            and str(node.children[0].children[0]) == alias
        )

    def operand(self, node: Any, ftype: Any, op: Op) -> Operand:
        data = node.data if isinstance(node, lark.Tree) else ""
        if data in ("string", "number", "true", "false", "none"):
            fn, _ = self.expr(node)
            value = fn({})
            if isinstance(value, Decimal):
                raise self.fail(node, "a pattern compares with whole numbers only; compare decimals after 'let'")
            self.check_literal(node, ftype, value)
            return Lit(value)
        if data == "list":
            values = []
            for child in node.children:
                if child is None:
                    continue
                fn, _ = self.expr(child)
                v = fn({})
                if not isinstance(v, str):
                    raise self.fail(child, "a list in a pattern holds text only")
                self.check_literal(child, ftype, v)
                values.append(v)
            return Lit(tuple(values))
        if data == "call" and str(node.children[0]) == "param":
            args = [a for a in node.children[1:] if a is not None]
            if len(args) != 1:
                raise self.fail(node, 'a pattern reads a parameter by its whole name: param("a.b")')
            name = self.param_name(args[0])
            self.params_read[name] = self.param_specs[name]
            self.literal_reads.add(name)
            return Param(name)
        if data == "attr":
            base, field_tok = node.children
            field = str(field_tok)
            if isinstance(base, lark.Tree) and base.data == "name":
                name = str(base.children[0])
                if name in ("day", "period") and len(node.children) == 2:
                    ok, _ = field_type(_SPECIAL[name] if name != "day" else date, field)
                    if name == "period" and field not in ("start", "end", "year", "month"):
                        ok = False
                    if not ok:
                        raise self.fail(node, f"{name} has no {field!r}")
                    return Param(f"{name}.{field}")
                if name in self.matched:
                    cls = self.types[name]
                    known, _ = field_type(cls, field)
                    if not known:
                        raise self.fail(node, f"{type_name(cls)} has no field {field!r}{_hint(field, fields_of(cls))}")
                    return Ref(name, field)
                raise self.fail(base, f"{name!r} is not a pattern matched before this one{_hint(name, self.matched)}")
        if data == "name" and str(node.children[0]) == "day":
            return Param("day")
        raise self.fail(
            node, "a pattern compares with a literal, a parameter, day/period values or a field of an earlier match"
        )

    def check_literal(self, node: Any, ftype: Any, value: Any) -> None:
        if isinstance(ftype, ListOf):
            ftype = ftype.of
        if isinstance(ftype, type) and issubclass(ftype, enum.Enum) and isinstance(value, str):
            values = [m.value for m in ftype]
            if value not in values and ftype is ObligationKind:
                raise self.fail(
                    node,
                    f"an obligation's kind must be one of {', '.join(values)} (got {value!r}){_hint(value, values)} "
                    "The kinds are a closed list, part of the output every consumer reads: a new kind of payment "
                    "needs a new kind in swrules itself (swrules.items.ObligationKind and the interchange contract); "
                    "until then, emit the nearest kind (the obligation names its rule and clause)",
                )
            if value not in values:
                raise self.fail(node, f"{value!r} is not a value of {type_name(ftype)}{_hint(value, values)}")

    def param_name(self, node: Any) -> str:
        if not (isinstance(node, lark.Tree) and node.data == "string"):
            raise self.fail(node, 'a parameter is named by a literal string: param("a.b")')
        name = _unquote(str(node.children[0]))
        if name not in self.param_specs:
            raise self.fail(node, f"no parameter {name!r} is declared{_hint(name, self.param_specs)}")
        return name

    # -- emit ------------------------------------------------------------------------

    def emit(self, stmt: lark.Tree[Any]) -> tuple[Any, ...]:
        kind_tok, variant, *fields = stmt.children
        kind = str(kind_tok)
        cls = ITEM_TYPES.get(kind)
        if cls is None:
            raise self.fail(kind_tok, f"no item kind {kind!r}{_hint(kind, ITEM_TYPES)}")
        self.emits.add(kind)
        at_least = variant is not None
        if at_least and (cls is not Finding or str(variant) != "at_least"):
            raise self.fail(variant, "the only constructor variant is finding.at_least")
        known = fields_of(cast(Any, cls))
        init = {f.name: f for f in attrs.fields(cls) if f.init and f.name not in ("rule", "clause")}
        allowed = {"subject", "requirement", "actual", "required", "person"} if at_least else set(init)
        compiled: list[tuple[str, Fn, Callable[[Any], Any] | None]] = []
        seen: set[str] = set()
        for f in fields:
            if f is None:
                continue
            name_tok, value = f.children
            name = str(name_tok)
            if name not in allowed:
                self.fail(name_tok, f"{kind} has no field {name!r}{_hint(name, allowed)}")
                continue
            seen.add(name)
            ftype = known.get(name)
            try:
                member = self.enum_literal(value, ftype)
                if member is not None:
                    compiled.append((name, _constant(member), None))
                    continue
                fn, vtype = self.expr(value)
            except _Failed:
                continue
            needed = not at_least and vtype != ftype  # a value of the field's own type needs no conversion
            compiled.append((name, fn, _converter(ftype) if needed else None))
        required = (
            {"subject", "requirement", "actual", "required"}
            if at_least
            else {n for n, f in init.items() if f.default is attrs.NOTHING}
        )
        missing = sorted(required - seen)
        if missing:
            self.fail(stmt, f"emit {kind} lacks {', '.join(missing)}")
        make: Callable[..., Any] = Finding.at_least if at_least else cls

        names = tuple(name for name, _, _ in compiled)
        fns = tuple(fn if conv is None else self.converted(fn, conv) for _, fn, conv in compiled)
        return (_EMIT, make, names, fns)

    def converted(self, fn: Fn, conv: Callable[[Any], Any]) -> Fn:
        reader = self.readers.get(fn)
        if reader is not None:
            key, get = reader
            if get is None:
                return lambda s: conv(s[key])
            return lambda s: conv(get(s[key]))
        return lambda s: conv(fn(s))

    # -- expressions ---------------------------------------------------------------------

    def truth(self, node: Any) -> Fn:
        """A condition, compiled for its truth alone: ``and``/``or``/``not`` short-circuit on the values as they
        come, with no truth value made of each part (a guard, a branch, a comprehension's filter)."""
        data = node.data if isinstance(node, lark.Tree) else ""
        before = self.fact_reads
        test = self.truth_of(node, data)
        constant = self.caching and not self.inner and self.fact_reads == before
        if constant and data in ("and_", "or_", "not_", "compare", "in_", "not_in"):
            return _per_evaluation(test)  # a condition on parameters alone: once per evaluation
        return test

    def truth_of(self, node: Any, data: str) -> Fn:
        if data == "and_":
            a, b = self.truth(node.children[0]), self.truth(node.children[1])
            return lambda s: a(s) and b(s)
        if data == "or_":
            a, b = self.truth(node.children[0]), self.truth(node.children[1])
            return lambda s: a(s) or b(s)
        if data == "not_":
            inner = node.children[0]
            inner_data = inner.data if isinstance(inner, lark.Tree) else ""
            if inner_data in ("and_", "or_"):  # ``not (a or b)``, ``not (a and b)``: one closure
                a, b = self.truth(inner.children[0]), self.truth(inner.children[1])
                if inner_data == "or_":
                    return lambda s: not (a(s) or b(s))
                return lambda s: not (a(s) and b(s))
            a = self.truth(inner)
            return lambda s: not a(s)
        return self.expr(node)[0]

    def expr(self, node: Any) -> tuple[Fn, Any]:
        if isinstance(node, lark.Token):  # pragma: no cover - the grammar wraps every token
            raise self.fail(node, "unexpected token")
        method = getattr(self, "x_" + node.data, None)
        if method is None:  # pragma: no cover
            raise self.fail(node, f"unknown expression {node.data}")
        result: tuple[Fn, Any] = method(node)
        return result

    def x_number(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        text = str(node.children[0])
        value: Any = Decimal(text) if "." in text else int(text)
        return (lambda s: value), type(value)

    def x_string(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        value = _unquote(str(node.children[0]))
        return (lambda s: value), str

    def x_true(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        return (lambda s: True), bool

    def x_false(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        return (lambda s: False), bool

    def x_none(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        return (lambda s: None), None

    def x_name(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        name = str(node.children[0])
        if name in self.types:
            key = self.keys.get(name, name)
            if key not in self.fact_free:
                self.fact_reads += 1
            get = operator.itemgetter(key)
            self.readers[get] = (key, None)
            self.cheap.add(get)
            return get, self.types[name]
        if name == "frame":
            return (lambda s: s[_CTX].frame), TimeFrame
        if name == "period":
            return (lambda s: s[_CTX].period), Period
        if name == "day":
            return (lambda s: s[_CTX].frame.day), date
        if name == "deadline":
            self.fact_reads += 1  # the rule's own: not taken as the same throughout an evaluation
            return (lambda s: s[_CTX].deadline), date
        if name in self.functions:
            fn = self.functions[name]
            if len(fn.params) != 1:
                raise self.fail(
                    node,
                    f"function {name!r} takes {len(fn.params)} arguments; only one-argument functions can be handed on",
                )
            self.use(fn)
            if not fn.pure:
                self.fact_reads += 1
            body, param = fn.body, fn.keys[0]

            def handed(s: dict[str, Any]) -> Callable[[Any], Any]:
                def call(arg: Any) -> Any:
                    s[param] = arg
                    return body(s)

                return call

            return handed, None
        choices = [*self.types, *_SPECIAL, *self.functions]
        raise self.fail(node, f"unknown name {name!r}{_hint(name, choices)}")

    def x_attr(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        base, name_tok = node.children
        fn, t = self.expr(base)
        name = str(name_tok)
        if name.startswith("_"):
            raise self.fail(name_tok, f"no field starts with an underscore (got {name!r})")
        known, ftype = field_type(t, name)
        if not known:
            raise self.fail(node, f"{type_name(t)} has no field {name!r}{_hint(name, fields_of(t))}")
        if isinstance(t, ListOf):
            raise self.fail(
                node,
                f"{self.text(base)} is a collection; read a field of each element with "
                f"[x.{name} for x in {self.text(base)}]",
            )
        path = [name]
        root = base
        while isinstance(root, lark.Tree) and root.data == "attr":
            path.insert(0, str(root.children[1]))
            root = root.children[0]
        if isinstance(root, lark.Tree) and root.data == "name" and str(root.children[0]) in self.types:
            local = self.keys.get(str(root.children[0]), str(root.children[0]))  # one getter for the whole path
            chain = operator.attrgetter(".".join(path))
            read: Fn = lambda s: chain(s[local])  # noqa: E731 - kept by name as a reader
            self.readers[read] = (local, chain)
            return read, ftype
        get = operator.attrgetter(name)
        return (lambda s: get(fn(s))), ftype

    def x_index(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        base, key = node.children
        fb, t = self.expr(base)
        fk, _ = self.expr(key)
        elem = t.of if isinstance(t, ListOf) else None
        reader = self.readers.get(fb)
        if _is_literal(key) and reader is not None and reader[1] is None:
            local, item = reader[0], operator.itemgetter(fk({}))
            read: Fn = lambda s: item(s[local])  # noqa: E731 - kept by name as a reader
            self.readers[read] = (local, item)
            return read, elem

        def index(s: dict[str, Any]) -> Any:
            return fb(s)[fk(s)]

        return index, t.of if isinstance(t, ListOf) else None

    def x_list(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        parts = [self.expr(c) for c in node.children if c is not None]
        fns = [p[0] for p in parts]
        elem = parts[0][1] if parts and all(p[1] == parts[0][1] for p in parts) else None
        return (lambda s: tuple(f(s) for f in fns)), ListOf(elem)

    def x_tuple(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        fns = [self.expr(c)[0] for c in node.children if c is not None]
        return (lambda s: tuple(f(s) for f in fns)), None

    def x_comp(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        elem, var_tok, src, cond = node.children
        var = str(var_tok)
        before = self.fact_reads
        fsrc, tsrc = self.expr(src)
        if var in self.types or var in _SPECIAL:
            raise self.fail(var_tok, f"{var!r} already names something; choose another name")
        self.types[var] = tsrc.of if isinstance(tsrc, ListOf) else None
        if self.fact_reads == before:  # the elements of a fact-free list are fact-free
            self.fact_free.add(var)
        self.inner += 1
        try:
            felem, telem = self.expr(elem)
            fcond = self.truth(cond) if cond is not None else None
        finally:
            self.inner -= 1
            del self.types[var]
            self.fact_free.discard(var)

        ge, gc = _on_element(elem, var), (_on_element(cond, var) if cond is not None else None)
        if ge is not None and (cond is None or gc is not None):  # fields of the element only: a plain loop
            if gc is None:
                return (lambda s: tuple(map(ge, fsrc(s)))), ListOf(telem)
            return (lambda s: tuple(ge(x) for x in fsrc(s) if gc(x))), ListOf(telem)
        if fcond is None:

            def comp(s: dict[str, Any]) -> tuple[Any, ...]:
                out = []
                for x in fsrc(s):
                    s[var] = x
                    out.append(felem(s))
                return tuple(out)

        else:

            def comp(s: dict[str, Any]) -> tuple[Any, ...]:
                out = []
                for x in fsrc(s):
                    s[var] = x
                    if fcond(s):
                        out.append(felem(s))
                return tuple(out)

        return comp, ListOf(telem)

    def x_neg(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        fn, t = self.expr(node.children[0])
        return (lambda s: -fn(s)), t

    def x_not_(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        fn, _ = self.expr(node.children[0])
        return (lambda s: not fn(s)), bool

    def x_and_(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        a, _ = self.expr(node.children[0])
        b, _ = self.expr(node.children[1])
        return (lambda s: bool(a(s)) and bool(b(s))), bool

    def x_or_(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        a, _ = self.expr(node.children[0])
        b, _ = self.expr(node.children[1])
        return (lambda s: bool(a(s)) or bool(b(s))), bool

    def x_ifelse(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        c = self.truth(node.children[0])
        a, ta = self.expr(node.children[1])
        b, tb = self.expr(node.children[2])
        t = ta if ta == tb else None
        if _is_literal(node.children[1]) and _is_literal(node.children[2]):
            x, y = a({}), b({})
            return (lambda s: x if c(s) else y), t
        if _is_literal(node.children[1]):
            x = a({})
            return (lambda s: x if c(s) else b(s)), t
        if _is_literal(node.children[2]):
            y = b({})
            return (lambda s: a(s) if c(s) else y), t
        reader = self.readers.get(c)
        if reader is not None and reader[1] is None:  # a condition that is a local name: read in place
            key = reader[0]
            return (lambda s: a(s) if s[key] else b(s)), t
        return (lambda s: a(s) if c(s) else b(s)), t

    def x_arith(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        left, op_tok, right = node.children
        a, ta = self.expr(left)
        b, tb = self.expr(right)
        op = str(op_tok)
        if op == "/":
            text = self.text(node)

            def div(s: dict[str, Any]) -> Decimal:
                x, y = a(s), b(s)
                try:
                    return _div(x, y)
                except Exception as err:
                    raise _failed(text, (x, y), err) from None

            return div, Decimal
        f = _ARITH[op]
        if op == "+" and (ta is str or tb is str):
            return (lambda s: str(a(s)) + str(b(s))), str
        result = int if ta is int and tb is int else (Decimal if {ta, tb} <= {int, Decimal} else None)
        if _is_literal(right):
            c = b({})
            return (lambda s: f(a(s), c)), result
        return (lambda s: f(a(s), b(s))), result

    def against(self, a: Fn, op: Callable[[Any, Any], Any], c: Any, same: bool) -> Fn:
        """``a op c`` for a constant ``c``; ``a`` read in place when it reads a local name."""
        reader = self.readers.get(a)
        if reader is not None and reader[1] is None:
            key = reader[0]
            if op is operator.eq and same:
                return lambda s: s[key] is c
            if op is operator.ne and same:
                return lambda s: s[key] is not c
            return lambda s: op(s[key], c)
        if reader is not None:
            key, get = reader[0], cast(Callable[[Any], Any], reader[1])
            if op is operator.eq and same:
                return lambda s: get(s[key]) is c
            if op is operator.ne and same:
                return lambda s: get(s[key]) is not c
            return lambda s: op(get(s[key]), c)
        if op is operator.eq and same:
            return lambda s: a(s) is c
        if op is operator.ne and same:
            return lambda s: a(s) is not c
        return lambda s: op(a(s), c)

    def between(self, a: Fn, op: Callable[[Any, Any], Any], b: Fn) -> Fn:
        """``a op b``; a side that reads a local name read in place."""
        ra, rb = self.readers.get(a), self.readers.get(b)
        if ra is not None and rb is not None:
            ka, ga = ra[0], ra[1] or _identity
            kb, gb = rb[0], rb[1] or _identity
            if ra[1] is None and rb[1] is None:
                return lambda s: op(s[ka], s[kb])
            if ra[1] is None:
                return lambda s: op(s[ka], gb(s[kb]))
            if rb[1] is None:
                return lambda s: op(ga(s[ka]), s[kb])
            return lambda s: op(ga(s[ka]), gb(s[kb]))
        return lambda s: op(a(s), b(s))

    def side(self, node: Any, other: Any) -> tuple[Fn, Any]:
        """An operand of a comparison; a text literal against an enum becomes the enum's member (checked)."""
        m = self.enum_literal(node, other)
        if m is not None:
            return (lambda s: m), other
        return self.expr(node)

    def enum_literal(self, node: Any, ftype: Any) -> enum.Enum | None:
        """A text literal where an enum is expected, as the enum's member (checked); None for anything else."""
        if not (
            isinstance(ftype, type)
            and issubclass(ftype, enum.Enum)
            and isinstance(node, lark.Tree)
            and node.data == "string"
        ):
            return None
        literal = _unquote(str(node.children[0]))
        self.check_literal(node, ftype, literal)
        return ftype(literal)

    def x_compare(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        left, op_tok, right = node.children
        op = _CMP[str(op_tok)]
        pre_a, ta0 = self.expr(left) if not _is_string(left) else (None, str)
        b, tb = self.side(right, ta0)
        a, ta = (pre_a, ta0) if pre_a is not None else self.side(left, tb)
        both_enums = _is_enum(ta) and _is_enum(tb)
        neither = not _is_enum(ta) and not _is_enum(tb) and ta is not None and tb is not None
        member = self.enum_literal(right, ta) if both_enums else None
        if member is not None or (_is_literal(right) and (neither or not isinstance(b({}), str))):
            c = b({})  # an enum's member, or the literal
            # Singletons (none, a truth value against a truth value, an enum's member): identity is equality.
            same = c is None or (isinstance(c, bool) and ta is bool) or member is not None
            return self.against(a, op, c, same), bool
        if both_enums or neither:
            return self.between(a, op, b), bool

        # A side of a known kind that is no enum is compared as it comes: only the other may be an enum's member.
        if ta is not None and not _is_enum(ta):

            def by_right_value(s: dict[str, Any]) -> bool:
                x, y = a(s), b(s)
                if isinstance(y, enum.Enum):
                    y = y._value_
                return op(x, y)  # type: ignore[no-any-return]

            return by_right_value, bool
        if tb is not None and not _is_enum(tb):

            def by_left_value(s: dict[str, Any]) -> bool:
                x, y = a(s), b(s)
                if isinstance(x, enum.Enum):
                    x = x._value_
                return op(x, y)  # type: ignore[no-any-return]

            return by_left_value, bool

        def by_value(s: dict[str, Any]) -> bool:
            x, y = a(s), b(s)
            if isinstance(x, enum.Enum):
                x = x._value_
            if isinstance(y, enum.Enum):
                y = y._value_
            return op(x, y)  # type: ignore[no-any-return]

        return by_value, bool

    def membership(self, node: lark.Tree[Any]) -> Fn:
        """``x in xs``: an enum by its value; a list of literals is a set built once, a tuple (a parameter)
        is made a set once and kept while the same tuple comes back."""
        a, ta = self.expr(node.children[0])
        right = node.children[1]
        if (
            isinstance(right, lark.Tree)
            and right.data == "list"
            and all(
                isinstance(c, lark.Tree) and c.data in ("string", "number", "true", "false", "none")
                for c in right.children
                if c is not None
            )
        ):
            values = frozenset(self.expr(c)[0]({}) for c in right.children if c is not None)
            for c in right.children:
                if c is not None and _is_string(c):
                    self.check_literal(c, ta, _unquote(str(c.children[0])))
            return lambda s: plain(a(s)) in values
        b, _ = self.expr(right)
        return member(a, b)

    def x_in_(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        return self.membership(node), bool

    def x_not_in(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        test = self.membership(node)
        return (lambda s: not test(s)), bool

    def x_call(self, node: lark.Tree[Any]) -> tuple[Fn, Any]:
        name_tok, *raw_args = node.children
        name = str(name_tok)
        args = [a for a in raw_args if a is not None]
        if name == "param":
            return self.call_param(node, args)
        if name == "table":
            return self.call_table(node, args)
        if name == "obligation_id":
            fns = [self.expr(a)[0] for a in args]
            return (lambda s: s[_CTX].obligation_id(*(f(s) for f in fns))), str
        if name in self.functions:
            fn = self.functions[name]
            if len(args) != len(fn.params):
                raise self.fail(node, f"function {name!r} takes {len(fn.params)} arguments (got {len(args)})")
            self.use(fn)
            if not fn.pure:
                self.fact_reads += 1
            fns = [self.expr(a)[0] for a in args]
            return _call_function(fn, fns, memo=fn.pure and self.caching), None
        if name == "members":
            if len(args) != 1 or not _is_string(args[0]) or _unquote(str(args[0].children[0])) not in ENUMS:
                raise self.fail(node, f"members(…) names an enumeration: one of {', '.join(ENUMS)}")
            etype = ENUMS[_unquote(str(args[0].children[0]))]
            values = tuple(etype)
            return (lambda s: values), ListOf(etype)
        builtin = BUILTINS.get(name)
        if builtin is None:
            choices = [*BUILTINS, "param", "table", "obligation_id", *self.functions]
            raise self.fail(name_tok, f"no function {name!r}{_hint(name, choices)}")
        if not builtin.min_args <= len(args) <= builtin.max_args:
            raise self.fail(node, f"{builtin.doc}: wrong number of arguments ({len(args)})")
        fns = [self.expr(a)[0] for a in args]
        f = builtin.fn
        text = self.text(node)
        # A built-in that cannot work on the values it is given fails naming the call and the values.
        if len(fns) == 1 and fns[0] in self.readers:
            key, got = self.readers[fns[0]]
            get = got or _identity
            if f is len and got is None and key in self.collected:
                # count() of a collection (a tuple, whose length is always there): a reader, compared in place
                count: Fn = lambda s: len(s[key])  # noqa: E731 - kept by name as a reader
                self.readers[count] = (key, len)
                return count, builtin.returns
            if f is text_of:  # text of a local name: the common kinds written out in place

                def text_on(s: dict[str, Any]) -> Any:
                    x = get(s[key]) if got is not None else s[key]
                    kind = x.__class__
                    if kind is str:
                        return x
                    if kind is Period or kind is int:
                        return str(x)
                    if kind is date:
                        return x.isoformat()
                    try:
                        return f(x)
                    except SwrulesError:  # pragma: no cover - text() of any value is some text
                        raise
                    except Exception as err:  # pragma: no cover
                        raise _failed(text, (x,), err) from None

                return text_on, builtin.returns

            def call_on(s: dict[str, Any]) -> Any:
                x = get(s[key]) if got is not None else s[key]
                try:
                    return f(x)
                except SwrulesError:
                    raise
                except Exception as err:
                    raise _failed(text, (x,), err) from None

            return call_on, builtin.returns
        if len(fns) == 1:
            (f0,) = fns

            def call1(s: dict[str, Any]) -> Any:
                x = f0(s)
                try:
                    return f(x)
                except SwrulesError:
                    raise
                except Exception as err:
                    raise _failed(text, (x,), err) from None

            return call1, builtin.returns
        if len(fns) == 2 and _is_literal(args[1]):
            f0, y = fns[0], fns[1]({})

            def call_with(s: dict[str, Any]) -> Any:
                x = f0(s)
                try:
                    return f(x, y)
                except SwrulesError:
                    raise
                except Exception as err:
                    raise _failed(text, (x, y), err) from None

            return call_with, builtin.returns
        if len(fns) == 3:
            f0, f1, f2 = fns

            def call3(s: dict[str, Any]) -> Any:
                x, y, z = f0(s), f1(s), f2(s)
                try:
                    return f(x, y, z)
                except SwrulesError:
                    raise
                except Exception as err:
                    raise _failed(text, (x, y, z), err) from None

            return call3, builtin.returns
        if len(fns) == 2:
            f0, f1 = fns

            def call2(s: dict[str, Any]) -> Any:
                x, y = f0(s), f1(s)
                try:
                    return f(x, y)
                except SwrulesError:
                    raise
                except Exception as err:
                    raise _failed(text, (x, y), err) from None

            return call2, builtin.returns

        def call_n(s: dict[str, Any]) -> Any:
            xs = [g(s) for g in fns]
            try:
                return f(*xs)
            except SwrulesError:
                raise
            except Exception as err:
                raise _failed(text, xs, err) from None

        return call_n, builtin.returns

    def use(self, fn: _Function) -> None:
        """A call of a user function: the parameters it reads are read by the rule."""
        self.params_read.update(fn.params_read)
        self.literal_reads.update(fn.literal_reads)

    def call_param(self, node: lark.Tree[Any], args: list[Any]) -> tuple[Fn, Any]:
        if len(args) == 1:
            name = self.param_name(args[0])
            spec = self.param_specs[name]
            self.params_read[name] = spec
            self.literal_reads.add(name)
            read: Fn = lambda s: s[_P][name]  # noqa: E731 - known as cheap
            self.cheap.add(read)
            return read, _PARAM_TYPES.get(spec.kind)
        if len(args) == 2:
            if not (isinstance(args[0], lark.Tree) and args[0].data == "string"):
                raise self.fail(args[0], 'a parameter group is named by a literal string: param("group", key)')
            prefix = _unquote(str(args[0].children[0]))
            group = {n: s for n, s in self.param_specs.items() if n.startswith(prefix + ".")}
            if not group:
                groups = {n.rsplit(".", k)[0] for n in self.param_specs for k in range(1, n.count(".") + 1)}
                raise self.fail(args[0], f"no parameter is declared under {prefix!r}{_hint(prefix, sorted(groups))}")
            self.params_read.update(group)
            self.optional.update(group)
            self.keyed.update(group)
            fk, _ = self.expr(args[1])
            kinds = {_PARAM_TYPES.get(s.kind) for s in group.values()}
            result = kinds.pop() if len(kinds) == 1 else None

            def lookup(s: dict[str, Any]) -> Any:
                return s[_P].get(f"{prefix}.{plain(fk(s))}")

            return lookup, result
        raise self.fail(node, 'param("a.b") reads a parameter; param("group", key) one of a group by key')

    def call_table(self, node: lark.Tree[Any], args: list[Any]) -> tuple[Fn, Any]:
        if not args or not (isinstance(args[0], lark.Tree) and args[0].data == "string"):
            raise self.fail(node, 'table("name", input, …) looks a row up in a decision table')
        tname = _unquote(str(args[0].children[0]))
        table = self.tables.get(tname)
        if table is None and tname in self.broken_tables:  # its problems are the table's: reported with it
            self.quietly_failed = True
            raise _Failed()
        if table is None:
            raise self.fail(args[0], f"no decision table {tname!r}{_hint(tname, self.tables)}")
        if len(args) - 1 != len(table.inputs):
            raise self.fail(node, f"table {tname!r} takes {len(table.inputs)} inputs ({', '.join(table.inputs)})")
        for arg, iname, itype in zip(args[1:], table.inputs, table.input_types, strict=True):
            for lit in _literal_branches(arg):
                value = self.expr(lit)[0]({})
                if _is_enum(itype) and isinstance(value, str):
                    values = [m.value for m in itype]
                    if value not in values:
                        self.fail(
                            lit,
                            f"table {tname!r}: {value!r} is not a value of its input {iname} "
                            f"({', '.join(values)}){_hint(value, values)}",
                        )
                elif itype in (int, str) and (type(value) is not itype) and value is not None:
                    kind = "a whole number" if itype is int else "text"
                    self.fail(lit, f"table {tname!r}: its input {iname} is {kind}")
        fns = [self.expr(a)[0] for a in args[1:]]
        look = table.lookup
        text = self.text(node)

        def lookup(s: dict[str, Any]) -> Any:
            key = tuple(plain(f(s)) for f in fns)
            try:
                return look(key)
            except LookupError:
                shown = ", ".join(f"{n} {_shown(k)}" for n, k in zip(table.inputs, key, strict=True))
                raise RuleExpressionError(
                    f"`{text}`: decision table {tname!r} has no row for {shown}; add a row for these values"
                ) from None

        return lookup, table.row_type


def _shown(value: Any) -> str:
    """A value as a rule writes it: ``"text"``, ``none``, ``true``, a date as 2024-02-29, a decimal as 1.50."""
    value = plain(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    key = getattr(value, "key", None)
    if isinstance(key, str):
        return key
    return str(value)


_DECIMAL_WHY: Final = {
    "DivisionByZero": "division by zero",
    "DivisionUndefined": "division of zero by zero",
    "DivisionImpossible": "a division whose result is too large",
    "ConversionSyntax": "text that is not a number",
    "InvalidOperation": "an operation with no decimal result",
}


def _failed(text: str, values: Sequence[Any], err: Exception) -> RuleExpressionError:
    """The error of an expression that cannot be worked out on ``values``, in a rule writer's words."""
    if isinstance(err, decimal.DecimalException):
        signals = err.args[0] if err.args and isinstance(err.args[0], list) else []
        causes = [getattr(c, "__name__", "") for c in signals] + [type(err).__name__]
        why = next((_DECIMAL_WHY[c] for c in causes if c in _DECIMAL_WHY), "an arithmetic error")
    elif isinstance(err, TypeError) and any(v is None for v in values):
        why = "a value is none"
    elif isinstance(err, TypeError):
        why = "values of the wrong kind"
    elif type(err) is ValueError and str(err):
        why = str(err)
    else:  # not an error of the values: a fault of a built-in, named as it is
        why = f"{type(err).__name__}: {err}"
    shown = ", ".join(_shown(v) for v in values)
    return RuleExpressionError(f"`{text}` cannot be worked out on ({shown}): {why}")


def _fields(names: tuple[str, ...], fns: tuple[Fn, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The fields of an emitted item as one dict, made in one go (a dict display per up to eight fields)."""
    if len(names) > 8:
        head, rest = _fields(names[:8], fns[:8]), _fields(names[8:], fns[8:])
        return lambda s: {**head(s), **rest(s)}
    n = (*names, *[""] * (8 - len(names)))
    f = (*fns, *[_constant(None)] * (8 - len(fns)))
    n0, n1, n2, n3, n4, n5, n6, n7 = n
    f0, f1, f2, f3, f4, f5, f6, f7 = f
    by_count: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (
        lambda s: {},
        lambda s: {n0: f0(s)},
        lambda s: {n0: f0(s), n1: f1(s)},
        lambda s: {n0: f0(s), n1: f1(s), n2: f2(s)},
        lambda s: {n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s)},
        lambda s: {n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s)},
        lambda s: {n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s)},
        lambda s: {n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s), n6: f6(s)},
        lambda s: {n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s), n6: f6(s), n7: f7(s)},
    )
    return by_count[len(names)]


def _constant(value: Any) -> Fn:
    return lambda s: value


def _identity(x: Any) -> Any:
    return x


def _on_element(node: Any, var: str) -> Callable[[Any], Any] | None:
    """For ``x`` or a field path ``x.a.b`` of a comprehension's variable, a getter on the element; else None."""
    path: list[str] = []
    while isinstance(node, lark.Tree) and node.data == "attr":
        path.insert(0, str(node.children[1]))
        node = node.children[0]
    if isinstance(node, lark.Tree) and node.data == "name" and str(node.children[0]) == var:
        return operator.attrgetter(".".join(path)) if path else _identity
    return None


def _literal_branches(node: Any) -> Iterator[Any]:
    """The literals an expression may give as they stand: itself, or the branches of ``if … then … else …``."""
    if _is_literal(node):
        yield node
    elif isinstance(node, lark.Tree) and node.data == "ifelse":
        yield from _literal_branches(node.children[1])
        yield from _literal_branches(node.children[2])


def _is_literal(node: Any) -> bool:
    return isinstance(node, lark.Tree) and node.data in ("string", "number", "true", "false", "none")


def _is_string(node: Any) -> bool:
    return isinstance(node, lark.Tree) and node.data == "string"


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.Enum)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\") if "\\" in body else body


def _converter(ftype: Any) -> Callable[[Any], Any] | None:
    if _is_enum(ftype):
        etype = ftype

        def to_enum(v: Any) -> Any:
            return etype(v) if isinstance(v, str) else v

        return to_enum
    if ftype is Decimal:

        def to_decimal(v: Any) -> Any:
            return Decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v

        return to_decimal
    return None


_J: Final = "__judged"

#: A compiled block: runs on a scope, each item emitted going to the list (with the judged note of its moment,
#: in a rule that notes one).
Block = Callable[[dict[str, Any], list[Any]], None]


def _nothing(s: dict[str, Any], out: list[Any]) -> None:
    return None


def _chain(steps: Sequence[tuple[Any, ...]], noted: bool) -> Block:
    """A block's steps as one closure: each step calls the next (a guard that fails ends the block it stands
    in), consecutive assignments (let, judged) run in one loop."""
    nxt: Block | None = None
    i = len(steps)
    while i > 0:
        i -= 1
        step = steps[i]
        kind = step[0]
        if kind in (_LET, _JUDGED):
            j = i
            while j > 0 and steps[j - 1][0] in (_LET, _JUDGED):
                j -= 1
            nxt = _assign(tuple((_J, st[1]) if st[0] == _JUDGED else (st[1], st[2]) for st in steps[j : i + 1]), nxt)
            i = j
        elif kind == _WHEN:
            nxt = _guard(step[1], nxt)
        elif kind == _EMIT:
            nxt = (_emit if noted else _emit_bare)(step[1], step[2], step[3], nxt)
        elif kind == _IF:
            nxt = _branch(step[1], _chain(step[2], noted), _chain(step[3], noted), nxt)
        else:
            nxt = _loop(step[1], step[2], _chain(step[3], noted), nxt)
    return nxt or _nothing


def _assign(pairs: tuple[tuple[str, Fn], ...], nxt: Block | None) -> Block:
    if len(pairs) == 1:
        ((key, fn),) = pairs
        if nxt is None:

            def let_last(s: dict[str, Any], out: list[Any]) -> None:
                s[key] = fn(s)

            return let_last

        def let_one(s: dict[str, Any], out: list[Any]) -> None:
            s[key] = fn(s)
            nxt(s, out)

        return let_one

    def lets(s: dict[str, Any], out: list[Any]) -> None:
        for key, fn in pairs:
            s[key] = fn(s)
        if nxt is not None:
            nxt(s, out)

    return lets


def _guard(test: Fn, nxt: Block | None) -> Block:
    if nxt is None:

        def when_last(s: dict[str, Any], out: list[Any]) -> None:
            test(s)  # worked out all the same: it may fail

        return when_last

    def when(s: dict[str, Any], out: list[Any]) -> None:
        if test(s):
            nxt(s, out)

    return when


def _emit(make: Callable[..., Any], names: tuple[str, ...], fns: tuple[Fn, ...], nxt: Block | None) -> Block:
    if nxt is None and len(names) <= 8:
        return _emit_last(make, names, fns, noted=True)
    fields = _fields(names, fns)

    def emit(s: dict[str, Any], out: list[Any]) -> None:
        out.append((make(**fields(s)), s[_J]))
        if nxt is not None:
            nxt(s, out)

    return emit


def _emit_bare(make: Callable[..., Any], names: tuple[str, ...], fns: tuple[Fn, ...], nxt: Block | None) -> Block:
    """An emit in a rule that notes no judged day: the item alone."""
    if nxt is None and len(names) <= 8:
        return _emit_last(make, names, fns, noted=False)
    fields = _fields(names, fns)

    def emit(s: dict[str, Any], out: list[Any]) -> None:
        out.append(make(**fields(s)))
        if nxt is not None:
            nxt(s, out)

    return emit


def _emit_last(make: Callable[..., Any], names: tuple[str, ...], fns: tuple[Fn, ...], *, noted: bool) -> Block:
    """An emit that ends its block, of up to eight fields: the item made from a dict display of its fields and
    handed on, all in one closure (with the judged note of its moment, in a rule that notes one)."""
    n = (*names, *[""] * (8 - len(names)))
    f = (*fns, *[_constant(None)] * (8 - len(fns)))
    n0, n1, n2, n3, n4, n5, n6, n7 = n
    f0, f1, f2, f3, f4, f5, f6, f7 = f
    j = _J
    if noted:
        by_count: tuple[Block, ...] = (
            lambda s, out: out.append((make(), s[j])),
            lambda s, out: out.append((make(**{n0: f0(s)}), s[j])),
            lambda s, out: out.append((make(**{n0: f0(s), n1: f1(s)}), s[j])),
            lambda s, out: out.append((make(**{n0: f0(s), n1: f1(s), n2: f2(s)}), s[j])),
            lambda s, out: out.append((make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s)}), s[j])),
            lambda s, out: out.append((make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s)}), s[j])),
            lambda s, out: out.append(
                (make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s)}), s[j])
            ),
            lambda s, out: out.append(
                (make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s), n6: f6(s)}), s[j])
            ),
            lambda s, out: out.append(
                (
                    make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s), n6: f6(s), n7: f7(s)}),
                    s[j],
                )
            ),
        )
        return by_count[len(names)]
    bare: tuple[Block, ...] = (
        lambda s, out: out.append(make()),
        lambda s, out: out.append(make(**{n0: f0(s)})),
        lambda s, out: out.append(make(**{n0: f0(s), n1: f1(s)})),
        lambda s, out: out.append(make(**{n0: f0(s), n1: f1(s), n2: f2(s)})),
        lambda s, out: out.append(make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s)})),
        lambda s, out: out.append(make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s)})),
        lambda s, out: out.append(make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s)})),
        lambda s, out: out.append(
            make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s), n6: f6(s)})
        ),
        lambda s, out: out.append(
            make(**{n0: f0(s), n1: f1(s), n2: f2(s), n3: f3(s), n4: f4(s), n5: f5(s), n6: f6(s), n7: f7(s)})
        ),
    )
    return bare[len(names)]


def _branch(test: Fn, then: Block, otherwise: Block, nxt: Block | None) -> Block:
    def branch(s: dict[str, Any], out: list[Any]) -> None:
        (then if test(s) else otherwise)(s, out)
        if nxt is not None:
            nxt(s, out)

    return branch


def _loop(var: str, source: Fn, body: Block, nxt: Block | None) -> Block:
    def loop(s: dict[str, Any], out: list[Any]) -> None:
        for value in source(s):
            s[var] = value
            body(s, out)
        if nxt is not None:
            nxt(s, out)

    return loop


def _per_evaluation(fn: Fn) -> Fn:
    """``fn`` (an expression that reads no fact) worked out once per evaluation: kept with the parameters and the
    time frame it was worked out on, and worked out again when either is another."""
    cell: list[tuple[Any, Any, Any] | None] = [None]

    def once(s: dict[str, Any]) -> Any:
        params, frame = s[_P], s[_CTX].frame
        hit = cell[0]
        if hit is not None and hit[0] is params and hit[1] is frame:
            return hit[2]
        value = fn(s)
        cell[0] = (params, frame, value)  # one assignment: a concurrent evaluation sees one triple or the other
        return value

    return once


#: Argument types a pure function's results are kept by: equal values of these are the same value (a decimal is
#: not among them: 1.0 and 1.00 are equal, and would give results written differently).
_KEYED: Final = frozenset({int, str, bool, type(None), date, Period})
#: How many results of one pure function an evaluation keeps.
_MEMO_SIZE: Final = 4096


def _call_function(fn: _Function, fns: Sequence[Fn], *, memo: bool) -> Fn:
    """A call of a user function: its arguments bound to the function's own keys, then its body.

    A pure function (reading no fact) called with arguments of a kind in ``_KEYED`` (or enum members) is worked
    out once per evaluation and arguments, as ``_per_evaluation`` keeps values."""
    body, keys = fn.body, fn.keys
    if len(fns) == 1:
        (f0,) = fns
        (k0,) = keys

        def call1(s: dict[str, Any]) -> Any:
            s[k0] = f0(s)
            return body(s)

        plain_call = call1
    else:

        def call_n(s: dict[str, Any]) -> Any:
            values = [f(s) for f in fns]  # every argument first: an argument may call the same function
            for key, value in zip(keys, values, strict=True):
                s[key] = value
            return body(s)

        plain_call = call_n
    if not memo or not fns:
        return plain_call
    cell: list[tuple[Any, Any, dict[Any, Any]] | None] = [None]

    def kept(s: dict[str, Any]) -> Any:
        values = tuple(f(s) for f in fns)
        for v in values:
            if type(v) not in _KEYED and not isinstance(v, enum.Enum):
                for k, value in zip(keys, values, strict=True):
                    s[k] = value
                return body(s)
        params, frame = s[_P], s[_CTX].frame
        hit = cell[0]
        if hit is None or hit[0] is not params or hit[1] is not frame:
            hit = (params, frame, {})
            cell[0] = hit
        results = hit[2]
        key = (*values, *map(type, values))  # True and 1 are equal: the types tell them apart
        result = results.get(key, _MISSING)
        if result is _MISSING:
            for k, v in zip(keys, values, strict=True):
                s[k] = v
            result = body(s)
            if len(results) < _MEMO_SIZE:
                results[key] = result
        return result

    return kept


def _noted(ctx: Context, produced: list[tuple[Any, str]]) -> Iterator[Any]:
    for item, judged in produced:
        ctx.judged = judged
        yield item


def _uses_judged(steps: Sequence[tuple[Any, ...]]) -> bool:
    for step in steps:
        if step[0] == _JUDGED:
            return True
        if step[0] == _IF and (_uses_judged(step[2]) or _uses_judged(step[3])):
            return True
        if step[0] == _FOR and _uses_judged(step[3]):
            return True
    return False


def compile_rule(
    name: str,
    source: str,
    *,
    doc: str,
    reads: str,
    param_specs: Mapping[str, ParamSpec],
    tables: Mapping[str, Table] | None = None,
    functions: Sequence[str] = (),
    broken_tables: frozenset[str] = frozenset(),
) -> tuple[RuleDef | None, list[Problem]]:
    """The rule in ``source`` as a rule definition, or None and every problem found.

    ``broken_tables`` are tables that failed to load: a rule naming one is not compiled, with no problem of its
    own (the table's problems say what is wrong)."""
    tree, problems = parse(source)
    if tree is None:
        return None, problems
    c = _Compiler(name, source, param_specs, tables or {}, functions, broken_tables)
    steps = c.program(tree)
    if c.problems or c.quietly_failed:
        return None, c.problems
    matched, collected = tuple(c.matched), tuple(c.collected)

    noted = _uses_judged(steps)
    run = _chain(steps, noted)
    single = matched[0] if len(matched) == 1 and not collected else None
    # One matched fact and one collection (a person and what is collected for them): bound in one display.
    pair = (matched[0], collected[0]) if len(matched) == 1 and len(collected) == 1 else None

    def derive(ctx: Context) -> Iterable[Any]:
        # The context's own bindings, read in place (a property or a method call each would cost more).
        if single is not None:
            s: dict[str, Any] = {_CTX: ctx, _J: "", _P: ctx._params, single: ctx._matched[single]}
        elif pair is not None:
            m0, c0 = pair
            s = {_CTX: ctx, _J: "", _P: ctx._params, m0: ctx._matched[m0], c0: ctx._collected[c0]}
        else:
            s = {_CTX: ctx, _J: "", _P: ctx._params}
            bound, kept = ctx._matched, ctx._collected
            for alias in matched:
                s[alias] = bound[alias]
            for alias in collected:
                s[alias] = kept[alias]
        out: list[Any] = []
        run(s, out)
        if not noted or not out:
            return out
        if len(out) == 1:  # one item: its note is the context's as the firing ends, and a list does
            item, ctx.judged = out[0]
            return [item]
        return _noted(ctx, out)

    definition = RuleDef(
        name=name,
        doc=doc,
        match=tuple(c.match),
        collect=tuple(c.collect),
        emits=tuple(sorted(c.emits)),
        derive=derive,
        params=dict(sorted(c.params_read.items())),
        reads=reads,
        optional=tuple(sorted(c.optional - c.literal_reads)),
    )
    return definition, []


def evaluate_expression(text: str, values: Mapping[str, Any] | None = None) -> Any:
    """The value of one expression of the language, with ``values`` bound to names (for tests and examples).

    Raises :class:`ValueError` listing the problems when the expression does not compile.
    """
    names = dict(values or {})
    tree, problems = parse(f"let result__ = {text}")
    if tree is None:
        raise ValueError("; ".join(str(p) for p in problems))
    c = _Compiler("expression", f"let result__ = {text}", {}, {}, ())
    c.caching = False  # no evaluation to keep values for
    c.types.update(dict.fromkeys(names))
    steps = c.block(tree.children)
    if c.problems:
        raise ValueError("; ".join(str(p) for p in c.problems))
    scope: dict[str, Any] = {**names, _J: ""}
    _chain(steps, False)(scope, [])
    return scope["result__"]
