"""A deliberately naive evaluator of dingnan-2020, written from the document text, not from the engine.

Plain loops over fact dicts, day by day; the numbers are the document's own
(定办字〔2020〕41号 and the national grade table), and the readings are the
assumptions the ruleset states. It knows nothing of rules, partitions, strata,
templates, windows merged into segments or judgment days computed once: for
every day it needs, it picks the versions of the facts in force that day. When
it and the engine agree on random populations with histories, both read the
policy the same way.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

# 高级 tiers 1-3 -> levels 5-7, 中级 -> 8-10, 初级 (助理) tiers 1-2 -> 11-12.
GRADE = {
    ("senior", 1): (5, "高级社会工作师一级"),
    ("senior", 2): (6, "高级社会工作师二级"),
    ("senior", 3): (7, "高级社会工作师三级"),
    ("intermediate", 1): (8, "社会工作师一级"),
    ("intermediate", 2): (9, "社会工作师二级"),
    ("intermediate", 3): (10, "社会工作师三级"),
    ("junior", 1): (11, "助理社会工作师一级"),
    ("junior", 2): (12, "助理社会工作师二级"),
}
RANK = {"assistant": 1, "intermediate": 2, "senior": 3}
BAND_RANK = {"junior": 1, "intermediate": 2, "senior": 3}
EXAM_REWARD = {"assistant": Decimal(1000), "intermediate": Decimal(2000)}  # senior: not named, nothing
ALLOWANCE = {1: Decimal(100), 2: Decimal(150), 3: Decimal(260)}
ENCOURAGED = {"community_worker", "institution_staff", "social_org_staff", "township_staff", "village_cadre"}
POLICY_FROM = date(2020, 1, 1)  # 定办字〔2020〕41号
ALLOWANCE_FROM = "2021-01"  # the first annual budget after it


def _end_of(period: str) -> date:
    if len(period) == 4:
        return date(int(period), 12, 31)
    year, month = int(period[:4]), int(period[5:])
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _months(period: str) -> list[str]:
    if len(period) == 7:
        return [period]
    return [f"{period}-{m:02d}" for m in range(1, 13)]


def _in_force(fact: dict[str, Any], day: date) -> bool:
    start, end = fact.get("valid_from"), fact.get("valid_until")
    return (start is None or date.fromisoformat(start) <= day) and (end is None or day <= date.fromisoformat(end))


def _on(facts: list[dict[str, Any]], kind: str, ident: Any, day: date) -> dict[str, Any] | None:
    for f in facts:
        if f["type"] == kind and f["id"] == ident and _in_force(f, day):
            return f
    return None


def _top_rank(facts: list[dict[str, Any]], person: str, day: date) -> int:
    return max(
        (
            RANK[c["level"]]
            for c in facts
            if c["type"] == "certificate"
            and c["holder"] == person
            and _in_force(c, day)
            and date.fromisoformat(c["obtained_on"]) <= day
        ),
        default=0,
    )


def _encouraged(facts: list[dict[str, Any]], person: dict[str, Any], day: date) -> bool:
    role = person["role"]
    if role not in ENCOURAGED:
        return False
    org = _on(facts, "organization", person.get("organization"), day)
    if role == "institution_staff":
        return org is not None and org["kind"] == "public_institution" and org.get("community_level", False)
    if role == "social_org_staff":
        return org is not None and (org["kind"] == "community_social_org" or org.get("community_level", False))
    return True


def _rate(facts: list[dict[str, Any]], ident: str, day: date) -> Decimal:
    """What person ``ident`` earns, as a monthly allowance, on ``day``."""
    person = _on(facts, "person", ident, day)
    if person is None:
        return Decimal(0)
    top = _top_rank(facts, ident, day)
    role = person["role"]
    community = _on(facts, "community", person.get("community"), day)
    if role == "community_worker" or (
        role == "village_cadre" and community is not None and community["kind"] == "urban"
    ):
        return ALLOWANCE[top] if top else Decimal(0)
    if role == "institution_staff" and person.get("organization") is not None:
        in_post = any(
            q["type"] == "post"
            and q.get("holder") == ident
            and q.get("social_work", True)
            and q.get("organization") == person["organization"]
            and _in_force(q, day)
            for q in facts
        )
        return ALLOWANCE[top] if in_post and top else Decimal(0)
    return Decimal(0)


def evaluate(facts: list[dict[str, Any]], period: str) -> dict[str, Any]:
    """Post grades, eligibility, exam rewards and monthly allowances, as plain tuples."""
    end = _end_of(period)
    months = [m for m in _months(period) if m >= POLICY_FROM.isoformat()[:7]]

    grades = {}
    for q in facts:
        if q["type"] == "post" and _in_force(q, end):
            grades[q["id"]] = GRADE[(q["band"], q["tier"])]

    eligibility = {}
    for p in facts:
        if p["type"] == "person" and _in_force(p, end):
            best = _top_rank(facts, p["id"], end)
            for band, rank in BAND_RANK.items():
                eligibility[(p["id"], band)] = best >= rank

    rewards = {}
    for c in facts:
        if c["type"] != "certificate":
            continue
        obtained = date.fromisoformat(c["obtained_on"])
        if obtained.isoformat()[:7] not in months or not _in_force(c, obtained):
            continue  # due in the month obtained, judged on the day obtained
        person = _on(facts, "person", c["holder"], obtained)
        if person is not None and _encouraged(facts, person, obtained) and c["level"] in EXAM_REWARD:
            rewards[c["id"]] = (person["id"], EXAM_REWARD[c["level"]])

    allowances = {}
    people = sorted({p["id"] for p in facts if p["type"] == "person"})
    for month in months:
        if month < ALLOWANCE_FROM:
            continue
        first = date(int(month[:4]), int(month[5:]), 1)
        last = _end_of(month)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        for ident in people:
            rates = [_rate(facts, ident, day) for day in days]
            if all(rates):  # earned every day of the month: paid at the lowest day's rate
                allowances[(ident, month)] = min(rates)
    return {"grades": grades, "eligibility": eligibility, "rewards": rewards, "allowances": allowances}
