"""The native backend: the same rule definitions, matched by indexed joins in plain Python.

For a batch it evaluates each stratum set-at-a-time over the whole store:
every rule's patterns are compiled once (:mod:`._match`), candidates for a
joined pattern come from a hash index on the join field, and the stratum runs
to a fixed point semi-naively — after the first round, a rule only looks at
combinations that use an item derived in the round before, so every
combination fires exactly once. Collections are computed by the run, from
indexes over the completed types.

For an incremental session it can also run one stratum within given
partitions (:meth:`NativeBackend.run_stratum`), as the durable backend does.
It needs no durable-rules, so it runs where durable cannot (Python 3.13+).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from swrules.ir import Lit, Match, Op, Ref

from ._match import CompiledPattern, compile_pattern, reader
from ._program import BoundRule
from ._run import Obj, Partition, Record, Run, field_value, passes

__all__ = ["NativeBackend"]

_NOTHING: Mapping[str, Obj] = {}


class NativeBackend:
    """Evaluates programs without an external engine."""

    name = "native"

    def execute(self, run: Run) -> None:
        _Batch(run).execute()

    def run_stratum(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        rules = run.program.strata[stratum]
        for partition, records in partitions:
            _Session(run, rules, partition).run(records)

    match_partitions = run_stratum


class _Batch:
    """One program over one whole store, stratum by stratum, set-at-a-time."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.full: dict[str, list[Obj]] = {}
        self.index: dict[tuple[str, str], dict[Any, list[Obj]]] = {}

    def execute(self) -> None:
        run = self.run
        strata = run.program.strata
        for stratum, rules in enumerate(strata):
            run.begin_stratum(stratum)
            consumed = run.program.consumed(stratum)
            compiled = [(rule, _compile(rule)) for rule in rules]
            self.full = {t: list(run.of_type(t)) for t in sorted(consumed)}
            self.index = {}
            delta: dict[str, list[Obj]] | None = None  # None: the first round, where everything is new
            while True:
                produced: dict[str, list[Obj]] = defaultdict(list)
                new = None if delta is None else {id(o) for objs in delta.values() for o in objs}
                for done, (rule, patterns) in enumerate(compiled):
                    if delta is not None and not any(p.type in delta for p in patterns):
                        continue
                    for item in run.fire_many(rule, self._combos(patterns, delta, new)):
                        if item.TYPE in consumed:
                            produced[item.TYPE].append(item)
                    if run.progress is not None and delta is None:
                        run.progress(stratum, len(strata), done + 1, len(compiled))
                if not produced:
                    break
                for type_, objs in produced.items():
                    self.full[type_].extend(objs)
                    for (indexed, field), index in self.index.items():
                        if indexed == type_:
                            read = reader(type_, field)
                            for obj in objs:
                                index[read(obj)].append(obj)
                delta = produced

    def _lookup(self, type_: str, field: str, value: Any) -> list[Obj]:
        index = self.index.get((type_, field))
        if index is None:
            index = self.index[(type_, field)] = defaultdict(list)
            read = reader(type_, field)
            for obj in self.full[type_]:
                index[read(obj)].append(obj)
        try:
            return index.get(value, [])
        except TypeError:  # an unhashable value equals no field value an index holds
            return []

    def _combos(
        self, patterns: tuple[CompiledPattern, ...], delta: Mapping[str, list[Obj]] | None, new: set[int] | None
    ) -> list[tuple[Obj, ...]]:
        """Combinations passing every pattern; after the first round, only those using something new."""
        first = patterns[0]
        if delta is not None and all(p.type not in delta for p in patterns[1:]):
            pool = delta.get(first.type, [])  # only the first pattern can take a new item
            new = None
        else:
            pool = self.full[first.type]
        test = first.every
        if len(patterns) == 1:
            if test is None:
                return [(obj,) for obj in pool]
            return [(obj,) for obj in pool if test(obj, _NOTHING)]
        return self._joined(patterns, pool if test is None else [o for o in pool if test(o, _NOTHING)], new)

    def _joined(
        self, patterns: tuple[CompiledPattern, ...], pool: list[Obj], new: set[int] | None
    ) -> list[tuple[Obj, ...]]:
        """Extend each combination one pattern at a time (in the order a depth-first walk gives); after the first
        round, keep only those that use something new."""
        partial: list[tuple[tuple[Obj, ...], bool]] = [((obj,), new is None or id(obj) in new) for obj in pool]
        aliases = [p.alias for p in patterns]
        bound: dict[str, Obj] = {}
        done: list[tuple[Obj, ...]] = []
        last = len(patterns) - 1
        for i in range(1, len(patterns)):
            pattern = patterns[i]
            key, probe = pattern.key, pattern.probe
            test = pattern.rest if key is not None and probe is not None else pattern.every
            grown: list[tuple[tuple[Obj, ...], bool]] = []
            for combo, has_new in partial:
                for alias, obj in zip(aliases, combo, strict=False):  # the combination is the shorter
                    bound[alias] = obj
                if key is not None and probe is not None:
                    candidates = self._lookup(pattern.type, key, probe(bound))
                else:
                    candidates = self.full[pattern.type]
                if test is not None:
                    candidates = [obj for obj in candidates if test(obj, bound)]
                if i < last:
                    grown.extend(((*combo, obj), has_new or (new is not None and id(obj) in new)) for obj in candidates)
                elif has_new:
                    done.extend((*combo, obj) for obj in candidates)
                elif new is not None:
                    done.extend((*combo, obj) for obj in candidates if id(obj) in new)
            partial = grown
        return done


