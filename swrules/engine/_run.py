"""Running a program: the store, strata, partitions, and what happens when a rule fires.

Everything here is shared by the backends. A backend only decides *which*
combinations of facts match a rule's patterns (durable through its Rete
network, one partition at a time; native by indexed joins over the whole
store); it calls :meth:`Run.fire` (or :meth:`Run.fire_objects`) for each, and
matches what that hands back so that chains continue.

Provenance is recorded compactly — the rule and the matched and collected
objects, by reference — and turned into :class:`Derivation` records only when
someone asks (an explanation, a key listing), so a batch of a hundred
thousand derived items pays for what it computes, not for what it might be
asked.
"""

from __future__ import annotations

import operator
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeAlias, cast

import attrs

from swrules.budget import TimeBudget, budget_of
from swrules.context import Context
from swrules.errors import EngineError, EvaluationTimeout, RuleFailedError, SwrulesError
from swrules.facts import FACT_TYPES, Fact, fact_key
from swrules.ir import Collect, Lit, Op, Ref, Test
from swrules.items import Finding, Item
from swrules.load import FactSet

from ._match import Check, Reader, compile_check, compile_tests, field_value, reader
from ._program import PARTITIONS, BoundRule, Program

__all__ = [
    "Backend",
    "Derivation",
    "Record",
    "Run",
    "field_value",
    "key_of",
    "partition_of",
    "passes",
]

Obj: TypeAlias = Fact | Item


def key_of(obj: Obj) -> str:
    """The unique key of a fact (``type/id``, ``type/id@valid_from`` for a dated version) or an item (its own)."""
    if isinstance(obj, _FACT_CLASSES):
        return fact_key(obj)
    return cast(Item, obj).key


_FACT_CLASSES: tuple[type[Fact], ...] = tuple(FACT_TYPES.values())

_BY_ID = operator.attrgetter("id")
_BY_KEY = operator.attrgetter("key")  # an item's key (what key_of gives for an item)


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
    judged: str = ""  # the day (or days) whose facts decided the item


#: What is kept per derived item: the rule, the matched objects (pattern order), the collections by alias, and
#: what the rule said about the day it judged (empty: the rule's own judgment day).
Why: TypeAlias = tuple[BoundRule, tuple[Obj, ...], Mapping[str, tuple[Obj, ...]], str]


def derivation(key: str, why: Why) -> Derivation:
    rule, matched, collected, judged = why
    return Derivation(
        key=key,
        rule=rule.id,
        clause=rule.clause,
        matched=tuple((m.alias, key_of(o)) for m, o in zip(rule.match, matched, strict=True)),
        collected=tuple((c.alias, tuple(key_of(o) for o in collected[c.alias])) for c in rule.collect),
        params=tuple(sorted(rule.params.items())),
        judged=judged or rule.judged,
    )


class Derivations(Mapping[str, Derivation]):
    """Derived item key -> :class:`Derivation`, built on first access from what the run kept."""

    def __init__(self, why: Mapping[str, Why]) -> None:
        self._why = why
        self._built: dict[str, Derivation] = {}

    def __getitem__(self, key: str) -> Derivation:
        found = self._built.get(key)
        if found is None:
            found = self._built[key] = derivation(key, self._why[key])
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._why

    def __iter__(self) -> Iterator[str]:
        return iter(self._why)

    def __len__(self) -> int:
        return len(self._why)


class Objects(Mapping[str, Obj]):
    """Every fact and derived item by key; facts are looked up in their fact set, never re-keyed up front."""

    def __init__(self, facts: FactSet, items: Mapping[str, Item]) -> None:
        self._facts = facts
        self._items = items

    def __getitem__(self, key: str) -> Obj:
        item = self._items.get(key)
        if item is not None:
            return item
        fact = self._facts.by_key(key)
        if fact is None:
            raise KeyError(key)
        return fact

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        for fact in self._facts:
            yield key_of(fact)
        yield from self._items

    def __len__(self) -> int:
        return len(self._facts) + len(self._items)


Partition: TypeAlias = tuple[str, tuple[Record, ...]]


