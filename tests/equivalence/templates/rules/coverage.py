"""Jurisdiction-wide coverage: certified people per head of population, and the training rate.

Ratios are reported as exact counts: ``actual`` is the number achieved and
``required`` the number the ratio asks for (population × ratio, or staff ×
rate), so no division ever rounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from swrules.context import Context
from swrules.facts import Jurisdiction
from swrules.ir import Collect, Lit, Match, Op, Param, ParamSpec, RuleDef, Test
from swrules.items import Finding, Item, PersonStatus, PostStatus

__all__ = ["CERTIFIED_POPULATION_RATIO", "TRAINING_RATE"]


def _certified_population_ratio(ctx: Context) -> Iterator[Item]:
    j: Jurisdiction = ctx["j"]
    assert j.population is not None  # the pattern requires it
    certified = sum(1 for s in ctx.all("s") if s.top_level is not None)
    required = Decimal(j.population) * Decimal(ctx.param("coverage.certified_per_person"))
    yield Finding.at_least(
        subject=j.id,
        requirement="certified_population_ratio",
        actual=certified,
        required=required,
    )


CERTIFIED_POPULATION_RATIO = RuleDef(
    name="coverage.certified_population_ratio",
    doc="Certified people reach a set share of the total population "
    "(actual: certified people; required: population × the ratio).",
    match=(Match("j", "jurisdiction", (Test("population", Op.NE, Lit(None)),)),),
    collect=(Collect("s", "person_status"),),
    emits=("finding",),
    derive=_certified_population_ratio,
    params={"coverage.certified_per_person": ParamSpec("decimal", "Certified people required per inhabitant.")},
)


def _training_rate(ctx: Context) -> Iterator[Item]:
    j: Jurisdiction = ctx["j"]
    statuses: tuple[PersonStatus, ...] = ctx.all("s")
    posts: tuple[PostStatus, ...] = ctx.all("ps")
    staff = {s.person for s in statuses if s.top_level is not None}  # certified; read plainly: it runs per person
    staff.update(ps.holder for ps in posts)
    trained = {t.person for t in ctx.all("t") if t.hours and t.person in staff}  # hours are never negative
    required = Decimal(len(staff)) * Decimal(ctx.param("training_rate.required"))
    yield Finding.at_least(
        subject=j.id,
        requirement="training_rate",
        actual=len(trained),
        required=required,
    )


TRAINING_RATE = RuleDef(
    name="coverage.training_rate",
    doc="A set share of social-work staff (certified people and holders of social-work posts) receive in-service "
    "training in the year judged (actual: staff trained; required: staff × the rate).",
    match=(Match("j", "jurisdiction"),),
    collect=(
        Collect("s", "person_status"),
        Collect("ps", "post_status", (Test("social_work", Op.EQ, Lit(True)),)),
        Collect("t", "training", (Test("year", Op.EQ, Param("day.year")),)),
    ),
    emits=("finding",),
    derive=_training_rate,
    params={"training_rate.required": ParamSpec("decimal", "Share of social-work staff to be trained (1 = 100%).")},
)
