"""Staffing requirements of communities and organizations, and pay of certified staff.

Counting across people is done by collections over the per-person
``person_status`` and per-post ``post_status`` items, indexed on the subject.
"""

from __future__ import annotations

from collections.abc import Iterator

from swrules.context import Context
from swrules.facts import Community, CommunityKind, Organization, OrgKind, Person, Post, fact_key
from swrules.ir import Collect, Lit, Match, Op, Param, ParamSpec, Ref, RuleDef, Test
from swrules.items import Finding, Item, PersonStatus, PostStatus, SubjectCount

__all__ = [
    "COMMUNITY_SERVICE_PRESENCE",
    "COMMUNITY_SOCIAL_WORK_POST",
    "COMMUNITY_STAFFING",
    "POST_STATUS",
    "PURCHASE_PRIORITY",
    "SALARY_FLOOR",
    "TOWNSHIP_SERVICE_PRESENCE",
]


def _post_status(ctx: Context) -> Iterator[Item]:
    q: Post = ctx["q"]
    s: PersonStatus = ctx["s"]
    assert q.holder is not None  # the pattern matches occupied posts only
    yield PostStatus(
        post=q.id,
        holder=q.holder,
        community=q.community,
        organization=q.organization,
        social_work=q.social_work,
        holder_level=s.top_level,
    )


POST_STATUS = RuleDef(
    name="staffing.post_status",
    doc="An occupied post and its holder's highest certificate at the period's end.",
    match=(
        Match("q", "post", (Test("holder", Op.NE, Lit(None)),)),
        Match("s", "person_status", (Test("person", Op.EQ, Ref("q", "holder")),)),
    ),
    emits=("post_status",),
    derive=_post_status,
)


def _community_staffing(ctx: Context) -> Iterator[Item]:
    c: Community = ctx["c"]
    certified = sum(1 for s in ctx.all("s") if s.certified)
    key = "staffing.urban_minimum" if c.kind is CommunityKind.URBAN else "staffing.rural_minimum"
    required: int = ctx.param(key)
    yield Finding.at_least(
        subject=c.id,
        requirement="community_staffing",
        actual=certified,
        required=required,
    )


COMMUNITY_STAFFING = RuleDef(
    name="staffing.community_staffing",
    doc="Each community has at least a minimum number of certified social-work professionals "
    "(persons whose community it is and who hold a certificate at the period's end).",
    match=(Match("c", "community"),),
    collect=(Collect("s", "person_status", (Test("community", Op.EQ, Ref("c", "id")),)),),
    emits=("finding",),
    derive=_community_staffing,
    params={
        "staffing.urban_minimum": ParamSpec("int", "Certified professionals each urban community must have."),
        "staffing.rural_minimum": ParamSpec("int", "Certified professionals each rural community must have."),
    },
)


def _community_social_work_post(ctx: Context) -> Iterator[Item]:
    c: Community = ctx["c"]
    filled = sum(1 for ps in ctx.all("ps") if ps.holder_certified)
    required: int = ctx.param("community_post.minimum")
    yield Finding.at_least(
        subject=c.id,
        requirement="community_social_work_post",
        actual=filled,
        required=required,
    )


COMMUNITY_SOCIAL_WORK_POST = RuleDef(
    name="staffing.community_social_work_post",
    doc="Each community has at least a minimum number of social-work posts held by a certified professional "
    "(actual: such posts in the community; a vacant post or one held by an uncertified person does not count).",
    match=(Match("c", "community"),),
    collect=(
        Collect(
            "ps",
            "post_status",
            (Test("community", Op.EQ, Ref("c", "id")), Test("social_work", Op.EQ, Lit(True))),
        ),
    ),
    emits=("finding",),
    derive=_community_social_work_post,
    params={"community_post.minimum": ParamSpec("int", "Certified-held social-work posts each community must have.")},
)


def _salary_floor(ctx: Context) -> Iterator[Item]:
    p: Person = ctx["p"]
    s: PersonStatus = ctx["s"]
    orgs: tuple[Organization, ...] = ctx.all("o")
    if not s.certified or not orgs or orgs[0].kind is not OrgKind.COMMUNITY_SOCIAL_ORG:
        return
    if p.monthly_salary is None or p.reference_salary is None:
        return
    yield Finding.at_least(
        subject=p.id,
        requirement="salary_floor",
        actual=p.monthly_salary,
        required=p.reference_salary,
    )