def _compile(rule: BoundRule) -> tuple[CompiledPattern, ...]:
    types = {m.alias: m.type for m in rule.match}
    return tuple(compile_pattern(m, types) for m in rule.match)


class _Session:
    """One stratum within one partition, to a fixed point (for incremental sessions)."""

    def __init__(self, run: Run, rules: Sequence[BoundRule], partition: str) -> None:
        self.run_ = run
        self.rules = rules
        self.partition = partition
        self.by_type: dict[str, list[Record]] = defaultdict(list)
        self.fired: set[tuple[int, tuple[str, ...]]] = set()

    def run(self, records: Sequence[Record]) -> None:
        new = list(records)
        while new:
            for r in new:
                self.by_type[r.type].append(r)
            new_keys = {r.key for r in new}
            produced: list[Record] = []
            for rule in self.rules:
                for combo in self._matches(rule, new_keys):
                    keys = tuple(r.key for r in combo)
                    if (rule.index, keys) in self.fired:
                        continue
                    self.fired.add((rule.index, keys))
                    matched = {m.alias: r.key for m, r in zip(rule.match, combo, strict=True)}
                    produced.extend(self.run_.fire(rule, matched, self.partition))
            new = produced

    def _matches(self, rule: BoundRule, new_keys: set[str]) -> Iterator[tuple[Record, ...]]:
        """Combinations passing every pattern, at least one of whose facts is new this round."""

        def extend(
            i: int, bound: dict[str, Obj], combo: tuple[Record, ...], has_new: bool
        ) -> Iterator[tuple[Record, ...]]:
            if i == len(rule.match):
                if has_new:
                    yield combo
                return
            pattern = rule.match[i]
            for r in self._candidates(pattern, bound):
                if passes(r.obj, pattern.where, bound):
                    bound[pattern.alias] = r.obj
                    yield from extend(i + 1, bound, (*combo, r), has_new or r.key in new_keys)
                    del bound[pattern.alias]

        yield from extend(0, {}, (), False)

    def _candidates(self, pattern: Match, bound: Mapping[str, Obj]) -> list[Record]:
        pool = self.by_type.get(pattern.type, [])
        for t in pattern.where:
            if t.op is Op.EQ and isinstance(t.operand, (Ref, Lit)):
                want: Any = (
                    field_value(bound[t.operand.alias], t.operand.field)
                    if isinstance(t.operand, Ref)
                    else t.operand.value
                )
                return [r for r in pool if field_value(r.obj, t.field) == want]
        return pool
