"""Money owed for certificates: one-time exam rewards, exam expenses, monthly professional allowances.

These rules read histories: each judges its items on their own day — an exam
reward on the day the certificate is obtained, an exam expense at the end of
the month it falls due, an allowance day by day through each month — from the
versions of the facts in force on that day. Every amount, role list, due month
and reading is a ruleset parameter; the templates only say how the pieces
combine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from swrules.context import Context
from swrules.facts import (
    Certificate,
    CertLevel,
    Community,
    CommunityKind,
    ExamRegistration,
    Organization,
    OrgKind,
    Person,
    Post,
    Role,
    in_force,
)
from swrules.ir import Collect, Lit, Match, Op, ParamSpec, Ref, RuleDef, Test
from swrules.items import AllowanceRates, Held, Item, Obligation, ObligationKind
from swrules.period import Period

__all__ = [
    "ALLOWANCE_RATES",
    "EXAM_EXPENSE",
    "EXAM_REWARD",
    "MONTHLY_ALLOWANCE",
    "encouraged",
    "level_amount",
    "month_amount",
    "version_on",
]

_LEVEL_PARAMS = {
    CertLevel.ASSISTANT: "assistant",
    CertLevel.INTERMEDIATE: "intermediate",
    CertLevel.SENIOR: "senior",
}
_RANK_LEVEL = {level.rank: level for level in CertLevel}
_CENT = Decimal("0.01")
_ONE_DAY = timedelta(days=1)

ROLES = tuple(role.value for role in Role)


def level_amount(ctx: Context, prefix: str, level: CertLevel) -> Decimal | None:
    """The amount a ruleset sets for ``level`` under ``prefix`` (``prefix.assistant`` …), or None if unset."""
    name = f"{prefix}.{_LEVEL_PARAMS[level]}"
    value = ctx.param(name) if ctx.has_param(name) else None
    return None if value is None else Decimal(value)


def version_on(versions: Iterable[Organization | Community | Person], day: date) -> Organization | Community | None:
    """The version (of several versions of one entity) in force on ``day``, or None."""
    for v in versions:
        if in_force(v, day):
            return v  # type: ignore[return-value]
    return None


def encouraged(ctx: Context, person: Person, organizations: Sequence[Organization], day: date) -> bool:
    """Whether ``person`` (the version in force on ``day``) belongs to the groups dn2020.s3.1 encourages.

    The groups are the roles in ``exam_reward.roles``; with ``exam_reward.community_level_only``, public-institution
    staff count only in a community-level institution (社区事业单位) and social-organisation staff only in a
    community social organisation (社区社会组织), their organization's version in force on ``day`` deciding.
    """
    if person.role.value not in ctx.param("exam_reward.roles"):
        return False
    if not ctx.param("exam_reward.community_level_only"):
        return True
    if person.role is Role.INSTITUTION_STAFF:
        org = version_on(organizations, day)
        return isinstance(org, Organization) and org.kind is OrgKind.PUBLIC_INSTITUTION and org.community_level
    if person.role is Role.SOCIAL_ORG_STAFF:
        org = version_on(organizations, day)
        return isinstance(org, Organization) and (org.kind is OrgKind.COMMUNITY_SOCIAL_ORG or org.community_level)
    return True


def _month_of(day: date) -> Period:
    return Period(day.year, day.month)


_ENCOURAGED_PARAMS = {
    "exam_reward.roles": ParamSpec(
        "str_list",
        "Roles of the encouraged groups whose members are rewarded.",
        choices=ROLES,
    ),
    "exam_reward.community_level_only": ParamSpec(
        "bool",
        "Whether public-institution and social-organisation staff count only in community-level organisations "
        "(社区事业单位, 社区社会组织).",
    ),
}


# -- one-time exam reward ----------------------------------------------------------


def _exam_reward(ctx: Context) -> Iterator[Item]:
    c: Certificate = ctx["c"]
    p: Person = ctx["p"]
    day = c.obtained_on
    if not in_force(c, day):
        return  # another version of the certificate's record is the one in force on the day obtained
    year = day.year
    due = _month_of(day) if ctx.param("exam_reward.due") == "month_obtained" else Period(year, 12)
    if str(due) not in ctx.frame.due_keys:
        return
    if not encouraged(ctx, p, ctx.all("o"), day):
        return
    if ctx.param("exam_reward.requires_registration") and not any(r.year == year for r in ctx.all("r")):
        return
    amount = level_amount(ctx, "exam_reward", c.level)
    if amount is None:
        return
    ctx.judged = day.isoformat()
    yield Obligation(
        id=ctx.obligation_id(c.id),
        kind=ObligationKind.EXAM_REWARD,
        payee=p.id,
        payer=ctx.param("exam_reward.payer"),
        amount=amount,
        period=str(year),
        due=str(due),
    )


EXAM_REWARD = RuleDef(
    name="rewards.exam_reward",
    doc="A one-time reward for obtaining a certificate, to members of the encouraged groups as they stand on the "
    "day it is obtained (only levels the ruleset gives an amount for are rewarded); due in the month obtained, "
    "or in December of that year.",
    match=(
        Match("c", "certificate"),
        Match(
            "p",
            "person",
            (
                Test("id", Op.EQ, Ref("c", "holder")),
                Test("valid_from", Op.LE, Ref("c", "obtained_on")),
                Test("valid_until", Op.GE, Ref("c", "obtained_on")),
            ),
        ),
    ),
    collect=(
        Collect("r", "exam_registration", (Test("person", Op.EQ, Ref("p", "id")),)),
        Collect("o", "organization", (Test("id", Op.EQ, Ref("p", "organization")),)),
    ),
    emits=("obligation",),
    derive=_exam_reward,
    reads="history",
    params={
        "exam_reward.assistant": ParamSpec("money", "Reward for obtaining the assistant certificate (助理社工师)."),
        "exam_reward.intermediate": ParamSpec("money", "Reward for obtaining the intermediate certificate (社工师)."),
        **_ENCOURAGED_PARAMS,
        "exam_reward.requires_registration": ParamSpec(
            "bool", "Whether an exam registration of the same year must be on record for the reward."
        ),
        "exam_reward.payer": ParamSpec("str", "Who pays the reward (e.g. county_finance)."),
        "exam_reward.due": ParamSpec(
            "str",
            "When the reward falls due: the month the certificate is obtained, or December of that year.",
            choices=("month_obtained", "year_end"),
        ),
    },
)


# -- exam registration and travel costs -----------------------------------------------


def _exam_expense(ctx: Context) -> Iterator[Item]:
    r: ExamRegistration = ctx["r"]
    p: Person = ctx["p"]
    due = Period(r.year, ctx.param("exam_expense.due_month"))
    if str(due) not in ctx.frame.due_keys:
        return
    day = due.end
    if not (in_force(r, day) and in_force(p, day)):
        return  # other versions are the ones in force on the day judged
    if not encouraged(ctx, p, ctx.all("o"), day):
        return
    amount = r.registration_fee + r.travel_cost
    if amount <= 0:
        return
    payer = p.organization or p.community or ctx.param("exam_expense.payer_without_unit")
    ctx.judged = day.isoformat()
    yield Obligation(
        id=ctx.obligation_id(r.id),
        kind=ObligationKind.EXAM_EXPENSE_REIMBURSEMENT,
        payee=p.id,
        payer=payer,
        amount=amount,
        period=str(r.year),
        due=str(due),
    )


EXAM_EXPENSE = RuleDef(
    name="rewards.exam_expense",
    doc="Members of the encouraged groups who register for the exam are reimbursed the registration fee and "
    "travel costs by their own unit (their organization, else their community), as they stand at the end of the "
    "month the reimbursement falls due.",
    match=(
        Match("r", "exam_registration"),
        Match("p", "person", (Test("id", Op.EQ, Ref("r", "person")),)),
    ),
    collect=(Collect("o", "organization", (Test("id", Op.EQ, Ref("p", "organization")),)),),
    emits=("obligation",),
    derive=_exam_expense,
    reads="history",
    params={
        **_ENCOURAGED_PARAMS,
        "exam_expense.payer_without_unit": ParamSpec(
            "str", "The payer named when a person has neither an organization nor a community on record."
        ),
        "exam_expense.due_month": ParamSpec(
            "month", "The month (1-12) of the registration's year in which the reimbursement falls due."
        ),
    },
)


# -- monthly professional allowance ----------------------------------------------------


def _daily_rate(
    ctx: Context,
    p: Person,
    day: date,
    held: Sequence[Held],
    posts: Sequence[Post],
    communities: Sequence[Community],
) -> Decimal:
    """The monthly allowance ``p`` (the version in force) earns on ``day``, or 0."""
    top = 0
    for h in held:
        if h.level.rank > top and in_force(h, day):
            top = h.level.rank
    role = p.role
    certified_branch = role.value in ctx.param("allowance.certified_roles")
    if not certified_branch and role is Role.VILLAGE_CADRE and ctx.param("allowance.urban_cadres"):
        community = version_on(communities, day)
        certified_branch = isinstance(community, Community) and community.kind is CommunityKind.URBAN
    if not certified_branch:
        if role.value not in ctx.param("allowance.post_roles") or p.organization is None:
            return Decimal(0)
        band = 0
        for q in posts:
            if q.organization == p.organization and in_force(q, day) and q.band.rank > band:
                band = q.band.rank
        if not band:
            return Decimal(0)
        if ctx.param("allowance.post_branch") == "post_band":
            top = band
    if not top:
        return Decimal(0)
    amount = level_amount(ctx, "allowance", _RANK_LEVEL[top])
    return amount if amount is not None and amount > 0 else Decimal(0)


def _allowance_rates(ctx: Context) -> Iterator[Item]:
    p: Person = ctx["p"]
    held: tuple[Held, ...] = ctx.all("h")
    if not held and ctx.param("allowance.post_branch") != "post_band":
        return
    posts: tuple[Post, ...] = ctx.all("q")
    communities: tuple[Community, ...] = ctx.all("c")
    changes: set[date] = set()  # days on which something the rate depends on may change
    versions: tuple[Held | Post | Community, ...] = (*held, *posts, *communities)
    for obj in versions:
        if obj.valid_from is not None:
            changes.add(obj.valid_from)
        if obj.valid_until is not None:
            changes.add(obj.valid_until + _ONE_DAY)
    # The months in which something may fall due run without a gap (the period's, within the ruleset's window);
    # the rate is worked out once for each stretch between two days on which something it depends on changes.
    since: str = ctx.param("allowance.first_month")
    months = [m for m in ctx.frame.due_months if str(m) >= since]
    segments: list[tuple[date, date, Decimal]] = []
    if not months:
        return
    first = months[0].start if p.valid_from is None or p.valid_from < months[0].start else p.valid_from
    last = months[-1].end if p.valid_until is None or p.valid_until > months[-1].end else p.valid_until
    if first > last:
        return
    starts = sorted({first, *(d for d in changes if first < d <= last)})
    for i, start in enumerate(starts):
        end = starts[i + 1] - _ONE_DAY if i + 1 < len(starts) else last
        rate = _daily_rate(ctx, p, start, held, posts, communities)
        if not rate:
            continue
        if segments and segments[-1][2] == rate and segments[-1][1] + _ONE_DAY == start:
            segments[-1] = (segments[-1][0], end, rate)
        else:
            segments.append((start, end, rate))
    if segments:
        ctx.judged = f"day by day from {segments[0][0].isoformat()} to {segments[-1][1].isoformat()}"
        yield AllowanceRates(
            person=p.id,
            version="" if p.valid_from is None else p.valid_from.isoformat(),
            segments=tuple(segments),
        )


ALLOWANCE_RATES = RuleDef(
    name="rewards.allowance_rates",
    doc="Day by day through the months in which something may fall due, the monthly allowance a person's record "
    "(each version of it) earns: by the highest certificate held, for certified community workers (and "
    "residents' committee cadres where the ruleset counts them), and for public-institution staff while they "
    "hold a social-work post of their own organization.",
    match=(Match("p", "person"),),
    collect=(
        Collect("h", "held", (Test("person", Op.EQ, Ref("p", "id")),)),
        Collect("q", "post", (Test("holder", Op.EQ, Ref("p", "id")), Test("social_work", Op.EQ, Lit(True)))),
        Collect("c", "community", (Test("id", Op.EQ, Ref("p", "community")),)),
    ),
    emits=("allowance_rates",),
    derive=_allowance_rates,
    reads="history",
    params={
        "allowance.assistant": ParamSpec("money", "Monthly allowance for the assistant (初级) level."),
        "allowance.intermediate": ParamSpec("money", "Monthly allowance for the intermediate (中级) level."),
        "allowance.senior": ParamSpec("money", "Monthly allowance for the senior (高级) level."),
        "allowance.certified_roles": ParamSpec(
            "str_list",
            "Roles paid the allowance on the certificate alone.",
            choices=ROLES,
        ),
        "allowance.urban_cadres": ParamSpec(
            "bool", "Whether village (residents') cadres of an urban community count as its community workers."
        ),
        "allowance.post_roles": ParamSpec(
            "str_list",
            "Roles paid the allowance only while holding a social-work post of their own organization.",
            choices=ROLES,
        ),
        "allowance.post_branch": ParamSpec(
            "str",
            "For the post branch: paid by the certificate held (none: nothing), or by the band of the post.",
            choices=("certificate", "post_band"),
        ),
        "allowance.first_month": ParamSpec("year_month", "The first month (YYYY-MM) the allowance is paid for."),
    },
)


def month_amount(month: Period, segments: Sequence[tuple[date, date, Decimal]], rule: str) -> tuple[Decimal, str]:
    """A month's allowance from the day-by-day rates, as ``rule`` reads a month; and how it was judged.

    ``whole_month``: paid at the lowest rate of any day (nothing unless earned every day); ``month_end`` /
    ``month_start``: the rate on the last / first day; ``prorated``: each day's rate, averaged over the month's
    days, rounded half up to the fen.
    """
    days = (month.end - month.start).days + 1
    clipped = [
        (max(a, month.start), min(b, month.end), rate) for a, b, rate in segments if a <= month.end and b >= month.start
    ]
    if rule == "whole_month":
        covered = sum((b - a).days + 1 for a, b, _ in clipped)
        amount = min((rate for _, _, rate in clipped), default=Decimal(0)) if covered == days else Decimal(0)
        return amount, f"{month}: every day of the month"
    if rule in ("month_end", "month_start"):
        day = month.end if rule == "month_end" else month.start
        amount = next((rate for a, b, rate in clipped if a <= day <= b), Decimal(0))
        return amount, f"{month}: on {day.isoformat()}"
    total = sum((rate * ((b - a).days + 1) for a, b, rate in clipped), Decimal(0))
    return (total / days).quantize(_CENT, rounding=ROUND_HALF_UP), f"{month}: prorated over its {days} days"


def _monthly_allowance(ctx: Context) -> Iterator[Item]:
    a: AllowanceRates = ctx["a"]
    versions: tuple[AllowanceRates, ...] = ctx.all("v")
    if versions and versions[0].key != a.key:
        return  # the first version speaks for the person: one firing per person, whatever its history
    segments = sorted(s for v in versions for s in v.segments)
    rule = ctx.param("allowance.month_rule")
    payer = ctx.param("allowance.payer")
    prefix = ctx.obligation_id(a.person)
    first, last = segments[0][0], segments[-1][1]
    for month in ctx.frame.due_months:
        if month.end < first or month.start > last:
            continue
        amount, judged = month_amount(month, segments, rule)
        if amount <= 0:
            continue
        ctx.judged = judged
        yield Obligation(
            id=f"{prefix}/{month}",  # a month (YYYY-MM) needs no escaping
            kind=ObligationKind.MONTHLY_ALLOWANCE,
            payee=a.person,
            payer=payer,
            amount=amount,
            period=str(month),
            due=str(month),
        )


MONTHLY_ALLOWANCE = RuleDef(
    name="rewards.monthly_allowance",
    doc="A person's monthly allowance for each month, from what each day of it earns (read as the ruleset says: "
    "the whole month, its last or first day, or prorated), due in that month.",
    match=(Match("a", "allowance_rates"),),
    collect=(Collect("v", "allowance_rates", (Test("person", Op.EQ, Ref("a", "person")),)),),
    emits=("obligation",),
    derive=_monthly_allowance,
    reads="history",
    params={
        "allowance.month_rule": ParamSpec(
            "str",
            "How a month is judged: paid when earned every day of it, by its last or first day, or prorated.",
            choices=("whole_month", "month_end", "month_start", "prorated"),
        ),
        "allowance.payer": ParamSpec("str", "Who pays the allowance (e.g. county_finance)."),
    },
)
