"""A columnar result keeps its items in the engine's tables: the same items, dicts, JSON and Parquet files as native.

Items are made in SQL (keys, stamps, the check that an item has one cause), read back only when asked for; the
output document and the Parquet files are made from the tables without an item object. Fact dicts go into the
tables without fact objects where they are plain, and through the loader (its words) where they are not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("ibis")
pq = pytest.importorskip("pyarrow.parquet")

from swrules.cases import Case, case_files, load_cases  # noqa: E402
from swrules.columnar import read_parquet_folder, write_population  # noqa: E402
from swrules.columnar._result import ColumnarResult  # noqa: E402
from swrules.errors import EngineError, InputError, RuleFailedError, SwrulesError  # noqa: E402
from swrules.evaluation import evaluate  # noqa: E402
from swrules.frames import write_tables  # noqa: E402
from swrules.population import generate  # noqa: E402
from swrules.rulesets import load_ruleset  # noqa: E402

GOLDEN = Path(__file__).parent.parent / "golden"
SUPPORTED = ("xx-county-2023", "zhejiang-2019", "national-grades", "dingnan-2020")


def _cases() -> list[Case]:
    found = [c for path in case_files([GOLDEN]) for c in load_cases(path) if c.ruleset in SUPPORTED]
    return found[1::4]


def _both(case: Case) -> tuple[Any, Any] | None:
    try:
        native = evaluate(case.facts, ruleset=case.ruleset, period=case.period, parameters=case.parameters or None)
    except SwrulesError:
        return None
    columnar = evaluate(
        case.facts, ruleset=case.ruleset, period=case.period, parameters=case.parameters or None, engine="columnar"
    )
    return native, columnar


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{Path(c.file).stem}: {c.name[:60]}") for c in _cases()])
def test_parquet_from_the_tables_is_what_the_items_give(case: Case, tmp_path: Path) -> None:
    both = _both(case)
    if both is None:
        pytest.skip("an input the engines refuse")
    native, columnar = both
    assert isinstance(columnar, ColumnarResult)
    (tmp_path / "c").mkdir()
    (tmp_path / "n").mkdir()
    written = write_tables(columnar, "parquet", tmp_path / "c")  # from the engine's tables: COPY
    expected = write_tables(native, "parquet", tmp_path / "n")  # from the items, through pandas
    assert [p.name for p in written] == [p.name for p in expected]
    for ours, theirs in zip(written, expected, strict=True):
        got, want = pq.read_table(ours), pq.read_table(theirs)
        assert got.schema.equals(want.schema), ours.name
        assert got.to_pylist() == want.to_pylist(), ours.name


def test_dicts_items_and_keys_are_those_of_the_native_result() -> None:
    facts = generate(300, year=2021)
    native = evaluate(facts, ruleset="zhejiang-2019", period="2021")
    lazy = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar")
    assert lazy.to_dict() == native.to_dict()  # straight from the tables
    assert lazy.to_json() == native.to_json()
    made = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar")
    assert made.findings == native.findings and made.obligations == native.obligations  # items made now
    assert made.post_grades == native.post_grades and made.eligibility == native.eligibility
    assert made.to_dict() == native.to_dict()  # from the items made
    assert made.intermediate == native.intermediate
    assert made.keys() == native.keys()
    key = native.findings[0].key
    assert made.get(key) == native.get(key)
    assert made.explain(key).to_dict() == native.explain(key).to_dict()


def test_segments_of_allowance_rates_come_back_as_the_native_tuples() -> None:
    facts = generate(150, year=2021)
    native = evaluate(facts, ruleset="dingnan-2020", period="2021")
    made = evaluate(facts, ruleset="dingnan-2020", period="2021", engine="columnar")
    assert made.to_json() == native.to_json()
    rates = [i for i in made.intermediate if i.TYPE == "allowance_rates"]
    assert rates and any(i.segments for i in rates)
    assert made.intermediate == native.intermediate
    # each decimal with its own places, as the native engine made it
    assert [repr(i.segments) for i in rates] == [
        repr(i.segments) for i in native.intermediate if i.TYPE == "allowance_rates"
    ]
    key = rates[0].key
    assert made.get(key) == native.get(key)
    assert made.explain(key).to_dict() == native.explain(key).to_dict()


def test_a_copy_of_a_columnar_result_is_a_result_with_every_section() -> None:
    facts = generate(50, year=2021)
    result = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar")
    copy = attrs.evolve(result, engine="again")
    assert copy.findings == result.findings and copy.to_json() == result.to_json()
    assert copy.write_parquet(".") is None  # no tables of its own: written from its items


def test_a_result_outlives_the_fact_tables_it_was_made_in(tmp_path: Path) -> None:
    write_population(str(tmp_path / "facts"), 120)
    tables = read_parquet_folder(str(tmp_path / "facts"))
    native = evaluate(tables.to_factset(), ruleset="zhejiang-2019", period="2021")
    result = evaluate(tables, ruleset="zhejiang-2019", period="2021", engine="columnar")
    again = evaluate(tables, ruleset="zhejiang-2019", period="2021", engine="columnar")  # its own tables
    tables.close()
    assert result.to_dict() == again.to_dict() == native.to_dict()
    assert result.obligations == native.obligations


def test_dicts_with_a_problem_are_worded_by_the_loader() -> None:
    good = [
        {"type": "organization", "id": "o1", "kind": "social_work_agency"},
        {"type": "person", "id": "p1", "role": "social_org_staff", "organization": "o1"},
    ]
    bad = [
        [*good, {"type": "person", "id": "p1", "role": "social_org_staff", "organization": "o1"}],  # an id twice
        [*good, {"type": "certificate", "id": "c1", "holder": "p1", "level": "x", "obtained_on": "2020-01-01"}],
        [*good, {"type": "certificate", "id": "c1", "holder": "p1", "level": "senior", "obtained_on": "2020-02-30"}],
        [*good, {"type": "certificate", "id": "c1", "holder": "p9", "level": "senior", "obtained_on": "2020-01-01"}],
        [*good, {"type": "person", "id": "p2", "role": "social_org_staff", "colour": "red"}],
        [{"type": "organization", "id": "o1", "kind": "social_work_agency", "valid_from": "2021-1-1"}],
        [*good, {"type": "training", "id": "t1", "person": "p1", "year": 2021.0, "hours": "8"}],  # a float
        [*good, {"type": "training", "id": "t1", "person": "p1", "year": 2021, "hours": 8.5}],
        [*good, {"type": "service_project", "id": "s1", "organization": "o1", "social_workers": ("p1",)}],
        [*good, {"type": "person", "id": "p2", "role": "social_org_staff", "organization": "o1", "leader": 1}],
        [*good, {"type": "person", "id": "p2", "role": "social_org_staff", "organization": "o\ud800"}],
        [*good, {"type": "nobody", "id": "x"}],
        [*good, "a person"],
    ]
    for facts in bad:
        with pytest.raises(InputError) as native:
            evaluate(facts, ruleset="zhejiang-2019", period="2021")
        with pytest.raises(InputError) as columnar:
            evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar")
        assert str(columnar.value) == str(native.value)


def test_a_result_whose_tables_are_gone_says_so(tmp_path: Path) -> None:
    write_population(str(tmp_path / "facts"), 30)
    tables = read_parquet_folder(str(tmp_path / "facts"))
    result = evaluate(tables, ruleset="zhejiang-2019", period="2021", engine="columnar")
    tables.con.close()  # not through close(): the tables are not handed over
    with pytest.raises(EngineError, match="no longer there"):
        result.to_dict()


def test_decimals_given_as_numbers_keep_their_places() -> None:
    from decimal import Decimal

    facts = [
        {"type": "organization", "id": "o1", "kind": "social_work_agency"},
        {
            "type": "service_project",
            "id": "s1",
            "organization": "o1",
            "funds": 1000,
            "personnel_cost": Decimal("700.50"),
        },
        {"type": "service_project", "id": "s2", "organization": "o1", "funds": "10.5", "personnel_cost": "0.0"},
    ]
    native = evaluate(facts, ruleset="zhejiang-2019", period="2021")
    assert evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar").to_json() == native.to_json()


def _with_copy(ruleset: str, rule: str, new_id: str) -> Any:
    rs = load_ruleset(ruleset)
    spec = rs.rule(rule)
    return attrs.evolve(rs, rules=(*rs.rules, attrs.evolve(spec, id=new_id)))


def test_two_rules_deriving_one_key_fail_as_on_the_native_engine() -> None:
    facts = generate(20, year=2021)
    broken = _with_copy("zhejiang-2019", "eligibility", "eligibility-again")
    messages = []
    for engine in ("native", "columnar"):
        with pytest.raises(EngineError) as failed:
            evaluate(facts, ruleset=broken, period="2021", engine=engine)
        messages.append(str(failed.value))
    assert "both derive" in messages[0]
    assert messages[1].split(" both derive ")[0] == messages[0].split(" both derive ")[0]


def test_a_negative_amount_fails_as_on_the_native_engine(tmp_path: Path) -> None:
    source = (Path(__file__).parent.parent.parent / "rulesets" / "xx-county-2023.toml").read_text(encoding="utf-8")
    changed = source.replace('amount = param("talent.reward")', 'amount = 0 - param("talent.reward")')
    assert changed != source
    (tmp_path / "negative.toml").write_text(changed, encoding="utf-8")
    broken = load_ruleset(tmp_path / "negative.toml")
    facts = generate(300, year=2023)
    messages = []
    for engine in ("native", "columnar"):
        with pytest.raises(RuleFailedError, match="amount must not be negative") as failed:
            evaluate(facts, ruleset=broken, period="2023", engine=engine)
        messages.append(str(failed.value))
    assert messages[1] == messages[0]


def _with_rule(tmp_path: Path, name: str, logic: str) -> Any:
    source = (Path(__file__).parent.parent.parent / "rulesets" / "xx-county-2023.toml").read_text(encoding="utf-8")
    rule = (
        '\n[[rules]]\nid = "holder-listed"\ndoc = "Each certificate holder listed."\nseverity = "advisory"\n'
        f'rule = """\n{logic}\n"""\nclause = "xx2023.s1.targets"\ntext = "力争"\nreading = "Listed."\n'
    )
    (tmp_path / f"{name}.toml").write_text(source + rule, encoding="utf-8")
    return load_ruleset(tmp_path / f"{name}.toml")


@pytest.mark.parametrize(
    ("name", "logic"),
    [
        # one item from two matches (a holder of two certificates): two causes, an error on both engines
        (
            "two-matches",
            'match c: certificate\nemit finding { subject = c.holder, requirement = "listed", '
            "satisfied = true, actual = 1, required = 1 }",
        ),
        # one match, the same item twice: one item
        (
            "twice",
            'match c: certificate\nemit finding { subject = c.id, requirement = "listed", satisfied = true, '
            'actual = 1, required = 1 }\nemit finding { subject = c.id, requirement = "listed", satisfied = true, '
            "actual = 1, required = 1 }",
        ),
        # one match, two different items of one key: an error
        (
            "different",
            'match c: certificate\nemit finding { subject = c.id, requirement = "listed", '
            'satisfied = true, actual = 1, required = 1 }\nemit finding { subject = c.id, requirement = "listed", '
            "satisfied = true, actual = 2, required = 1 }",
        ),
        # a list of one value twice, each an item from one match: one item
        (
            "each",
            'match c: certificate\nfor x in [1, 1] {\nemit finding { subject = c.id, requirement = "listed", '
            "satisfied = true, actual = x, required = 1 }\n}",
        ),
    ],
)
def test_an_item_has_one_cause_as_on_the_native_engine(tmp_path: Path, name: str, logic: str) -> None:
    ruleset = _with_rule(tmp_path, name, logic)
    facts = generate(300, year=2023)
    outcomes = []
    for engine in ("native", "columnar"):
        try:
            outcomes.append(evaluate(facts, ruleset=ruleset, period="2023", engine=engine).to_json())
        except EngineError as err:
            outcomes.append(f"{type(err).__name__}: {err}")
    assert outcomes[1] == outcomes[0]
    assert ("both derive" in outcomes[0]) == (name in ("two-matches", "different"))
