"""swrules.columnar: the schema, the Parquet reader's problems, the calendar table, the population writer."""

from __future__ import annotations

import calendar
import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")
columnar = pytest.importorskip("swrules.columnar")

import swrules  # noqa: E402
from swrules.errors import InputError  # noqa: E402
from swrules.facts import FACT_TYPES  # noqa: E402
from swrules.period import Period  # noqa: E402
from swrules.population import generate  # noqa: E402

# --- the schema ----------------------------------------------------------------------------------------------


def test_the_schema_follows_the_facts_money_decimal_dates_enums_windows() -> None:
    person = {c.name: c for c in columnar.columns("person")}
    assert person["monthly_salary"].sql == "DECIMAL(22,2)"
    assert person["monthly_salary"].arrow == pa.decimal128(22, 2)
    assert person["role"].sql == "VARCHAR" and person["role"].values is not None
    assert "community_worker" in person["role"].values
    assert person["valid_from"].sql == "DATE" and person["valid_until"].arrow == pa.date32()
    assert person["community"].ref == "community" and not person["community"].required
    assert person["id"].required
    project = {c.name: c for c in columnar.columns("service_project")}
    assert project["social_workers"].sql == "VARCHAR[]" and project["social_workers"].ref == "person"
    assert {c.name: c.sql for c in columnar.columns("training")}["hours"] == "DECIMAL(38,18)"
    for fact_type in FACT_TYPES:
        schema = columnar.arrow_schema(fact_type)
        assert schema.names[-2:] == ["valid_from", "valid_until"]
        assert not any(pa.types.is_floating(f.type) for f in schema)


# Values at the edges of each check, and the Parquet (DuckDB) types they may be read in.
_EDGES: list[tuple[str, str, list[str], list[str]]] = [
    ("person", "monthly_salary", ["DECIMAL(22,2)", "DECIMAL(10,3)", "DECIMAL(38,4)", "DECIMAL(4,0)",
                                  "INTEGER", "BIGINT", "UBIGINT", "HUGEINT"],
     ["0", "-1", "1", "9999", "12.5", "12.125", "99999999999999999999", "100000000000000000000", "-5.00"]),
    ("service_project", "funds", ["DECIMAL(22,2)", "DECIMAL(12,4)", "SMALLINT", "HUGEINT"],
     ["0", "0.01", "-0.01", "1000", "0.001"]),
    ("training", "hours", ["DECIMAL(38,18)", "DECIMAL(22,2)", "DECIMAL(38,20)", "DECIMAL(38,0)", "BIGINT", "HUGEINT"],
     ["0", "-1", "1.5", "0.000000000000000001", "0.00000000000000000001", "99999999999999999999",
      "100000000000000000000"]),
    ("training", "year", ["TINYINT", "SMALLINT", "INTEGER", "UINTEGER", "BIGINT", "UBIGINT", "HUGEINT"],
     ["0", "127", "1899", "1900", "2999", "3000", "9223372036854775807", "-9223372036854775808",
      "18446744073709551615"]),
    ("jurisdiction", "population", ["INTEGER", "BIGINT", "UBIGINT", "HUGEINT"],
     ["0", "1", "-1", "2147483647", "9223372036854775807", "-9223372036854775808", "9223372036854775808"]),
    ("person", "id", ["VARCHAR"], ["''", "'a'", "repeat('a', 200)", "repeat('a', 201)", "repeat('é', 200)",
                                   "repeat('é', 201)", "repeat('界', 100) || chr(0)", "'x' || chr(0)"]),
    ("certificate", "obtained_on", ["DATE"], ["DATE '0001-01-01'", "DATE '9999-12-31'", "DATE '10000-01-01'",
                                              "DATE '0001-01-01' - 1", "DATE 'infinity'", "DATE '-infinity'"]),
]  # fmt: skip


_BASES = {
    "person": {"id": "p1", "role": "other"},
    "service_project": {"id": "s1", "organization": "o1", "funds": "1.00", "personnel_cost": "1.00"},
    "training": {"id": "t1", "person": "p1", "year": 2021, "hours": "1"},
    "jurisdiction": {"id": "j1"},
    "certificate": {"id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-01-01"},
}


