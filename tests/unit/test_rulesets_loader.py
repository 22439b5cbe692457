"""The ruleset loader: every malformed file is rejected with its file and key named; layering rules hold."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import swrules
from swrules.errors import RulesetError, UnknownRulesetError
from swrules.rulesets import builtin_dir, list_rulesets, load_ruleset

SHIPPED = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
BASE = (builtin_dir() / "base" / "national-grades.toml").read_text(encoding="utf-8")


def _load(tmp_path: Path, text: str, base: str = BASE) -> swrules.Ruleset:
    (tmp_path / "national-grades.toml").write_text(base, encoding="utf-8")
    path = tmp_path / "county.toml"
    path.write_text(text, encoding="utf-8")
    return load_ruleset(path)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("[parameters]", "[parameterz]\n[parameters]", "parameterz"),
        ('id = "dingnan-2020"', 'id = "dingnan-2020"\ncolour = "red"', "ruleset.colour"),
        ('id = "dingnan-2020"', 'id = "Dingnan 2020"', "ruleset.id"),
        ("published = 2020-01-01", 'published = "2020"', "ruleset.published"),
        ("published = 2020-01-01", "", "ruleset.published"),
        ('title = "关于', 'title = 3\ntitle_x = "关于', "ruleset.title"),
        ('extends = ["national-grades"]', 'extends = "national-grades"', "ruleset.extends"),
        ('extends = ["national-grades"]', 'extends = ["atlantis"]', "ruleset.extends"),
        ("issuer_en = ", 'kind = "law"\nissuer_en = ', "ruleset.kind"),
        ('allowance.assistant = "100.00"', "allowance.assistant = 100.5", "parameters.allowance.assistant"),
        ('allowance.assistant = "100.00"', 'allowance.assistant = "-1"', "parameters.allowance.assistant"),
        ('allowance.assistant = "100.00"', 'allowance.assistant = "1.005"', "parameters.allowance.assistant"),
        ('allowance.assistant = "100.00"', 'allowance.assistant = "lots"', "parameters.allowance.assistant"),
        ('allowance.assistant = "100.00"', "allowance.assistant = true", "parameters.allowance.assistant"),
        ('allowance.assistant = "100.00"', 'allowance.assistant = "1e30"', "parameters.allowance.assistant"),
        ('allowance.assistant = "100.00"', "", "allowance.assistant"),
        (
            'allowance.month_rule = "whole_month"',
            'allowance.month_rule = "someday"',
            "allowance.month_rule",
        ),
        ('allowance.first_month = "2021-01"', "allowance.first_month = 3", "allowance.first_month"),
        ('allowance.first_month = "2021-01"', 'allowance.first_month = "2021-13"', "allowance.first_month"),
        ("exam_expense.due_month = 6", "exam_expense.due_month = 13", "exam_expense.due_month"),
        (
            'allowance.certified_roles = ["community_worker"]',
            'allowance.certified_roles = ["wizard"]',
            "certified_roles",
        ),
        ('allowance.certified_roles = ["community_worker"]', "allowance.certified_roles = 5", "certified_roles"),
        (
            'allowance.certified_roles = ["community_worker"]',
            'allowance.certified_roles = ["community_worker", "community_worker"]',
            "certified_roles",
        ),
        ("staffing.urban_minimum = 1", "staffing.urban_minimum = -1", "staffing.urban_minimum"),
        ("staffing.urban_minimum = 1", 'staffing.urban_minimum = "x"', "staffing.urban_minimum"),
        ("exam_reward.requires_registration = false", 'exam_reward.requires_registration = "maybe"', "requires_reg"),
        ("[parameters]", '[parameters]\nallowance.bonus = "5"', "parameters.allowance.bonus"),
        ("when in_force(c, obtained)", 'when system("ls")', "no function 'system'"),
        ("match c: certificate\nmatch p: person", "match c: certificat\nmatch p: person", "did you mean 'certificate'"),
        ('id = "exam-reward"', 'id = "Exam Reward"', "id"),
        ('id = "exam-reward"', 'id = "exam-reward"\ncolour = 1', "colour"),
        ('id = "exam-reward"', 'id = "exam-expense"', "already defined"),
        ('id = "exam-reward"', 'id = "exam-reward"\noverride = true', "overrides nothing"),
        ('id = "exam-reward"', 'id = "exam-reward"\noverride = "yes"', "override"),
        ('id = "eligibility"\noverride = true', 'id = "eligibility"', "already defined"),
        ('id = "reward-for-encouraged-groups-only"', 'id = "x"\ncolour = "red"', "colour"),
        ('parameter = "exam_reward.roles"', 'parameter = "exam_reward.colours"', "exam_reward.colours"),
        ('parameter = "exam_reward.roles"', "parameter = 3", "parameter"),
        ('statement = "Only members', 'statement = ""\nxstatement = "Only members', "statement"),
    ],
)
def test_a_broken_ruleset_names_the_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in SHIPPED
    with pytest.raises(RulesetError) as caught:
        _load(tmp_path, SHIPPED.replace(old, new, 1))
    message = str(caught.value)
    assert "county.toml" in message and key in message, message


_JUNIOR_ROWS = (
    '  { band = "junior", tier = 1, level = 11, title = "助理社会工作师一级" },\n'
    '  { band = "junior", tier = 2, level = 12, title = "助理社会工作师二级" },\n'
)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (_JUNIOR_ROWS, "", "no row for band junior (a gap)"),
        ('{ band = "senior", tier = 1', '{ band = "principal", tier = 1', "band 'principal' is not one of"),
        ("tier = 1, level = 5", 'tier = "one", level = 5', "tier must be a whole number"),
        ('title = "高级社会工作师一级" }', 'title = "x", colour = 1 }', "unknown column(s) colour"),
        (', title = "高级社会工作师一级" }', " }", "missing column(s) title"),
        (
            '{ band = "senior", tier = 2, level = 6,',
            '{ band = "senior", tier = 1, level = 5, title = "x" },\n  { band = "senior", tier = 2, level = 6,',
            "rows 1 and 2 overlap",
        ),
        ('hit = "unique"', 'hit = "all"', "hit must be one of"),
        ('tier = "integer"', 'tier = "number"', "unknown type 'number'"),
    ],
)
def test_a_broken_decision_table_is_rejected(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in BASE
    with pytest.raises(RulesetError) as caught:
        _load(tmp_path, SHIPPED, base=BASE.replace(old, new, 1))
    assert "national-grades.toml" in str(caught.value) and key in str(caught.value), str(caught.value)


def test_a_first_hit_table_may_overlap_and_takes_the_first_row(tmp_path: Path) -> None:
    row = '  { band = "senior", tier = "-", level = 5, title = "any senior" },\n'
    base = BASE.replace('hit = "unique"', 'hit = "first"').replace("rows = [\n", "rows = [\n" + row, 1)
    ruleset = _load(tmp_path, SHIPPED, base=base)
    assert ruleset.tables["grades"].lookup(("senior", 3)).title == "any senior"
    assert ruleset.tables["grades"].lookup(("junior", 2)).level == 12
    with pytest.raises(LookupError, match="no row for band junior, tier 7"):
        ruleset.tables["grades"].lookup(("junior", 7))


def test_two_layers_disagreeing_on_a_parameter_fail_naming_both_files(tmp_path: Path) -> None:
    text = SHIPPED.replace("[parameters]", "[parameters]\neligibility.higher_satisfies_lower = false", 1)
    with pytest.raises(RulesetError) as caught:
        _load(tmp_path, text)
    assert "county.toml" in str(caught.value) and "national-grades.toml" in str(caught.value)


def test_an_explicit_override_replaces_a_base_parameter(tmp_path: Path) -> None:
    text = SHIPPED + "\n[overrides]\neligibility.higher_satisfies_lower = false\n"
    assert _load(tmp_path, text).parameters["eligibility.higher_satisfies_lower"] is False
    with pytest.raises(RulesetError, match="overrides a parameter no base layer sets"):
        _load(tmp_path, SHIPPED + "\n[overrides]\nnothing.here = 1\n")


def test_layers_that_extend_each_other_in_a_circle_are_rejected(tmp_path: Path) -> None:
    base = BASE.replace('kind = "base"', 'kind = "base"\nextends = ["county"]', 1)
    with pytest.raises(RulesetError, match="circle"):
        _load(tmp_path, SHIPPED.replace('extends = ["national-grades"]', 'extends = ["national-grades"]'), base=base)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe", "UTF-8"),
        (b"[ruleset\n", "TOML"),
        (b"[parameters]\nx = 1\n", "[ruleset]"),
        (b"rules = 3\n", "ruleset"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(RulesetError, match=needle if needle != "[ruleset]" else r"\[ruleset\]"):
        load_ruleset(path)


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_bytes(b"# " + b"x" * 3_000_000 + b"\n")
    with pytest.raises(RulesetError, match="at most"):
        load_ruleset(path)


def test_unknown_ruleset_ids_suggest_the_nearest() -> None:
    with pytest.raises(UnknownRulesetError) as caught:
        load_ruleset("dingnan-2021")
    assert "dingnan-2020" in str(caught.value)


def test_with_parameters_checks_names_and_values() -> None:
    rs = load_ruleset("dingnan-2020")
    assert rs.with_parameters({"allowance.assistant": "120"}).parameters["allowance.assistant"] == Decimal("120")
    with pytest.raises(RulesetError, match=r"allowance\.bonus"):
        rs.with_parameters({"allowance.bonus": "1"})
    with pytest.raises(RulesetError, match=r"allowance\.assistant"):
        rs.with_parameters({"allowance.assistant": "-3"})


def test_shipped_rulesets_are_listed_with_their_sources() -> None:
    ids = [r.id for r in list_rulesets()]
    assert ids == sorted(ids) and {"dingnan-2020", "zhejiang-2019", "xx-county-2023"} <= set(ids)
    rs = load_ruleset("dingnan-2020")
    assert rs.sources[0].endswith("national-grades.toml") and rs.sources[-1].endswith("dingnan-2020.toml")
    assert rs.rule("exam-reward").clause == "dn2020.s3.1.exam-reward"
    assert {a.id for _, a in rs.assumptions()} >= {"allowance-for-whole-months", "three-or-more"}
    with pytest.raises(LookupError):
        rs.rule("no-such-rule")


def test_a_ruleset_can_be_loaded_by_path_outside_the_package(tmp_path: Path) -> None:
    shutil.copy(builtin_dir() / "zhejiang-2019.toml", tmp_path / "zj.toml")
    (tmp_path / "base").mkdir()
    shutil.copy(builtin_dir() / "base" / "national-grades.toml", tmp_path / "base" / "national-grades.toml")
    assert load_ruleset(tmp_path / "zj.toml").id == "zhejiang-2019"


def test_a_loaded_ruleset_is_reused_until_its_file_changes_and_cannot_be_changed_in_place(tmp_path: Path) -> None:
    import os

    path = tmp_path / "county.toml"
    first = _load(tmp_path, SHIPPED)
    assert load_ruleset(path) is first
    with pytest.raises(TypeError):
        first.parameters["allowance.assistant"] = Decimal(1)  # type: ignore[index]
    path.write_text(SHIPPED.replace('allowance.assistant = "100.00"', 'allowance.assistant = "120.00"'), "utf-8")
    os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    assert load_ruleset(path).parameters["allowance.assistant"] == Decimal("120.00")
