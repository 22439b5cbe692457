"""Jurisdiction-wide targets: totals, the year's increase, averages, and an indicator per agency.

Each target is a finding on the jurisdiction fact. Averages are reported as
exact totals (``actual`` what there is, ``required`` what the average asks of
all subjects together), so no division rounds a boundary away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal

from swrules.context import Context
from swrules.facts import Community, Jurisdiction, Organization, Person, Role
from swrules.ir import Collect, Lit, Match, Op, Param, ParamSpec, Ref, RuleDef, Test
from swrules.items import Finding, Held, Item, PersonStatus

__all__ = [
    "AGENCIES_TOTAL",
    "AGENCY_CERTIFIED_SHARE",
    "ANNUAL_CERTIFIED_INCREASE",
    "CERTIFIED_TOTAL",
    "COMMUNITY_WORKER_CERTIFIED_SHARE",
    "REPORT_DUE",
    "SOCIAL_WORK_POSTS_TOTAL",
    "URBAN_COMMUNITY_AVERAGE",
]

_INDICATOR_PLACES = Decimal("0.0001")


def _total(requirement: str, param: str) -> Callable[[Context], Iterator[Item]]:
    def derive(ctx: Context) -> Iterator[Item]:
        j: Jurisdiction = ctx["j"]
        if requirement == "certified_total":
            actual = sum(1 for s in ctx.all("x") if s.certified)
        else:
            actual = len(ctx.all("x"))
        required: int = ctx.param(param)
        yield Finding.at_least(
            subject=j.id,
            requirement=requirement,
            actual=actual,
            required=required,
        )

    return derive


CERTIFIED_TOTAL = RuleDef(
    name="targets.certified_total",
    doc="Certified social-work professionals in the jurisdiction reach a target number.",
    match=(Match("j", "jurisdiction"),),
    collect=(Collect("x", "person_status"),),
    emits=("finding",),
    derive=_total("certified_total", "targets.certified_total"),
    params={"targets.certified_total": ParamSpec("int", "Certified people the jurisdiction aims for.")},
)

SOCIAL_WORK_POSTS_TOTAL = RuleDef(
    name="targets.social_work_posts_total",
    doc="Social-work posts (occupied or vacant) in the jurisdiction reach a target number.",
    match=(Match("j", "jurisdiction"),),
    collect=(Collect("x", "post", (Test("social_work", Op.EQ, Lit(True)),)),),
    emits=("finding",),
    derive=_total("social_work_posts_total", "targets.social_work_posts_total"),
    params={"targets.social_work_posts_total": ParamSpec("int", "Social-work posts the jurisdiction aims for.")},
)

AGENCIES_TOTAL = RuleDef(
    name="targets.agencies_total",
    doc="Social-work service agencies in the jurisdiction reach a target number.",
    match=(Match("j", "jurisdiction"),),
    collect=(Collect("x", "organization", (Test("kind", Op.EQ, Lit("social_work_agency")),)),),
    emits=("finding",),
    derive=_total("agencies_total", "targets.agencies_total"),
    params={"targets.agencies_total": ParamSpec("int", "Social-work service agencies the jurisdiction aims for.")},
)


def _annual_certified_increase(ctx: Context) -> Iterator[Item]:
    j: Jurisdiction = ctx["j"]
    first: dict[str, int] = {}
    held: tuple[Held, ...] = ctx.all("h")
    for h in held:
        year = h.obtained_on.year
        first[h.person] = min(first.get(h.person, year), year)
    added = sum(1 for year in first.values() if year == ctx.day.year)
    more_than: int = ctx.param("targets.annual_certified_increase_more_than")
    yield Finding(
        subject=j.id,
        requirement="annual_certified_increase",
        satisfied=added > more_than,
        actual=Decimal(added),
        required=Decimal(more_than + 1),
    )


ANNUAL_CERTIFIED_INCREASE = RuleDef(
    name="targets.annual_certified_increase",
    doc="More than a set number of people obtain their first certificate in the year judged, by the day judged "
    "(required: the smallest count that is more than the number).",
    match=(Match("j", "jurisdiction"),),
    collect=(Collect("h", "held"),),
    emits=("finding",),
    derive=_annual_certified_increase,
    params={
        "targets.annual_certified_increase_more_than": ParamSpec(
            "int", "The number of newly certified people the year's increase must exceed."
        )
    },
)


def _urban_community_average(ctx: Context) -> Iterator[Item]:
    j: Jurisdiction = ctx["j"]
    urban: tuple[Community, ...] = ctx.all("c")
    if not urban:
        return
    ids = {c.id for c in urban}
    statuses: tuple[PersonStatus, ...] = ctx.all("s")
    certified = sum(1 for s in statuses if s.certified and s.community in ids)
    required = Decimal(len(urban)) * Decimal(ctx.param("targets.urban_community_average"))
    yield Finding.at_least(
        subject=j.id,
        requirement="urban_community_average",
        actual=certified,
        required=required,
    )


URBAN_COMMUNITY_AVERAGE = RuleDef(
    name="targets.urban_community_average",
    doc="Urban communities have on average at least a set number of certified professionals "
    "(actual: certified people in urban communities; required: urban communities × the average).",
    match=(Match("j", "jurisdiction"),),
    collect=(
        Collect("c", "community", (Test("kind", Op.EQ, Lit("urban")),)),
        Collect("s", "person_status"),
    ),
    emits=("finding",),
    derive=_urban_community_average,
    params={"targets.urban_community_average": ParamSpec("decimal", "Certified people per urban community.")},
)


def _share(part: int, whole: int) -> Decimal:
    share = Decimal(0) if not whole else Decimal(part) / Decimal(whole)
    return share.quantize(_INDICATOR_PLACES, rounding=ROUND_HALF_EVEN)


def _indicator(subject: str, requirement: str, part: int, whole: int) -> Finding:
    return Finding(subject=subject, requirement=requirement, satisfied=None, actual=_share(part, whole), required=None)


def _agency_certified_share(ctx: Context) -> Iterator[Item]:
    o: Organization = ctx["o"]
    staff: tuple[Person, ...] = ctx.all("p")
    certified = {s.person for s in ctx.all("s") if s.certified}
    reading = ctx.param("agency_indicator.reading")
    if reading == "two_shares":
        yield _indicator(o.id, "agency_certified_share", sum(1 for p in staff if p.id in certified), len(staff))
        yield _indicator(o.id, "agency_education_share", sum(1 for p in staff if p.social_work_education), len(staff))
        return
    if reading == "both":
        qualified = sum(1 for p in staff if p.id in certified and p.social_work_education)
    else:
        qualified = sum(1 for p in staff if p.id in certified or p.social_work_education)
    yield _indicator(o.id, "agency_certified_share", qualified, len(staff))


AGENCY_CERTIFIED_SHARE = RuleDef(
    name="targets.agency_certified_share",
    doc="For each social-work agency, the share of its staff who hold a certificate and/or have a social-work "
    "education, as the ruleset reads it: either, both, or two shares side by side (agency_certified_share and "
    "agency_education_share). An indicator to four places: no threshold, so satisfied and required are null.",
    match=(Match("o", "organization", (Test("kind", Op.EQ, Lit("social_work_agency")),)),),
    collect=(
        Collect("p", "person", (Test("organization", Op.EQ, Ref("o", "id")),)),
        Collect("s", "person_status", (Test("organization", Op.EQ, Ref("o", "id")),)),
    ),
    emits=("finding",),
    derive=_agency_certified_share,
    params={
        "agency_indicator.reading": ParamSpec(
            "str",
            "Whom the indicator counts: staff with a certificate or a social-work education (either), with both "
            "(both), or the two shares apart (two_shares).",
            choices=("either", "both", "two_shares"),
        )
    },
)


def _community_worker_certified_share(ctx: Context) -> Iterator[Item]:
    j: Jurisdiction = ctx["j"]
    workers: tuple[Person, ...] = ctx.all("w")
    certified = {s.person for s in ctx.all("s") if s.certified}
    yield _indicator(
        j.id, "community_worker_certified_share", sum(1 for w in workers if w.id in certified), len(workers)
    )


COMMUNITY_WORKER_CERTIFIED_SHARE = RuleDef(
    name="targets.community_worker_certified_share",
    doc="The share of the jurisdiction's urban and rural community workers who hold a certificate on the day judged "
    "(an indicator to four places: certified community workers ÷ community workers; no threshold).",
    match=(Match("j", "jurisdiction"),),
    collect=(
        Collect("w", "person", (Test("role", Op.IN, Param("certified_share.roles")),)),
        Collect("s", "person_status"),
    ),
    emits=("finding",),
    derive=_community_worker_certified_share,
    params={
        "certified_share.roles": ParamSpec(
            "str_list", "Roles counted as community workers.", choices=tuple(r.value for r in Role)
        )
    },
)


def _report_due(ctx: Context) -> Iterator[Item]:
    j: Jurisdiction = ctx["j"]
    deadline = ctx.deadline
    if deadline is None:
        raise ValueError("a reporting duty needs a deadline in its ruleset entry")
    yield Finding(
        subject=j.id,
        requirement="report_due",
        satisfied=None,
        actual=Decimal((deadline - ctx.period.end).days),
        required=None,
    )


REPORT_DUE = RuleDef(
    name="targets.report_due",
    doc="A report the jurisdiction's bureau owes by the rule's deadline (actual: days from the period's last day to "
    "the deadline, negative once it has passed; whether the report was sent is not in the facts, so satisfied is "
    "null).",
    match=(Match("j", "jurisdiction"),),
    emits=("finding",),
    derive=_report_due,
)
