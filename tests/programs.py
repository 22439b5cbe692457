"""Hand-made programs for engine tests, and a naive evaluation to check them against.

The shipped templates chain only across strata, collect with at most one
test besides the indexed one, and never collect the same thing twice with two
joined values. The programs here do all of that: rules that feed each other
within one stratum (so the batch engine's later rounds, where only
combinations with something new may fire, have work to do), three-pattern
joins, collections shared between rules, collections over a list field, and
collections whose first test is not an equality. ``naive`` evaluates a
program the plainest way: every combination of objects tried, with the plain
reading of each test, until nothing new appears.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from swrules.context import Context
from swrules.engine import ENGINES, RuleBinding, compile_program, durable_available, execute, incremental, update
from swrules.engine._program import Program
from swrules.engine._run import key_of, passes
from swrules.facts import Band, Certificate, CertLevel, Fact, Jurisdiction, Person, Role, ServiceProject
from swrules.ir import Collect, Lit, Match, Op, Ref, RuleDef
from swrules.ir import Test as Cond  # a name pytest does not collect
from swrules.items import ITEM_TYPES, Eligibility, Finding, Held, Item, Obligation, ObligationKind
from swrules.load import FactSet, load_facts
from swrules.period import Period

ENGINES_HERE = [e for e in ENGINES if e == "native" or durable_available()]
ITEM_CLASSES = tuple(ITEM_TYPES.values())


def program(*rules: RuleDef, params: Mapping[str, Any] | None = None, period: str = "2021") -> Program:
    bindings = [RuleBinding(id=r.name.split(".")[1], clause=f"test.{r.name}", definition=r) for r in rules]
    return compile_program("t", bindings, params or {}, Period.parse(period))


def facts(*dicts: dict[str, Any]) -> list[Fact]:
    return list(load_facts({"facts": list(dicts)}))


def naive(prog: Program, given: Iterable[Fact]) -> dict[str, Item]:
    """Every combination tried, stratum by stratum, until nothing new is derived."""
    store: dict[str, Any] = {key_of(f): f for f in given}
    for stratum in prog.strata:
        while True:
            new: dict[str, Item] = {}
            for rule in stratum:
                pools = [[o for o in store.values() if o.TYPE == m.type] for m in rule.match]
                for combo in itertools.product(*pools):
                    bound: dict[str, Any] = {}
                    for m, obj in zip(rule.match, combo, strict=True):
                        if not passes(obj, m.where, bound):
                            break
                        bound[m.alias] = obj
                    else:
                        collected = {
                            c.alias: tuple(
                                sorted(
                                    (o for o in store.values() if o.TYPE == c.type and passes(o, c.where, bound)),
                                    key=key_of,
                                )
                            )
                            for c in rule.collect
                        }
                        ctx = Context(prog.ruleset, rule.id, prog.frame, bound, collected, rule.params, rule.deadline)
                        for item in rule.definition.derive(ctx):
                            item = attrs.evolve(item, rule=rule.id, clause=rule.clause)
                            if item.key not in store:
                                new[item.key] = item
            if not new:
                break
            store.update(new)
    return {k: v for k, v in sorted(store.items()) if isinstance(v, ITEM_CLASSES)}


def batch(prog: Program, given: Sequence[Fact], engine: str) -> dict[str, Item]:
    run = execute(prog, FactSet.of(given), engine)
    assert len(run.items) == len({i.key for i in run.items}), "an item was stored twice"
    return {i.key: i for i in sorted(run.items, key=lambda i: i.key)}


def session_items(prog: Program, steps: Sequence[tuple[Sequence[Fact], Sequence[str]]], engine: str) -> dict[str, Item]:
    inc = incremental(prog, engine)
    for added, removed in steps:
        update(inc, added, removed)
    return {i.key: i for i in sorted(inc.items_now(), key=lambda i: i.key)}


def obligation(
    id_: str, payee: str, *, payer: str = "x", kind: ObligationKind = ObligationKind.TALENT_CARD
) -> Obligation:
    amount = None if kind is ObligationKind.TALENT_CARD else Decimal(1)
    return Obligation(id=id_, kind=kind, payee=payee, payer=payer, amount=amount, period="2021", due="2021-01")


# -- a chain within one stratum ------------------------------------------------------------


def _held(ctx: Context) -> Iterator[Item]:
    c = ctx["c"]
    yield Held(person=c.holder, certificate=c.id, level=c.level, obtained_on=c.obtained_on, registered=c.registered)


def _card(ctx: Context) -> Iterator[Item]:
    yield obligation(f"B/{ctx['p'].id}", ctx["p"].id, payer="b")


def _not_senior(ctx: Context) -> Iterator[Item]:
    yield Eligibility(person=ctx["p"].id, band=Band.SENIOR, eligible=False)


_BAND = {CertLevel.ASSISTANT: Band.JUNIOR, CertLevel.INTERMEDIATE: Band.INTERMEDIATE, CertLevel.SENIOR: Band.SENIOR}


def _eligible(ctx: Context) -> Iterator[Item]:
    yield Eligibility(person=ctx["p"].id, band=_BAND[ctx["h"].level], eligible=True)


def _card_for_held(ctx: Context) -> Iterator[Item]:
    h = ctx["h"]
    yield obligation(f"D/{h.certificate}", h.person, payer="d")


def _reward_per_band(ctx: Context) -> Iterator[Item]:
    o, e = ctx["o"], ctx["e"]
    yield obligation(f"E/{o.id}/{e.band.value}", o.payee, kind=ObligationKind.TALENT_REWARD)


def _held_from_card(ctx: Context) -> Iterator[Item]:
    o = ctx["o"]
    yield Held(
        person=o.payee,
        certificate=f"x-{o.id}",
        level=CertLevel.ASSISTANT,
        obtained_on=date(2021, 1, 1),
        registered=True,
    )


def _three_way(ctx: Context) -> Iterator[Item]:
    p, e, h = ctx["p"], ctx["e"], ctx["h"]
    yield obligation(f"G/{p.id}/{e.band.value}/{h.certificate}", p.id, kind=ObligationKind.EXAM_REWARD)


UNREGISTERED = Cond("registered", Op.EQ, Lit(False))
CHAIN = (
    RuleDef("t.held", "certificate -> held", (Match("c", "certificate"),), ("held",), _held),
    RuleDef("t.card", "person -> card", (Match("p", "person"),), ("obligation",), _card),
    RuleDef("t.not_senior", "person -> eligibility", (Match("p", "person"),), ("eligibility",), _not_senior),
    RuleDef(
        "t.eligible",
        "held, person -> eligibility",
        (Match("h", "held", (UNREGISTERED,)), Match("p", "person", (Cond("id", Op.EQ, Ref("h", "person")),))),
        ("eligibility",),
        _eligible,
    ),
    RuleDef("t.card_for_held", "held -> card", (Match("h", "held", (UNREGISTERED,)),), ("obligation",), _card_for_held),
    RuleDef(
        "t.reward_per_band",
        "card, eligibility -> reward",
        (
            Match("o", "obligation", (Cond("kind", Op.EQ, Lit("talent_card")),)),
            Match("e", "eligibility", (Cond("person", Op.EQ, Ref("o", "payee")),)),
        ),
        ("obligation",),
        _reward_per_band,
    ),
    RuleDef(
        "t.held_from_card",
        "card of a held certificate -> another held",
        (Match("o", "obligation", (Cond("payer", Op.EQ, Lit("d")),)),),
        ("held",),
        _held_from_card,
    ),
    RuleDef(
        "t.three_way",
        "person, eligibility, held",
        (
            Match("p", "person"),
            Match("e", "eligibility", (Cond("person", Op.EQ, Ref("p", "id")),)),
            Match("h", "held", (Cond("person", Op.EQ, Ref("e", "person")),)),
        ),
        ("obligation",),
        _three_way,
    ),
)

PEOPLE = facts(
    {"type": "person", "id": "p1", "role": "community_worker"},
    {"type": "person", "id": "p2", "role": "village_cadre"},
    {"type": "person", "id": "p3", "role": "community_worker"},
    {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2019-01-01"},
    {"type": "certificate", "id": "k2", "holder": "p1", "level": "intermediate", "obtained_on": "2020-06-01"},
    {"type": "certificate", "id": "k3", "holder": "p2", "level": "assistant", "obtained_on": "2021-02-01"},
)


# -- collections -----------------------------------------------------------------------------


def _count_same_level(name: str) -> Any:
    def derive(ctx: Context) -> Iterator[Item]:
        yield obligation(f"{name}/{ctx['c'].id}", ctx["p"].id, payer=str(len(ctx.all("h"))))

    return derive


def _census(name: str) -> Any:
    def derive(ctx: Context) -> Iterator[Item]:
        actual = Decimal(100 * len(ctx.all("a")) + len(ctx.all("b")))
        yield Finding(subject=ctx["j"].id, requirement=name, satisfied=None, actual=actual, required=None)

    return derive


def _listing(prefix: str, alias: str, subject: str) -> Any:
    def derive(ctx: Context) -> Iterator[Item]:
        ids = ",".join(key_of(o) for o in ctx.all(alias))
        yield obligation(f"{prefix}/{ctx[subject].id}", ctx[subject].id, payer=ids or "-")

    return derive


SAME_LEVEL = Collect("h", "held", (Cond("person", Op.EQ, Ref("p", "id")), Cond("level", Op.EQ, Ref("c", "level"))))
CERT_AND_HOLDER = (
    Match("c", "certificate"),
    Match("p", "person", (Cond("id", Op.EQ, Ref("c", "holder")),)),
)
JURISDICTION = (Match("j", "jurisdiction"),)
EVERYONE = (Collect("a", "person"), Collect("b", "community"))


def _role_count(role: str) -> RuleDef:
    return RuleDef(
        f"t.role_{role}",
        f"people whose role is {role}",
        JURISDICTION,
        ("finding",),
        lambda ctx: iter(
            [
                Finding(
                    subject=ctx["j"].id,
                    requirement=role,
                    satisfied=None,
                    actual=Decimal(len(ctx.all("w"))),
                    required=None,
                )
            ]
        ),
        collect=(Collect("w", "person", (Cond("role", Op.EQ, Lit(role)),)),),
    )


COLLECTING = (
    CHAIN[0],
    RuleDef(
        "t.same_level_a",
        "shared, two joined values",
        CERT_AND_HOLDER,
        ("obligation",),
        _count_same_level("A"),
        collect=(SAME_LEVEL,),
    ),
    RuleDef(
        "t.same_level_b",
        "shared, two joined values",
        CERT_AND_HOLDER,
        ("obligation",),
        _count_same_level("B"),
        collect=(SAME_LEVEL,),
    ),
    RuleDef("t.census_a", "shared, nothing joined", JURISDICTION, ("finding",), _census("census_a"), collect=EVERYONE),
    RuleDef("t.census_b", "shared, nothing joined", JURISDICTION, ("finding",), _census("census_b"), collect=EVERYONE),
    _role_count("community_worker"),
    _role_count("village_cadre"),
    RuleDef(
        "t.three_tests",
        "a collection with two tests besides the indexed one",
        (Match("p", "person"),),
        ("obligation",),
        _listing("T", "h", "p"),
        collect=(
            Collect(
                "h",
                "held",
                (
                    Cond("person", Op.EQ, Ref("p", "id")),
                    Cond("level", Op.NE, Lit("senior")),
                    Cond("registered", Op.EQ, Lit(False)),
                ),
            ),
        ),
    ),
    RuleDef(
        "t.listed",
        "people named in a list field, in key order",
        (Match("s", "service_project"),),
        ("obligation",),
        _listing("L", "q", "s"),
        collect=(Collect("q", "person", (Cond("id", Op.IN, Ref("s", "social_workers")),)),),
    ),
    RuleDef(
        "t.earlier",
        "a collection whose first test is an ordering against a joined value, and two tests besides the indexed one",
        (Match("c", "certificate"),),
        ("obligation",),
        _listing("O", "e", "c"),
        collect=(
            Collect(
                "e",
                "certificate",
                (
                    Cond("obtained_on", Op.LE, Ref("c", "obtained_on")),
                    Cond("level", Op.NE, Lit("senior")),
                    Cond("holder", Op.EQ, Ref("c", "holder")),
                ),
            ),
        ),
    ),
    RuleDef(
        "t.listed_roles",
        "a collection whose first test is 'in' a literal list",
        JURISDICTION,
        ("obligation",),
        _listing("R", "w", "j"),
        collect=(
            Collect(
                "w",
                "person",
                (Cond("role", Op.IN, Lit(("community_worker", "village_cadre"))), Cond("community", Op.EQ, Lit("c1"))),
            ),
        ),
    ),
)

TOWN = facts(
    {"type": "jurisdiction", "id": "j1"},
    {"type": "community", "id": "c1", "kind": "urban"},
    {"type": "community", "id": "c2", "kind": "rural"},
    {"type": "organization", "id": "o1", "kind": "social_work_agency"},
    {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
    {"type": "person", "id": "p2", "role": "village_cadre", "community": "c1"},
    {"type": "person", "id": "p3", "role": "community_worker", "community": "c2"},
    {"type": "person", "id": "p4", "role": "institution_staff"},
    {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2019-01-01"},
    {"type": "certificate", "id": "k2", "holder": "p1", "level": "assistant", "obtained_on": "2020-06-01"},
    {"type": "certificate", "id": "k3", "holder": "p1", "level": "intermediate", "obtained_on": "2020-09-01"},
    {"type": "certificate", "id": "k4", "holder": "p2", "level": "senior", "obtained_on": "2018-03-01"},
    {
        "type": "certificate",
        "id": "k5",
        "holder": "p3",
        "level": "assistant",
        "obtained_on": "2021-01-05",
        "registered": True,
    },
    {"type": "certificate", "id": "k6", "holder": "p2", "level": "assistant", "obtained_on": "2017-03-01"},
    {
        "type": "service_project",
        "id": "s1",
        "organization": "o1",
        "funds": "1000.00",
        "personnel_cost": "100.00",
        "social_workers": ["p3", "p1", "p2"],
    },
)


# -- strata: one type collected in two strata, items of an earlier stratum matched in a later one ----------


def _count_of_person(ctx: Context) -> Iterator[Item]:
    h = ctx["h"]
    yield Finding(
        subject=h.certificate, requirement="count", satisfied=None, actual=Decimal(len(ctx.all("s"))), required=None
    )


def _late(ctx: Context) -> Iterator[Item]:
    j = ctx["j"].id
    yield obligation(f"late/{j}", j, payer=f"{len(ctx.all('f'))} counts, {len(ctx.all('h'))} held")


def _holds(ctx: Context) -> Iterator[Item]:
    yield Finding(subject=ctx["c"].holder, requirement="holds", satisfied=None, actual=Decimal(1), required=None)


def _staff(ctx: Context) -> Iterator[Item]:
    s = ctx["s"]
    names = ",".join(f"{q.id}:{q.role.value}" for q in ctx.all("q"))
    if names:  # nothing for a project none of whose people are held
        yield obligation(f"S/{s.id}", s.id, payer=names)


STRATA = (
    # listed first, so the first watch on 'held' belongs to the last stratum
    RuleDef(
        "t.late",
        "collects findings of stratum 1 and held items",
        JURISDICTION,
        ("obligation",),
        _late,
        collect=(Collect("f", "finding", (Cond("requirement", Op.EQ, Lit("count")),)), Collect("h", "held")),
    ),
    CHAIN[0],
    RuleDef(
        "t.count",
        "matches an item of stratum 0 and collects the person's others",
        (Match("h", "held"),),
        ("finding",),
        _count_of_person,
        collect=(Collect("s", "held", (Cond("person", Op.EQ, Ref("h", "person")),)),),
    ),
    RuleDef(
        "t.holds",
        "a finding keyed by the holder of a senior certificate, not by the certificate",
        (Match("c", "certificate", (Cond("level", Op.EQ, Lit("senior")),)),),
        ("finding",),
        _holds,
    ),
    RuleDef(
        "t.staff",
        "the people a project lists, with their roles",
        (Match("s", "service_project"),),
        ("obligation",),
        _staff,
        collect=(Collect("q", "person", (Cond("id", Op.IN, Ref("s", "social_workers")),)),),
    ),
)


def cert(id_: str, holder: str, level: str, on: str = "2020-01-01") -> Certificate:
    """A certificate whose holder need not be among the facts loaded with it (the engine does not check)."""
    return Certificate(id=id_, holder=holder, level=CertLevel(level), obtained_on=date.fromisoformat(on))


def person(id_: str, role: str) -> Person:
    return Person(id=id_, role=Role(role))


def project(id_: str, *workers: str) -> ServiceProject:
    return ServiceProject(
        id=id_, organization="o1", funds=Decimal(10), personnel_cost=Decimal(1), social_workers=tuple(workers)
    )


STRATA_FACTS: list[Fact] = [
    Jurisdiction(id="j1"),
    person("p1", "community_worker"),
    person("p2", "community_worker"),
    person("p3", "village_cadre"),
    cert("k1", "p1", "assistant"),
    cert("k3", "p2", "senior"),
    project("s1", "p1"),
    project("s2", "p2"),
    cert("k2", "p1", "intermediate"),
    cert("k5", "p1", "intermediate", "2021-01-01"),
    cert("k4", "p3", "assistant", "2021-03-01"),
]
