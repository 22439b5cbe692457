"""Dated facts: loading histories, keys, windows, and what a session does with versions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import swrules
from swrules import InputError, Person, RulesetError, Session
from swrules.facts import Certificate, CertLevel, Role, fact_key, in_force
from swrules.load import load_facts
from swrules.period import Period, TimeFrame
from swrules.rulesets import load_ruleset
from swrules.sources import read_csv_folder, read_facts

P1 = {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"}
C1 = {"type": "community", "id": "c1", "kind": "urban"}
K1 = {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2019-05-01"}


def _problems(facts: list[dict[str, object]]) -> str:
    with pytest.raises(InputError) as caught:
        load_facts({"facts": facts})
    return str(caught.value)


def test_versions_of_one_id_load_when_their_windows_do_not_overlap() -> None:
    fs = load_facts(
        {
            "facts": [
                {**P1, "valid_until": "2021-06-30"},
                {**P1, "role": "other", "valid_from": "2021-07-01"},
                C1,
            ]
        }
    )
    versions = fs.versions("person", "p1")
    assert [v.role for v in versions] == [Role.COMMUNITY_WORKER, Role.OTHER]
    assert fs.get("person", "p1", on=date(2021, 6, 30)) is versions[0]
    assert fs.get("person", "p1", on=date(2021, 7, 1)) is versions[1]
    assert fs.get("person", "p1") is versions[1]  # the latest
    assert fs.by_key("person/p1@2021-07-01") is versions[1] and fs.by_key("person/p1") is versions[0]
    assert fs.dated_types() == {"person"}
    assert fs.get("person", "nobody") is None and fs.get("person", "p1", on=date(1990, 1, 1)) is versions[0]


def test_overlapping_windows_name_both_facts_and_the_days_they_share() -> None:
    text = _problems([{**P1, "valid_until": "2021-06-30"}, {**P1, "role": "other", "valid_from": "2021-06-01"}, C1])
    assert "facts[1] person 'p1'" in text
    assert "facts[0] is in force until 2021-06-30, this fact from 2021-06-01" in text
    assert "both are in force from 2021-06-01 until 2021-06-30" in text


def test_an_open_version_overlaps_every_later_one_and_identical_undated_facts_are_duplicates() -> None:
    text = _problems([P1, {**P1, "valid_from": "2022-01-01"}, C1])
    assert "facts[1] person 'p1'" in text and "both are in force from 2022-01-01" in text
    assert "duplicate id: facts[0] is a person with the same id" in _problems([P1, dict(P1), C1])


def test_three_versions_report_each_overlap_once() -> None:
    text = _problems(
        [
            {**P1, "valid_until": "2021-12-31"},
            {**P1, "valid_from": "2021-03-01", "valid_until": "2021-04-30"},
            {**P1, "valid_from": "2021-05-01"},
            C1,
        ]
    )
    assert text.count("overlaps") == 2


def test_a_window_that_ends_before_it_starts_names_valid_until() -> None:
    text = _problems([{**P1, "valid_from": "2021-07-01", "valid_until": "2021-06-30"}, C1])
    assert "valid_until: must not be before valid_from 2021-07-01 (got 2021-06-30)" in text
    with pytest.raises(ValueError, match="valid_until must not be before valid_from"):
        Person(id="p", role=Role.OTHER, valid_from=date(2021, 7, 1), valid_until=date(2021, 6, 30))


def test_a_key_names_one_version_even_when_an_id_holds_an_at_sign() -> None:
    plain = Person(id="a@2021-01-01", role=Role.OTHER)
    dated = Person(id="a", role=Role.OTHER, valid_from=date(2021, 1, 1))
    assert fact_key(plain) == "person/a%402021-01-01" and fact_key(dated) == "person/a@2021-01-01"
    assert fact_key(Person(id="x%y", role=Role.OTHER)) == "person/x%25y"


def test_in_force_reads_open_ends_as_unbounded() -> None:
    k = Certificate(id="k", holder="p", level=CertLevel.ASSISTANT, obtained_on=date(2020, 1, 1))
    assert in_force(k, date(1900, 1, 1)) and in_force(k, date(2999, 1, 1))
    dated = Certificate(
        id="k", holder="p", level=CertLevel.ASSISTANT, obtained_on=date(2020, 1, 1), valid_until=date(2021, 1, 1)
    )
    assert in_force(dated, date(2021, 1, 1)) and not in_force(dated, date(2021, 1, 2))


def test_csv_folders_and_json_lines_carry_histories(tmp_path: Path) -> None:
    folder = tmp_path / "hr"
    folder.mkdir()
    (folder / "person.csv").write_text(
        "id,role,community,valid_from,valid_until\np1,community_worker,c1,,2021-06-30\np1,other,,2021-07-01,\n",
        encoding="utf-8",
    )
    (folder / "community.csv").write_text("id,kind\nc1,urban\n", encoding="utf-8")
    (folder / "certificate.csv").write_text(
        "id,holder,level,obtained_on\nk1,p1,assistant,2019-05-01\n", encoding="utf-8"
    )
    from_csv = read_csv_folder(str(folder))
    lines = tmp_path / "facts.jsonl"
    lines.write_text(
        "\n".join(
            json.dumps(f)
            for f in [
                {**P1, "valid_until": "2021-06-30"},
                {"type": "person", "id": "p1", "role": "other", "valid_from": "2021-07-01"},
                C1,
                K1,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    from_jsonl = read_facts(str(lines))
    assert from_csv.to_dict() == from_jsonl.to_dict()
    result = swrules.evaluate(from_csv, ruleset="dingnan-2020", period="2021")
    assert sum(o.amount for o in result.obligations if o.amount) == 600
    (folder / "person.csv").write_text(
        "id,role,community,valid_from,valid_until\np1,community_worker,c1,,2021-07-31\np1,other,,2021-07-01,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"person\.csv row 3 person 'p1'.*overlaps"):
        read_csv_folder(str(folder))


def test_a_window_override_is_checked_like_a_parameter() -> None:
    rs = load_ruleset("xx-county-2023")
    assert rs.with_parameters({"applies_until": "none"}).applies_until is None
    assert rs.with_parameters({"applies_from": date(2020, 1, 1)}).applies_from == date(2020, 1, 1)
    for bad in ("someday", "2023-02-30", 5):
        with pytest.raises(RulesetError, match=r"\[applies_from\]: must be a date YYYY-MM-DD"):
            rs.with_parameters({"applies_from": bad})
    with pytest.raises(RulesetError, match=r"\[applies_from\]: must be a date"):
        rs.with_parameters({"applies_from": "none"})
    with pytest.raises(RulesetError, match=r"would end \(2023-01-01\) before it starts"):
        rs.with_parameters({"applies_until": "2023-01-01"})


def test_a_time_frame_lists_the_months_the_window_touches() -> None:
    frame = TimeFrame.of(Period(2023), date(2023, 8, 1), date(2024, 1, 20))
    assert [str(m) for m in frame.due_months] == ["2023-08", "2023-09", "2023-10", "2023-11", "2023-12"]
    assert frame.day == date(2023, 12, 31)
    assert TimeFrame.of(Period(2024), date(2023, 8, 1), date(2024, 1, 20)).day == date(2024, 1, 20)


def test_a_session_takes_a_new_version_and_refuses_one_that_overlaps() -> None:
    s = Session(
        ruleset="dingnan-2020", period="2021", facts=[{**P1, "valid_until": "2021-06-30"}, C1, K1], engine="native"
    )
    assert len([o for o in s.result().obligations if o.kind.value == "monthly_allowance"]) == 6
    with pytest.raises(InputError, match=r"person 'p1'.*a held fact is in force until 2021-06-30"):
        s.add({**P1, "valid_from": "2021-06-01"})
    update = s.add({**P1, "valid_from": "2021-07-01"})
    assert len([i for i in update.added if i.SECTION == "obligations"]) == 6
    # closing the second version again: a replace of the version keyed by its start
    update = s.replace({**P1, "valid_from": "2021-07-01", "valid_until": "2021-09-30"})
    assert len([i for i in update.removed if i.SECTION == "obligations"]) == 3
    with pytest.raises(InputError, match="there is no person 'p1' version from 2021-08-01 to replace"):
        s.replace({**P1, "valid_from": "2021-08-01"})


def test_removing_one_version_keeps_what_refers_to_the_entity_and_the_last_one_needs_cascade() -> None:
    s = Session(
        ruleset="dingnan-2020",
        period="2021",
        facts=[{**P1, "valid_until": "2021-06-30"}, {**P1, "valid_from": "2021-07-01"}, C1, K1],
        engine="native",
    )
    s.remove("person/p1@2021-07-01")
    assert "certificate/k1" in s and "person/p1" in s
    with pytest.raises(InputError, match=r"1 fact\(s\) refer to it \(certificate 'k1'\)"):
        s.remove("person/p1")
    s.remove("person/p1", cascade=True)
    assert "certificate/k1" not in s
    with pytest.raises(InputError, match="names more than one fact"):
        Session(
            ruleset="dingnan-2020",
            period="2021",
            facts=[{**P1, "valid_until": "2021-06-30"}, {**P1, "valid_from": "2021-07-01"}, C1],
        ).remove("p1")


def test_a_sessions_deadline_findings_come_from_their_own_day() -> None:
    facts = [
        {"type": "community", "id": "c2", "kind": "rural"},
        {"type": "person", "id": "p2", "role": "community_worker", "community": "c2"},
        {"type": "certificate", "id": "k2", "holder": "p2", "level": "assistant", "obtained_on": "2022-02-01"},
    ]
    s = Session(ruleset="dingnan-2020", period="2022", facts=facts, engine="native")
    (finding,) = [f for f in s.result().findings if f.requirement == "community_staffing"]
    assert finding.satisfied is False and finding.deadline_status is not None
    update = s.add(
        {"type": "certificate", "id": "k3", "holder": "p2", "level": "assistant", "obtained_on": "2021-02-01"}
    )
    changed = [new for _, new in update.changed if new.SECTION == "findings"]
    assert changed and changed[0].satisfied is True
    assert s.result().to_json() == swrules.evaluate(s.facts, ruleset="dingnan-2020", period="2022").to_json()
    text = s.result().explain(changed[0]).to_text()
    assert "judged  on 2021-12-31" in text
