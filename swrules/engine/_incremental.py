"""Incremental evaluation: a run kept up to date as facts are added, replaced and removed.

durable-rules has no truth maintenance — retracting a premise leaves in place
what was derived from it — and keeps at most 1,024 live sessions, fewer than a
county has people. So the state lives here, and durable-rules is asked only
what it is good at: which combinations of one partition's facts match the
rules of a stratum, in a short-lived session.

Every firing is remembered: the rule, the objects it matched, the
collections it read and the items it derived. A change flows through the
strata in order:

- a collection that changed (another certificate for the person a rule
  counts for, one more certified person in a community) marks the firings
  that read it *dirty*; each is fired again on the same match;
- a partition that holds a changed fact or item is matched again by the
  backend; a firing met again whose matched objects and collections did not
  change is reused without running its rule, a new one fires, and one not met
  again (something it matched is gone) is retracted with all it derived;
- an item derived again equal to the one it replaces keeps the old object,
  so nothing downstream of an unchanged conclusion runs again.

What results is what evaluating the final facts from scratch gives; a
property test checks it on random sequences of additions and removals.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import attrs

from swrules.context import Context
from swrules.errors import EngineError, RuleFailedError
from swrules.facts import Fact
from swrules.items import Item
from swrules.load import FactSet

from ._match import reader
from ._program import BoundRule, Program
from ._run import (
    _NONE,
    Backend,
    Obj,
    Record,
    Run,
    Why,
    _compile_collect,
    _CompiledCollect,
    derive_items,
    key_of,
    partition_of,
    stamped,
)

__all__ = ["Change", "IncrementalRun"]

#: A firing's identity: the rule (its index in the program) and the keys of what it matched.
FiringKey: TypeAlias = tuple[int, tuple[str, ...]]
#: One change to the store: key, the object before (None: added) and after (None: removed).
Change: TypeAlias = tuple[str, Obj | None, Obj | None]


class _Sorted:
    """Objects kept in key order, for collections that must list them so."""

    __slots__ = ("keys", "values")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[Obj] = []

    def put(self, key: str, obj: Obj) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            self.values[i] = obj
        else:
            self.keys.insert(i, key)
            self.values.insert(i, obj)

    def drop(self, key: str) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]
            del self.values[i]


@attrs.define(slots=True)
class _Firing:
    rule: BoundRule
    objs: tuple[Obj, ...]
    bound: dict[str, Obj]
    collected: Mapping[str, tuple[Obj, ...]]
    watching: tuple[tuple[Any, ...], ...]
    outputs: tuple[str, ...]
    partition: str
    judged: Mapping[str, str]  # output key -> the day its rule noted judging it on, where it noted one


@attrs.frozen
class _Watch:
    """A collection some rule of ``stratum`` makes, and how a changed object finds the firings reading it."""

    stratum: int
    collect: _CompiledCollect
    readers: tuple[Any, ...]  # the collected object's fields named by the collection's key, when ``exact``


class IncrementalRun(Run):
    """A program's derivations over a changing set of facts."""

    grouped = False  # the store changes within a stratum: collections are looked up as they are now

    def __init__(self, program: Program, backend: Backend) -> None:
        super().__init__(program, FactSet.of(()), backend)
        self._all: dict[str, Obj] = {}
        self._typed: dict[str, _Sorted] = defaultdict(_Sorted)
        self._indexes: dict[tuple[str, str], dict[Any, _Sorted]] = {}
        self._members: dict[str, dict[str, Obj]] = defaultdict(dict)
        self._owner: dict[str, FiringKey] = {}
        self._firings: dict[FiringKey, _Firing] = {}
        self._in_partition: dict[tuple[int, str], set[FiringKey]] = defaultdict(set)
        self._watchers: dict[tuple[Any, ...], set[FiringKey]] = defaultdict(set)
        self._watches: dict[str, list[_Watch]] = defaultdict(list)
        self._dirty: set[FiringKey] = set()
        self._seen: set[FiringKey] = set()
        self._changes: list[Change] = []
        for rule in program.rules:
            types = {m.alias: m.type for m in rule.match}
            for c in rule.collect:
                compiled = _compile_collect(c, types)
                readers = tuple(reader(c.type, f) for f in compiled.ref_fields) if compiled.exact else ()
                self._watches[c.type].append(_Watch(rule.stratum, compiled, readers))

    # -- the store ------------------------------------------------------------

    def get(self, key: str) -> Obj:
        return self._all[key]

    @property
    def objects(self) -> Mapping[str, Obj]:
        return self._all

    def of_type(self, type_: str) -> list[Obj]:
        """Every fact or item of a type held now, in key order."""
        return list(self._typed[type_].values) if type_ in self._typed else []

    @property
    def keyed(self) -> Mapping[str, Item]:
        """Every item held now by key."""
        return {key: obj for key, obj in self._all.items() if isinstance(obj, _ITEM_CLASSES)}  # type: ignore[misc]

    def items_now(self) -> list[Item]:
        """Every item derived from the facts held now."""
        return [o for o in self._all.values() if isinstance(o, _ITEM_CLASSES)]  # type: ignore[misc]

    def why_now(self) -> dict[str, Why]:
        """How each item held now was derived."""
        out: dict[str, Why] = {}
        for key, fk in self._owner.items():
            f = self._firings[fk]
            out[key] = (f.rule, f.objs, f.collected, f.judged.get(key, ""))
        return out

    def _put(self, key: str, obj: Obj) -> None:
        old = self._all.get(key)
        if old is not None:
            self._unindex(key, old)
        self._all[key] = obj
        self._typed[obj.TYPE].put(key, obj)
        for (type_, field), index in self._indexes.items():
            if type_ == obj.TYPE:
                bucket = index.get(value := reader(type_, field)(obj))
                if bucket is None:
                    bucket = index[value] = _Sorted()
                bucket.put(key, obj)
        self._members[partition_of(obj)][key] = obj
        self._changes.append((key, old, obj))

    def _drop(self, key: str) -> None:
        old = self._all.pop(key)
        self._unindex(key, old)
        self._changes.append((key, old, None))

    def _unindex(self, key: str, old: Obj) -> None:
        self._typed[old.TYPE].drop(key)
        for (type_, field), index in self._indexes.items():
            if type_ == old.TYPE:
                bucket = index.get(reader(type_, field)(old))
                if bucket is not None:
                    bucket.drop(key)
        members = self._members.get(partition_of(old))
        if members is not None:
            members.pop(key, None)

    # Collections read the store as it is now: indexes are kept up to date, never rebuilt per stratum.

    def begin_stratum(self, stratum: int) -> None:
        self._consumed = self.program.consumed(stratum)
        self._shared.clear()

    def _sorted_of(self, type_: str) -> list[Obj]:
        return self._typed[type_].values if type_ in self._typed else []

    def _lookup(self, type_: str, field: str, value: Any) -> list[Obj]:
        index = self._indexes.get((type_, field))
        if index is None:
            index = self._indexes[(type_, field)] = {}
            read = reader(type_, field)
            for key, obj in zip(self._typed[type_].keys, self._typed[type_].values, strict=True):
                bucket = index.get(v := read(obj))
                if bucket is None:
                    bucket = index[v] = _Sorted()
                bucket.put(key, obj)
        try:
            bucket = index.get(value)
        except TypeError:  # an unhashable value equals no field value an index holds
            return []
        return bucket.values if bucket is not None else []

    # -- updating -------------------------------------------------------------

    def update(self, added: Iterable[Fact], removed: Iterable[str]) -> list[Change]:
        """Remove the facts with keys ``removed``, add ``added`` (a fact with a removed key replaces it), and
        re-derive. Returns the net changes to derived items, in key order."""
        self._changes = []
        for key in removed:
            self._drop(key)
        for fact in added:
            self._put(key_of(fact), fact)
        for stratum in range(len(self.program.strata)):
            self._update_stratum(stratum)
        return self._net()

    def _net(self) -> list[Change]:
        first: dict[str, Obj | None] = {}
        last: dict[str, Obj | None] = {}
        for key, old, new in self._changes:
            if key not in first:
                first[key] = old
            last[key] = new
        out: list[Change] = []
        for key in sorted(last):
            before, after = first[key], last[key]
            if before is after or (before is not None and after is not None and before == after):
                continue
            if isinstance(before or after, _ITEM_CLASSES):
                out.append((key, before, after))
        return out

    def _update_stratum(self, stratum: int) -> None:
        self.begin_stratum(stratum)
        consumed = self._consumed
        self._dirty = self._dirty_for(stratum)
        pending: set[str] = set()
        for _, old, new in self._changes:
            for obj in (old, new):
                if obj is not None and obj.TYPE in consumed:
                    pending.add(partition_of(obj))
        # A dirty firing outside the partitions matched again is fired again directly: what it matched is
        # unchanged (a change to it would have put its partition among the pending ones).
        for fk in sorted(self._dirty):
            firing = self._firings.get(fk)
            if firing is None or firing.partition in pending:
                continue
            mark = len(self._changes)
            self._refire(firing.rule, fk, firing.objs, firing.partition)
            for _, old, new in self._changes[mark:]:
                for obj in (old, new):
                    if obj is not None and obj.TYPE in consumed:
                        pending.add(partition_of(obj))
        for partition in sorted(pending):
            self._rematch(stratum, partition)
        self._dirty = set()

    def _dirty_for(self, stratum: int) -> set[FiringKey]:
        """Firings of ``stratum`` that read a collection some change so far touched."""
        dirty: set[FiringKey] = set()
        for _, old, new in self._changes:
            type_ = (old or new).TYPE  # type: ignore[union-attr]
            for watch in self._watches.get(type_, ()):
                if watch.stratum != stratum:
                    continue
                c = watch.collect
                for obj in (old, new):
                    if obj is None:
                        continue
                    if c.exact:
                        try:
                            found = self._watchers.get((c.shape, *(read(obj) for read in watch.readers)), ())
                        except TypeError:  # pragma: no cover - fields of facts and items hash
                            found = self._watchers.get((c.shape, "*"), ())
                    else:
                        found = self._watchers.get((c.shape, "*"), ())
                    for fk in found:
                        if fk in dirty:
                            continue
                        firing = self._firings[fk]
                        if all(check(obj, firing.bound) for check in c.all_checks):
                            dirty.add(fk)
        return dirty

    def _rematch(self, stratum: int, partition: str) -> None:
        """Match one partition's current facts and earlier items again; retract what no longer matches."""
        strata_of = self.program.rules
        records = sorted(
            (
                Record(key, obj.TYPE, obj)
                for key, obj in self._members.get(partition, {}).items()
                if obj.TYPE in self._consumed
                and (key not in self._owner or strata_of[self._owner[key][0]].stratum != stratum)
            ),
            key=lambda r: r.key,
        )
        self._seen = set()
        if records:
            self.backend.match_partitions(self, stratum, [(partition, tuple(records))])
        for fk in sorted(self._in_partition.get((stratum, partition), set()) - self._seen):
            self._retract(fk)

    def fire(self, rule: BoundRule, matched: Mapping[str, str], partition: str) -> list[Record]:
        """A match found by the backend: reuse the firing if nothing it read changed, else fire it again."""
        keys = tuple(matched[m.alias] for m in rule.match)
        fk = (rule.index, keys)
        self._seen.add(fk)
        objs = tuple(self._all[k] for k in keys)
        firing = self._firings.get(fk)
        if firing is None or fk in self._dirty or any(a is not b for a, b in zip(firing.objs, objs, strict=True)):
            firing = self._refire(rule, fk, objs, partition)
        return [Record(key, obj.TYPE, obj) for key in firing.outputs if (obj := self._all[key]).TYPE in self._consumed]

    def _refire(self, rule: BoundRule, fk: FiringKey, objs: tuple[Obj, ...], partition: str) -> _Firing:
        old = self._firings.get(fk)
        plan = self._plans.get(rule.index) or self._plan(rule)
        bound = dict(zip(plan.aliases, objs, strict=True))
        collected = self._collect_all(plan, bound) if plan.collects else _NONE
        ctx = Context(self.program.ruleset, rule.id, self.program.frame, bound, collected, rule.params, rule.deadline)
        produced = derive_items(rule, ctx, objs)
        outputs: list[str] = []
        judged: dict[str, str] = {}
        for item, note in produced:
            item = stamped(item, rule, plan.emits, objs)
            key = item.key
            if note:
                judged[key] = note
            if item.TYPE in self._consumed and partition_of(item) != partition:
                why = f"derived {key!r} outside its partition {partition!r}"
                raise RuleFailedError(rule.id, list(fk[1]), why)
            if key in outputs:
                if self._all[key] == item:
                    continue  # the same conclusion twice from one match: one item
                raise EngineError(f"rules {rule.id!r} and {rule.id!r} both derive {key!r}; an item has one cause")
            owner = self._owner.get(key)
            if owner is not None and owner != fk:
                other = self._firings[owner]
                if any(self._all.get(k) is not o for k, o in zip(owner[1], other.objs, strict=True)):
                    self._retract(owner)  # matched something since changed: it is on its way out
                else:
                    raise EngineError(
                        f"rules {other.rule.id!r} and {rule.id!r} both derive {key!r}; an item has one cause"
                    )
            current = self._all.get(key)
            if current is None or current != item:
                self._put(key, item)
            self._owner[key] = fk
            outputs.append(key)
        if old is not None:
            for key in old.outputs:
                if key not in outputs and self._owner.get(key) == fk:
                    del self._owner[key]
                    self._drop(key)
            self._unwatch(fk, old)
            self._in_partition[(rule.stratum, old.partition)].discard(fk)
        watching = tuple(self._watch_key(c, bound) for _, c, _ in plan.collects)
        firing = _Firing(rule, objs, bound, collected, watching, tuple(outputs), partition, judged)
        self._firings[fk] = firing
        for watched in watching:
            self._watchers[watched].add(fk)
        self._in_partition[(rule.stratum, partition)].add(fk)
        self._dirty.discard(fk)
        return firing

    @staticmethod
    def _watch_key(c: _CompiledCollect, bound: Mapping[str, Obj]) -> tuple[Any, ...]:
        if not c.exact:
            return (c.shape, "*")
        return (c.shape, *(read(bound) for read in c.refs))

    def _unwatch(self, fk: FiringKey, firing: _Firing) -> None:
        for key in firing.watching:
            watchers = self._watchers.get(key)
            if watchers is not None:
                watchers.discard(fk)
                if not watchers:
                    del self._watchers[key]

    def _retract(self, fk: FiringKey) -> None:
        firing = self._firings.pop(fk, None)
        if firing is None:
            return
        for key in firing.outputs:
            if self._owner.get(key) == fk:
                del self._owner[key]
                self._drop(key)
        self._unwatch(fk, firing)
        self._in_partition[(firing.rule.stratum, firing.partition)].discard(fk)
        self._dirty.discard(fk)


def _item_classes() -> tuple[type, ...]:
    from swrules.items import ITEM_TYPES

    return tuple(ITEM_TYPES.values())


_ITEM_CLASSES = _item_classes()
