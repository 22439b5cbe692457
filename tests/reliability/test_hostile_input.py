"""Hostile and careless input at every door: refused as bad input, named by fact, field, line or row; bounded."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swrules import Session
from swrules.cases import load_cases, run_paths
from swrules.cli import main
from swrules.errors import InputError, PeriodError, RulesetError, SwrulesError
from swrules.facts import Certificate, CertLevel, Person, Post, Role, Training
from swrules.load import load_facts, parse_json
from swrules.period import Period
from swrules.sources import read_csv_folder, read_facts

PERSON = {"type": "person", "id": "p1", "role": "community_worker", "full_time": True}
CERT = {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-05-02"}
COMMUNITY = {"type": "community", "id": "c1", "kind": "urban"}
EXAMPLE = Path(__file__).parents[2] / "swrules" / "examples" / "dingnan-2020.json"
BAD_TEXTS = ["k\ud800", "k\udfff tail", "k\x00", "\x00"]


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


def _write_json(path: Path, facts: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"facts": facts}), encoding="utf-8")  # ensure_ascii: a lone surrogate as \ud800
    return path


def _write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


# -- 1. lone surrogates and NUL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_TEXTS)
@pytest.mark.parametrize(
    ("fact", "field"),
    [
        ({**PERSON}, "id"),
        ({**CERT}, "holder"),
        ({**COMMUNITY}, "township"),
    ],
)
def test_lone_surrogates_and_nul_are_refused_in_every_string_field(
    tmp_path: Path, bad: str, fact: dict[str, Any], field: str
) -> None:
    spoiled = {**fact, field: bad}
    facts = [PERSON, spoiled] if fact is not PERSON and fact["type"] != "person" else [spoiled]
    with pytest.raises(InputError) as info:
        load_facts({"facts": facts})
    problem = next(p for p in info.value.problems if p.field == field)
    assert problem.fact_type == fact["type"]
    assert "surrogate" in problem.message or "NUL" in problem.message
    path = _write_json(tmp_path / "facts.json", facts)
    code, out, err = _cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021")
    assert code == 2 and out == ""
    assert field in err and fact["type"] in err and "internal error" not in err
    err.encode("utf-8")  # what is echoed is escaped: it can be written anywhere


def test_report_refuses_a_surrogate_before_touching_the_output(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "facts.json", [{**PERSON, "id": "p\ud800"}])
    old = tmp_path / "old.html"
    old.write_text("previous report", encoding="utf-8")
    code, _, err = _cli("report", str(path), "--ruleset", "dingnan-2020", "--period", "2021", "--out", str(old))
    assert code == 2 and "person" in err and "id" in err
    assert old.read_text(encoding="utf-8") == "previous report"


def test_surrogates_and_nul_are_refused_in_json_lines_and_csv(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "facts.jsonl", [PERSON, {**CERT, "id": "k\ud800"}])
    with pytest.raises(InputError) as info:
        read_facts(str(path))
    assert [(p.fact_type, p.field) for p in info.value.problems] == [("certificate", "id")]
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").write_text("id,role\np\x001,other\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_csv_folder(str(folder))
    assert [(p.field, "NUL" in p.message) for p in info.value.problems] == [("id", True)]


@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_typed_classes_refuse_surrogates_and_nul(bad: str) -> None:
    with pytest.raises(SwrulesError, match="id"):
        Person(id=bad, role=Role.OTHER)
    with pytest.raises(SwrulesError, match="holder"):
        Certificate(id="k1", holder=bad, level=CertLevel.ASSISTANT, obtained_on=date(2021, 1, 1))
    session = Session(ruleset="dingnan-2020", period="2021")
    with pytest.raises(InputError):
        session.add({**PERSON, "id": bad})
    assert len(session.facts) == 0


def _session_process(events: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "swrules", "session", "--ruleset", "dingnan-2020", "--period", "2021"],
        input=events,
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_the_session_stream_answers_bad_text_and_bad_bytes_with_an_error_and_goes_on() -> None:
    good = json.dumps({"add": PERSON}).encode()
    events = b"\n".join(
        [
            json.dumps({"add": {**PERSON, "id": "p\ud800"}}).encode(),  # a lone surrogate, escaped in JSON
            json.dumps({"add": {**PERSON, "id": "p\u0000"}}).encode(),  # NUL, escaped in JSON
            b'{"add": {"type": "person", "id": "p\xff", "role": "other"}}',  # not UTF-8 (2)
            json.dumps({"remove": "p\ud800"}).encode(),
            good,
        ]
    )
    done = _session_process(events + b"\n")
    answers = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [a["event"] for a in answers] == [1, 2, 3, 4, 5], done.stderr
    assert all(not a["ok"] and a["error"] for a in answers[:4])
    assert "id" in answers[0]["error"][0] and "surrogate" in answers[0]["error"][0]
    assert "NUL" in answers[1]["error"][0]
    assert "UTF-8" in answers[2]["error"][0]
    assert answers[4]["ok"] and answers[4]["error"] == []
    assert done.returncode == 2
    assert b"internal error" not in done.stderr


# -- 5. CSV files are read with the caps JSON input has ----------------------------------------------------------------

_BOUNDED_READ = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
from swrules.errors import InputError
from swrules.sources import read_csv_folder
try:
    read_csv_folder(sys.argv[1])
except InputError as err:
    print(err)
    sys.exit(2)
"""


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_csv_file_without_end_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").symlink_to("/dev/zero")
    done = subprocess.run(
        [sys.executable, "-c", _BOUNDED_READ, str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "person.csv" in done.stdout and "longer than" in done.stdout


def test_a_csv_line_longer_than_a_json_lines_line_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").write_text("id,role\n" + "p," * 600_000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"person\.csv line 2: longer than"):
        read_csv_folder(str(folder))


# -- 6. decimals: bounded exponent and size ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e-999999999", "1E+999999", "1e-21", "0.0000000000000000000001", "5e-30"])
def test_a_decimal_with_a_far_exponent_is_refused(text: str) -> None:
    training = {"type": "training", "id": "t1", "person": "p1", "year": 2021, "hours": Decimal(text)}
    with pytest.raises(InputError) as info:
        load_facts([PERSON, training])
    assert [p.field for p in info.value.problems] == ["hours"]
    training_text = f'{{"type": "training", "id": "t1", "person": "p1", "year": 2021, "hours": {text}}}'
    parsed = parse_json(f'{{"facts": [{json.dumps(PERSON)}, {training_text}]}}')
    with pytest.raises(InputError):
        load_facts(parsed)
    with pytest.raises(SwrulesError, match="hours"):
        Training(id="t1", person="p1", year=2021, hours=Decimal(text))


def test_money_with_a_far_exponent_is_refused_in_the_typed_class() -> None:
    with pytest.raises(SwrulesError, match="monthly_salary"):
        Person(id="p1", role=Role.OTHER, monthly_salary=Decimal("1E+999999"))


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_every_accepted_number_writes_out_short(value: Decimal) -> None:
    training = {"type": "training", "id": "t1", "person": "p1", "year": 2021, "hours": value}
    try:
        facts = load_facts([PERSON, training])
    except InputError:
        return
    hours = facts.get("training", "t1").hours  # type: ignore[union-attr]
    assert len(format(hours, "f")) <= 42


# -- 12. echoed values are cut ---------------------------------------------------------------------------------------


def test_huge_values_are_echoed_cut_on_stderr_and_in_rejects(tmp_path: Path) -> None:
    huge = "x" * 2_000_000
    facts = [
        PERSON,
        {**PERSON, "id": huge},
        {"type": "organization", "id": "o1", "kind": "other"},
        {
            "type": "service_project",
            "id": "s1",
            "organization": "o1",
            "funds": "10",
            "personnel_cost": "1",
            "social_workers": ["p1", huge],
        },
        {**CERT, "id": "k2", "holder": huge},
        {**CERT, "id": "k3", "level": huge},
    ]
    path = _write_json(tmp_path / "facts.json", facts)
    code, _, err = _cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021")
    assert code == 2 and len(err) < 3000, err[:3000]
    rejects = tmp_path / "rejects.jsonl"
    code, _, err = _cli(
        "evaluate",
        str(path),
        "--ruleset",
        "dingnan-2020",
        "--period",
        "2021",
        "--keep-going",
        "--rejects",
        str(rejects),
    )
    assert code == 0 and len(err) < 3000, err[:3000]
    assert rejects.stat().st_size < 5000
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == 4


# -- 13. lines and rows are named -------------------------------------------------------------------------------------


def test_json_lines_problems_name_the_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "facts.jsonl", [PERSON, "", {**CERT, "level": "expert"}, {**PERSON}])
    with pytest.raises(InputError) as info:
        read_facts(str(path))
    text = str(info.value)
    assert "facts.jsonl line 3" in text and "facts.jsonl line 4" in text and "facts[" not in text
    assert "line 1" in text  # the duplicate names the line of the first one


def test_keep_going_names_the_line_and_the_row(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "facts.jsonl", [PERSON, {**CERT, "level": "expert"}])
    code, _, err = _cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021", "--keep-going")
    assert code == 0 and "facts.jsonl line 2" in err and "facts[" not in err
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").write_text("id,role\np1,other\np2,wizard\n", encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    code, _, err = _cli(
        "evaluate",
        str(folder),
        "--ruleset",
        "dingnan-2020",
        "--period",
        "2021",
        "--keep-going",
        "--rejects",
        str(rejects),
    )
    assert code == 0 and "person.csv row 3" in err and "facts[" not in err
    assert json.loads(rejects.read_text(encoding="utf-8"))["source"].endswith("person.csv row 3")