class Backend(Protocol):
    """Runs a program over a run's store, firing what matches."""

    name: str

    def execute(self, run: Run) -> None:
        """Evaluate the whole program over the run's facts."""

    def run_stratum(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        """Within :meth:`execute`: match one stratum's rules within each partition and fire what matches."""

    def match_partitions(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        """Outside :meth:`execute` (an incremental update): the same, for a few partitions."""


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
    """Whether ``obj`` passes every test, with joins read from ``bound`` (the plain reading of a test)."""
    return all(_compare(t.op, field_value(obj, t.field), operand_value(t, bound)) for t in tests)


#: A collection of one rule for one match, in key order.
Collector: TypeAlias = Callable[[Mapping[str, Obj]], tuple[Obj, ...]]

#: Called as a run goes: (stratum, number of strata, steps done, steps in the stratum).
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


@attrs.frozen
class _CompiledCollect:
    """A collection ready to compute: where to look candidates up, what to check, and how to share it.

    Two rules that collect the same thing for the same subject (every ``held``
    of one person, say) get one computation: ``shape`` names what is collected
    up to the values joined from the match, ``refs`` read those values.
    """

    type: str
    key: str | None  # field of the first equality test, answered from an index
    probe: Callable[[Mapping[str, Obj]], Any] | None
    in_ref: tuple[str, Callable[[Mapping[str, Obj]], Any]] | None  # field 'in' a list field of a bound fact
    checks: tuple[Check, ...]  # every test but the one the index answers
    shape: int
    refs: tuple[Callable[[Mapping[str, Obj]], Any], ...]
    ref_fields: tuple[str, ...]  # the collected type's fields the refs are compared with, in order
    exact: bool  # every ref is compared for equality: a collected object's own fields name the collection
    all_checks: tuple[Check, ...]
    literal: Check | None = None  # every test against a literal, as one closure (None: there is none)
    own_reads: tuple[Reader, ...] = ()  # the collected type's fields named by ``ref_fields``, read
    sources: tuple[tuple[str, Reader], ...] = ()  # what ``refs`` read: the alias and a reader of its field


def _compile_collect(c: Collect, alias_types: Mapping[str, str]) -> _CompiledCollect:
    key: str | None = None
    probe: Callable[[Mapping[str, Obj]], Any] | None = None
    in_ref: tuple[str, Callable[[Mapping[str, Obj]], Any]] | None = None
    answered: int | None = None
    for i, t in enumerate(c.where):
        operand = t.operand
        if t.op is Op.EQ:
            if isinstance(operand, Lit):
                value = operand.value
                key, probe = t.field, (lambda bound, value=value: value)
            elif isinstance(operand, Ref):
                key, probe = t.field, _ref_reader(operand, alias_types)
            answered = i
            break
        if t.op is Op.IN and isinstance(operand, Ref):
            in_ref = (t.field, _ref_reader(operand, alias_types))
            break
    all_checks = tuple(compile_check(c.type, t, alias_types) for t in c.where)
    checks = tuple(check for i, check in enumerate(all_checks) if i != answered)
    described = (
        c.type,
        tuple((t.field, t.op.value, ("ref",) if isinstance(t.operand, Ref) else ("lit", t.operand)) for t in c.where),
    )
    with _SHAPES_LOCK:
        shape = _SHAPES.setdefault(described, len(_SHAPES))
    with_refs = [t for t in c.where if isinstance(t.operand, Ref)]
    return _CompiledCollect(
        c.type,
        key,
        probe,
        in_ref,
        checks,
        shape,
        refs=tuple(_ref_reader(t.operand, alias_types) for t in with_refs),
        ref_fields=tuple(t.field for t in with_refs),
        exact=all(t.op is Op.EQ for t in with_refs),
        all_checks=all_checks,
        literal=compile_tests(c.type, [t for t in c.where if not isinstance(t.operand, Ref)], alias_types),
        own_reads=tuple(reader(c.type, t.field) for t in with_refs),
        sources=tuple(_source(t.operand, alias_types) for t in with_refs),
    )


#: Every collection shape compiled so far, numbered: a number hashes faster than the description.
_SHAPES: dict[tuple[Any, ...], int] = {}
_SHAPES_LOCK = threading.Lock()


def _source(ref: Any, alias_types: Mapping[str, str]) -> tuple[str, Reader]:
    return ref.alias, reader(alias_types[ref.alias], ref.field)


def _ref_reader(ref: Any, alias_types: Mapping[str, str]) -> Callable[[Mapping[str, Obj]], Any]:
    other, alias = reader(alias_types[ref.alias], ref.field), ref.alias
    return lambda bound: other(bound[alias])


@attrs.frozen
class _Plan:
    """What firing one rule needs, worked out once per run: aliases, compiled collections, declared types."""

    aliases: tuple[str, ...]
    collects: tuple[tuple[str, _CompiledCollect, bool], ...]  # alias, collection, shared with another rule
    emits: frozenset[str]


class Run:
    """One evaluation of one program over one fact set.

    Within a stratum the types that collections read are complete, so a batch run sorts each collection's
    candidates into groups once, by the fields its joins compare (``grouped``); a run kept up to date as facts
    change (:class:`~swrules.engine.IncrementalRun`) looks each collection up afresh instead.
    """

    grouped = True

    def __init__(
        self,
        program: Program,
        facts: FactSet,
        backend: Backend,
        timeout: float | TimeBudget | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.progress = progress
        self.program = program
        self.backend = backend
        self.budget = budget_of(timeout)
        self.timeout = None if self.budget is None else self.budget.seconds
        self.deadline = None if self.budget is None else self.budget.deadline
        self.clock: Callable[[], float] = time.monotonic if self.budget is None else self.budget.clock
        self.facts = facts
        self._items_by_key: dict[str, Item] = {}
        self._by_type: dict[str, list[Obj]] = defaultdict(list)
        self._sorted: dict[str, list[Obj]] = {}
        self._index: dict[tuple[str, str], dict[Any, list[Obj]]] = {}
        self._why: dict[str, Why] = {}
        self.items: list[Item] = []
        self._consumed: frozenset[str] = frozenset()
        self._plans: dict[int, _Plan] = {}
        self._shared: dict[tuple[Any, ...], tuple[Obj, ...]] = {}
        self._groups: dict[int, dict[Any, tuple[Obj, ...]] | None] = {}
        self._collectors: dict[int, tuple[tuple[str, Collector], ...]] = {}
        for fact in facts:
            self._by_type[fact.TYPE].append(fact)

    # -- store --------------------------------------------------------------

    def get(self, key: str) -> Obj:
        item = self._items_by_key.get(key)
        if item is not None:
            return item
        fact = self.facts.by_key(key)
        if fact is None:
            raise KeyError(key)
        return fact

    @property
    def objects(self) -> Mapping[str, Obj]:
        """Every fact and item of the run by key."""
        return Objects(self.facts, self._items_by_key)

    @property
    def keyed(self) -> Mapping[str, Item]:
        """Every item derived so far by key, in the order derived (as :attr:`items`)."""
        return self._items_by_key

    @property
    def derivations(self) -> Mapping[str, Derivation]:
        """How each derived item came to be, by key."""
        return Derivations(self._why)

    def of_type(self, type_: str) -> list[Obj]:
        """Every fact and item of a type so far, in the order they entered the store."""
        return self._by_type.get(type_, [])

    def begin_stratum(self, stratum: int) -> None:
        """Collections read only completed types: index them afresh for this stratum."""
        self._consumed = self.program.consumed(stratum)
        self._index.clear()
        self._sorted.clear()
        self._shared.clear()
        self._groups.clear()
        self._collectors.clear()

    def _sorted_of(self, type_: str) -> list[Obj]:
        found = self._sorted.get(type_)
        if found is None:
            # A fact's key is its type and id, so facts of one type sort by id alone, at C speed.
            order = _BY_ID if type_ in FACT_TYPES else _BY_KEY
            found = self._sorted[type_] = sorted(self._by_type.get(type_, ()), key=order)
        return found

    def _lookup(self, type_: str, field: str, value: Any) -> list[Obj]:
        index = self._index.get((type_, field))
        if index is None:
            index = defaultdict(list)
            read = reader(type_, field)
            for obj in self._sorted_of(type_):
                index[read(obj)].append(obj)
            self._index[(type_, field)] = index
        try:
            return index.get(value, [])
        except TypeError:  # an unhashable value equals no field value an index holds
            return []

    # -- running ------------------------------------------------------------

    def execute(self) -> None:
        """Run every stratum partition by partition (the durable backend's way)."""
        for stratum in range(len(self.program.strata)):
            self.begin_stratum(stratum)
            grouped: dict[str, list[Record]] = defaultdict(list)
            for type_ in sorted(self._consumed):
                for obj in self._by_type.get(type_, ()):
                    grouped[partition_of(obj)].append(Record(key_of(obj), type_, obj))
            partitions = [(pkey, tuple(sorted(recs, key=lambda r: r.key))) for pkey, recs in sorted(grouped.items())]
            if self.progress is not None:
                partitions = _Reporting(partitions, self.progress, stratum, len(self.program.strata))
            self.backend.run_stratum(self, stratum, partitions)

    def fire(self, rule: BoundRule, matched: Mapping[str, str], partition: str) -> list[Record]:
        """Run one rule on one match given by key; return what this stratum matches on, as records."""
        objs = tuple(self.get(matched[m.alias]) for m in rule.match)
        out: list[Record] = []
        for item in self.fire_objects(rule, objs):
            if item.TYPE in self._consumed:
                premises = [matched[m.alias] for m in rule.match]
                if partition_of(item) != partition:
                    why = f"derived {item.key!r} outside its partition {partition!r}"
                    raise RuleFailedError(rule.id, premises, why)
                out.append(Record(item.key, item.TYPE, item))
        return out

    def check_time(self) -> None:
        if self.budget is not None:
            self.budget.check()

    def _plan(self, rule: BoundRule) -> _Plan:
        plan = self._plans.get(rule.index)
        if plan is None:
            types = {m.alias: m.type for m in rule.match}
            collects = tuple((c.alias, _compile_collect(c, types)) for c in rule.collect)
            # A collection is shared only where another rule of the stratum collects the same shape.
            stratum_shapes = [
                _compile_collect(c, {m.alias: m.type for m in other.match}).shape
                for other in self.program.strata[rule.stratum]
                for c in other.collect
            ]
            shared = frozenset(shape for _, c in collects if stratum_shapes.count(shape := c.shape) > 1)
            plan = self._plans[rule.index] = _Plan(
                aliases=tuple(m.alias for m in rule.match),
                collects=tuple((alias, c, c.shape in shared) for alias, c in collects),
                emits=frozenset(rule.definition.emits),
            )
        return plan

    def fire_objects(self, rule: BoundRule, objs: tuple[Obj, ...]) -> list[Item]:
        """Run one rule on one match (objects in pattern order); store and return the new items."""
        return self.fire_many(rule, (objs,))

    def fire_many(self, rule: BoundRule, matches: Iterable[tuple[Obj, ...]]) -> list[Item]:
        """Run one rule on each match (objects in pattern order); store and return the new items.

        The batch backend hands a rule all its matches at once: everything that does not change from one
        firing to the next is looked up once, outside the loop, and what :func:`derive_items` and
        :func:`stamped` do for one firing is written out here.
        """
        plan = self._plans.get(rule.index) or self._plan(rule)
        aliases, emits = plan.aliases, plan.emits
        single = aliases[0] if len(aliases) == 1 else None
        collectors = self._collectors_of(rule, plan) if plan.collects else None
        only, only_alias = (collectors[0][1], collectors[0][0]) if collectors and len(collectors) == 1 else (None, "")
        ruleset, frame, params = self.program.ruleset, self.program.frame, rule.params
        rule_id, clause, derive = rule.id, rule.clause, rule.definition.derive
        deadline, clock = self.deadline, self.clock
        known_why, by_key, by_type, items = self._why, self._items_by_key, self._by_type, self.items
        out: list[Item] = []
        # One context and one binding serve every firing: a derive function reads them while it runs, and
        # what is kept afterwards (the matched objects, the collections) is kept by value.
        bound: dict[str, Obj] = {}
        ctx = Context(ruleset, rule_id, frame, bound, _NONE, params, rule.deadline)
        collected: Mapping[str, tuple[Obj, ...]]
        for objs in matches:
            if deadline is not None and clock() > deadline:
                raise EvaluationTimeout(self.timeout or 0.0)
            if single is not None:
                bound[single] = objs[0]
            else:
                bound.update(zip(aliases, objs, strict=True))
            if only is not None:
                collected = {only_alias: only(bound)}
            elif collectors is not None:
                collected = {alias: collect(bound) for alias, collect in collectors}
            else:
                collected = _NONE
            ctx._collected = collected  # what ctx.rebind does, without the call
            ctx.judged = ""
            try:
                produced = derive(ctx)
                if produced.__class__ is list:  # made before it was handed back: one note for all
                    derived: list[Item] = produced
                    notes = None
                    note = ctx.judged
                else:  # yielded one by one: each with the note current when it came
                    derived, notes = [], []
                    for item in produced:
                        derived.append(item)
                        notes.append(ctx.judged)
            except Exception as err:  # a bug in a rule must fail the evaluation, naming the rule
                raise _failed(rule, objs, err) from err
            if not derived:
                continue
            why: Why = (rule, objs, collected, note) if notes is None else (rule, objs, collected, notes[0])
            for n, item in enumerate(derived):
                if notes is not None and notes[n] != why[3]:
                    why = (rule, objs, collected, notes[n])
                if item.TYPE not in emits:
                    raise RuleFailedError(rule_id, [key_of(o) for o in objs], _undeclared(item))
                if item.rule or item.clause:  # an item that already names a rule is someone else's: copy it
                    item = attrs.evolve(item, rule=rule_id, clause=clause)
                else:
                    _set(item, "rule", rule_id)
                    _set(item, "clause", clause)
                if isinstance(item, Finding):
                    _set(item, "severity", rule.severity)
                    _set(item, "deadline", rule.deadline)
                    _set(item, "deadline_status", rule.deadline_status)
                key = item.key
                known = known_why.get(key)
                if known is not None:
                    if derivation(key, known) == derivation(key, why) and by_key[key] == item:
                        continue  # the same conclusion from the same match: one item, not two
                    raise EngineError(
                        f"rules {known[0].id!r} and {rule_id!r} both derive {key!r}; an item has one cause"
                    )
                known_why[key] = why
                by_key[key] = item
                by_type[item.TYPE].append(item)
                items.append(item)
                out.append(item)
        return out

    def _collectors_of(self, rule: BoundRule, plan: _Plan) -> tuple[tuple[str, Collector], ...]:
        """For each collection of ``rule`` by alias, a function giving it for a match (made once a stratum)."""
        found = self._collectors.get(rule.index)
        if found is None:
            found = self._collectors[rule.index] = tuple(
                (alias, self._collector(c, share)) for alias, c, share in plan.collects
            )
        return found

    def _collector(self, c: _CompiledCollect, share: bool) -> Collector:
        compute = self._collect
        groups = self._groups_of(c) if self.grouped and c.exact else None
        if groups is None:
            if share:
                return lambda bound: self._collect_shared(c, bound)
            return lambda bound: compute(c, bound)
        refs = c.refs
        if not refs:
            everything = groups.get((), ())
            return lambda bound: everything
        if len(refs) == 1:
            ((alias, read),) = c.sources

            def by_one(bound: Mapping[str, Obj]) -> tuple[Obj, ...]:
                try:
                    return groups.get(read(bound[alias]), ())
                except TypeError:  # a joined value that cannot be a key equals no field value a group has
                    return compute(c, bound)

            return by_one

        def by_many(bound: Mapping[str, Obj]) -> tuple[Obj, ...]:
            try:
                return groups.get(tuple([read(bound) for read in refs]), ())
            except TypeError:
                return compute(c, bound)

        return by_many

    def _groups_of(self, c: _CompiledCollect) -> dict[Any, tuple[Obj, ...]] | None:
        """The candidates of ``c`` passing its literal tests, in key order, by the values of its joined fields.

        None where some such value cannot be a key (or is unequal to itself): that collection is looked up per
        match instead.
        """
        if c.shape in self._groups:
            return self._groups[c.shape]
        literal, reads = c.literal, c.own_reads
        candidates = self._sorted_of(c.type)
        if literal is not None:
            candidates = [obj for obj in candidates if literal(obj, _NONE)]
        groups: dict[Any, tuple[Obj, ...]] | None
        if not reads:
            groups = {(): tuple(candidates)}
        else:
            lists: dict[Any, list[Obj]] = {}
            read = reads[0] if len(reads) == 1 else lambda obj: tuple([each(obj) for each in reads])
            try:
                for obj in candidates:
                    key = read(obj)
                    if key != key or (key.__class__ is tuple and any(v != v for v in key)):
                        raise TypeError(key)
                    bucket = lists.get(key)
                    if bucket is None:
                        lists[key] = [obj]
                    else:
                        bucket.append(obj)
            except TypeError:
                groups = None
            else:
                groups = {key: tuple(objs) for key, objs in lists.items()}
        self._groups[c.shape] = groups
        return groups

    def collect(self, rule: BoundRule, bound: Mapping[str, Obj]) -> Mapping[str, tuple[Obj, ...]]:
        """Every collection of ``rule`` for this match by alias, each in key order."""
        plan = self._plans.get(rule.index) or self._plan(rule)
        return self._collect_all(plan, bound) if plan.collects else _NONE

    def _collect_all(self, plan: _Plan, bound: Mapping[str, Obj]) -> dict[str, tuple[Obj, ...]]:
        return {
            alias: self._collect_shared(c, bound) if share else self._collect(c, bound)
            for alias, c, share in plan.collects
        }

    def _collect_shared(self, c: _CompiledCollect, bound: Mapping[str, Obj]) -> tuple[Obj, ...]:
        """``c`` for this match, computed once for every rule of the stratum collecting the same."""
        refs = c.refs
        if not refs:
            key: tuple[Any, ...] = (c.shape,)
        elif len(refs) == 1:
            key = (c.shape, refs[0](bound))
        else:
            key = (c.shape, *(read(bound) for read in refs))
        try:
            found = self._shared.get(key)
        except TypeError:  # a joined value that cannot be a key: compute, do not share
            return self._collect(c, bound)
        if found is None:
            found = self._shared[key] = self._collect(c, bound)
        return found

    def _collect(self, c: _CompiledCollect, bound: Mapping[str, Obj]) -> tuple[Obj, ...]:
        candidates: Iterable[Obj]
        ordered = True
        if c.key is not None and c.probe is not None:
            candidates = self._lookup(c.type, c.key, c.probe(bound))
        elif c.in_ref is not None:
            wanted = c.in_ref[1](bound) or ()
            candidates = [o for v in wanted for o in self._lookup(c.type, c.in_ref[0], v)]
            ordered = False
        else:
            candidates = self._sorted_of(c.type)
        checks = c.checks
        if not checks:
            found = list(candidates)
        elif len(checks) == 1:
            check = checks[0]
            found = [o for o in candidates if check(o, bound)]
        else:
            found = [o for o in candidates if all(check(o, bound) for check in checks)]
        return tuple(found) if ordered else tuple(sorted(found, key=key_of))


_set = object.__setattr__


def derive_items(rule: BoundRule, ctx: Context, objs: tuple[Obj, ...]) -> list[tuple[Item, str]]:
    """Run ``rule`` on one match: each item it derives with the day it noted judging it on (``ctx.judged``)."""
    out: list[tuple[Item, str]] = []
    ctx.judged = ""
    try:
        for item in rule.definition.derive(ctx):
            out.append((item, ctx.judged))
    except Exception as err:  # a bug in a rule must fail the evaluation, naming the rule
        raise _failed(rule, objs, err) from err
    return out


def _failed(rule: BoundRule, objs: tuple[Obj, ...], err: Exception) -> RuleFailedError:
    cause = str(err) if isinstance(err, SwrulesError) else f"{type(err).__name__}: {err}"
    return RuleFailedError(rule.id, [key_of(o) for o in objs], cause)


def _undeclared(item: Item) -> str:
    return f"derived a {item.TYPE}, which it does not declare"


def stamped(item: Item, rule: BoundRule, emits: frozenset[str], objs: tuple[Obj, ...]) -> Item:
    """``item`` as derived by ``rule``: of a type the rule declares, naming the rule and its clause.

    A finding also gets the rule's severity and deadline, and where the deadline lies from the period.
    """
    if item.TYPE not in emits:
        raise RuleFailedError(rule.id, [key_of(o) for o in objs], _undeclared(item))
    # A derive function returns new items: stamping its rule and clause in place is safe, and spares a copy per
    # item (evolve was a fifth of a batch run's time).
    if item.rule or item.clause:  # an item that already names a rule is someone else's: copy it
        item = attrs.evolve(item, rule=rule.id, clause=rule.clause)
    else:
        _set(item, "rule", rule.id)
        _set(item, "clause", rule.clause)
    if isinstance(item, Finding):
        _set(item, "severity", rule.severity)
        _set(item, "deadline", rule.deadline)
        _set(item, "deadline_status", rule.deadline_status)
    return item


_NONE: Mapping[str, tuple[Obj, ...]] = {}
