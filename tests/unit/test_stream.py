"""`swrules session`: events in as JSON Lines, one answer line per event, bad events refused, the stream goes on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import swrules
from swrules import Session
from swrules.stream import MAX_LINE, serve

EXAMPLE = Path(swrules.__file__).parent / "examples" / "dingnan-2020.json"
CERT = {"type": "certificate", "id": "k99", "holder": "p05", "level": "intermediate", "obtained_on": "2021-05-02"}


def _serve(session: Session, *events: object) -> tuple[int, list[dict[str, object]], str]:
    lines = "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)
    out, err = io.StringIO(), io.StringIO()
    code = serve(session, io.StringIO(lines), out, err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_each_event_is_answered_with_what_it_changed() -> None:
    session = Session(ruleset="dingnan-2020", period="2021", facts=json.loads(EXAMPLE.read_text(encoding="utf-8")))
    code, answers, err = _serve(session, {"add": CERT}, {"remove": "certificate/k99"}, {"result": True})
    assert code == 0 and err == ""
    assert [a["event"] for a in answers] == [1, 2, 3]
    added = [i for i in answers[0]["added"] if i["section"] == "obligations"]  # type: ignore[union-attr]
    assert added == [
        {
            "section": "obligations",
            "id": "dingnan-2020/exam-reward/k99",
            "kind": "exam_reward",
            "payee": "p05",
            "payer": "county_finance",
            "amount": "2000.00",
            "currency": "CNY",
            "period": "2021",
            "due": "2021-05",
            "rule": "exam-reward",
            "clause": "dn2020.s3.1.exam-reward",
        }
    ]
    assert [i["id"] for i in answers[1]["removed"]] == ["dingnan-2020/exam-reward/k99"]  # type: ignore[index]
    expected = swrules.evaluate(json.loads(EXAMPLE.read_text("utf-8")), ruleset="dingnan-2020", period="2021").to_json()
    assert answers[2]["result"] == json.loads(expected)


def test_bad_events_are_refused_one_by_one_and_the_exit_code_says_so() -> None:
    session = Session(ruleset="dingnan-2020", period="2021")
    code, answers, err = _serve(
        session,
        "not json",
        {"add": {"type": "certificate", "id": "k1", "holder": "zz", "level": "assistant", "obtained_on": "2021-01-01"}},
        {"remove": "nobody"},
        {"remove": 5},
        {"remove": "x", "cascade": "yes"},
        {"add": {"type": "community", "id": "c1", "kind": "urban"}, "remove": "c1"},
        {"paint": "red"},
        {"add": {"type": "community", "id": "c1", "kind": "urban"}, "colour": 1},
        "",
        {"add": [{"type": "community", "id": "c1", "kind": "urban"}, {"type": "person", "id": "p1", "role": "other"}]},
        {"replace": {"type": "community", "id": "c1", "kind": "rural"}},
    )
    assert code == 2
    errors = {a["event"]: a["error"] for a in answers if a["error"]}
    assert "not valid JSON" in errors[1][0]  # type: ignore[index]
    assert "holder: refers to person 'zz'" in errors[2][0]  # type: ignore[index]
    assert errors[3] == ["no fact 'nobody' is held"]
    assert "names a fact" in errors[4][0]  # type: ignore[index]
    assert "cascade must be true or false" in errors[5][0]  # type: ignore[index]
    assert "one of add, replace, remove, result" in errors[6][0] and "one of" in errors[7][0]  # type: ignore[index]
    assert "unknown key 'colour'" in errors[8][0]  # type: ignore[index]
    assert [a["event"] for a in answers if a["ok"]] == [10, 11]
    assert err.count("swrules: event") == 8
    assert len(session) == 2


def test_an_over_long_line_is_refused_without_being_held() -> None:
    session = Session(ruleset="dingnan-2020", period="2021")
    code, answers, _ = _serve(
        session, "x" * (MAX_LINE + 10), {"add": {"type": "community", "id": "c", "kind": "urban"}}
    )
    assert code == 2 and "at most" in answers[0]["error"][0]  # type: ignore[index]
    assert answers[1]["event"] == 2 and "added" in answers[1]


def test_the_command_line_runs_a_session_over_stdin() -> None:
    events = json.dumps({"add": CERT}) + "\n" + json.dumps({"remove": "k99"}) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "swrules", "session", str(EXAMPLE), "--ruleset", "dingnan-2020", "--period", "2021"],
        input=events,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["event"] for a in answers] == [1, 2] and answers[1]["removed"]
