"""Running a program: the store, strata, partitions, and what happens when a rule fires.

Everything here is shared by the backends. A backend only decides *which*
combinations of facts match a rule's patterns within one partition (durable
through its Rete network, native by indexed joins); it calls :meth:`Run.fire`
for each, and asserts what ``fire`` hands back so that chains continue.
"""

from __future__ import annotations

import enum
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Protocol, TypeAlias, cast

import attrs

from swrules.errors import EngineError, EvaluationTimeout, RuleFailedError
from swrules.facts import FACT_TYPES, Fact
from swrules.items import Item
from swrules.load import FactSet
from swrules.rules._context import Context
from swrules.rules._ir import Lit, Op, Ref, Test

from ._program import PARTITIONS, BoundRule, Program

__all__ = ["Backend", "Derivation", "Record", "Run", "field_value", "key_of", "partition_of", "passes"]

Obj: TypeAlias = Fact | Item


def key_of(obj: Obj) -> str:
    """The unique key of a fact (``type/id``) or an item (its own key)."""
    if isinstance(obj, _FACT_CLASSES):
        return f"{obj.TYPE}/{obj.id}"
    return cast(Item, obj).key


_FACT_CLASSES: tuple[type[Fact], ...] = tuple(FACT_TYPES.values())


def field_value(obj: Obj, field: str) -> Any:
    """A field as patterns compare it: enums by value, dates as ISO strings."""
    value = getattr(obj, field)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def partition_of(obj: Obj) -> str:
    for scope, field in PARTITIONS[obj.TYPE]:
        value = getattr(obj, field)
        if value is not None:
            return f"{scope}:{value}"
    raise AssertionError(f"{obj.TYPE} has no partition")  # pragma: no cover - every spec ends in a required field


@attrs.frozen
class Record:
    """A fact or item as a backend sees it."""

    key: str
    type: str
    obj: Obj


@attrs.frozen(kw_only=True)
class Derivation:
    """How an item came to be: the rule, the facts it matched and collected, the parameters."""

    key: str
    rule: str
    clause: str
    matched: tuple[tuple[str, str], ...]  # (alias, key) in pattern order
    collected: tuple[tuple[str, tuple[str, ...]], ...]  # (alias, keys)
    params: tuple[tuple[str, Any], ...]


Partition: TypeAlias = tuple[str, tuple[Record, ...]]


