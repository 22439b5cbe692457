"""Gaps of the rule language's load-time check and run-time wording, each reproduced by a one-line change to the
Sample County example (swrules/examples/sample-county-2024)."""

from __future__ import annotations

import contextlib
import io
import json
from importlib import resources
from pathlib import Path

import pytest

from swrules import evaluate
from swrules.cli import main
from swrules.errors import RuleFailedError, RuleProblemsError
from swrules.rulesets import load_ruleset

EXAMPLE = Path(str(resources.files("swrules") / "examples" / "sample-county-2024"))
RULESET = EXAMPLE / "sample-county-2024.toml"


def _changed(tmp_path: Path, old: str, new: str) -> Path:
    text = RULESET.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "county.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _problems(tmp_path: Path, old: str, new: str) -> list[str]:
    with pytest.raises(RuleProblemsError) as err:
        load_ruleset(_changed(tmp_path, old, new))
    return [str(p) for p in err.value.problems]


# -- 1. table cells are typed ---------------------------------------------------------------------------


def test_a_money_cell_with_a_letter_o_is_refused_at_load(tmp_path: Path) -> None:
    problems = _problems(tmp_path, 'place = "urban", amount = "200.00"', 'place = "urban", amount = "2OO.00"')
    assert "table 'allowance' row 1: amount '2OO.00' is not a number" in problems[0], problems
    assert "county.toml [tables[0]]" in problems[0]


def test_declared_output_types_check_and_convert_every_cell(tmp_path: Path) -> None:
    path = _changed(tmp_path, 'outputs = ["amount"]', 'outputs = { amount = "money" }')
    table = load_ruleset(path).tables["allowance"]
    assert {type(out.amount) for _, out in table.rows} == {__import__("decimal").Decimal}
    problems = _problems(tmp_path, 'outputs = ["amount"]', 'outputs = { amount = "mony" }')
    assert "output 'amount' has unknown type 'mony'" in problems[0]
    text = RULESET.read_text(encoding="utf-8").replace('outputs = ["amount"]', 'outputs = { amount = "integer" }')
    (tmp_path / "county.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleProblemsError) as err:
        load_ruleset(tmp_path / "county.toml")
    assert sum("is not a whole number" in str(p) for p in err.value.problems) == 6  # every cell, not the first
    assert "row 6: amount '500.00' is not a whole number" in str(err.value)


def test_a_text_column_stays_text(tmp_path: Path) -> None:
    path = _changed(tmp_path, 'outputs = ["amount"]', 'outputs = { amount = "text" }')
    assert load_ruleset(path).tables["allowance"].rows[0][1].amount == "200.00"


# -- 2. literal inputs of a look-up are checked --------------------------------------------------------


def test_a_misspelt_literal_table_input_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, 'table("allowance", members("certificate level")[top - 1]', 'table("allowance", "asistant"'
    )
    assert len(problems) == 1, problems
    assert "[rules.monthly-allowance]" in problems[0]
    assert "'asistant' is not a value of its input level (assistant, intermediate, senior)" in problems[0]
    assert "did you mean 'assistant'?" in problems[0]


def test_a_literal_in_a_branch_of_a_table_input_is_checked(tmp_path: Path) -> None:
    problems = _problems(tmp_path, 'then "urban" else place.kind', 'then "urbam" else place.kind')
    assert len(problems) == 1 and "did you mean 'urban'?" in problems[0], problems


# -- 3. one mistake in a table is one problem --------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'level = "certificate level", place',
            'level = "certificate levle", place',
            "did you mean 'certificate level'?",
        ),
        ('inputs = { level = "certificate level"', 'inputs = { levle = "certificate level"', "did you mean 'level'?"),
        ('outputs = ["amount"]', 'outputs = ["amuont"]', "did you mean 'amount'?"),
    ],
)
def test_one_mistake_in_a_table_is_one_problem(tmp_path: Path, old: str, new: str, expected: str) -> None:
    problems = _problems(tmp_path, old, new)
    assert len(problems) == 1, problems
    assert "[tables[0]]" in problems[0] and expected in problems[0]


# -- 4. a parameter group has a did-you-mean ------------------------------------------------------------------


def test_a_misspelt_parameter_group_has_a_did_you_mean(tmp_path: Path) -> None:
    problems = _problems(tmp_path, 'param("reward.amount", c.level)', 'param("reward.amout", c.level)')
    assert len(problems) == 1, problems
    assert "no parameter is declared under 'reward.amout'; did you mean 'reward.amount'?" in problems[0]


# -- 5. run-time failures are worded for people ------------------------------------------------------------------

AGENCY = [{"type": "organization", "id": "o1", "kind": "social_work_agency"}]
WORKER = [
    {"type": "community", "id": "c1", "kind": "urban"},
    {"type": "person", "id": "p1", "role": "community_worker", "community": "c1", "full_time": True},
    {
        "type": "certificate",
        "id": "k1",
        "holder": "p1",
        "level": "assistant",
        "obtained_on": "2023-05-10",
        "registered": True,
    },
]


def _run_failure(tmp_path: Path, old: str, new: str, facts: list[dict[str, object]]) -> str:
    with pytest.raises(RuleFailedError) as err:
        evaluate(facts, ruleset=_changed(tmp_path, old, new), period="2024")
    message = str(err.value)
    assert "Error:" not in message and "<class" not in message, message
    return message


def test_a_division_by_zero_names_the_rule_the_expression_and_the_values(tmp_path: Path) -> None:
    message = _run_failure(
        tmp_path, "actual = count(staff), required", "actual = count(staff) / count(p), required", AGENCY
    )
    assert "rule 'agency-staffing'" in message
    assert "`count(staff) / count(p)` cannot be worked out on (0, 0): division of zero by zero" in message


