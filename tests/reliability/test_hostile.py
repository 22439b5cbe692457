"""Hostile and large input: clear errors, bounded memory, no traceback, no hang; rulesets never run code."""

from __future__ import annotations

import ast
import io
import json
import resource
import subprocess
import sys
import time
from contextlib import redirect_stderr
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import swrules
from swrules.cli import main
from swrules.errors import InputError, RulesetError, SwrulesError
from swrules.load import load_facts, parse_json
from swrules.rulesets import load_ruleset

SWRULES = Path(swrules.__file__).parent


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = main(list(argv), out=out)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"facts": [{"type": "person", "id": "' + b"x" * 5_000_000 + b'", "role": "other"}]}', "id"),
        (
            b'{"facts": [{"type": "person", "id": "p", "role": "other", "monthly_salary": 1' + b"0" * 5000 + b"}]}",
            "digits",
        ),
        (b'{"facts": [{"type": "person", "id": "p", "role": "other", "monthly_salary": NaN}]}', "NaN"),
        (b'{"facts": [{"type": "person", "id": "p", "role": "other", "monthly_salary": Infinity}]}', "Infinity"),
        (b'{"facts": [{"type": "person", "id": "p\xff\xfe", "role": "other"}]}', "UTF-8"),
        (b'{"facts": [{"type": "person", "id": "p", "id": "q", "role": "other"}]}', "twice"),
        (b'{"facts": {"type": "person"}}', "list"),
        (b"", "JSON"),
    ],
)
def test_hostile_documents_get_a_clear_error_and_exit_2(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    started = time.monotonic()
    code, out, err = cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021")
    assert code == 2 and out == "" and "Traceback" not in err
    assert needle in err, err[:300]
    assert time.monotonic() - started < 10


def test_a_200_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, no time spent writing
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, err = cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert code == 2 and "JSON Lines" in err and out == ""
    assert grown_mb < 50


def test_an_enormous_json_lines_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"type": "person", "id": "' + b"x" * 3_000_000 + b'"}\n')
    code, _, err = cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021")
    assert code == 2 and "line 1 is longer than" in err


def test_json_lines_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text(
        '{"type": "person", "id": "p1", "role": "community_worker"}\n\n{"type": "person", "id": oops}\n',
        encoding="utf-8",
    )
    code, _, err = cli("evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021")
    assert code == 2 and "facts.jsonl line 3" in err


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.decimals(allow_nan=False, places=3),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=30,
    )
)
def test_fuzz_arbitrary_json_values_only_ever_raise_swrules_errors(value: object) -> None:
    for data in (value, {"facts": value}, {"facts": [value]}):
        try:
            load_facts(data)
        except SwrulesError:
            pass


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_only_ever_raise_swrules_errors(raw: bytes) -> None:
    try:
        load_facts(parse_json(raw))
    except SwrulesError:
        pass


