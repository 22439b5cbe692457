"""The native backend: the same rule definitions, matched by indexed joins in plain Python.

Within each partition it runs the stratum's rules to a fixed point: every
combination of facts that passes a rule's patterns fires exactly once; items
derived during the stratum are matched too (semi-naive: a round only looks at
combinations that use something new). It needs no durable-rules, so it runs
where durable cannot (Python 3.13+).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from swrules.rules._ir import Lit, Match, Op, Ref

from ._program import BoundRule
from ._run import Obj, Partition, Record, Run, field_value, passes

__all__ = ["NativeBackend"]


class NativeBackend:
    """Evaluates programs without an external engine."""

    name = "native"

    def execute(self, run: Run) -> None:
        run.execute()

    def run_stratum(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        rules = run.program.strata[stratum]
        for partition, records in partitions:
            _Session(run, rules, partition).run(records)


class _Session:
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
