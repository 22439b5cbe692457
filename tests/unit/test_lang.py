"""The rule language: expressions, statements, the load-time check, parameter types, the check/params commands."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swrules import evaluate
from swrules.cli import main
from swrules.errors import RuleProblemsError, RulesetError
from swrules.lang import describe_type, evaluate_expression, param_spec
from swrules.rulesets import builtin_dir, load_ruleset

HEAD = """
[ruleset]
id = "lang-test"
title = "t"
issuer = "i"
published = 2021-01-01
applies_from = 2021-01-01

[parameters]
share.minimum = "0.5"
reward.assistant = "100.00"
roles = ["community_worker"]

[parameter_types]
share.minimum = "decimal"
reward.assistant = { type = "money", doc = "Reward for the assistant level." }
roles = "list of role"

[[rules]]
id = "reads-every-parameter"
clause = "c"
text = "t"
reading = "Reads every parameter, so that none is unused."
rule = '''
match c: community where c.id == "none such"
when param("roles") != none and param("share.minimum") != none and param("reward.assistant") != none
emit subject_count { subject = c.id, what = "x", count = 0 }
'''
"""


def _rule(body: str, *, severity: str | None = "advisory", extra: str = "") -> str:
    sev = f'severity = "{severity}"\n' if severity else ""
    head = '\n[[rules]]\nid = "r"\nclause = "c"\ntext = "t"\nreading = "r"\n'
    return HEAD + extra + head + f'{sev}rule = """\n{body}\n"""\n'


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "lang-test.toml"
    path.write_text(text, encoding="utf-8")
    return load_ruleset(path)


PEOPLE = [
    {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
    {"type": "person", "id": "p2", "role": "other", "community": "c1"},
    {"type": "community", "id": "c1", "kind": "urban"},
    {"type": "community", "id": "c2", "kind": "rural"},
]

SHARE_RULE = """
match c: community
collect p: person where p.community == c.id
let staff = count(p)
when staff > 0                      # guards the division below
let workers = count([x for x in p if x.role in param("roles")])
let share = workers / staff
emit finding { subject = c.id, requirement = "share", satisfied = share >= param("share.minimum"),
               actual = share, required = param("share.minimum") }
"""


def test_a_rule_in_the_language_evaluates_and_a_guard_protects_a_later_let(tmp_path: Path) -> None:
    path = tmp_path / "lang-test.toml"
    path.write_text(_rule(SHARE_RULE), encoding="utf-8")
    result = evaluate(PEOPLE, ruleset=path, period="2021")
    findings = [(f.subject, f.satisfied, f.actual) for f in result.findings]
    assert findings == [("c1", True, Decimal("0.5"))]  # c2 has no staff: the guard stops it before dividing


def test_enum_literals_compare_with_enum_fields_and_text_parameters(tmp_path: Path) -> None:
    body = """
match c: community where c.kind == "urban"
emit finding.at_least { subject = c.id, requirement = "urban", actual = if c.kind == "urban" then 1 else 0,
                        required = 1 }
"""
    path = tmp_path / "lang-test.toml"
    path.write_text(_rule(body), encoding="utf-8")
    result = evaluate(PEOPLE, ruleset=path, period="2021")
    assert [(f.subject, f.satisfied) for f in result.findings] == [("c1", True)]


def test_for_loops_keyed_parameters_and_obligation_ids(tmp_path: Path) -> None:
    body = """
match p: person where p.role == "community_worker"
for level in members("certificate level") {
  let amount = param("reward", level)
  when amount != none
  judged "on " + text(day)
  emit obligation { id = obligation_id(p.id, text(level)), kind = "exam_reward", payee = p.id, payer = "x",
                    amount = amount, period = text(period), due = text(last_day(period))[0] }
}
"""
    with pytest.raises(RuleProblemsError):  # text(...)[0] is a character, fine; but due must be YYYY-MM: see below
        _load(tmp_path, _rule(body.replace('kind = "exam_reward"', 'kind = "exam_rewardd"'), severity=None))
    good = body.replace("text(last_day(period))[0]", '"2021-12"')
    path = tmp_path / "lang-test.toml"
    path.write_text(_rule(good, severity=None), encoding="utf-8")
    result = evaluate(PEOPLE, ruleset=path, period="2021")
    assert [(o.id, o.amount) for o in result.obligations] == [("lang-test/r/p1/assistant", Decimal("100.00"))]
    derivations = result._derivations
    assert {d.judged for d in derivations.values()} == {"on 2021-12-31"}


def test_every_problem_is_listed_at_once_with_file_rule_text_and_a_hint(tmp_path: Path) -> None:
    body = """