@pytest.mark.parametrize(("fact_type", "name", "types", "values"), _EDGES, ids=[f"{t}.{n}" for t, n, _, _ in _EDGES])
def test_a_column_judged_in_its_own_type_gets_the_loaders_verdict(
    fact_type: str, name: str, types: list[str], values: list[str]
) -> None:
    """The check made for a Parquet column's type (which leaves out what the type settles) passes a value
    exactly when the loader takes it and a table's column can hold it."""
    from swrules.columnar._readers import _plain
    from swrules.columnar._schema import ok_in
    from swrules.columnar._tables import fits_columns, raw_of_row
    from swrules.load import _one_fact

    column = {c.name: c for c in columnar.columns(fact_type)}[name]
    con = duckdb.connect()
    verdicts = set()
    for source in types:
        for value in values:
            try:  # a value the type cannot hold is not a value of that type: nothing to compare
                con.execute(f"CREATE OR REPLACE TABLE v AS SELECT CAST({value} AS {source}) AS {name}")
            except duckdb.Error:
                continue
            shown = f"CAST({name} AS VARCHAR)" if column.kind == "date" else name
            passed, held = con.execute(f"SELECT {ok_in(fact_type, column, source)}, {shown} FROM v").fetchall()[0]
            raw = {**_BASES[fact_type], **raw_of_row(fact_type, [column], [_plain(held)])}
            problems: list[Any] = []
            fact = _one_fact(0, raw, problems, None)
            taken = fact is not None and fits_columns(0, fact, problems)
            assert (source, value, passed) == (source, value, taken), problems
            verdicts.add(taken)
    assert verdicts == {True, False}


# --- the Parquet reader -----------------------------------------------------------------------------------


def _write(folder: Path, fact_type: str, table: Any) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{fact_type}.parquet"
    pq.write_table(table, path)
    return path


def _persons(**columns: Any) -> Any:
    base = {"id": pa.array(["p1", "p2"]), "role": pa.array(["other", "other"])}
    base.update(columns)
    return pa.table(base)


def test_a_float_money_column_an_unknown_and_a_missing_column_are_problems_with_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    person = _write(
        folder, "person", _persons(monthly_salary=pa.array([3800.1, 4000.0]), nickname=pa.array(["a", "b"]))
    )
    post = _write(folder, "post", pa.table({"id": pa.array(["q1"]), "tier": pa.array([1])}))
    day = _write(folder, "certificate", pa.table({"id": ["k1"], "holder": ["p1"], "level": ["assistant"],
                                                 "obtained_on": ["2021-01-01"]}))  # fmt: skip
    with pytest.raises(InputError) as caught:
        columnar.read_parquet_folder(str(folder))
    found = {(p.source, p.field): p.message for p in caught.value.problems}
    assert "money is never a float" in found[(str(person), "monthly_salary")]
    assert "DOUBLE" in found[(str(person), "monthly_salary")]
    assert found[(str(person), "nickname")] == "unknown column for a person"
    assert found[(str(post), "band")] == "required column is missing"
    assert "DATE" in found[(str(day), "obtained_on")]
    assert all(p.index is None for p in caught.value.problems)