def test_an_impossible_date_names_the_expression_and_the_values(tmp_path: Path) -> None:
    message = _run_failure(tmp_path, "let rank = top_rank(k, day)", "let rank = top_rank(k, date(2024, 2, 30))", WORKER)
    assert "rule 'person-status'" in message
    assert "`date(2024, 2, 30)` cannot be worked out on (2024, 2, 30): day is out of range for month" in message


def test_a_table_without_a_row_for_a_value_names_the_table_and_the_values(tmp_path: Path) -> None:
    # a first-hit table without its senior rows: the gap is not an error at load, only when a look-up meets it
    text = RULESET.read_text(encoding="utf-8").replace('hit = "unique"', 'hit = "first"')
    text = text.replace(
        'inputs = { level = "certificate level", place = "community kind" }',
        'inputs = { level = "text", place = "community kind" }',
    )
    path = tmp_path / "county.toml"
    path.write_text(text, encoding="utf-8")
    facts = [dict(f) for f in WORKER]
    facts[2]["level"] = "senior"
    no_senior = text.replace('  { level = "senior", place = "urban", amount = "400.00" },\n', "")
    path.write_text(no_senior, encoding="utf-8")
    with pytest.raises(RuleFailedError) as err:
        evaluate(facts, ruleset=path, period="2024")
    message = str(err.value)
    assert "rule 'monthly-allowance'" in message
    assert 'decision table \'allowance\' has no row for level "senior", place "urban"' in message
    assert "LookupError" not in message


def test_the_cli_exits_1_without_a_traceback_on_a_failing_expression(tmp_path: Path) -> None:
    path = _changed(tmp_path, "actual = count(staff), required", "actual = count(staff) / count(p), required")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(AGENCY), encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["evaluate", str(facts), "--ruleset", str(path), "--period", "2024"])
    assert code == 1
    assert "division of zero by zero" in err.getvalue() and "Traceback" not in err.getvalue()


# -- 6. obligation kinds in user terms ----------------------------------------------------------------------------


def test_an_unknown_obligation_kind_is_worded_for_a_rule_writer(tmp_path: Path) -> None:
    problems = _problems(tmp_path, 'kind = "exam_reward"', 'kind = "exam_rewards"')
    assert len(problems) == 1, problems
    assert (
        "an obligation's kind must be one of exam_reward, exam_expense_reimbursement, monthly_allowance" in problems[0]
    )
    assert "(got 'exam_rewards'); did you mean 'exam_reward'?" in problems[0]
    assert "a new kind of payment needs a new kind in swrules itself" in problems[0]
    assert "ObligationKind (" not in problems[0]


# -- 7. explain writes values as the JSON output does -------------------------------------------------------------


def test_explain_text_writes_lists_truth_values_and_none_as_json_does(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    rewarded = [
        {"type": "person", "id": "p1", "role": "community_worker"},
        {
            "type": "certificate",
            "id": "k1",
            "holder": "p1",
            "level": "assistant",
            "obtained_on": "2024-03-10",
            "registered": False,
        },
    ]
    facts.write_text(json.dumps(rewarded), encoding="utf-8")
    out = io.StringIO()
    argv = ["explain", str(facts), "--ruleset", str(RULESET), "--period", "2024"]
    assert main([*argv, "--item", "sample-county-2024/exam-reward/k1"], out=out) == 0
    text = out.getvalue()
    assert 'param   scope.roles = ["community_worker", "social_org_staff"]' in text
    assert "registered=false" in text and "community=null" in text
    assert "False" not in text and "None" not in text and "['" not in text


# -- 8. the reference page shows the shared functions -------------------------------------------------------------


def test_the_reference_page_shows_the_functions_the_rules_call() -> None:
    from swrules.docgen import render_ruleset

    page = render_ruleset(load_ruleset(RULESET))
    assert "## Functions" in page
    for name in ("social_worker", "top_rank", "judged_day", "service_years"):
        assert f"def {name}(" in page, name
    assert page.index("## Functions") < page.index("## Decision tables")


# -- 9. demo evaluates the ruleset's own example, or says how to evaluate one's own facts ----------------------


def test_demo_of_a_ruleset_file_uses_the_facts_beside_it() -> None:
    out = io.StringIO()
    assert main(["demo", "--ruleset", str(RULESET)], out=out) == 0
    text = out.getvalue()
    assert "sample-county-2024" in text and "from facts.json" in text and "dingnan" not in text
    assert "\\n" not in text  # the explanation's lines are lines


def test_demo_of_a_ruleset_without_example_facts_exits_2_saying_what_to_do(tmp_path: Path) -> None:
    path = _changed(tmp_path, 'id = "sample-county-2024"', 'id = "my-county-2024"')
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["demo", "--ruleset", str(path)], out=io.StringIO())
    assert code == 2
    message = err.getvalue()
    assert "ruleset 'my-county-2024' has no bundled example facts" in message
    assert "dingnan-2020, sample-county-2024, xx-county-2023, zhejiang-2019" in message
    assert f"swrules evaluate FACTS.json --ruleset {path}" in message and "Traceback" not in message


# -- 10. the reference says what the language cannot say -------------------------------------------------------


def test_the_language_reference_links_the_tutorial_and_names_its_limits() -> None:
    page = (Path(__file__).parents[2] / "docs" / "language.md").read_text(encoding="utf-8")
    assert "](tutorial.md)" in page
    limits = page.split("## What the language cannot say")[1].split("\n## ")[0]
    for words in (
        "no date arithmetic",
        "no `day(d)` function",
        "exact values only",
        "closed list",
        "No nested comprehensions",
        "no recursion",
        "`alias.field op value`",
    ):
        assert words.lower() in limits.lower(), words