# -- 14. every problem in one run ------------------------------------------------------------------------------------


def test_field_errors_duplicates_and_dangling_references_come_in_one_run() -> None:
    facts = [
        PERSON,
        {**PERSON, "role": "wizard"},  # a field error, and a duplicate of the first
        {**CERT, "holder": "nobody", "level": "expert"},  # a field error, and a dangling reference
        {**CERT, "id": "k2", "holder": "ghost"},  # a dangling reference only
    ]
    with pytest.raises(InputError) as info:
        load_facts(facts)
    found = {(p.index, p.field, p.message.split(":")[0].split(" ")[0]) for p in info.value.problems}
    messages = [str(p) for p in info.value.problems]
    assert any("duplicate id" in m for m in messages), messages
    assert {p.index for p in info.value.problems} == {1, 2, 3}, found  # a duplicate is named on the later one
    assert sum("nobody" in m for m in messages) == 1 and sum("ghost" in m for m in messages) == 1
    assert any(p.field == "level" for p in info.value.problems)


CASES_WITH_THREE_MISTAKES = """
[[cases]]
name = "one"
ruleset = "dingnan-2020"
period = "2021"
example = "dingnan-2020"
colour = "blue"
[[cases.expect]]
section = "obligations"

[[cases]]
name = "two"
ruleset = "dingnan-2020"
period = "２０２１"
example = "dingnan-2020"
[[cases.expect]]
section = "nowhere"

[[cases]]
name = "three"
ruleset = "dingnan-2020"
period = "2021"
example = "no-such-example"
[[cases.count]]
section = "obligations"
n = 1
"""


