"""A hand-written plain-Python evaluation of one dingnan-2020 year: the yardstick for the engines.

The same work swrules does for the same clauses — post grades, eligibility by
band, one-time exam rewards and monthly allowances, with the readings the
ruleset states and the facts' histories — written the way a developer would
without a rule engine: dicts, one pass per fact type, the versions of each
entity in a list. It reads the ruleset's parameters so that it follows the
same readings.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from swrules.rulesets import Ruleset

RANK = {"assistant": 1, "intermediate": 2, "senior": 3}
LEVEL = {1: "assistant", 2: "intermediate", 3: "senior"}
BANDS = (("junior", 1), ("intermediate", 2), ("senior", 3))
ONE = timedelta(days=1)
FAR = date(9999, 12, 31)


def _window(f: dict[str, Any]) -> tuple[date, date]:
    start, end = f.get("valid_from"), f.get("valid_until")
    return (date.fromisoformat(start) if start else date.min, date.fromisoformat(end) if end else FAR)


def _on(versions: list[tuple[date, date, dict[str, Any]]], day: date) -> dict[str, Any] | None:
    for start, end, f in versions:
        if start <= day <= end:
            return f
    return None


def evaluate(facts: list[dict[str, Any]], ruleset: Ruleset, year: int) -> dict[str, Any]:
    p = ruleset.parameters
    grade = {(band, tier): (row.level, row.title) for (band, tier), row in ruleset.tables["grades"].rows}
    first_day, end = max(date(year, 1, 1), ruleset.applies_from), date(year, 12, 31)
    persons: dict[str, list[tuple[date, date, dict[str, Any]]]] = defaultdict(list)
    orgs: dict[str, list[tuple[date, date, dict[str, Any]]]] = defaultdict(list)
    places: dict[str, list[tuple[date, date, dict[str, Any]]]] = defaultdict(list)
    certs: dict[str, list[tuple[date, date, date, int]]] = defaultdict(list)  # from, until, obtained, rank
    obtained_certs: list[tuple[dict[str, Any], date, date, date]] = []
    posts: dict[str, list[tuple[date, date, str | None, int]]] = defaultdict(list)  # holder -> org, band
    post_grades = []
    for f in facts:
        t = f["type"]
        if t == "person":
            persons[f["id"]].append((*_window(f), f))
        elif t == "organization":
            orgs[f["id"]].append((*_window(f), f))
        elif t == "community":
            places[f["id"]].append((*_window(f), f))
        elif t == "certificate":
            start, until = _window(f)
            obtained = date.fromisoformat(f["obtained_on"])
            certs[f["holder"]].append((max(start, obtained), until, obtained, RANK[f["level"]]))
            obtained_certs.append((f, start, until, obtained))
        elif t == "post":
            start, until = _window(f)
            if start <= end <= until:
                post_grades.append((f["id"], *grade[(f["band"], f["tier"])]))
            if f.get("holder") and f.get("social_work", True):
                posts[f["holder"]].append(
                    (start, until, f.get("organization"), {"junior": 1, "intermediate": 2, "senior": 3}[f["band"]])
                )
    reward_roles = set(p["exam_reward.roles"])
    community_level_only = p["exam_reward.community_level_only"]
    certified_roles = set(p["allowance.certified_roles"])
    post_roles = set(p["allowance.post_roles"])
    amounts = {rank: p[f"allowance.{lv}"] for rank, lv in LEVEL.items()}
    reward = {"assistant": p["exam_reward.assistant"], "intermediate": p["exam_reward.intermediate"]}

    def top(pid: str, day: date) -> int:
        return max((rank for start, until, _, rank in certs.get(pid, ()) if start <= day <= until), default=0)

    def encouraged(person: dict[str, Any], day: date) -> bool:
        role = person["role"]
        if role not in reward_roles:
            return False
        if not community_level_only or role not in ("institution_staff", "social_org_staff"):
            return True
        org = _on(orgs.get(person.get("organization") or "", []), day)
        if org is None:
            return False
        if role == "institution_staff":
            return org["kind"] == "public_institution" and org.get("community_level", False)
        return org["kind"] == "community_social_org" or org.get("community_level", False)

    def rate(pid: str, day: date) -> Decimal:
        person = _on(persons[pid], day)
        if person is None:
            return Decimal(0)
        role = person["role"]
        best = top(pid, day)
        certified = role in certified_roles
        if not certified and role == "village_cadre" and p["allowance.urban_cadres"]:
            place = _on(places.get(person.get("community") or "", []), day)
            certified = place is not None and place["kind"] == "urban"
        if not certified:
            if role not in post_roles or not person.get("organization"):
                return Decimal(0)
            band = max(
                (b for s, u, org, b in posts.get(pid, ()) if s <= day <= u and org == person["organization"]),
                default=0,
            )
            if not band:
                return Decimal(0)
            if p["allowance.post_branch"] == "post_band":
                best = band
        return amounts[best] if best else Decimal(0)

    eligibility = []
    obligations: list[tuple[str, str, str, Decimal]] = []
    for pid, versions in persons.items():
        if _on(versions, end) is not None:
            best = top(pid, end)
            for band, rank in BANDS:
                eligibility.append((pid, band, best >= rank))
    for f, start, until, obtained in obtained_certs:
        if first_day <= obtained <= end and start <= obtained <= until and f["level"] in reward:
            person = _on(persons[f["holder"]], obtained)
            if person is not None and encouraged(person, obtained):
                obligations.append((f["holder"], "exam_reward", str(year), reward[f["level"]]))
    since = p["allowance.first_month"]
    months = [(date(year, m, 1), (date(year + m // 12, m % 12 + 1, 1) - ONE)) for m in range(1, 13)]
    months = [(a, b) for a, b in months if a.strftime("%Y-%m") >= since and b >= first_day]
    for pid in persons:
        if not certs.get(pid) and p["allowance.post_branch"] != "post_band":
            continue
        windows = [(s, u) for s, u, *_ in (*certs.get(pid, ()), *persons[pid], *posts.get(pid, ()))]
        changes = {s for s, _ in windows} | {u + ONE for _, u in windows if u != FAR}
        for start, last in months:
            days = [start, *sorted(d for d in changes if start < d <= last)]
            rates = [rate(pid, d) for d in days]
            if all(rates):
                obligations.append((pid, "monthly_allowance", start.strftime("%Y-%m"), min(rates)))
    return {"post_grades": post_grades, "eligibility": eligibility, "obligations": obligations}
