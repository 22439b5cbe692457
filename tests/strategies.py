"""Hypothesis strategies: single facts, whole consistent populations, and invalid inputs.

Populations are lists of fact dicts as the interchange contract writes them
(dates ISO strings, money decimal strings), so the same values exercise the
loader, the engines and the naive evaluator.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

ROLES = ("community_worker", "institution_staff", "social_org_staff", "township_staff", "village_cadre", "other")
LEVELS = ("assistant", "intermediate", "senior")
ORG_KINDS = ("public_institution", "social_work_agency", "community_social_org", "township_government", "other")
BAND_TIERS = [("junior", 1), ("junior", 2)] + [(b, t) for b in ("intermediate", "senior") for t in (1, 2, 3)]

FIRST_DAY = date(2018, 1, 1)
LAST_DAY = date(2023, 12, 31)

dates = st.integers(0, (LAST_DAY - FIRST_DAY).days).map(lambda n: (FIRST_DAY + timedelta(days=n)).isoformat())
# The boundaries that matter most: first and last days of months and years.
edge_dates = st.sampled_from(["2020-12-31", "2021-01-01", "2021-03-31", "2021-04-01", "2021-12-31", "2022-01-01"])
money = st.integers(0, 500_000).map(lambda fen: f"{fen // 100}.{fen % 100:02d}")
years = st.integers(2018, 2023)


#: A year in each shipped ruleset's window, for tests that need one period that works everywhere it is used.
TYPICAL_YEAR = {"dingnan-2020": "2021", "zhejiang-2019": "2021", "xx-county-2023": "2023"}
#: Periods within each ruleset's window (years and months, the window's edges among them).
PERIODS = {
    "dingnan-2020": ("2020", "2021", "2022", "2021-01", "2021-04", "2021-12", "2020-01"),
    "zhejiang-2019": ("2019", "2020", "2021", "2022", "2019-06", "2022-12", "2021-03"),
    "xx-county-2023": ("2023", "2024", "2023-08", "2023-12", "2024-01", "2023-09"),
}
#: A window wide enough for any period the populations care about, for properties that sweep years.
WIDE = {"applies_from": "2015-01-01", "applies_until": "none"}


def periods_of(ruleset: str) -> st.SearchStrategy[str]:
    return st.sampled_from(PERIODS[ruleset])


@st.composite
def populations(draw: st.DrawFn, *, max_persons: int = 8, histories: bool = False) -> list[dict[str, Any]]:
    """A consistent population: every reference resolves, ids are unique, dates plausible.

    With ``histories``, some persons change role, community or organization on a day, some posts change holder or
    fall vacant, some certificates' registration lapses or starts: the second version of each is its own fact
    with the same id, their windows meeting on that day.
    """
    facts = draw(_population(max_persons))
    if histories:
        facts = draw(_with_histories(facts))
    return facts


_CHANGES = {
    "person": ("role", "community", "organization", "leader", "full_time"),
    "post": ("holder", "social_work", "organization"),
    "certificate": ("registered",),
    "organization": ("kind", "community_level", "public_benefit"),
    "community": ("kind", "township"),
}


@st.composite
def _with_histories(draw: st.DrawFn, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {t: [f["id"] for f in facts if f["type"] == t] for t in ("person", "community", "organization")}
    out: list[dict[str, Any]] = []
    for fact in facts:
        fields = _CHANGES.get(fact["type"])
        if fields is None or not draw(st.integers(0, 2)) == 0:
            out.append(fact)
            continue
        day = date.fromisoformat(draw(st.one_of(dates, edge_dates)))
        later = dict(fact)
        name = draw(st.sampled_from(fields))
        later[name] = draw(_another_value(fact["type"], name, ids))
        if later.get(name) is None:
            del later[name]
        out.append({**fact, "valid_until": (day - timedelta(days=1)).isoformat()})
        out.append({**later, "valid_from": day.isoformat()})
    return out


def _another_value(fact_type: str, name: str, ids: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    if name == "role":
        return st.sampled_from(ROLES)
    if name == "kind":
        return st.sampled_from(("urban", "rural") if fact_type == "community" else ORG_KINDS)
    if name in ("community", "organization", "holder"):
        pool = ids["person" if name == "holder" else name]
        return st.one_of(st.none(), st.sampled_from(pool)) if pool else st.none()
    if name == "township":
        return st.sampled_from(("t1", "t2", None))
    return st.booleans()


def split(facts: list[dict[str, Any]], index: int, day: str) -> list[dict[str, Any]]:
    """``facts`` with fact ``index`` (undated) cut in two versions at ``day``, every field the same."""
    fact = facts[index]
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    return [*facts[:index], {**fact, "valid_until": before}, {**fact, "valid_from": day}, *facts[index + 1 :]]


@st.composite
def _population(draw: st.DrawFn, max_persons: int) -> list[dict[str, Any]]:
    facts: list[dict[str, Any]] = []
    n_comm = draw(st.integers(1, 4))
    communities = [f"c{i}" for i in range(n_comm)]
    for c in communities:
        community: dict[str, Any] = {"type": "community", "id": c, "kind": draw(st.sampled_from(("urban", "rural")))}
        if draw(st.booleans()):
            community["township"] = draw(st.sampled_from(("t1", "t2")))
        facts.append(community)
    n_org = draw(st.integers(1, 4))
    orgs = [f"o{i}" for i in range(n_org)]
    for o in orgs:
        org: dict[str, Any] = {"type": "organization", "id": o, "kind": draw(st.sampled_from(ORG_KINDS))}
        if draw(st.booleans()):
            org["primarily_social_work"] = True
        if draw(st.booleans()):
            org["professional_posts"] = draw(st.integers(0, 20))
        if draw(st.booleans()):
            org["community_level"] = True
        if not draw(st.integers(0, 4)):
            org["public_benefit"] = False
        facts.append(org)
    n_person = draw(st.integers(0, max_persons))
    persons = [f"p{i}" for i in range(n_person)]
    for p in persons:
        person: dict[str, Any] = {"type": "person", "id": p, "role": draw(st.sampled_from(ROLES))}
        if draw(st.integers(0, 4)):
            person["community"] = draw(st.sampled_from(communities))
        if draw(st.booleans()):
            person["organization"] = draw(st.sampled_from(orgs))
        for flag in ("full_time", "leader", "social_work_education"):
            if draw(st.booleans()):
                person[flag] = True
        if draw(st.booleans()):
            person["monthly_salary"] = draw(money)
            person["reference_salary"] = draw(money)
        facts.append(person)
    k = 0
    for p in persons:
        for _ in range(draw(st.integers(0, 3))):
            facts.append(
                {
                    "type": "certificate",
                    "id": f"k{k}",
                    "holder": p,
                    "level": draw(st.sampled_from(LEVELS)),
                    "obtained_on": draw(st.one_of(dates, edge_dates)),
                    "registered": draw(st.booleans()),
                }
            )
            k += 1
    for i in range(draw(st.integers(0, 4))):
        band, tier = draw(st.sampled_from(BAND_TIERS))
        post: dict[str, Any] = {"type": "post", "id": f"q{i}", "band": band, "tier": tier}
        if persons and draw(st.integers(0, 3)):
            post["holder"] = draw(st.sampled_from(persons))
        if draw(st.booleans()):
            post["organization"] = draw(st.sampled_from(orgs))
        if draw(st.booleans()):
            post["community"] = draw(st.sampled_from(communities))
        if not draw(st.integers(0, 4)):
            post["social_work"] = False
        facts.append(post)
    if persons:
        for i in range(draw(st.integers(0, 3))):
            facts.append(
                {
                    "type": "exam_registration",
                    "id": f"e{i}",
                    "person": draw(st.sampled_from(persons)),
                    "year": draw(years),
                    "registration_fee": draw(money),
                    "travel_cost": draw(money),
                }
            )
        for i in range(draw(st.integers(0, 4))):
            facts.append(
                {
                    "type": "training",
                    "id": f"t{i}",
                    "person": draw(st.sampled_from(persons)),
                    "year": draw(years),
                    "hours": str(draw(st.integers(0, 80))),
                }
            )
        for i in range(draw(st.integers(0, 2))):
            facts.append(
                {
                    "type": "talent_selection",
                    "id": f"ts{i}",
                    "person": draw(st.sampled_from(persons)),
                    "year": draw(years),
                }
            )
        for i in range(draw(st.integers(0, 2))):
            funds = draw(st.integers(1, 10_000_000))
            facts.append(
                {
                    "type": "service_project",
                    "id": f"s{i}",
                    "organization": draw(st.sampled_from(orgs)),
                    "funds": f"{funds / 100:.2f}",
                    "personnel_cost": f"{draw(st.integers(0, funds)) / 100:.2f}",
                    "government_purchased": draw(st.booleans()),
                    "social_workers": draw(st.lists(st.sampled_from(persons), max_size=3, unique=True)),
                }
            )
    if draw(st.booleans()):
        facts.append({"type": "jurisdiction", "id": "j", "population": draw(st.integers(1, 50_000))})
    return facts


def document(facts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"facts": facts}


# -- invalid inputs: (document bytes, what the error must name) ---------------------------------------------


def _base() -> list[dict[str, Any]]:
    return [
        {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
        {"type": "community", "id": "c1", "kind": "urban"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-15"},
        {"type": "post", "id": "q1", "band": "junior", "tier": 1, "holder": "p1"},
    ]


def _corrupt(kind: str, field_value: Any) -> tuple[bytes, str]:
    facts = _base()
    if kind == "unknown_type":
        facts.append({"type": "employee", "id": "x"})
        return json.dumps({"facts": facts}).encode(), "employee"
    if kind == "missing_field":
        del facts[2]["level"]
        return json.dumps({"facts": facts}).encode(), "level"
    if kind == "ill_typed":
        facts[3]["tier"] = field_value
        return json.dumps({"facts": facts}).encode(), "tier"
    if kind == "unknown_enum":
        facts[0]["role"] = field_value
        return json.dumps({"facts": facts}).encode(), "role"
    if kind == "impossible_date":
        facts[2]["obtained_on"] = field_value
        return json.dumps({"facts": facts}).encode(), "obtained_on"
    if kind == "outside_table":
        facts[3]["tier"] = 3 if facts[3]["band"] == "junior" else 4
        return json.dumps({"facts": facts}).encode(), "tier"
    if kind == "duplicate_id":
        facts.append(dict(facts[2]))
        return json.dumps({"facts": facts}).encode(), "k1"
    if kind == "dangling_reference":
        facts[2]["holder"] = "nobody"
        return json.dumps({"facts": facts}).encode(), "holder"
    if kind == "unknown_field":
        facts[1]["colour"] = "red"
        return json.dumps({"facts": facts}).encode(), "colour"
    if kind == "bad_money":
        facts[0]["monthly_salary"] = field_value
        return json.dumps({"facts": facts}).encode(), "monthly_salary"
    assert kind == "unreadable"
    return json.dumps({"facts": facts}).encode()[: max(1, len(str(field_value)))], "JSON"


INVALID_KINDS = (
    "unknown_type",
    "missing_field",
    "ill_typed",
    "unknown_enum",
    "impossible_date",
    "outside_table",
    "duplicate_id",
    "dangling_reference",
    "unknown_field",
    "bad_money",
    "unreadable",
)


@st.composite
def invalid_documents(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(kind, JSON bytes, a word the error message must contain)."""
    kind = draw(st.sampled_from(INVALID_KINDS))
    values: dict[str, st.SearchStrategy[Any]] = {
        "ill_typed": st.one_of(
            st.text(max_size=5), st.floats(0.01, 3.99).filter(lambda x: x != int(x)), st.booleans(), st.none()
        ),
        "unknown_enum": st.text(min_size=1, max_size=12).filter(lambda s: s not in ROLES),
        "impossible_date": st.sampled_from(["2021-02-30", "2021-13-01", "21-01-01", "yesterday", "2021-00-10"]),
        "bad_money": st.sampled_from(["ten", "1e400", "-5", "NaN", "1.234", True]),
        "unreadable": st.text(min_size=1, max_size=40),
    }
    value = draw(values[kind]) if kind in values else None
    raw, word = _corrupt(kind, value)
    return kind, raw, word