def test_problems_with_facts_name_the_file_the_row_and_the_field(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    money = pa.array([Decimal("3800.000"), Decimal("3800.125")], type=pa.decimal128(10, 3))
    person = _write(folder, "person", _persons(monthly_salary=money, role=pa.array(["other", "wizard"])))
    post = _write(folder, "post", pa.table({"id": ["q1"], "band": ["junior"], "tier": [3], "holder": ["p9"]}))
    with pytest.raises(InputError) as caught:
        columnar.read_parquet_folder(str(folder))
    assert [str(p) for p in caught.value.problems] == [
        f"{person} row 2 person 'p2': role: must be one of community_worker, institution_staff, social_org_staff, "
        "township_staff, village_cadre, other (got 'wizard')",
        f"{person} row 2 person 'p2': monthly_salary: must have at most two decimal places (got 3800.125)",
        f"{post} row 1 post 'q1': tier: must be one of 1, 2 for a junior post (got 3)",
        # Every problem in one run, as the loader: the references of a fact with problems of its own too.
        f"{post} row 1 post 'q1': holder: refers to person 'p9', which is not in the input",
    ]
    # With keep_going, the rows with problems are left out; 3800.000 is 3800.00 (the column's padding is not a place).
    with columnar.read_parquet_folder(str(folder), keep_going=True) as tables:
        assert tables.counts["person"] == 1 and tables.counts["post"] == 0 and tables.read == 3
        assert [(r.fact_type, r.fact_id) for r in tables.rejected] == [("person", "p2"), ("post", "q1")]
        assert tables.to_arrow("person").column("monthly_salary").to_pylist() == [Decimal("3800.00")]


def test_parquet_types_that_hold_the_values_exactly_are_read_as_they_are(tmp_path: Path) -> None:
    """INT32 or INT64 years, money of any decimal scale or an integer type, DATE written from date32 or date64,
    texts plain, large or dictionary-encoded: the same facts. A timestamp is no date (refused, naming the file,
    the column and its type); a decimal with places to spare is judged on its value."""
    facts = [
        {k: v for k, v in f.items() if k not in ("community", "organization")}  # persons, certificates, trainings
        for f in generate(30, year=2021)
        if f["type"] in ("person", "training", "certificate")
    ]
    native = swrules.load_facts(facts)
    kept = {t: [f for f in facts if f["type"] == t] for t in ("person", "training", "certificate")}

    def table(fact_type: str, types: dict[str, Any]) -> Any:
        arrays = {}
        for column in columnar.columns(fact_type):
            values = [f.get(column.name) for f in kept[fact_type]]
            typ = types.get(column.name, column.arrow)
            if column.kind == "date":
                values = [None if v is None else date.fromisoformat(v) for v in values]
            elif column.kind in ("money", "number"):
                values = [None if v is None else Decimal(v) for v in values]
            arrays[column.name] = pa.array(values, type=column.arrow).cast(typ)
        return pa.table(arrays)

    layouts: list[dict[str, dict[str, Any]]] = [
        {},
        {"training": {"year": pa.int32(), "hours": pa.decimal128(30, 4), "person": pa.large_string()},
         "person": {"monthly_salary": pa.decimal128(12, 3), "reference_salary": pa.decimal128(38, 2),
                    "role": pa.dictionary(pa.int8(), pa.string()), "id": pa.large_string()},
         "certificate": {"obtained_on": pa.date64(), "level": pa.dictionary(pa.int32(), pa.large_string())}},
    ]  # fmt: skip
    for n, layout in enumerate(layouts):
        folder = tmp_path / f"layout{n}"
        for fact_type in kept:
            _write(folder, fact_type, table(fact_type, layout.get(fact_type, {})))
        with columnar.read_parquet_folder(str(folder)) as tables:
            assert tables.to_factset() == native
    # Money in an integer column (whole amounts) is money too.
    whole = [{**f, "monthly_salary": str(int(Decimal(f.get("monthly_salary", "3000.50"))))} for f in kept["person"]]
    folder = tmp_path / "whole"
    _write(folder, "person", pa.table({"id": [f["id"] for f in whole], "role": [f["role"] for f in whole],
                                       "monthly_salary": pa.array([int(f["monthly_salary"]) for f in whole],
                                                                  type=pa.int32())}))  # fmt: skip
    with columnar.read_parquet_folder(str(folder)) as tables:
        salaries = tables.to_arrow("person").column("monthly_salary").to_pylist()
        assert salaries == [Decimal(f["monthly_salary"]) for f in sorted(whole, key=lambda f: f["id"])]
    # A timestamp is refused, even at midnight: a date column must be DATE.
    folder = tmp_path / "timestamps"
    stamps = pa.array([None if f.get("obtained_on") is None else date.fromisoformat(f["obtained_on"])
                       for f in kept["certificate"]], type=pa.date32()).cast(pa.timestamp("s"))  # fmt: skip
    path = _write(folder, "certificate", table("certificate", {}).set_column(3, "obtained_on", stamps))
    with pytest.raises(InputError) as caught:
        columnar.read_parquet_folder(str(folder))
    assert [str(p) for p in caught.value.problems] == [
        f"{path}: obtained_on: is a TIMESTAMP column; a date column must be DATE"
    ]


def test_money_of_twenty_digits_is_money_in_any_decimal_column(tmp_path: Path) -> None:
    """The bound of 20 digits before the point is compared exactly (as a double, 99999999999999999999 is 1e20)."""
    biggest, beyond = Decimal("99999999999999999999.99"), Decimal("100000000000000000000.00")
    for n, typ in enumerate([pa.decimal128(22, 2), pa.decimal128(30, 4), pa.decimal128(38, 2)]):
        folder = tmp_path / f"in{n}"
        _write(
            folder, "person", pa.table({"id": ["p1"], "role": ["other"], "monthly_salary": pa.array([biggest], typ)})
        )
        with columnar.read_parquet_folder(str(folder)) as tables:
            assert tables.to_arrow("person").column("monthly_salary").to_pylist() == [biggest]
        if typ.precision - typ.scale > 20:
            _write(folder, "person", pa.table({"id": ["p1"], "role": ["other"],
                                               "monthly_salary": pa.array([beyond], typ)}))  # fmt: skip
            with pytest.raises(InputError, match="at most 20 digits before the decimal point"):
                columnar.read_parquet_folder(str(folder))


def test_a_folder_without_parquet_files_or_with_a_stranger_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Parquet files"):
        columnar.read_parquet_folder(str(tmp_path / "empty"))
    _write(tmp_path / "odd", "persons", _persons())
    with pytest.raises(InputError, match=r"unknown file persons\.parquet"):
        columnar.read_parquet_folder(str(tmp_path / "odd"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "person.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        columnar.read_parquet_folder(str(tmp_path / "bad"))
    with pytest.raises(InputError, match="cannot read"):
        columnar.read_parquet_folder(str(tmp_path / "missing"))


def test_json_lines_money_stays_exact(tmp_path: Path) -> None:
    """JSON numbers are parsed by the project's parser (Decimal), never by DuckDB's (double)."""
    lines = [
        {"type": "person", "id": "p1", "role": "other", "monthly_salary": Decimal("0.10")},
        {"type": "person", "id": "p2", "role": "other", "monthly_salary": Decimal("123456789012345678.99")},
    ]
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(f, default=str).replace('"0.10"', "0.10") + "\n" for f in lines))
    with columnar.read_jsonl(str(path)) as tables:
        salaries = tables.to_arrow("person").column("monthly_salary").to_pylist()
        assert salaries == [Decimal("0.10"), Decimal("123456789012345678.99")]
        assert tables.to_factset() == swrules.load_facts(lines)


def test_fact_tables_answer_counts_arrow_ibis_and_go_back_to_a_factset(tmp_path: Path) -> None:
    facts = generate(60, histories=0.2)
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts))
    native = swrules.load_facts(facts)
    with columnar.read_jsonl(str(path)) as tables:
        assert tables.counts == {t: len(native.of_type(t)) for t in FACT_TYPES}
        schema = tables.to_arrow("certificate").schema
        assert list(zip(schema.names, schema.types, strict=True)) == [
            (f.name, f.type) for f in columnar.arrow_schema("certificate")
        ]
        backend = tables.ibis()
        assert backend.table("person").count().execute() == len(native.of_type("person"))
        assert tables.to_factset() == native
    with pytest.raises(InputError, match="cannot read"):
        columnar.read_jsonl(str(tmp_path / "missing.jsonl"))


