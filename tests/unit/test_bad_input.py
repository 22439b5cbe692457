"""Every kind of bad input in the interchange contract: exit 2, nothing on stdout, a message naming the field."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from swrules import InputError, evaluate, load_facts
from swrules.cli import main

PERSON = {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"}
COMMUNITY = {"type": "community", "id": "c1", "kind": "urban"}
CERT = {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-01"}


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "facts.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    out = io.StringIO()
    args = ["evaluate", str(path), "--ruleset", "zhejiang-2019", "--period", "2021", *extra]
    code = main(args, out=out)
    err = capsys.readouterr().err
    return code, out.getvalue(), err


def _doc(*facts: dict[str, Any]) -> str:
    return json.dumps({"facts": list(facts)})


CASES = [
    pytest.param("{not json", "not valid JSON", id="unreadable-json"),
    pytest.param(b'{"facts": []}\xff', "not UTF-8", id="not-utf8"),
    pytest.param(_doc({"type": "persn", "id": "p1", "role": "other"}), "facts[0]", id="unknown-type"),
    pytest.param(_doc({"type": "person", "id": "p1"}), "facts[0] person 'p1': role: is required", id="missing-field"),
    pytest.param(
        _doc({**PERSON, "full_time": "yes"}, COMMUNITY),
        "facts[0] person 'p1': full_time: must be true or false",
        id="ill-typed-field",
    ),
    pytest.param(
        _doc(PERSON, COMMUNITY, {**CERT, "level": "expert"}),
        "facts[2] certificate 'k1': level: must be one of assistant, intermediate, senior (got 'expert')",
        id="unknown-enum",
    ),
    pytest.param(
        _doc(PERSON, COMMUNITY, {**CERT, "obtained_on": "2021-02-30"}),
        "facts[2] certificate 'k1': obtained_on: is not a real date",
        id="impossible-date",
    ),
    pytest.param(
        _doc({"type": "post", "id": "q1", "band": "junior", "tier": 3}),
        "facts[0] post 'q1': tier: must be one of 1, 2 for a junior post (got 3)",
        id="tier-outside-table",
    ),
    pytest.param(
        _doc({"type": "post", "id": "q1", "band": "principal", "tier": 1}),
        "facts[0] post 'q1': band: must be one of junior, intermediate, senior",
        id="band-outside-table",
    ),
    pytest.param(
        _doc(PERSON, COMMUNITY, {**CERT, "holder": "p9"}),
        "facts[2] certificate 'k1': holder: refers to person 'p9', which is not in the input",
        id="dangling-reference",
    ),
    pytest.param(
        _doc(PERSON, COMMUNITY, CERT, {**CERT, "level": "senior"}),
        "facts[3] certificate 'k1': id: duplicate id",
        id="duplicate-id",
    ),
    pytest.param(
        _doc({**PERSON, "monthly_salary": 3500.555}, COMMUNITY),
        "facts[0] person 'p1': monthly_salary: must have at most two decimal places (got 3500.555)",
        id="money-finer-than-a-fen",
    ),
    pytest.param(
        _doc({**PERSON, "salary": "1"}, COMMUNITY), "facts[0] person 'p1': salary: unknown field", id="unknown-field"
    ),
    pytest.param('{"facts": [1]}', "facts[0]: a fact must be an object", id="fact-not-object"),
    pytest.param('{"people": []}', '"facts" list', id="no-facts-key"),
    pytest.param('{"facts": [], "facts": []}', "appears twice", id="duplicate-json-key"),
    pytest.param('{"facts": [{"type": "jurisdiction", "id": "j", "population": NaN}]}', "NaN", id="nan"),
]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_bad_input_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, message: str
) -> None:
    """Bad input: exit 2, nothing on stdout, a line on stderr naming fact and field, no traceback."""
    code, out, err = _run(tmp_path, capsys, text)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_unknown_ruleset_and_malformed_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown ruleset id and a malformed period are bad input too."""
    path = tmp_path / "f.json"
    path.write_text(_doc(PERSON, COMMUNITY))
    out = io.StringIO()
    assert main(["evaluate", str(path), "--ruleset", "zhejang-2019", "--period", "2021"], out=out) == 2
    assert "no ruleset 'zhejang-2019'" in capsys.readouterr().err
    assert main(["evaluate", str(path), "--ruleset", "zhejiang-2019", "--period", "2021-13"], out=out) == 2
    assert "period month must be 01 to 12" in capsys.readouterr().err
    assert main(["evaluate", str(path), "--ruleset", "zhejiang-2019", "--period", "21"], out=out) == 2
    assert "period must be YYYY or YYYY-MM (got '21')" in capsys.readouterr().err
    assert out.getvalue() == ""


def test_every_problem_is_reported_at_once() -> None:
    """The loader does not stop at the first problem: each one is listed with its index and field."""
    doc = {
        "facts": [
            {"type": "person", "id": "p1", "role": "boss"},
            {"type": "certificate", "id": "k1", "holder": "nobody", "level": "assistant", "obtained_on": "2020-01-01"},
            {"type": "post", "id": "q1", "band": "senior"},
        ]
    }
    with pytest.raises(InputError) as info:
        load_facts(doc)
    fields = [(p.index, p.fact_id, p.field) for p in info.value.problems]
    assert fields == [(0, "p1", "role"), (1, "k1", "holder"), (2, "q1", "tier")]  # in input order


def test_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that cannot be read is reported, not raised."""
    out = io.StringIO()
    code = main(["evaluate", str(tmp_path / "nope.json"), "--ruleset", "zhejiang-2019", "--period", "2021"], out=out)
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_python_api_rejects_float_money() -> None:
    """Money is never a float, in Python either: the message says what to use."""
    with pytest.raises(InputError, match="monthly_salary: must be an amount in yuan"):
        evaluate([{**PERSON, "monthly_salary": 3000.0}, COMMUNITY], ruleset="zhejiang-2019", period="2021")
