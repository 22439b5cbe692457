"""The compiler's built-ins and statements, each against the native engine on a ruleset written for them.

The shipped rulesets do not call every built-in the language has; this ruleset does (dates, periods, text,
rounding, choices, decision tables with the ``first`` policy, loops, picks from lists), and both engines must
give the same bytes. What the compiler refuses is refused by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ibis")
pytest.importorskip("swrules.columnar")

from swrules.errors import ColumnarUnsupportedError, RuleFailedError, SwrulesError
from swrules.evaluation import evaluate
from swrules.rulesets import load_ruleset

HEAD = """
[ruleset]
id = "columnar-test"
title = "t"
issuer = "i"
published = 2021-01-01
applies_from = 2021-01-01

[parameters]
factor = "0.333"
floor = 2
points.assistant = "1.5"
points.intermediate = "2"
points.senior = "20.25"

[parameter_types]
factor = "decimal"
floor = "integer"
points.assistant = "decimal"
points.intermediate = "decimal"
points.senior = "decimal"

[[tables]]
id = "points"
hit = "first"
inputs = { band = "band", tier = "integer" }
outputs = { amount = "integer" }
rows = [
  { band = "senior", tier = 1, amount = 5 },
  { band = "senior", tier = "-", amount = 3 },
  { band = "-", tier = "-", amount = 1 },
]
"""

RULES = {
    "dates-and-text": """
match p: person
collect c: certificate where c.holder == p.id
let n = count(c)
when n > 0
let latest = max([x.obtained_on for x in c])
let earliest = min([x.obtained_on for x in c])
let m = month_of(latest)
let since = days_between(latest, last_day(period))
let later = add_days(latest, 30)
let ranks = sorted(set([x.level.rank for x in c]))
let top = last(ranks)
let place = coalesce(p.community, p.organization, "nowhere")
emit finding {
  subject = p.id, requirement = "r-" + text(m) + "-" + text(latest) + "-" + text(n) + "-" + place + "-" + text(year(m)),
  satisfied = all([x.registered for x in c]) and in_force(p, day) and key(p) == "person/" + p.id,
  actual = abs(-since) + min(year(latest), 3000) - max(year(earliest), 0) + top
           + (if later > first_day(m) then 1 else 0) + (if month(latest) >= 6 then 10 else 0),
  required = decimal(n) * 1.5 - 0.25,
}
""",
    "rounding": """
match p: person where p.monthly_salary != none
let x = p.monthly_salary * param("factor")
emit finding {
  subject = p.id, requirement = "rounding", satisfied = x >= 100,
  actual = round(x, "0.01", "half_even") + round(-x, "0.1", "down") + round(x / 3, "0.001", "half_up"),
  required = round(if x > 50 then x / 7 else 0, "0.0001", "half_even"),
}
""",
    "tables-and-loops": """
match q: post
let points = table("points", q.band, q.tier).amount
for i in [1, 2, 3] {
  when i <= points
  emit finding.at_least { subject = q.id + "/" + text(i), requirement = "points",
                          actual = i * points - param("floor"), required = 0 }
}
""",
    "picks": """
match o: organization
collect p: person where p.organization == o.id
when count(p) > 0
let names = [x.id for x in p if x.role != "other" or x.leader]
emit finding {
  subject = o.id, requirement = "picks", satisfied = first(p).leader or p[-1].full_time,
  actual = count(names) + (if "p1" in names then 100 else 0) + (if "p9" not in names then 1000 else 0),
  required = none,
}
""",
    "versions-and-keys": """
match p: person
collect c: certificate where c.holder == p.id
collect o: organization where o.id == p.organization
let v = version_on(c, day)
let org = version_on(o, day)
let levels = members("certificate level")
let names = [x.id for x in c] + [p.id] + [x.id for x in o]
emit finding {
  subject = p.id + "-" + (if v == none then "none" else v.id) + "-" + text(levels[count(c) - 1]),
  requirement = "versions", satisfied = org != none and org.kind == "public_institution",
  actual = (if v == none then 0 else param("points", v.level)) + count(names) * 100, required = none,
}
""",
    "stretches": """
