"""County talent selection: a one-time reward and the talent card that come with it, once per person."""

from __future__ import annotations

from collections.abc import Iterator

from swrules.context import Context
from swrules.facts import TalentSelection, in_force
from swrules.ir import Collect, Match, Op, ParamSpec, Ref, RuleDef, Test
from swrules.items import Item, Obligation, ObligationKind
from swrules.period import Period

__all__ = ["TALENT_REWARD"]


def _talent_reward(ctx: Context) -> Iterator[Item]:
    t: TalentSelection = ctx["t"]
    first_year: int = ctx.param("talent.first_year")
    if t.year < first_year:
        return
    due = Period(t.year, ctx.param("talent.due_month"))
    if str(due) not in ctx.frame.due_keys or not in_force(t, due.end):
        return
    # The selections that earn a reward: one per person, or one per person and year; the earliest (by year,
    # then id) earns it.
    once: bool = ctx.param("talent.once_per_person")
    earlier = [
        s
        for s in ctx.all("s")
        if first_year <= s.year and (s.year, s.id) < (t.year, t.id) and (once or s.year == t.year)
    ]
    if earlier:
        return
    payer = ctx.param("talent.payer")
    ctx.judged = due.end.isoformat()
    yield Obligation(
        id=ctx.obligation_id(t.id, "reward"),
        kind=ObligationKind.TALENT_REWARD,
        payee=t.person,
        payer=payer,
        amount=ctx.param("talent.reward"),
        period=str(t.year),
        due=str(due),
    )
    yield Obligation(
        id=ctx.obligation_id(t.id, "card"),
        kind=ObligationKind.TALENT_CARD,
        payee=t.person,
        payer=payer,
        amount=None,
        period=str(t.year),
        due=str(due),
    )


TALENT_REWARD = RuleDef(
    name="talent.talent_reward",
    doc="A person selected in the county talent selection receives a one-time reward and the talent card (an "
    "in-kind benefit, no amount) for their first selection from the ruleset's first year on, due in a set month "
    "of the selection's year.",
    match=(Match("t", "talent_selection"),),
    collect=(Collect("s", "talent_selection", (Test("person", Op.EQ, Ref("t", "person")),)),),
    emits=("obligation",),
    derive=_talent_reward,
    reads="history",
    params={
        "talent.reward": ParamSpec("money", "The one-time reward for each person selected."),
        "talent.payer": ParamSpec("str", "Who pays the reward and issues the card (e.g. county_finance)."),
        "talent.first_year": ParamSpec("int", "The first year whose selections are rewarded."),
        "talent.due_month": ParamSpec("month", "The month (1-12) of the selection's year the reward falls due."),
        "talent.once_per_person": ParamSpec(
            "bool", "Whether a person is rewarded once only (true), or once in each year they are selected (false)."
        ),
    },
)
