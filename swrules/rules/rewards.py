"""Money owed for certificates: one-time exam rewards, exam expenses, monthly professional allowances.

Every amount, role list and reading is a ruleset parameter; the templates only
say how the pieces combine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from swrules.facts import Certificate, CertLevel, ExamRegistration, Person, Post, Role
from swrules.items import Held, Item, Obligation, ObligationKind
from swrules.period import Period
from swrules.rules._context import Context
from swrules.rules._ir import Collect, Lit, Match, Op, Param, ParamSpec, Ref, RuleDef, Test

__all__ = ["EXAM_EXPENSE", "EXAM_REWARD", "MONTHLY_ALLOWANCE", "allowance_cutoff", "level_amount"]

_LEVEL_PARAMS = {
    CertLevel.ASSISTANT: "assistant",
    CertLevel.INTERMEDIATE: "intermediate",
    CertLevel.SENIOR: "senior",
}

ROLES = tuple(role.value for role in Role)


def level_amount(ctx: Context, prefix: str, level: CertLevel) -> Decimal | None:
    """The amount a ruleset sets for ``level`` under ``prefix`` (``prefix.assistant`` …), or None if unset."""
    name = f"{prefix}.{_LEVEL_PARAMS[level]}"
    value = ctx.param(name) if ctx.has_param(name) else None
    return None if value is None else Decimal(value)


# -- one-time exam reward ----------------------------------------------------------


def _exam_reward(ctx: Context) -> Iterator[Item]:
    c: Certificate = ctx["c"]
    p: Person = ctx["p"]
    year = c.obtained_on.year
    if year != ctx.period.year:
        return
    if ctx.param("exam_reward.requires_registration") and not any(r.year == year for r in ctx.all("r")):
        return
    amount = level_amount(ctx, "exam_reward", c.level)
    if amount is None:
        return
    yield Obligation(
        id=ctx.obligation_id(c.id),
        kind=ObligationKind.EXAM_REWARD,
        payee=p.id,
        payer=ctx.param("exam_reward.payer"),
        amount=amount,
        period=str(year),
    )


EXAM_REWARD = RuleDef(
    name="rewards.exam_reward",
    doc="A one-time reward, in the year a certificate is obtained, to members of the encouraged groups "
    "(only levels the ruleset gives an amount for are rewarded).",
    match=(
        Match("c", "certificate", (Test("obtained_on", Op.LE, Param("period.end")),)),
        Match("p", "person", (Test("id", Op.EQ, Ref("c", "holder")), Test("role", Op.IN, Param("exam_reward.roles")))),
    ),
    collect=(Collect("r", "exam_registration", (Test("person", Op.EQ, Ref("p", "id")),)),),
    emits=("obligation",),
    derive=_exam_reward,
    params={
        "exam_reward.assistant": ParamSpec("money", "Reward for obtaining the assistant certificate (助理社工师)."),
        "exam_reward.intermediate": ParamSpec("money", "Reward for obtaining the intermediate certificate (社工师)."),
        "exam_reward.roles": ParamSpec(
            "str_list",
            "Roles of the encouraged groups whose members are rewarded.",
            choices=ROLES,
        ),
        "exam_reward.requires_registration": ParamSpec(
            "bool", "Whether an exam registration of the same year must be on record for the reward."
        ),
        "exam_reward.payer": ParamSpec("str", "Who pays the reward (e.g. county_finance)."),
    },
)


# -- exam registration and travel costs -----------------------------------------------


def _exam_expense(ctx: Context) -> Iterator[Item]:
    r: ExamRegistration = ctx["r"]
    p: Person = ctx["p"]
    if r.year != ctx.period.year:
        return
    amount = r.registration_fee + r.travel_cost
    if amount <= 0:
        return
    payer = p.organization or p.community or ctx.param("exam_expense.payer_without_unit")
    yield Obligation(
        id=ctx.obligation_id(r.id),
        kind=ObligationKind.EXAM_EXPENSE_REIMBURSEMENT,
        payee=p.id,
        payer=payer,
        amount=amount,
        period=str(r.year),
    )


EXAM_EXPENSE = RuleDef(
    name="rewards.exam_expense",
    doc="Members of the encouraged groups who register for the exam are reimbursed the registration fee and "
    "travel costs by their own unit (their organization, else their community).",
    match=(
        Match("r", "exam_registration"),
        Match("p", "person", (Test("id", Op.EQ, Ref("r", "person")), Test("role", Op.IN, Param("exam_reward.roles")))),
    ),
    emits=("obligation",),
    derive=_exam_expense,
    params={
        "exam_reward.roles": EXAM_REWARD.params["exam_reward.roles"],
        "exam_expense.payer_without_unit": ParamSpec(
            "str", "The payer named when a person has neither an organization nor a community on record."
        ),
    },
)


# -- monthly professional allowance ----------------------------------------------------


def allowance_cutoff(month: Period, first_month: str) -> date:
    """The last day a certificate may be obtained on to count for ``month``'s allowance."""
    if first_month == "month_obtained":
        return month.end
    return month.start - timedelta(days=1)


