"""Service projects, public institutions and training: the provincial requirements on how services are staffed.

Shares are reported as exact amounts: ``actual`` is what there is and
``required`` what the share asks of the whole (funds × cap, posts × share), so
a boundary such as exactly 70% is decided without rounding.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from swrules.context import Context
from swrules.facts import Organization, Person, Role, ServiceProject, Training
from swrules.ir import Collect, Lit, Match, Op, Param, ParamSpec, Ref, RuleDef, Test
from swrules.items import Finding, Held, Item

__all__ = ["INSTITUTION_POST_SHARE", "PERSONNEL_COST_CAP", "PROJECT_CREDENTIALS", "TRAINING_HOURS"]

_FEN = Decimal("0.01")

ROLES = tuple(role.value for role in Role)


def _personnel_cost_cap(ctx: Context) -> Iterator[Item]:
    s: ServiceProject = ctx["s"]
    cap = s.funds * Decimal(ctx.param("projects.personnel_cost_cap"))
    yield Finding(
        subject=s.id,
        requirement="personnel_cost_cap",
        satisfied=s.personnel_cost <= cap,
        actual=s.personnel_cost,
        required=cap.quantize(_FEN, rounding=ROUND_DOWN),  # decided exactly above; shown to the fen
    )


PERSONNEL_COST_CAP = RuleDef(
    name="services.personnel_cost_cap",
    doc="In a government-purchased service project, personnel cost is at most a set share of the project's funds "
    "(actual: personnel cost; required: funds × the cap, the most allowed).",
    match=(Match("s", "service_project", (Test("government_purchased", Op.EQ, Lit(True)),)),),
    emits=("finding",),
    derive=_personnel_cost_cap,
    params={"projects.personnel_cost_cap": ParamSpec("decimal", "Largest share of funds spent on personnel.")},
)


def _project_credentials(ctx: Context) -> Iterator[Item]:
    s: ServiceProject = ctx["s"]
    held: tuple[Held, ...] = ctx.all("h")
    for person in sorted(set(s.social_workers)):
        mine = [h for h in held if h.person == person]
        met = int(bool(mine)) + int(any(h.registered for h in mine))
        yield Finding(
            subject=s.id,
            requirement="project_social_worker_credentials",
            satisfied=met == 2,
            actual=Decimal(met),
            required=Decimal(2),
            person=person,
        )


PROJECT_CREDENTIALS = RuleDef(
    name="services.project_social_worker_credentials",
    doc="Everyone serving as a social worker in a government-purchased project holds the certificate and is "
    "registered (actual: credentials met of the two — a certificate held, a certificate registered).",
    match=(Match("s", "service_project", (Test("government_purchased", Op.EQ, Lit(True)),)),),
    collect=(Collect("h", "held", (Test("person", Op.IN, Ref("s", "social_workers")),)),),
    emits=("finding",),
    derive=_project_credentials,
)


def _institution_post_share(ctx: Context) -> Iterator[Item]:
    o: Organization = ctx["o"]
    posts = ctx.all("q")
    social_work = sum(1 for q in posts if q.social_work)
    total = o.professional_posts if o.professional_posts is not None else len(posts)
    share = Decimal(ctx.param("institutions.post_share_minimum")) - Decimal(
        ctx.param("institutions.post_share_tolerance")
    )
    required = Decimal(total) * max(share, Decimal(0))
    yield Finding.at_least(
        subject=o.id,
        requirement="institution_post_share",
        actual=social_work,
        required=required,
    )


INSTITUTION_POST_SHARE = RuleDef(
    name="services.institution_post_share",
    doc="A public institution whose main business is social-work services makes social-work posts about a set share "
    "of its professional technical posts (actual: its social-work posts; required: all its professional posts × "
    "(the share − the tolerance 'about' allows)).",
    match=(
        Match(
            "o",
            "organization",
            (Test("kind", Op.EQ, Lit("public_institution")), Test("primarily_social_work", Op.EQ, Lit(True))),
        ),
    ),
    collect=(Collect("q", "post", (Test("organization", Op.EQ, Ref("o", "id")),)),),
    emits=("finding",),
    derive=_institution_post_share,
    params={
        "institutions.post_share_minimum": ParamSpec(
            "decimal", "The share of professional posts to be social-work posts (70% for 「70%左右」)."
        ),
        "institutions.post_share_tolerance": ParamSpec(
            "decimal", "How far below the share still counts as 'about' it (0.05: five percentage points)."
        ),
    },
)


def _training_hours(ctx: Context) -> Iterator[Item]:
    p: Person = ctx["p"]
    if p.role in _ORG_ROLES and ctx.param("training.public_benefit_only"):
        orgs: tuple[Organization, ...] = ctx.all("o")
        if orgs and not orgs[0].public_benefit:
            return  # staff of an administrative or commercial body: not among the groups the clause names
    trainings: tuple[Training, ...] = ctx.all("t")
    hours = sum((t.hours for t in trainings), Decimal(0))
    required = Decimal(ctx.param("training.cumulative_hours"))
    yield Finding.at_least(
        subject=p.id,
        requirement="training_hours",
        actual=hours,
        required=required,
    )


_ORG_ROLES = (Role.INSTITUTION_STAFF, Role.SOCIAL_ORG_STAFF)

TRAINING_HOURS = RuleDef(
    name="services.training_hours",
    doc="Staff directly delivering social services have, cumulatively from a first year up to the year judged, at "
    "least a set number of hours of social-work training (institution and social-organisation staff only in "
    "public-benefit organisations, where the ruleset narrows it so).",
    match=(Match("p", "person", (Test("role", Op.IN, Param("training.roles")),)),),
    collect=(
        Collect(
            "t",
            "training",
            (
                Test("person", Op.EQ, Ref("p", "id")),
                Test("year", Op.LE, Param("day.year")),
                Test("year", Op.GE, Param("training.first_year")),
            ),
        ),
        Collect("o", "organization", (Test("id", Op.EQ, Ref("p", "organization")),)),
    ),
    emits=("finding",),
    derive=_training_hours,
    params={
        "training.cumulative_hours": ParamSpec("decimal", "Training hours each person needs in all."),
        "training.roles": ParamSpec(
            "str_list",
            "Roles taken to deliver social services directly.",
            choices=ROLES,
        ),
        "training.first_year": ParamSpec("int", "The first year whose training hours count."),
        "training.public_benefit_only": ParamSpec(
            "bool",
            "Whether institution and social-organisation staff count only in public-benefit organisations "
            "(公益服务类事业单位, 公益慈善类社会组织).",
        ),
    },
)
