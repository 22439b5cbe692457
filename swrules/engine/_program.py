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
from typing import Any, Final

import attrs

from swrules.errors import RulesetError
from swrules.period import Period
from swrules.rules._ir import Collect, Lit, Match, Op, Param, Ref, RuleDef, Test

__all__ = ["PARTITIONS", "BoundRule", "Program", "compile_program"]

#: Where each fact or item type lives: the first (scope, field) whose value is set.
PARTITIONS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "person": (("person", "id"),),
    "certificate": (("person", "holder"),),
    "post": (("person", "holder"), ("post", "id")),
    "community": (("community", "id"),),
    "organization": (("organization", "id"),),
    "exam_registration": (("person", "person"),),
    "service_project": (("project", "id"),),
    "training": (("person", "person"),),
    "talent_selection": (("person", "person"),),
    "jurisdiction": (("jurisdiction", "id"),),
    "held": (("person", "person"),),
    "person_status": (("person", "person"),),
    "post_status": (("person", "holder"),),
    "eligibility": (("person", "person"),),
    "post_grade": (("person", "holder"), ("post", "post")),
    "obligation": (("person", "payee"),),
    "finding": (("subject", "subject"),),
    "subject_count": (("subject", "subject"),),
}


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


@attrs.frozen(kw_only=True)
class Program:
    ruleset: str
    period: Period
    rules: tuple[BoundRule, ...]
    strata: tuple[tuple[BoundRule, ...], ...]
    fingerprint: str

    def consumed(self, stratum: int) -> frozenset[str]:
        """Types some pattern of the stratum matches."""
        return frozenset(m.type for r in self.strata[stratum] for m in r.match)


@attrs.frozen(kw_only=True)
class RuleBinding:
    """What the evaluator needs from a ruleset's rule entry."""

    id: str
    clause: str
    definition: RuleDef


def compile_program(
    ruleset: str,
    bindings: Sequence[RuleBinding],
    params: Mapping[str, Any],
    period: Period,
) -> Program:
    """Bind rules to parameters and the period; order them in strata; check their joins."""
    scope: dict[str, Any] = dict(params)
    scope.update(
        {
            "period.start": period.start.isoformat(),
            "period.end": period.end.isoformat(),
            "period.year": period.year,
            "period": str(period),
        }
    )
    rules: list[BoundRule] = []
    for index, b in enumerate(bindings):
        d = b.definition
        where = f"rule {b.id!r} ({d.name})"
        match = tuple(Match(p.alias, p.type, _resolve(p.where, scope, where)) for p in d.match)
        collect = tuple(Collect(p.alias, p.type, _resolve(p.where, scope, where)) for p in d.collect)
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
            "rules": [
                [
                    r.id,
                    r.clause,
                    r.definition.name,
                    id(r.definition.derive),
                    repr(r.match),
                    repr(r.collect),
                    repr(sorted(r.params.items())),
                ]
                for r in rules
            ],
        },
        sort_keys=True,
        default=str,
    )
    return Program(
        ruleset=ruleset,
        period=period,
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
