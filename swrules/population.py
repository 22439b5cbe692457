"""A deterministic, realistic synthetic population: for benchmarks, scale tests and notebooks.

``generate(n)`` returns fact dicts as the interchange contract writes them: about
50 persons per community (three in five communities rural), organizations of
every kind, certificates for about a third of the people with plausible dates
and upgrades, posts (some vacant), exam registrations, trainings, service
projects, talent selections and one jurisdiction. With ``histories`` (a share of
persons, 0 to 1), people change during the year: a community worker leaves
community work, a person moves to another community, a post falls vacant —
each change a second version of the fact from its day on. The same ``n``,
``seed`` and ``histories`` always give the same facts, in the same order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["generate", "iter_facts", "write_jsonl"]

_ROLES = (
    ("community_worker", 30),
    ("institution_staff", 15),
    ("social_org_staff", 20),
    ("township_staff", 10),
    ("village_cadre", 15),
    ("other", 10),
)
_BAND_TIERS = (("junior", 1), ("junior", 2), ("intermediate", 1), ("intermediate", 2), ("intermediate", 3))
_SENIOR_TIERS = (("senior", 1), ("senior", 2), ("senior", 3))


def _day(rng: random.Random, first: date, last: date) -> str:
    return (first + timedelta(days=rng.randrange((last - first).days + 1))).isoformat()


def _money(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randrange(low, high)}.{rng.randrange(100):02d}"


def _changed(fact: dict[str, Any], day: date, **changes: Any) -> Iterator[dict[str, Any]]:
    """``fact`` until the day before ``day``, then a version with ``changes`` (a None value drops the field)."""
    yield {**fact, "valid_until": (day - timedelta(days=1)).isoformat()}
    later = {k: v for k, v in {**fact, **changes}.items() if v is not None}
    yield {**later, "valid_from": day.isoformat()}


def iter_facts(n_persons: int, *, seed: int = 0, year: int = 2021, histories: float = 0.0) -> Iterator[dict[str, Any]]:
    """The facts of a population of ``n_persons``, one dict at a time."""
    rng = random.Random(f"swrules-population/{seed}/{n_persons}/{year}")
    # A generator of its own for the histories, so the rest of the population is the same with or without them.
    hrng = random.Random(f"swrules-population/{seed}/{n_persons}/{year}/histories")
    year_start, year_end = date(year, 1, 1), date(year, 12, 31)
    n_comm = max(1, n_persons // 50)
    n_org_groups = max(1, n_persons // 200)
    yield {"type": "jurisdiction", "id": "county", "population": max(1, n_persons * 300)}
    communities = [f"c{i:05d}" for i in range(n_comm)]
    for i, c in enumerate(communities):
        yield {"type": "community", "id": c, "kind": "urban" if i % 5 < 2 else "rural", "township": f"t{i // 10:04d}"}
    institutions, agencies, csos, towns = [], [], [], []
    for g in range(n_org_groups):
        inst = f"o-inst-{g:05d}"
        institutions.append(inst)
        primarily = g % 3 == 0
        org: dict[str, Any] = {"type": "organization", "id": inst, "kind": "public_institution"}
        if primarily:
            org["primarily_social_work"] = True
            org["professional_posts"] = rng.randrange(5, 30)
        if g % 2 == 1:
            org["community_level"] = True  # a community public institution (社区事业单位)
        yield org
        agency = f"o-agency-{g:05d}"
        agencies.append(agency)
        yield {"type": "organization", "id": agency, "kind": "social_work_agency", "primarily_social_work": True}
        for k in range(2):
            cso = f"o-cso-{g:05d}-{k}"
            csos.append(cso)
            yield {"type": "organization", "id": cso, "kind": "community_social_org"}
        if g % 4 == 0:
            town = f"o-town-{g:05d}"
            towns.append(town)
            yield {"type": "organization", "id": town, "kind": "township_government"}
    roles = [r for r, weight in _ROLES for _ in range(weight)]
    first_day, last_day = date(year - 6, 1, 1), date(year, 12, 31)
    cert_no = post_no = reg_no = train_no = sel_no = 0
    staff_of: dict[str, list[str]] = {}
    for i in range(n_persons):
        pid = f"p{i:06d}"
        role = rng.choice(roles)
        person: dict[str, Any] = {"type": "person", "id": pid, "role": role, "community": communities[i // 50 % n_comm]}
        org_id = None
        if role == "institution_staff":
            org_id = rng.choice(institutions)
        elif role == "social_org_staff":
            org_id = rng.choice(agencies if rng.random() < 0.4 else csos)
            person["full_time"] = rng.random() < 0.7
            person["leader"] = rng.random() < 0.15
            person["social_work_education"] = rng.random() < 0.3
            if rng.random() < 0.6:
                person["monthly_salary"] = _money(rng, 2800, 5200)
                person["reference_salary"] = "3800.00"
        elif role == "township_staff" and towns:
            org_id = rng.choice(towns)
        if org_id is not None:
            person["organization"] = org_id
            staff_of.setdefault(org_id, []).append(pid)
        if histories and hrng.random() < histories:
            day = date.fromisoformat(_day(hrng, year_start + timedelta(days=1), year_end))
            if role == "community_worker" and hrng.random() < 0.5:
                yield from _changed(person, day, role="other", community=None)  # leaves community work
            else:
                yield from _changed(person, day, community=communities[hrng.randrange(n_comm)])  # moves
        else:
            yield person
        if rng.random() < 0.35:
            obtained = _day(rng, first_day, last_day)
            yield {
                "type": "certificate",
                "id": f"k{cert_no:07d}",
                "holder": pid,
                "level": "assistant",
                "obtained_on": obtained,
                "registered": rng.random() < 0.8,
            }
            cert_no += 1
            if rng.random() < 0.25:
                upgraded = _day(rng, date.fromisoformat(obtained) + timedelta(days=365), last_day + timedelta(days=400))
                level = "senior" if rng.random() < 0.1 else "intermediate"
                yield {
                    "type": "certificate",
                    "id": f"k{cert_no:07d}",
                    "holder": pid,
                    "level": level,
                    "obtained_on": upgraded,
                    "registered": True,
                }
                cert_no += 1
        if role in ("institution_staff", "community_worker") and rng.random() < 0.3:
            band, tier = rng.choice(_BAND_TIERS if rng.random() < 0.9 else _SENIOR_TIERS)
            post: dict[str, Any] = {"type": "post", "id": f"q{post_no:06d}", "band": band, "tier": tier, "holder": pid}
            if org_id is not None:
                post["organization"] = org_id
            else:
                post["community"] = person["community"]
            if rng.random() < 0.1:
                post["social_work"] = False
            if histories and hrng.random() < histories:
                yield from _changed(post, date.fromisoformat(_day(hrng, year_start, year_end)), holder=None)  # vacated
            else:
                yield post
            post_no += 1
        if rng.random() < 0.08:
            yield {
                "type": "exam_registration",
                "id": f"e{reg_no:06d}",
                "person": pid,
                "year": rng.choice((year - 1, year)),
                "registration_fee": "260.00",
                "travel_cost": _money(rng, 0, 400),
            }
            reg_no += 1
        for y in (year - 1, year):
            if rng.random() < 0.5:
                yield {
                    "type": "training",
                    "id": f"t{train_no:07d}",
                    "person": pid,
                    "year": y,
                    "hours": str(rng.choice((8, 16, 24, 40, 60))),
                }
                train_no += 1
        if rng.random() < 0.005:
            yield {"type": "talent_selection", "id": f"ts{sel_no:05d}", "person": pid, "year": year}
            sel_no += 1
    for v in range(max(1, n_persons // 100)):
        yield {
            "type": "post",
            "id": f"qv{v:05d}",
            "band": "junior",
            "tier": 1 + v % 2,
            "community": communities[v % n_comm],
        }
    for a, agency in enumerate(agencies):
        staff = staff_of.get(agency, [])
        funds = rng.randrange(50_000, 500_000)
        yield {
            "type": "service_project",
            "id": f"s{a:05d}",
            "organization": agency,
            "funds": f"{funds}.00",
            "personnel_cost": f"{int(funds * rng.uniform(0.5, 0.8))}.00",
            "social_workers": staff[:3],
        }


def generate(n_persons: int, *, seed: int = 0, year: int = 2021, histories: float = 0.0) -> list[dict[str, Any]]:
    """The whole population as a list of fact dicts."""
    return list(iter_facts(n_persons, seed=seed, year=year, histories=histories))


def write_jsonl(path: str | Path, n_persons: int, *, seed: int = 0, year: int = 2021, histories: float = 0.0) -> int:
    """Write the population as JSON Lines (one fact per line); returns the number of facts."""
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for fact in iter_facts(n_persons, seed=seed, year=year, histories=histories):
            fh.write(json.dumps(fact, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count