def test_a_case_file_reports_every_mistake_in_one_run(tmp_path: Path) -> None:
    path = tmp_path / "cases.toml"
    path.write_text(CASES_WITH_THREE_MISTAKES, encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_cases(path)
    text = str(info.value)
    for needle in ("colour", "nowhere", "no-such-example", "period"):
        assert needle in text, text
    other = tmp_path / "more.toml"
    other.write_text(CASES_WITH_THREE_MISTAKES.replace("colour", "flavour"), encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        run_paths([tmp_path])
    assert "colour" in str(info.value) and "flavour" in str(info.value)


# -- 15. --keep-going skips a malformed JSON Lines line ---------------------------------------------------------------


def test_keep_going_skips_and_counts_a_malformed_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "facts.jsonl", [PERSON, "{not json", "[1, 2", CERT])
    rejects = tmp_path / "rejects.jsonl"
    code, _, err = _cli(
        "evaluate",
        str(path),
        "--ruleset",
        "dingnan-2020",
        "--period",
        "2021",
        "--keep-going",
        "--rejects",
        str(rejects),
    )
    assert code == 0, err
    assert "facts read 4 = evaluated 2 + rejected 2" in err
    assert "facts.jsonl line 2" in err and "facts.jsonl line 3" in err
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == 2


def test_keep_going_skips_an_over_long_line(tmp_path: Path) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_bytes(json.dumps(PERSON).encode() + b"\n" + b" " * (2 << 20) + b"{}\n" + json.dumps(CERT).encode())
    facts = read_facts(str(path), keep_going=True)
    assert (facts.read, len(facts), len(facts.rejected)) == (3, 2, 1)
    with pytest.raises(InputError, match=r"facts\.jsonl line 2: the line is longer than"):
        read_facts(str(path))


# -- 16. CSV is strict ------------------------------------------------------------------------------------------------


def test_a_duplicated_csv_column_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").write_text("id,role,role\np1,other,village_cadre\n", encoding="utf-8")
    with pytest.raises(InputError, match="role") as info:
        read_csv_folder(str(folder))
    assert "twice" in str(info.value)


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("post.csv", "id,band,tier\nq1,junior,２\n"),
        ("post.csv", "id,band,tier\nq1,junior,0_2\n"),
        ("person.csv", "id,role,monthly_salary\np1,other,１０００\n"),
        ("person.csv", "id,role,monthly_salary\np1,other,1_000\n"),
        ("training.csv", "id,person,year,hours\nt1,p1,２０２１,1\n"),
        ("training.csv", "id,person,year,hours\nt1,p1,2_021,1\n"),
        ("training.csv", "id,person,year,hours\nt1,p1,2021,１\n"),
        ("certificate.csv", "id,holder,level,obtained_on\nk1,p1,assistant,２０２１-01-01\n"),
    ],
)
def test_csv_numbers_are_ascii_digits_only(tmp_path: Path, file: str, text: str) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    if file != "person.csv":
        (folder / "person.csv").write_text("id,role\np1,other\n", encoding="utf-8")
    (folder / file).write_text(text, encoding="utf-8")
    with pytest.raises(InputError):
        read_csv_folder(str(folder))