_SCHEDULES: dict[tuple[Period, str], tuple[tuple[str, date], ...]] = {}


def _schedule(period: Period, first_month: str) -> tuple[tuple[str, date], ...]:
    """Each month of ``period`` with its cut-off day (computed once per period and reading)."""
    found = _SCHEDULES.get((period, first_month))
    if found is None:
        found = tuple((str(m), allowance_cutoff(m, first_month)) for m in period.months())
        if len(_SCHEDULES) < 1024:
            _SCHEDULES[(period, first_month)] = found
    return found


def _monthly_allowance(ctx: Context) -> Iterator[Item]:
    p: Person = ctx["p"]
    held: tuple[Held, ...] = ctx.all("h")
    if not held:
        return
    if p.role.value not in ctx.param("allowance.certified_roles"):
        posts: tuple[Post, ...] = ctx.all("q")
        if p.role.value not in ctx.param("allowance.post_roles") or not posts:
            return
    payer = ctx.param("allowance.payer")
    amounts = {h.level.rank: level_amount(ctx, "allowance", h.level) for h in held}
    prefix = ctx.obligation_id(p.id)
    for month, cutoff in _schedule(ctx.period, ctx.param("allowance.first_month")):
        top = 0
        for h in held:
            if h.obtained_on <= cutoff and h.level.rank > top:
                top = h.level.rank
        if not top:
            continue
        amount = amounts[top]
        if amount is None or amount <= 0:
            continue
        yield Obligation(
            id=f"{prefix}/{month}",  # a month (YYYY-MM) needs no escaping
            kind=ObligationKind.MONTHLY_ALLOWANCE,
            payee=p.id,
            payer=payer,
            amount=amount,
            period=month,
        )


MONTHLY_ALLOWANCE = RuleDef(
    name="rewards.monthly_allowance",
    doc="A monthly professional allowance by the highest certificate held, for certified community workers and for "
    "public-institution staff who hold a social-work post.",
    match=(Match("p", "person"),),
    collect=(
        Collect("h", "held", (Test("person", Op.EQ, Ref("p", "id")),)),
        Collect("q", "post", (Test("holder", Op.EQ, Ref("p", "id")), Test("social_work", Op.EQ, Lit(True)))),
    ),
    emits=("obligation",),
    derive=_monthly_allowance,
    params={
        "allowance.assistant": ParamSpec("money", "Monthly allowance for the assistant (初级) certificate."),
        "allowance.intermediate": ParamSpec("money", "Monthly allowance for the intermediate (中级) certificate."),
        "allowance.senior": ParamSpec("money", "Monthly allowance for the senior (高级) certificate."),
        "allowance.certified_roles": ParamSpec(
            "str_list",
            "Roles paid the allowance on the certificate alone.",
            choices=EXAM_REWARD.params["exam_reward.roles"].choices,
        ),
        "allowance.post_roles": ParamSpec(
            "str_list",
            "Roles paid the allowance only while holding a social-work post.",
            choices=EXAM_REWARD.params["exam_reward.roles"].choices,
        ),
        "allowance.first_month": ParamSpec(
            "str",
            "The first month paid: the month after the certificate is obtained, or the month it is obtained.",
            choices=("month_after_obtained", "month_obtained"),
        ),
        "allowance.payer": ParamSpec("str", "Who pays the allowance (e.g. county_finance)."),
    },
)
