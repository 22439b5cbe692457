"""A ruleset's rules bound to parameter values and a period, in strata.

Stratification is what makes the result independent of firing order: a rule
that *collects* a type (to count it, sum it, or see that it is absent) runs in
a later stratum than every rule deriving that type, so a collection is always
complete. Positive patterns chain freely within a stratum.

Facts and items live in *partitions* (one person's facts, one community, one
project…): a backend matches patterns within one partition at a time, which
keeps durable sessions small. Every join between patterns of one rule must
link the partition fields of both sides; :func:`compile_program` checks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

import attrs

from swrules.errors import RulesetError
from swrules.ir import Collect, Lit, Match, Op, Param, Ref, RuleDef, Test
from swrules.items import DeadlineStatus, Severity
from swrules.period import Period, TimeFrame

__all__ = ["PARTITIONS", "BoundRule", "Program", "compile_program", "compile_programs", "deadline_status"]


def _partitions() -> dict[str, tuple[tuple[str, str], ...]]:
    """Where each fact or item type lives, as its class declares (``PARTITION``): the engine keeps no table."""
    from swrules.facts import FACT_TYPES
    from swrules.items import ITEM_TYPES

    classes: dict[str, Any] = {**FACT_TYPES, **ITEM_TYPES}
    return {name: cls.PARTITION for name, cls in classes.items()}


#: Where each fact or item type lives: the first (scope, field) whose value is set.
PARTITIONS: Final[dict[str, tuple[tuple[str, str], ...]]] = _partitions()


@attrs.frozen(kw_only=True)
class BoundRule:
    """One rule of one ruleset, ready to run: parameters and period resolved into its tests."""

    index: int
    id: str
    clause: str
    definition: RuleDef
    match: tuple[Match, ...]
    collect: tuple[Collect, ...]
    params: Mapping[str, Any]
    stratum: int
    severity: Severity | None = None
    deadline: date | None = None
    deadline_status: DeadlineStatus | None = None
    judged: str = ""  # the day a snapshot rule judges on (ISO); empty for a rule that reads histories


@attrs.frozen(kw_only=True)
class Program:
    """Rules bound to one time frame. ``owned`` names the rules whose items this program is the source of (the
    others are run only for what they feed: a deadline's program re-derives the steps its findings count)."""

    ruleset: str
    frame: TimeFrame
    rules: tuple[BoundRule, ...]
    strata: tuple[tuple[BoundRule, ...], ...]
    fingerprint: str
    owned: frozenset[str] = frozenset()

    @property
    def period(self) -> Period:
        return self.frame.period

    def consumed(self, stratum: int) -> frozenset[str]:
        """Types some pattern of the stratum matches."""
        return frozenset(m.type for r in self.strata[stratum] for m in r.match)


@attrs.frozen(kw_only=True)
class RuleBinding:
    """What the evaluator needs from a ruleset's rule entry."""

    id: str
    clause: str
    definition: RuleDef
    severity: Severity | None = None
    deadline: date | None = None


def deadline_status(deadline: date, period: Period) -> DeadlineStatus:
    """Whether ``deadline`` lies after, within or before ``period``."""
    if deadline > period.end:
        return DeadlineStatus.AHEAD
    if deadline >= period.start:
        return DeadlineStatus.DUE
    return DeadlineStatus.PAST


def judgment_day(binding: RuleBinding, frame: TimeFrame) -> date:
    """The day a snapshot rule judges on: the frame's day, or its deadline once the period reaches it."""
    if binding.deadline is None or deadline_status(binding.deadline, frame.period) is DeadlineStatus.AHEAD:
        return frame.day
    return binding.deadline


def compile_programs(
    ruleset: str,
    bindings: Sequence[RuleBinding],
    params: Mapping[str, Any],
    frame: TimeFrame,
    dated: frozenset[str] | None = None,
) -> tuple[Program, ...]:
    """One program per judgment day: the frame's day first, then each deadline the period has reached.

    Snapshot rules judge on one day; a rule with a deadline judges on the deadline once the period reaches it.
    The first program holds every rule judged on the frame's day and every rule that reads histories; each later
    one holds the rules judged on one deadline and, to feed them, the rules deriving what they read (their items
    are that program's own, re-derived on its day, and only the deadline rules' items are taken from it).
    """
    if dated is not None:  # what rules reading histories derive carries the window of the versions it came from
        dated = dated | {t for b in bindings if b.definition.reads != "snapshot" for t in b.definition.emits}
    days: dict[date, list[int]] = {}
    for i, b in enumerate(bindings):
        if b.definition.reads == "snapshot":
            days.setdefault(judgment_day(b, frame), []).append(i)
    main = [
        i for i, b in enumerate(bindings) if b.definition.reads != "snapshot" or judgment_day(b, frame) == frame.day
    ]
    programs = [compile_program(ruleset, [bindings[i] for i in main], params, frame.period, frame=frame, dated=dated)]
    for day in sorted(d for d in days if d != frame.day):
        owned = {bindings[i].id for i in days[day]}
        chosen = _with_producers(bindings, days[day])
        world = compile_program(
            ruleset, [bindings[i] for i in chosen], params, frame.period, frame=frame.at(day), dated=dated
        )
        programs.append(attrs.evolve(world, owned=frozenset(owned)))
    return tuple(programs)


def _with_producers(bindings: Sequence[RuleBinding], wanted: Sequence[int]) -> list[int]:
    """``wanted`` and every rule deriving a type they read, transitively, in binding order."""
    producers: dict[str, list[int]] = {}
    for i, b in enumerate(bindings):
        for t in b.definition.emits:
            producers.setdefault(t, []).append(i)
    chosen = set(wanted)
    todo = list(wanted)
    while todo:
        d = bindings[todo.pop()].definition
        patterns: tuple[Match | Collect, ...] = (*d.match, *d.collect)
        for p in patterns:
            for i in producers.get(p.type, ()):
                if i not in chosen:
                    chosen.add(i)
                    todo.append(i)
    return sorted(chosen)


def compile_program(
    ruleset: str,
    bindings: Sequence[RuleBinding],
    params: Mapping[str, Any],
    period: Period,
    *,
    frame: TimeFrame | None = None,
    dated: frozenset[str] | None = None,
) -> Program:
    """Bind rules to parameters and a time frame; order them in strata; check their joins.

    A snapshot rule (``reads = "snapshot"``) sees only what is in force on the frame's day: each of its patterns
    and collections gets the tests ``valid_from <= day <= valid_until``, left out for the types ``dated`` says
    carry no window (None: any may).
    """
    if frame is None:
        frame = TimeFrame(period, date.min, None, period.end)
    day = frame.day.isoformat()
    scope: dict[str, Any] = dict(params)
    scope.update(
        {
            "period.start": period.start.isoformat(),
            "period.end": period.end.isoformat(),
            "period.year": period.year,
            "period": str(period),
            "day": day,
            "day.year": frame.day.year,
        }
    )
    in_force = (Test("valid_from", Op.LE, Lit(day)), Test("valid_until", Op.GE, Lit(day)))
    rules: list[BoundRule] = []
    for index, b in enumerate(bindings):
        d = b.definition
        where = f"rule {b.id!r} ({d.name})"
        snapshot = d.reads == "snapshot"

        def window(type_: str) -> tuple[Test, ...]:
            return in_force if snapshot and (dated is None or type_ in dated) else ()  # noqa: B023

        match = tuple(Match(p.alias, p.type, (*_resolve(p.where, scope, where), *window(p.type))) for p in d.match)
        collect = tuple(
            Collect(p.alias, p.type, (*_resolve(p.where, scope, where), *window(p.type))) for p in d.collect
        )
        _check_joins(match, where)
        used = {name: params[name] for name in d.param_names() if name in params}
        rules.append(
            BoundRule(
                index=index,
                id=b.id,
                clause=b.clause,
                definition=d,
                match=match,
                collect=collect,
                params=used,
                stratum=0,
                severity=b.severity,
                deadline=b.deadline,
                deadline_status=None if b.deadline is None else deadline_status(b.deadline, period),
                judged=day if snapshot else "",
            )
        )
    levels = _stratify(rules)
    rules = [attrs.evolve(r, stratum=levels[r.index]) for r in rules]
    strata = tuple(tuple(r for r in rules if r.stratum == s) for s in range(max(levels, default=-1) + 1))
    # The derive function counts by identity: a template redefined under its name makes another program (the
    # durable engine keeps compiled programs by fingerprint, and the one it keeps holds the function alive).
    blob = json.dumps(
        {
            "ruleset": ruleset,
            "period": str(period),
            "frame": [frame.window_from.isoformat(), str(frame.window_until), day],
            "rules": [
                [
                    r.id,
                    r.clause,
                    r.definition.name,
                    id(r.definition.derive),
                    repr(r.match),
                    repr(r.collect),
                    repr(sorted(r.params.items())),
                    str(r.severity),
                    str(r.deadline),
                ]
                for r in rules
            ],
        },
        sort_keys=True,
        default=str,
    )
    return Program(
        ruleset=ruleset,
        frame=frame,
        rules=tuple(rules),
        strata=tuple(s for s in strata if s),
        fingerprint=hashlib.sha256(blob.encode()).hexdigest()[:16],
    )


def _resolve(tests: tuple[Test, ...], scope: Mapping[str, Any], where: str) -> tuple[Test, ...]:
    out = []
    for t in tests:
        operand = t.operand
        if isinstance(operand, Param):
            if operand.name not in scope:
                raise RulesetError(
                    f"{where} reads parameter {operand.name!r}, which the ruleset does not set", key=operand.name
                )
            value = scope[operand.name]
            if isinstance(value, (list, tuple)):
                if t.op is not Op.IN:
                    raise RulesetError(
                        f"{where}: parameter {operand.name!r} is a list; only 'in' can test it", key=operand.name
                    )
                out.append(Test(t.field, t.op, Lit(tuple(str(v) for v in value))))
                continue
            if not (value is None or isinstance(value, (str, int, bool))):
                raise RulesetError(
                    f"{where}: parameter {operand.name!r} cannot be used in a test (got {value!r})", key=operand.name
                )
            operand = Lit(value)
        out.append(Test(t.field, t.op, operand))
    return tuple(out)


def _check_joins(match: tuple[Match, ...], where: str) -> None:
    """Every pattern after the first must be joined to an earlier one through partition fields."""
    types = {m.alias: m.type for m in match}
    for i, m in enumerate(match):
        for t in m.where:
            if t.op is Op.IN and not isinstance(t.operand, Ref):
                continue
            if t.op is Op.IN:
                raise RulesetError(f"{where}: 'in' against another fact is only allowed in a collection")
        if m.type not in PARTITIONS:
            raise RulesetError(f"{where}: pattern {m.alias!r} matches unknown type {m.type!r}")
        if i == 0:
            continue
        linked = False
        for t in m.where:
            if t.op is Op.EQ and isinstance(t.operand, Ref) and t.operand.alias in types:
                mine = {s for s, f in PARTITIONS[m.type] if f == t.field}
                theirs = {s for s, f in PARTITIONS[types[t.operand.alias]] if f == t.operand.field}
                if mine & theirs:
                    linked = True
        if not linked:
            raise RulesetError(
                f"{where}: pattern {m.alias!r} ({m.type}) is not joined to an earlier pattern through a "
                "partition field, so it could never meet it in one session; use a collection instead"
            )


def _stratify(rules: Sequence[BoundRule]) -> list[int]:
    producers: dict[str, list[int]] = {}
    for r in rules:
        for t in r.definition.emits:
            producers.setdefault(t, []).append(r.index)
    level = [0] * len(rules)
    for _ in range(len(rules) + 1):
        changed = False
        for r in rules:
            need = 0
            for m in r.match:
                for p in producers.get(m.type, ()):
                    need = max(need, level[p])
            for c in r.collect:
                for p in producers.get(c.type, ()):
                    need = max(need, level[p] + 1)
            if need != level[r.index]:
                level[r.index] = need
                changed = True
        if not changed:
            return level
    cycle = ", ".join(sorted(r.id for r in rules if level[r.index] >= len(rules)))
    raise RulesetError(f"rules collect what they themselves derive, so no order can complete them: {cycle}")