class Backend(Protocol):
    """Matches a stratum's patterns within each partition and fires what matches."""

    name: str

    def run_stratum(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None: ...


def _compare(op: Op, left: Any, right: Any) -> bool:
    if op is Op.EQ:
        return bool(left == right)
    if op is Op.NE:
        return bool(left != right)
    if op is Op.IN:
        return left in right if right is not None else False
    if left is None or right is None:
        return False
    if op is Op.LT:
        return bool(left < right)
    if op is Op.LE:
        return bool(left <= right)
    if op is Op.GT:
        return bool(left > right)
    return bool(left >= right)


def operand_value(test: Test, bound: Mapping[str, Obj]) -> Any:
    o = test.operand
    if isinstance(o, Lit):
        return o.value
    if isinstance(o, Ref):
        return field_value(bound[o.alias], o.field)
    raise AssertionError("parameters are resolved before running")  # pragma: no cover


def passes(obj: Obj, tests: Iterable[Test], bound: Mapping[str, Obj]) -> bool:
    """Whether ``obj`` passes every test, with joins read from ``bound``."""
    return all(_compare(t.op, field_value(obj, t.field), operand_value(t, bound)) for t in tests)


#: Called as a run goes: (stratum, number of strata, partitions done, partitions in the stratum).
Progress: TypeAlias = Callable[[int, int, int, int], None]


class _Reporting(list[Partition]):
    """The partitions of a stratum, reporting progress as a backend walks through them."""

    def __init__(self, partitions: list[Partition], progress: Progress, stratum: int, strata: int) -> None:
        super().__init__(partitions)
        self._progress, self._stratum, self._strata = progress, stratum, strata

    def __iter__(self) -> Iterator[Partition]:
        total = len(self)
        for done, partition in enumerate(super().__iter__()):
            if done % 256 == 0:
                self._progress(self._stratum, self._strata, done, total)
            yield partition
        self._progress(self._stratum, self._strata, total, total)


class Run:
    """One evaluation of one program over one fact set."""

    def __init__(
        self,
        program: Program,
        facts: FactSet,
        backend: Backend,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.progress = progress
        self.program = program
        self.backend = backend
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self._objects: dict[str, Obj] = {}
        self._by_type: dict[str, list[Obj]] = defaultdict(list)
        self._index: dict[tuple[str, str], dict[Any, list[Obj]]] = {}
        self.derivations: dict[str, Derivation] = {}
        self.items: list[Item] = []
        self._stratum = 0
        self._consumed: frozenset[str] = frozenset()
        for fact in facts:
            self._add(fact)

    # -- store --------------------------------------------------------------

    def _add(self, obj: Obj) -> None:
        self._objects[key_of(obj)] = obj
        self._by_type[obj.TYPE].append(obj)

    def get(self, key: str) -> Obj:
        return self._objects[key]

    @property
    def objects(self) -> Mapping[str, Obj]:
        """Every fact and item of the run by key."""
        return self._objects

    def _lookup(self, type_: str, field: str, value: Any) -> list[Obj]:
        index = self._index.get((type_, field))
        if index is None:
            index = defaultdict(list)
            for obj in self._by_type.get(type_, ()):
                index[field_value(obj, field)].append(obj)
            self._index[(type_, field)] = index
        return index.get(value, [])

    # -- running ------------------------------------------------------------

    def execute(self) -> None:
        for stratum, rules in enumerate(self.program.strata):
            self._stratum = stratum
            self._consumed = self.program.consumed(stratum)
            self._index.clear()  # collections read only completed types, indexed afresh per stratum
            grouped: dict[str, list[Record]] = defaultdict(list)
            for type_ in sorted(self._consumed):
                for obj in self._by_type.get(type_, ()):
                    grouped[partition_of(obj)].append(Record(key_of(obj), type_, obj))
            partitions = [(pkey, tuple(sorted(recs, key=lambda r: r.key))) for pkey, recs in sorted(grouped.items())]
            if self.progress is not None:
                partitions = _Reporting(partitions, self.progress, stratum, len(self.program.strata))
            self.backend.run_stratum(self, stratum, partitions)
            del rules

    def fire(self, rule: BoundRule, matched: Mapping[str, str], partition: str) -> list[Record]:
        """Run one rule on one match; store what it derives; return what this stratum matches on."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise EvaluationTimeout(self.timeout or 0.0)
        bound: dict[str, Obj] = {alias: self._objects[key] for alias, key in matched.items()}
        collected: dict[str, tuple[Obj, ...]] = {}
        for c in rule.collect:
            collected[c.alias] = self._collect(c.type, c.where, bound)
        ctx = Context(self.program.ruleset, rule.id, self.program.period, bound, collected, rule.params)
        premises = [matched[m.alias] for m in rule.match]
        try:
            produced = list(rule.definition.derive(ctx))
        except Exception as err:  # a bug in a rule must fail the evaluation, naming the rule
            raise RuleFailedError(rule.id, premises, f"{type(err).__name__}: {err}") from err
        out: list[Record] = []
        for item in produced:
            if item.TYPE not in rule.definition.emits:
                raise RuleFailedError(rule.id, premises, f"derived a {item.TYPE}, which it does not declare")
            # A derive function returns new items: stamping its rule and clause in place is safe, and spares
            # a copy per item (evolve was a fifth of a batch run's time).
            if item.rule or item.clause:  # an item that already names a rule is someone else's: copy it
                item = attrs.evolve(item, rule=rule.id, clause=rule.clause)
            else:
                object.__setattr__(item, "rule", rule.id)
                object.__setattr__(item, "clause", rule.clause)
            key = item.key
            derivation = Derivation(
                key=key,
                rule=rule.id,
                clause=rule.clause,
                matched=tuple((m.alias, matched[m.alias]) for m in rule.match),
                collected=tuple((alias, tuple(key_of(o) for o in objs)) for alias, objs in collected.items()),
                params=tuple(sorted(rule.params.items())),
            )
            if key in self.derivations:
                if self.derivations[key] == derivation and self._objects[key] == item:
                    continue  # the same conclusion from the same match: one item, not two
                other = self.derivations[key]
                raise EngineError(f"rules {other.rule!r} and {rule.id!r} both derive {key!r}; an item has one cause")
            self.derivations[key] = derivation
            self._add(item)
            self.items.append(item)
            if item.TYPE in self._consumed:
                if partition_of(item) != partition:
                    raise RuleFailedError(rule.id, premises, f"derived {key!r} outside its partition {partition!r}")
                out.append(Record(key, item.TYPE, item))
        return out

    def _collect(self, type_: str, where: tuple[Test, ...], bound: Mapping[str, Obj]) -> tuple[Obj, ...]:
        candidates: Iterable[Obj] = self._by_type.get(type_, ())
        for t in where:
            if t.op is Op.EQ:
                candidates = self._lookup(type_, t.field, operand_value(t, bound))
                break
            if t.op is Op.IN and isinstance(t.operand, Ref):
                wanted = operand_value(t, bound) or ()
                candidates = [o for v in wanted for o in self._lookup(type_, t.field, v)]
                break
        found = [o for o in candidates if passes(o, where, bound)]
        return tuple(sorted(found, key=key_of))