match p: person
collect c: certificate where c.holder == p.id
def held(d) = count([x for x in c if x.obtained_on <= d])
def rate(d) = if held(d) > 0 then 100.50 * held(d) else 0
let s = piecewise(first_day(period), last_day(period), [x.obtained_on for x in c], rate)
for m in months(period) {
  let a = month_rate(m, s, "prorated")
  let b = month_rate(m, s, "month_start")
  let e = month_rate(m, s, "month_end")
  let w = month_rate(m, s, "whole_month")
  when a[0] > 0
  emit finding {
    subject = p.id + "-" + text(m) + "-" + text(count(s)) + "-" + text(s[0][0]) + "-" + text(last(s)[1]),
    requirement = a[1] + "/" + b[1] + "/" + e[1] + "/" + w[1], satisfied = none,
    actual = a[0] + b[0] + e[0] + w[0], required = none,
  }
}
""",
}

FACTS = [
    {"type": "person", "id": "p1", "role": "community_worker", "community": "c1", "monthly_salary": "1234.5"},
    {"type": "person", "id": "p2", "role": "other", "organization": "o1", "leader": True, "monthly_salary": "99"},
    {"type": "person", "id": "p3", "role": "village_cadre", "organization": "o1", "full_time": True},
    {"type": "person", "id": "p4", "role": "other", "organization": "o1", "monthly_salary": "151.17"},
    {"type": "community", "id": "c1", "kind": "urban"},
    {"type": "organization", "id": "o1", "kind": "public_institution"},
    {"type": "organization", "id": "o2", "kind": "other"},
    {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-31"},
    {
        "type": "certificate",
        "id": "k2",
        "holder": "p1",
        "level": "senior",
        "obtained_on": "2021-07-01",
        "registered": True,
    },
    {
        "type": "certificate",
        "id": "k3",
        "holder": "p2",
        "level": "intermediate",
        "obtained_on": "2020-12-31",
        "registered": True,
    },
    {"type": "post", "id": "q1", "band": "senior", "tier": 1, "organization": "o1", "holder": "p3"},
    {"type": "post", "id": "q2", "band": "senior", "tier": 2, "organization": "o1"},
    {"type": "post", "id": "q3", "band": "junior", "tier": 1, "organization": "o1"},
]


READS_EVERY_PARAMETER = """
match c: community where c.id == "none such"
when param("factor") > 0 and param("floor") > 0
when param("points.assistant") + param("points.intermediate") + param("points.senior") > 0
emit subject_count { subject = c.id, what = "x", count = 0 }
"""


def _ruleset(tmp_path: Path, rules: dict[str, str]) -> Path:
    text = HEAD
    rules = {"reads-every-parameter": READS_EVERY_PARAMETER, **rules}
    for rid, body in rules.items():
        severity = 'severity = "advisory"\n' if "emit finding" in body else ""
        text += f'\n[[rules]]\nid = "{rid}"\nclause = "c"\ntext = "t"\nreading = "r"\n{severity}'
        text += f'rule = """\n{body}\n"""\n'
    path = tmp_path / "columnar-test.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _json(path: Path, engine: str, period: str) -> str:
    try:
        return evaluate(FACTS, ruleset=load_ruleset(path), period=period, engine=engine).to_json()
    except SwrulesError as err:
        return f"{type(err).__name__}: {err}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_gives_the_native_bytes(tmp_path: Path, rule: str) -> None:
    path = _ruleset(tmp_path, {rule: RULES[rule]})
    for period in ("2021", "2021-06"):
        native = _json(path, "native", period)
        assert native.startswith("{") and '"findings": []' not in native, native
        assert _json(path, "columnar", period) == native


@pytest.mark.parametrize(
    ("body", "construct"),
    [
        (
            'match p: person\nemit finding { subject = p.id, requirement = "x", satisfied = none, '
            "actual = count([1]) / 2, required = none }",
            "division",
        ),
        (
            "match p: person where p.monthly_salary != none\nlet h = p.monthly_salary / 3\n"
            'emit finding { subject = p.id, requirement = "x", satisfied = none, actual = 1, required = none }',
            "division",
        ),
        (
            'match p: person\nlet xs = [p.id, p.role]\nemit finding { subject = p.id, requirement = "x", '
            "satisfied = none, actual = count(xs), required = none }",
            "list of values",
        ),
    ],
)
def test_what_is_not_compiled_is_refused_by_name(tmp_path: Path, body: str, construct: str) -> None:
    path = _ruleset(tmp_path, {"refused": body})
    with pytest.raises(ColumnarUnsupportedError, match=construct) as caught:
        evaluate(FACTS, ruleset=load_ruleset(path), period="2021", engine="columnar")
    assert caught.value.rule == "refused" and caught.value.ruleset == "columnar-test"


def test_a_division_by_zero_fails_naming_the_rule_as_on_the_native_engine(tmp_path: Path) -> None:
    body = """
match o: organization
collect p: person where p.organization == o.id
emit finding { subject = o.id, requirement = "share", satisfied = none, required = none,
               actual = round(count([x for x in p if x.leader]) / count(p), "0.01", "half_up") }
"""
    path = _ruleset(tmp_path, {"share": body})
    for engine in ("native", "columnar"):
        with pytest.raises(RuleFailedError, match=r"'share' failed .*division"):
            evaluate(FACTS, ruleset=load_ruleset(path), period="2021", engine=engine)