SALARY_FLOOR = RuleDef(
    name="staffing.salary_floor",
    doc="A certified professional working in a community social organization is paid at least the local average "
    "for professional technical staff of equal standing (checked when both monthly figures are given).",
    match=(
        Match("p", "person", (Test("organization", Op.NE, Lit(None)),)),
        Match("s", "person_status", (Test("person", Op.EQ, Ref("p", "id")),)),
    ),
    collect=(Collect("o", "organization", (Test("id", Op.EQ, Ref("p", "organization")),)),),
    emits=("finding",),
    derive=_salary_floor,
)


def _purchase_priority(ctx: Context) -> Iterator[Item]:
    o: Organization = ctx["o"]
    staff = {p.id for p in ctx.all("p") if p.leader or p.full_time}
    certified = sum(1 for s in ctx.all("s") if s.certified and s.person in staff)
    required: int = ctx.param("purchase_priority.minimum_certified")
    yield Finding.at_least(
        subject=o.id,
        requirement="purchase_priority",
        actual=certified,
        required=required,
    )


PURCHASE_PRIORITY = RuleDef(
    name="staffing.purchase_priority",
    doc="A community social organization whose leaders and full-time staff include at least a minimum number of "
    "certificate holders is recommended first for government-purchased services.",
    match=(Match("o", "organization", (Test("kind", Op.EQ, Param("purchase_priority.kind")),)),),
    collect=(
        Collect("p", "person", (Test("organization", Op.EQ, Ref("o", "id")),)),
        Collect("s", "person_status", (Test("organization", Op.EQ, Ref("o", "id")),)),
    ),
    emits=("finding",),
    derive=_purchase_priority,
    params={
        "purchase_priority.minimum_certified": ParamSpec(
            "int", "Certificate holders among leaders and full-time staff needed for priority."
        ),
        "purchase_priority.kind": ParamSpec(
            "str", "The kind of organization the priority applies to.", choices=tuple(k.value for k in OrgKind)
        ),
    },
)


def _community_service_presence(ctx: Context) -> Iterator[Item]:
    c: Community = ctx["c"]
    present = sum(1 for s in ctx.all("s") if s.certified)
    yield SubjectCount(subject=c.id, what="service_presence", count=present)
    yield Finding.at_least(
        subject=c.id,
        requirement="community_service_presence",
        actual=present,
        required=ctx.param("service_presence.minimum"),
    )


COMMUNITY_SERVICE_PRESENCE = RuleDef(
    name="staffing.community_service_presence",
    doc="Every community has social workers providing services in it: at least a set number of people holding a "
    "certificate whose record names the community (actual: such people).",
    match=(Match("c", "community"),),
    collect=(Collect("s", "person_status", (Test("community", Op.EQ, Ref("c", "id")),)),),
    emits=("finding", "subject_count"),
    derive=_community_service_presence,
    params={"service_presence.minimum": ParamSpec("int", "Social workers each community and township must have.")},
)


def _township_service_presence(ctx: Context) -> Iterator[Item]:
    c: Community = ctx["c"]
    members: tuple[Community, ...] = ctx.all("t")
    if fact_key(members[0]) != fact_key(c):
        return  # the township's first community speaks for it: one finding per township
    ids = {m.id for m in members}
    present = sum(n.count for n in ctx.all("n") if n.subject in ids)
    assert c.township is not None  # the pattern matches communities with a township only
    yield Finding.at_least(
        subject=f"township:{c.township}",
        requirement="community_service_presence",
        actual=present,
        required=ctx.param("service_presence.minimum"),
    )


TOWNSHIP_SERVICE_PRESENCE = RuleDef(
    name="staffing.township_service_presence",
    doc="Every township (乡镇/街道) the facts name has social workers providing services: at least a set number of "
    "certificate holders in its communities together (subject: township:<name>).",
    match=(Match("c", "community", (Test("township", Op.NE, Lit(None)),)),),
    collect=(
        Collect("t", "community", (Test("township", Op.EQ, Ref("c", "township")),)),
        Collect("n", "subject_count", (Test("what", Op.EQ, Lit("service_presence")),)),
    ),
    emits=("finding",),
    derive=_township_service_presence,
    params={"service_presence.minimum": COMMUNITY_SERVICE_PRESENCE.params["service_presence.minimum"]},
)
