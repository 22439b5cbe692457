"""A deliberately naive evaluator of dingnan-2020, written from the document text, not from the engine.

Plain loops over fact dicts; the numbers are the document's own (定办字〔2020〕41号
and the national grade table), and the readings are the assumptions the
ruleset states. It knows nothing of rules, partitions, strata or templates,
so when it and the engine agree on random populations, both read the policy
the same way.
"""

from __future__ import annotations

from datetime import date
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
ALLOWANCE = {"assistant": Decimal(100), "intermediate": Decimal(150), "senior": Decimal(260)}
ENCOURAGED = {"community_worker", "institution_staff", "social_org_staff", "township_staff", "village_cadre"}


def _end_of(period: str) -> date:
    if len(period) == 4:
        return date(int(period), 12, 31)
    year, month = int(period[:4]), int(period[5:])
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _months(period: str) -> list[str]:
    if len(period) == 7:
        return [period]
    return [f"{period}-{m:02d}" for m in range(1, 13)]


def evaluate(facts: list[dict[str, Any]], period: str) -> dict[str, Any]:
    """Post grades, eligibility, exam rewards and monthly allowances, as plain tuples."""
    year = int(period[:4])
    end = _end_of(period)
    persons = [f for f in facts if f["type"] == "person"]
    certs = [f for f in facts if f["type"] == "certificate"]
    posts = [f for f in facts if f["type"] == "post"]

    grades = {}
    for q in posts:
        level, title = GRADE[(q["band"], q["tier"])]
        grades[q["id"]] = (level, title)

    eligibility = {}
    for p in persons:
        best = 0
        for c in certs:
            if c["holder"] == p["id"] and date.fromisoformat(c["obtained_on"]) <= end:
                best = max(best, RANK[c["level"]])
        for band, rank in BAND_RANK.items():
            eligibility[(p["id"], band)] = best >= rank

    rewards = {}
    for c in certs:
        obtained = date.fromisoformat(c["obtained_on"])
        if obtained.year != year or obtained > end:
            continue
        person = next(p for p in persons if p["id"] == c["holder"])
        if person["role"] in ENCOURAGED and c["level"] in EXAM_REWARD:
            rewards[c["id"]] = (person["id"], EXAM_REWARD[c["level"]])

    allowances = {}
    for p in persons:
        if p["role"] == "community_worker":
            paid = True
        elif p["role"] == "institution_staff":
            paid = any(q.get("holder") == p["id"] and q.get("social_work", True) for q in posts)
        else:
            paid = False
        if not paid:
            continue
        for month in _months(period):
            first_of_month = date(int(month[:4]), int(month[5:]), 1)
            # paid from the month after the certificate is obtained
            levels = [
                c["level"]
                for c in certs
                if c["holder"] == p["id"] and date.fromisoformat(c["obtained_on"]) < first_of_month
            ]
            if levels:
                top = max(levels, key=lambda lv: RANK[lv])
                allowances[(p["id"], month)] = ALLOWANCE[top]
    return {"grades": grades, "eligibility": eligibility, "rewards": rewards, "allowances": allowances}