def test_values_a_column_cannot_hold_are_problems_not_silent_changes(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    facts = [
        {"type": "jurisdiction", "id": "j", "population": 10**19},
        {"type": "training", "id": "t1", "person": "p1", "year": 2021, "hours": "1.0000000000000000001"},
        {"type": "person", "id": "p1", "role": "other"},
    ]
    path.write_text("".join(json.dumps(f) + "\n" for f in facts))
    swrules.load_facts(facts)  # the loader takes both
    with pytest.raises(InputError) as caught:
        columnar.read_jsonl(str(path))
    assert [(p.fact_id, p.field) for p in caught.value.problems] == [("j", "population"), ("t1", "hours")]


def test_parquet_values_beyond_the_columns_are_problems_and_any_decimal_or_integer_is_money(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    posts = pa.array([1, 2**64 - 1], type=pa.uint64())
    organizations = _write(folder, "organization", pa.table({"id": ["o1", "o2"], "kind": ["other"] * 2,
                                                             "professional_posts": posts}))  # fmt: skip
    money = pa.array([Decimal("1.5")], type=pa.decimal128(38, 30))
    _write(folder, "person", pa.table({"id": ["p1"], "role": ["other"], "monthly_salary": money,
                                       "reference_salary": pa.array([3800], type=pa.int32())}))  # fmt: skip
    with pytest.raises(InputError) as caught:
        columnar.read_parquet_folder(str(folder))
    assert [(p.source, p.field) for p in caught.value.problems] == [(f"{organizations} row 2", "professional_posts")]
    assert "columnar table" in caught.value.problems[0].message
    with columnar.read_parquet_folder(str(folder), keep_going=True) as tables:
        assert tables.to_arrow("person").to_pylist()[0]["monthly_salary"] == Decimal("1.50")
        assert tables.to_arrow("person").to_pylist()[0]["reference_salary"] == Decimal("3800.00")
        assert tables.counts["organization"] == 1


# --- the calendar -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2021", "2024", "2024-02", "1900-12"])
def test_the_months_of_a_period_as_a_table(period: str) -> None:
    rows = columnar.months(period).to_pylist()
    expected = []
    for m in Period.parse(period).months():
        assert m.month is not None
        days = calendar.monthrange(m.year, m.month)[1]
        expected.append(
            {
                "month": str(m),
                "year": m.year,
                "number": m.month,
                "first_day": date(m.year, m.month, 1),
                "last_day": date(m.year, m.month, days),
                "days": days,
            }
        )
    assert rows == expected


def test_months_sql_runs_in_a_connection_of_ones_own() -> None:
    con = duckdb.connect()
    assert con.execute(f"SELECT sum(days) FROM ({columnar.months_sql('2024')})").fetchall() == [(366,)]
    assert columnar.months("2021-06", con).num_rows == 1
    con.close()


# --- the population writer ---------------------------------------------------------------------------------


def _population(tmp_path: Path, n: int, **options: Any) -> Path:
    folder = tmp_path / f"pop-{n}"
    columnar.write_population(str(folder), n, **options)
    return folder


def test_a_written_population_is_valid_and_has_the_generators_proportions(tmp_path: Path) -> None:
    n = 2_000
    folder = tmp_path / "pop"
    counts = columnar.write_population(str(folder), n, histories=0.1, chunk=700)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.parquet" for t in FACT_TYPES)
    with columnar.read_parquet_folder(str(folder)) as tables:
        assert tables.counts == counts and not tables.rejected
        facts = tables.to_factset()
    # Back through the loader itself, as JSON: every fact valid, every reference resolved.
    again = swrules.load_facts(json.loads(json.dumps(facts.to_dict())))
    assert again == facts
    reference = swrules.load_facts(generate(n, histories=0.1))
    for fact_type in FACT_TYPES:
        ours, theirs = counts[fact_type], len(reference.of_type(fact_type))
        assert abs(ours - theirs) <= max(3, 0.15 * theirs), (fact_type, ours, theirs)
    persons = {p.id for p in facts.of_type("person")}
    changed = len(facts.of_type("person")) - len(persons)
    assert len(persons) == n and 0.07 * n < changed < 0.13 * n
    vacated = [p for p in facts.of_type("post") if p.valid_from is not None]
    assert vacated and all(p.holder is None for p in vacated)


def test_the_same_population_is_written_byte_for_byte(tmp_path: Path) -> None:
    def digest(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    assert digest(_population(tmp_path / "a", 300)) == digest(_population(tmp_path / "b", 300))
    assert digest(_population(tmp_path / "a", 301)) != digest(_population(tmp_path / "b", 300))


def test_parquet_ids_with_a_nul_and_list_entries_too_long_are_refused_as_the_loader_refuses_them(
    tmp_path: Path,
) -> None:
    """The SQL checks of texts and of the entries of a list of ids are the loader's (no NUL, 1 to 200 characters)."""
    folder = tmp_path / "in"
    person = _write(folder, "person", _persons(id=pa.array(["p1", "p\x002"])))
    workers = pa.array([["p1"], ["p1", "x" * 201], ["p1", "a\x00b"]], type=pa.list_(pa.string()))
    project = _write(folder, "service_project", pa.table({"id": ["s1", "s2", "s3"], "organization": ["o1"] * 3,
                                                          "funds": pa.array([Decimal("1.00")] * 3),
                                                          "personnel_cost": pa.array([Decimal("0.00")] * 3),
                                                          "social_workers": workers}))  # fmt: skip
    _write(folder, "organization", pa.table({"id": ["o1"], "kind": ["other"]}))
    with pytest.raises(InputError) as caught:
        columnar.read_parquet_folder(str(folder))
    got = [(p.source, p.field, p.message) for p in caught.value.problems]
    reference = [
        {"type": "organization", "id": "o1", "kind": "other"},
        {"type": "person", "id": "p1", "role": "other"},
        {"type": "person", "id": "p\x002", "role": "other"},
        *(
            {"type": "service_project", "id": f"s{n}", "organization": "o1", "funds": "1.00",
             "personnel_cost": "0.00", "social_workers": w}
            for n, w in enumerate(workers.to_pylist(), start=1)
        ),
    ]  # fmt: skip
    where = [f"{folder / 'organization.parquet'} row 1", f"{person} row 1", f"{person} row 2"]
    where += [f"{project} row {n}" for n in (1, 2, 3)]
    with pytest.raises(InputError) as expected:
        swrules.load_facts(reference, sources=where)
    assert got == [(p.source, p.field, p.message) for p in expected.value.problems]
    assert [field for _, field, _ in got] == ["id", "social_workers", "social_workers"]