match c: communty
match p: person where p.rolee == "community_worker"
collect q: person where q.community == c.id
let n = count(q) + param("share.minimun")
when p.role == "community_wroker"
emit findingg { subject = c.id }
emit finding { subject = c.id, requirement = "x", satisfied = true, actual = n, required = n, colour = 1 }
emit finding { subject = cc.id, requirement = "x", satisfied = nope(1), actual = 1 }
"""
    with pytest.raises(RuleProblemsError) as caught:
        _load(tmp_path, _rule(body))
    text = str(caught.value)
    for wanted in (
        "no fact or item type 'communty'; did you mean 'community'?",
        "person has no field 'rolee'; did you mean 'role'?",
        "no parameter 'share.minimun' is declared; did you mean 'share.minimum'?",
        "'community_wroker' is not a value of Role",
        "no item kind 'findingg'; did you mean 'finding'?",
        "finding has no field 'colour'",
        "unknown name 'cc'",
        "no function 'nope'",
        "emit finding lacks required",
        "[rules.r]",
        "lang-test.toml",
    ):
        assert wanted in text, (wanted, text)
    assert len(caught.value.problems) >= 9


def test_a_parse_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(RuleProblemsError, match="cannot read the rule at line 3"):
        _load(tmp_path, _rule("match c: community\nlet x = (1 +\n emit"))


def test_nothing_in_a_rule_is_python(tmp_path: Path) -> None:
    with pytest.raises(RuleProblemsError, match="no function '__import__'"):
        _load(
            tmp_path,
            _rule(
                'match c: community\nlet x = __import__("os")\nemit finding.at_least '
                '{ subject = c.id, requirement = "x", actual = 1, required = 1 }'
            ),
        )
    with pytest.raises(ValueError, match="no field starts with an underscore"):
        evaluate_expression("d.__class__", {"d": None})


def test_severity_is_still_required_for_a_finding_rule_in_the_language(tmp_path: Path) -> None:
    with pytest.raises(RulesetError, match="severity"):
        _load(tmp_path, _rule(SHARE_RULE, severity=None))


def test_a_rule_bound_to_a_python_template_is_refused_with_the_way_forward(tmp_path: Path) -> None:
    text = _rule(SHARE_RULE).replace('rule = """', 'template = "grades.held"\nrule = """')
    with pytest.raises(RulesetError, match=r"no longer bound to Python templates.*docs/language\.md"):
        _load(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("1 + 2 * 3", {}, 7),
        ('"0.1" ', {}, "0.1"),
        ("0.1 + 0.2", {}, Decimal("0.3")),
        ("7 / 2", {}, Decimal("3.5")),
        ("if a then 1 else 2", {"a": False}, 2),
        ("not a or b", {"a": True, "b": False}, False),
        ('x in ["a", "b"]', {"x": "b"}, True),
        ("x not in xs", {"x": 3, "xs": (1, 2)}, True),
        ("max(xs)", {"xs": (3, 9, 4)}, 9),
        ("min(2, 1)", {}, 1),
        ("max_or(xs, 0)", {"xs": ()}, 0),
        ("sum([x * 2 for x in xs if x > 1])", {"xs": (1, 2, 3)}, Decimal(10)),
        ('text(add_days(date("2021-02-28"), 1))', {}, "2021-03-01"),
        ("text(month_of(date(2024, 2, 29)))", {}, "2024-02"),
        ('round(decimal("2.345"), "0.01")', {}, Decimal("2.35")),
        ('round(decimal("2.345"), "0.01", "down")', {}, Decimal("2.34")),
        ("year(last_day(period(2021, 2)))", {}, 2021),
        ("text(last_day(period(2024, 2)))", {}, "2024-02-29"),
        ("count(months(period(2021)))", {}, 12),
        ('"a" + text(1)', {}, "a1"),
        ("xs[1]", {"xs": (5, 6)}, 6),
        ("-x", {"x": 2}, -2),
    ],
)
def test_expressions(text: str, values: dict[str, object], expected: object) -> None:
    assert evaluate_expression(text, values) == expected


@given(
    a=st.decimals(min_value=-1000, max_value=1000, places=2),
    b=st.decimals(min_value=-1000, max_value=1000, places=2),
    op=st.sampled_from(["+", "-", "*"]),
)
def test_decimal_arithmetic_is_exact_and_matches_python(a: Decimal, b: Decimal, op: str) -> None:
    expected = {"+": a + b, "-": a - b, "*": a * b}[op]
    assert evaluate_expression(f"a {op} b", {"a": a, "b": b}) == expected


@given(st.integers(0, 50), st.integers(1, 50))
def test_comparisons_match_python(a: int, b: int) -> None:
    for op, expected in (("<", a < b), ("<=", a <= b), ("==", a == b), ("!=", a != b), (">", a > b)):
        assert evaluate_expression(f"a {op} b", {"a": a, "b": b}) is expected


@pytest.mark.parametrize(
    ("words", "kind", "back"),
    [
        ("money", "money", "money"),
        ("integer", "int", "integer"),
        ("yes/no", "bool", "yes/no"),
        ("date", "date", "date"),
        ("year-month", "year_month", "year-month"),
        ("list of role", "str_list", "list of role"),
        ("one of a, b", "str", "one of a, b"),
        ("organization kind", "str", "organization kind"),
    ],
)
def test_parameter_types_in_user_words(words: str, kind: str, back: str) -> None:
    spec, why = param_spec(words)
    assert spec is not None and spec.kind == kind, why
    assert describe_type(spec) == back


def test_an_unknown_parameter_type_is_refused() -> None:
    spec, why = param_spec("moneyy")
    assert spec is None and "unknown parameter type 'moneyy'" in why


def test_a_date_parameter_works(tmp_path: Path) -> None:
    body = """
