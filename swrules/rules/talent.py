"""County talent selection: a one-time reward and the talent card that comes with it."""

from __future__ import annotations

from collections.abc import Iterator

from swrules.facts import TalentSelection
from swrules.items import Item, Obligation, ObligationKind
from swrules.rules._context import Context
from swrules.rules._ir import Match, Op, Param, ParamSpec, RuleDef, Test

__all__ = ["TALENT_REWARD"]


def _talent_reward(ctx: Context) -> Iterator[Item]:
    t: TalentSelection = ctx["t"]
    period = str(t.year)
    payer = ctx.param("talent.payer")
    yield Obligation(
        id=ctx.obligation_id(t.id, "reward"),
        kind=ObligationKind.TALENT_REWARD,
        payee=t.person,
        payer=payer,
        amount=ctx.param("talent.reward"),
        period=period,
    )
    yield Obligation(
        id=ctx.obligation_id(t.id, "card"),
        kind=ObligationKind.TALENT_CARD,
        payee=t.person,
        payer=payer,
        amount=None,
        period=period,
    )


TALENT_REWARD = RuleDef(
    name="talent.talent_reward",
    doc="A person selected in the county talent selection of the period's year receives a one-time reward and the "
    "talent card (an in-kind benefit, no amount).",
    match=(Match("t", "talent_selection", (Test("year", Op.EQ, Param("period.year")),)),),
    emits=("obligation",),
    derive=_talent_reward,
    params={
        "talent.reward": ParamSpec("money", "The one-time reward for each person selected."),
        "talent.payer": ParamSpec("str", "Who pays the reward and issues the card (e.g. county_finance)."),
    },
)