@settings(max_examples=150)
@given(st.text(max_size=300))
def test_fuzz_arbitrary_ruleset_text_only_ever_raises_ruleset_errors(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "r.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_ruleset(path)
    except RulesetError:
        pass


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ('id = "exam-reward"', 'id = "exam-reward"\ntemplate = "os.system"'),
        ("when in_force(c, obtained)", 'when __import__("os").system("id")'),
        ("when in_force(c, obtained)", "when c.__class__.__init__ == none"),
        ('exam_reward.payer = "county_finance"', "exam_reward.payer = \"__import__('os').system('id')\""),
        ("[parameters]", "[parameters]\n__class__ = 1"),
        ('id = "exam-reward"', 'id = "exam-reward"\ncode = "import os"'),
    ],
)
def test_code_smuggled_into_a_ruleset_is_rejected_or_inert(
    tmp_path: Path, patch: tuple[str, str] | str, needle: str
) -> None:
    from swrules.rulesets import builtin_dir

    text = (builtin_dir() / "dingnan-2020.toml").read_text(encoding="utf-8")
    path = tmp_path / "dingnan-2020.toml"
    (tmp_path / "national-grades.toml").write_text(
        (builtin_dir() / "base" / "national-grades.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    path.write_text(text.replace(str(patch), needle, 1), encoding="utf-8")
    try:
        rs = load_ruleset(path)
    except RulesetError as err:
        assert "dingnan-2020.toml" in str(err)
        return
    # Accepted only as data: the string is an opaque payer name, never evaluated.
    result = swrules.evaluate(
        [
            {"type": "person", "id": "p1", "role": "community_worker"},
            {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-01"},
        ],
        ruleset=rs,
        period="2021",
    )
    assert [o.payer for o in result.obligations if o.kind.value == "exam_reward"] == ["__import__('os').system('id')"]


def test_no_code_path_evaluates_data() -> None:
    """No eval, exec, compile, pickle, marshal, unsafe YAML or dynamic import of names from data, anywhere."""
    banned_calls = {"eval", "exec", "compile", "__import__"}
    banned_modules = {"pickle", "marshal", "shelve", "yaml", "dill"}
    found = []
    for path in SWRULES.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in banned_calls:
                found.append(f"{path.name}:{node.lineno} {node.func.id}()")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                found += [
                    f"{path.name}:{node.lineno} import {n}" for n in names if n and n.split(".")[0] in banned_modules
                ]
    assert not found, found
    # Rules are data compiled by the rule language; the one dynamic import is of pandas, by a literal name.
    dynamic = [p.name for p in SWRULES.rglob("*.py") if "importlib.import_module" in p.read_text(encoding="utf-8")]
    assert dynamic == ["frames.py"]
    assert 'importlib.import_module("pandas")' in (SWRULES / "frames.py").read_text(encoding="utf-8")


def test_money_never_passes_through_float() -> None:
    """No float() call anywhere in the library, and no float literal where amounts are computed or written."""
    money_paths = {"items.py", "facts.py", "_json.py", "evaluation.py", "_context.py"}
    found = []
    for path in SWRULES.rglob("*.py"):
        in_money_path = path.name in money_paths or path.parent.name == "rules"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
                found.append(f"{path.name}:{node.lineno} float()")
            if in_money_path and isinstance(node, ast.Constant) and type(node.value) is float:
                found.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert found == []


def test_totals_over_100000_obligations_are_exact_to_the_fen() -> None:
    import random
    from decimal import Decimal

    from swrules.items import Obligation, ObligationKind

    rng = random.Random(5)
    fens = [rng.randrange(1, 10**7) for _ in range(100_000)]
    obligations = [
        Obligation(
            id=f"x/{i}",
            kind=ObligationKind.MONTHLY_ALLOWANCE,
            payee="p",
            payer="f",
            amount=Decimal(f) / 100,
            due="2021-01",
            period="2021-01",
        )
        for i, f in enumerate(fens)
    ]
    total = sum((o.amount for o in obligations if o.amount is not None), Decimal(0))
    assert total == Decimal(sum(fens)) / 100
    assert sum(Decimal(o.to_dict()["amount"]) for o in obligations) == total


def test_an_unexpected_crash_in_a_subprocess_never_shows_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b"\x00\x01\x02")
    done = subprocess.run(
        [sys.executable, "-m", "swrules", "evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""


def test_bad_input_errors_are_input_errors_with_every_problem() -> None:
    with pytest.raises(InputError) as caught:
        load_facts([{"type": "person", "id": "p1", "role": "x"}, {"type": "person", "id": "p1", "role": "y"}])
    assert len(caught.value.problems) >= 2
    json.dumps([str(p) for p in caught.value.problems])


def test_a_huge_exponent_is_refused_at_once_not_written_out(tmp_path: Path) -> None:
    # 1E+999999999 is 12 characters of JSON but a billion-digit integer once converted:
    # the loader used to try, and hang, on an integer field.
    path = tmp_path / "exponent.json"
    path.write_text(
        '{"facts": [{"type": "person", "id": "p1", "role": "other"},'
        ' {"type": "training", "id": "t1", "person": "p1", "year": 1E+999999999, "hours": 1E+999999999}]}',
        encoding="utf-8",
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "swrules", "evaluate", str(path), "--ruleset", "dingnan-2020", "--period", "2021"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 20
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert "facts[1] training 't1': year: must be an integer of at most 20 digits" in done.stderr
    assert "facts[1] training 't1': hours: must have at most 20 digits before the decimal point" in done.stderr


HUGE = 10**5000  # more digits than Python will write out as text (4300)


@pytest.mark.parametrize(
    ("fact", "field"),
    [
        ({"type": "person", "id": "p", "role": "other", "monthly_salary": HUGE}, "monthly_salary"),
        ({"type": "person", "id": HUGE, "role": "other"}, "id"),
        ({"type": HUGE, "id": "p"}, "type"),
        ({"type": [HUGE], "id": "p"}, "type"),
        ({"type": "person", "id": "p", "role": HUGE}, "role"),
        ({"type": "person", "id": "p", "role": "other", HUGE: 1}, "a number of more than 20 digits"),
        ({"type": "training", "id": "t", "person": "p", "year": HUGE, "hours": 1}, "year"),
        ({"type": "training", "id": "t", "person": "p", "year": 2021, "hours": HUGE}, "hours"),
        ({"type": "training", "id": "t", "person": "p", "year": Decimal("1E+99999"), "hours": 1}, "year"),
        ({"type": "training", "id": "t", "person": "p", "year": 2021, "hours": Decimal("1E+999999999")}, "hours"),
        ({"type": "training", "id": "t", "person": "p", "year": 2021, "hours": 10**20}, "hours"),
    ],
)
def test_huge_numbers_handed_in_as_python_data_get_an_input_error_naming_the_field(
    fact: dict[object, object], field: str
) -> None:
    facts = [{"type": "person", "id": "p", "role": "other"}, fact]
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        load_facts(facts)
    assert time.monotonic() - started < 1
    (problem,) = caught.value.problems
    assert problem.index == 1 and problem.field == field
    message = str(caught.value)
    assert f"{field}: " in message and "set_int_max_str_digits" not in message
    assert len(message) < 500


def test_a_ruleset_with_an_overlong_integer_gets_a_ruleset_error(tmp_path: Path) -> None:
    path = tmp_path / "long-number.toml"
    path.write_text("[parameters]\nx = " + "1" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    assert str(caught.value) == f"{path}: not valid TOML: a number has more than 4300 digits"