match c: community
when day >= param("start")
emit finding.at_least { subject = c.id, requirement = "dated", actual = 1, required = 1 }
"""
    text = _rule(body).replace("roles = [", "start = 2021-06-01\nroles = [", 1)
    text = text.replace('roles = "list of role"\n', 'roles = "list of role"\nstart = "date"\n', 1)
    path = tmp_path / "lang-test.toml"
    path.write_text(text, encoding="utf-8")
    assert len(evaluate(PEOPLE, ruleset=path, period="2021").findings) == 2
    assert not evaluate(PEOPLE, ruleset=path, period="2021-05").findings
    later = evaluate(PEOPLE, ruleset=path, period="2021", parameters={"start": "2022-01-01"})
    assert not later.findings


def test_check_command_exit_codes(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["check", "national-grades"], out) == 0
    text = (builtin_dir() / "base" / "national-grades.toml").read_text(encoding="utf-8")
    bad = tmp_path / "national-grades.toml"
    bad.write_text(text.replace("h.person == p.id", "h.persn == p.id"), encoding="utf-8")
    out = io.StringIO()
    assert main(["check", str(bad)], out) == 2
    assert "'persn'; did you mean 'person'?" in out.getvalue()


def test_params_command_lists_type_value_readers_and_set_syntax() -> None:
    out = io.StringIO()
    assert main(["params", "national-grades"], out) == 0
    text = out.getvalue()
    assert "eligibility.higher_satisfies_lower\n  type:    yes/no\n  value:   true" in text
    assert "read by: eligibility" in text and "--set eligibility.higher_satisfies_lower=true" in text


def test_a_dingnan_copy_whose_rules_read_rolee_fails_the_check_naming_rolee(tmp_path: Path) -> None:
    text = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
    assert text.count(".role ") + text.count(".role\n") > 3
    bad = tmp_path / "dingnan-2020.toml"
    bad.write_text(text.replace(".role ", ".rolee "), encoding="utf-8")
    out = io.StringIO()
    assert main(["check", str(bad)], out) == 2
    report = out.getvalue()
    assert "has no field 'rolee'; did you mean 'role'?" in report and "[rules.allowance-rates]" in report
    assert "[functions]" in report  # the shared functions are checked too, and reported once


def test_params_of_dingnan_list_the_assistant_allowance() -> None:
    out = io.StringIO()
    assert main(["params", "dingnan-2020"], out) == 0
    text = out.getvalue()
    assert "allowance.assistant\n  type:    money\n  value:   100.00\n" in text
    assert "read by: allowance-rates" in text and "--set allowance.assistant=100.00" in text
    assert "exam_reward.roles\n  type:    list of role\n" in text


def test_every_built_in_is_in_the_language_reference() -> None:
    from swrules.lang._builtins import BUILTINS

    reference = (Path(__file__).parents[2] / "docs" / "language.md").read_text(encoding="utf-8")
    missing = [name for name in BUILTINS if f"`{name}(" not in reference]
    assert not missing, missing


def test_nothing_under_the_engine_imports_policy_or_the_rule_language() -> None:
    import ast

    engine = Path(__file__).parents[2] / "swrules" / "engine"
    found = []
    for path in sorted(engine.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [
                f"{path.name}: {n}"
                for n in names
                if n.startswith(("swrules.lang", "swrules.rulesets", "swrules.rules"))
            ]
    assert not found, found
