"""Every answer of `swrules session` shares one envelope; its errors read as a JSON user needs them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import swrules
from swrules import Session
from swrules.errors import InputError
from swrules.stream import ANSWER_KEYS, serve

EXAMPLE = Path(swrules.__file__).parent / "examples" / "dingnan-2020.json"
C1 = {"type": "community", "id": "c1", "kind": "urban"}
P1 = {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"}


def _serve(session: Session, *events: object) -> tuple[int, list[str], str]:
    lines = "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)
    out, err = io.StringIO(), io.StringIO()
    code = serve(session, io.StringIO(lines), out, err)
    return code, out.getvalue().splitlines(), err.getvalue()


def test_every_answer_line_has_one_envelope() -> None:
    session = Session(ruleset="dingnan-2020", period="2021", engine="native")
    code, lines, _ = _serve(
        session, {"add": [C1, P1]}, "not json", {"result": True}, {"remove": "p1"}, {"result": False}
    )
    assert code == 2
    answers = [json.loads(line) for line in lines]
    for number, (line, answer) in enumerate(zip(lines, answers, strict=True), start=1):
        assert tuple(answer) == ANSWER_KEYS == ("event", "ok", "added", "removed", "changed", "result", "error")
        assert answer["event"] == number
        assert line.startswith(f'{{"event":{number},"ok":')  # one spacing for every line, the result's too
    assert [a["ok"] for a in answers] == [True, False, True, True, True]
    added, bad, result, removed, quiet = answers
    assert quiet["result"] is None and quiet["added"] == []
    assert added["added"] and added["result"] is None and added["error"] == []
    assert bad["error"] and bad["added"] == bad["removed"] == bad["changed"] == [] and bad["result"] is None
    assert result["result"]["ruleset"] == "dingnan-2020" and result["added"] == []
    assert [i["person"] for i in result["result"]["eligibility"]] == ["p1", "p1", "p1"]
    assert removed["removed"] and removed["result"] is None


def test_result_false_is_honoured() -> None:
    session = Session(ruleset="dingnan-2020", period="2021", engine="native", facts=[C1])
    code, lines, _ = _serve(session, {"result": False}, {"result": "yes"})
    first, second = (json.loads(line) for line in lines)
    assert first["ok"] is True and first["result"] is None
    assert code == 2 and "result must be true or false" in second["error"][0]


def test_an_error_names_its_event_once() -> None:
    session = Session(ruleset="dingnan-2020", period="2021", engine="native")
    _, lines, err = _serve(session, {"add": C1}, {"add": C1}, {"add": C1}, "{oops")
    assert "event 4: event 4" not in err
    assert err.splitlines()[-1].startswith("swrules: event 4: ")
    assert err.count("event 4") == 1
    assert "event 4" not in json.loads(lines[3])["error"][0]  # the answer carries its number in "event"


def test_a_refused_remove_says_what_to_put_in_the_event() -> None:
    session = Session(ruleset="dingnan-2020", period="2021", engine="native", facts=[C1, P1])
    _, lines, err = _serve(session, {"remove": "c1"})
    message = json.loads(lines[0])["error"][0]
    assert '"cascade": true' in message
    assert "cascade=True" not in message and "cascade=True" not in err
    with pytest.raises(InputError, match=r"cascade=True"):  # in Python, the keyword argument
        session.remove("c1")


@pytest.mark.parametrize("many", [[C1], (C1,), [C1, P1]])
def test_session_add_with_several_facts_points_to_add_all(many: object) -> None:
    session = Session(ruleset="dingnan-2020", period="2021", engine="native")
    with pytest.raises(InputError, match=r"add_all"):
        session.add(many)  # type: ignore[arg-type]
    assert len(session) == 0
    session.add_all(many)  # type: ignore[arg-type]
    assert len(session) == len(many)  # type: ignore[arg-type]
