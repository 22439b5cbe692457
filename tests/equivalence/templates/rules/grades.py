"""Certificates held, eligibility by band, post grades, and whether a post holder qualifies.

The chain: certificate → held (as of the period's end) → eligibility and the
person's status → the ``post_holder_qualified`` finding for an occupied post.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from swrules.context import Context
from swrules.facts import Band, Certificate, CertLevel, Person, Post
from swrules.ir import Collect, Lit, Match, Op, ParamSpec, Ref, RuleDef, Test
from swrules.items import Eligibility, Finding, Held, Item, PersonStatus, PostGrade

__all__ = ["ELIGIBILITY", "HELD", "PERSON_STATUS", "POST_GRADE", "POST_HOLDER_QUALIFIED", "grade_of"]


def _held(ctx: Context) -> Iterator[Item]:
    c: Certificate = ctx["c"]
    start = c.obtained_on if c.valid_from is None or c.valid_from < c.obtained_on else c.valid_from
    if c.valid_until is not None and c.valid_until < start:
        return  # a version of the record that ended before the certificate was obtained
    ctx.judged = f"held from {start.isoformat()}" + (f" until {c.valid_until.isoformat()}" if c.valid_until else "")
    yield Held(
        person=c.holder,
        certificate=c.id,
        level=c.level,
        obtained_on=c.obtained_on,
        registered=c.registered,
        version="" if c.valid_from is None else c.valid_from.isoformat(),
        valid_from=start,
        valid_until=c.valid_until,
    )


HELD = RuleDef(
    name="grades.held",
    doc="A certificate counts for its holder from the day it is obtained for as long as its record is in force "
    "(a held item per version of the record, in force from the later of the two starts).",
    match=(Match("c", "certificate"),),
    emits=("held",),
    derive=_held,
    reads="history",
)


def eligible(band: Band, ranks: set[int], higher_satisfies_lower: bool) -> bool:
    """Whether certificates of the given ranks qualify for ``band``."""
    if higher_satisfies_lower:
        return any(rank >= band.rank for rank in ranks)
    return band.rank in ranks


_BANDS = tuple(Band)


def _eligibility(ctx: Context) -> Iterator[Item]:
    p: Person = ctx["p"]
    ranks = {h.level.rank for h in ctx.all("h")}
    higher = ctx.param("eligibility.higher_satisfies_lower")
    for band in _BANDS:
        yield Eligibility(person=p.id, band=band, eligible=eligible(band, ranks, higher))


ELIGIBILITY = RuleDef(
    name="grades.eligibility",
    doc="A person is eligible for a band when holding, by the period's end, a certificate of the band's level.",
    match=(Match("p", "person"),),
    collect=(Collect("h", "held", (Test("person", Op.EQ, Ref("p", "id")),)),),
    emits=("eligibility",),
    derive=_eligibility,
    params={
        "eligibility.higher_satisfies_lower": ParamSpec(
            "bool", "Whether a certificate above a band's level also qualifies for it."
        )
    },
)


def _person_status(ctx: Context) -> Iterator[Item]:
    p: Person = ctx["p"]
    held: tuple[Held, ...] = ctx.all("h")
    top: CertLevel | None = None
    registered = False
    for h in held:
        if top is None or h.level.rank > top.rank:
            top = h.level
        registered = registered or h.registered
    yield PersonStatus(
        person=p.id,
        community=p.community,
        organization=p.organization,
        top_level=top,
        registered=registered,
    )


PERSON_STATUS = RuleDef(
    name="grades.person_status",
    doc="A person's highest certificate held at the period's end, and whether any is registered.",
    match=(Match("p", "person"),),
    collect=(Collect("h", "held", (Test("person", Op.EQ, Ref("p", "id")),)),),
    emits=("person_status",),
    derive=_person_status,
)


def grade_of(table: list[dict[str, Any]], band: Band, tier: int) -> dict[str, Any]:
    """The row of the grade table for a band and tier."""
    for row in table:
        if row["band"] == band.value and row["tier"] == tier:
            return row
    raise LookupError(f"the grade table has no row for a {band.value} post of tier {tier}")


def _post_grade(ctx: Context) -> Iterator[Item]:
    q: Post = ctx["q"]
    row = grade_of(ctx.param("grades.table"), q.band, q.tier)
    yield PostGrade(post=q.id, band=q.band, tier=q.tier, level=row["level"], title=row["title"], holder=q.holder)


POST_GRADE = RuleDef(
    name="grades.post_grade",
    doc="Each post carries the professional technical level and title its band and tier map to.",
    match=(Match("q", "post"),),
    emits=("post_grade",),
    derive=_post_grade,
    params={"grades.table": ParamSpec("grade_table", "Band and tier to level (5-12) and Chinese title.")},
)


def _post_holder_qualified(ctx: Context) -> Iterator[Item]:
    q: Post = ctx["q"]
    e: Eligibility = ctx["e"]
    s: PersonStatus = ctx["s"]
    top = s.top_level.rank if s.top_level is not None else 0
    yield Finding(
        subject=q.id,
        requirement="post_holder_qualified",
        satisfied=e.eligible,
        actual=Decimal(top),
        required=Decimal(q.band.rank),
        person=q.holder,
    )


POST_HOLDER_QUALIFIED = RuleDef(
    name="grades.post_holder_qualified",
    doc="The holder of a social-work post must be eligible for its band "
    "(actual: rank of the highest certificate held, 0-3; required: the band's rank, 1-3).",
    match=(
        Match("q", "post", (Test("holder", Op.NE, Lit(None)), Test("social_work", Op.EQ, Lit(True)))),
        Match("e", "eligibility", (Test("person", Op.EQ, Ref("q", "holder")), Test("band", Op.EQ, Ref("q", "band")))),
        Match("s", "person_status", (Test("person", Op.EQ, Ref("q", "holder")),)),
    ),
    emits=("finding",),
    derive=_post_holder_qualified,
)
