"""A hand-written plain-Python evaluation of one dingnan-2020 year: the yardstick for the engines.

The same work swrules does for the same clauses — post grades, eligibility by
band, one-time exam rewards and monthly allowances — written the way a
developer would without a rule engine: dicts, one pass per fact type. It
reads the ruleset's parameters so that it follows the same readings.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from swrules.rulesets import Ruleset

RANK = {"assistant": 1, "intermediate": 2, "senior": 3}
BANDS = (("junior", 1), ("intermediate", 2), ("senior", 3))


def evaluate(facts: list[dict[str, Any]], ruleset: Ruleset, year: int) -> dict[str, Any]:
    p = ruleset.parameters
    grade = {(row["band"], row["tier"]): (row["level"], row["title"]) for row in p["grades.table"]}
    end = date(year, 12, 31)
    persons: dict[str, dict[str, Any]] = {}
    certs: dict[str, list[tuple[date, str, str]]] = {}
    sw_posts: set[str] = set()
    post_grades = []
    for f in facts:
        t = f["type"]
        if t == "person":
            persons[f["id"]] = f
        elif t == "certificate":
            obtained = date.fromisoformat(f["obtained_on"])
            if obtained <= end:
                certs.setdefault(f["holder"], []).append((obtained, f["level"], f["id"]))
        elif t == "post":
            post_grades.append((f["id"], *grade[(f["band"], f["tier"])]))
            if f.get("holder") and f.get("social_work", True):
                sw_posts.add(f["holder"])
    reward_roles = set(p["exam_reward.roles"])
    certified_roles = set(p["allowance.certified_roles"])
    post_roles = set(p["allowance.post_roles"])
    amounts = {lv: p[f"allowance.{lv}"] for lv in RANK}
    reward = {"assistant": p["exam_reward.assistant"], "intermediate": p["exam_reward.intermediate"]}
    month_starts = [date(year, m, 1) for m in range(1, 13)]
    eligibility = []
    obligations: list[tuple[str, str, str, Decimal]] = []
    for pid, person in persons.items():
        held = certs.get(pid, [])
        best = max((RANK[lv] for _, lv, _ in held), default=0)
        for band, rank in BANDS:
            eligibility.append((pid, band, best >= rank))
        role = person["role"]
        if role in reward_roles:
            for obtained, level, _cid in held:
                if obtained.year == year and level in reward:
                    obligations.append((pid, "exam_reward", str(year), reward[level]))
        if held and (role in certified_roles or (role in post_roles and pid in sw_posts)):
            for start in month_starts:
                cutoff = start - timedelta(days=1)
                top = max((RANK[lv] for obtained, lv, _ in held if obtained <= cutoff), default=0)
                if top:
                    level = next(lv for lv, r in RANK.items() if r == top)
                    obligations.append((pid, "monthly_allowance", start.strftime("%Y-%m"), amounts[level]))
    return {"post_grades": post_grades, "eligibility": eligibility, "obligations": obligations}