@pytest.mark.parametrize("value", ["１０００", "1_000", "١٠٠٠"])
def test_json_decimal_strings_are_ascii_digits_only(value: str) -> None:
    with pytest.raises(InputError):
        load_facts([{**PERSON, "monthly_salary": value}])


@pytest.mark.parametrize("text", ["２０２１", "2_021", "2021\n", "２０２１-06", "2021-０６", "٢٠٢١"])
def test_a_period_is_ascii_digits_only(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)
    if "\n" not in text:  # a newline cannot be given on the command line
        code, _, err = _cli("evaluate", str(EXAMPLE), "--ruleset", "dingnan-2020", "--period", text)
        assert code == 2 and "period" in err


# -- 17. the typed classes say what to pass ---------------------------------------------------------------------------


def test_a_string_for_an_enum_says_what_to_pass() -> None:
    with pytest.raises(SwrulesError, match=r"CertLevel\.ASSISTANT") as info:
        Certificate(id="k1", holder="p1", level="assistant", obtained_on=date(2021, 1, 1))  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)  # as it was: code catching TypeError still does
    with pytest.raises(SwrulesError, match=r"Role\.\w+"):
        Person(id="p1", role="wizard")  # type: ignore[arg-type]


def test_a_float_for_money_or_hours_says_pass_a_decimal_or_a_string() -> None:
    with pytest.raises(SwrulesError, match=r"Decimal.*string|string.*Decimal"):
        Person(id="p1", role=Role.OTHER, monthly_salary=1000.5)  # type: ignore[arg-type]
    with pytest.raises(SwrulesError, match=r"Decimal.*string|string.*Decimal"):
        Training(id="t1", person="p1", year=2021, hours=1.5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"Decimal.*string|string.*Decimal"):
        load_facts([{**PERSON, "monthly_salary": 1000.5}])


def test_every_wrong_type_in_a_typed_class_is_a_swrules_error() -> None:
    with pytest.raises(SwrulesError):
        Post(id="q1", band="junior", tier=1)  # type: ignore[arg-type]
    with pytest.raises(SwrulesError):
        Post(id="q1", band=__import__("swrules").facts.Band.JUNIOR, tier=9)
    with pytest.raises(SwrulesError):
        Training(id="t1", person="p1", year=2021, hours=Decimal(-1))
    with pytest.raises(SwrulesError):
        Person(id="", role=Role.OTHER)


_ANY_TEXT = st.one_of(st.characters(codec="ascii"), st.characters(categories=["Cs"]), st.characters(), st.just("\x00"))


@given(st.text(alphabet=_ANY_TEXT, min_size=1, max_size=30))
def test_any_id_is_either_refused_or_written_as_utf8(ident: str) -> None:
    """Over arbitrary text (surrogates and controls included): refused at the door, or safe in every output."""
    facts = [{**PERSON, "id": ident}, {**CERT, "holder": ident}]
    try:
        loaded = load_facts(facts)
    except InputError as err:
        str(err).encode("utf-8")  # the message itself can always be written
        assert any(p.field in ("id", "holder") for p in err.problems)
        return
    from swrules import evaluate

    evaluate(loaded, ruleset="dingnan-2020", period="2021").to_json().encode("utf-8")
