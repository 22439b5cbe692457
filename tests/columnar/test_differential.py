"""The columnar readers against the loader: the same document, three formats, the same problems and facts.

Random populations (with histories) are spoilt in ways the loader reports — wrong kinds in fields, values out
of range, duplicates, dangling references, overlapping histories, missing fields — and written as JSON
Lines, a CSV folder and (when every value fits a typed column) a Parquet folder. Whatever the loader
reports for the document, the columnar reader must report: the same problems in the same order, or with
``keep_going`` the same facts kept and the same rejected with the same reasons.

Examples: HYPOTHESIS_PROFILE sets how many (``ci`` 100, ``dev`` 10, ``thorough`` 1000); this property runs an
eighth of them (each example writes and reads three folders), at least 10.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from strategies import populations

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
columnar = pytest.importorskip("swrules.columnar")

from swrules.errors import InputError  # noqa: E402
from swrules.facts import FACT_TYPES  # noqa: E402
from swrules.load import FactSet, load_facts  # noqa: E402
from swrules.sources import read_csv_folder, read_facts  # noqa: E402

EXAMPLES = max(10, settings().max_examples // 8)
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")

# Spoilers a typed column can hold (so the Parquet folder is compared too), and those it cannot.
TYPED: list[tuple[str, Any]] = [
    ("role", "wizard"),
    ("level", "expert"),
    ("kind", "suburb"),
    ("tier", 9),
    ("year", 1800),
    ("hours", "-1"),
    ("funds", "0"),
    ("monthly_salary", "-5.00"),
    ("travel_cost", "1.234"),
    ("professional_posts", -1),
    ("population", 0),
    ("township", ""),
    ("id", ""),
    ("holder", None),
    ("obtained_on", None),
    ("social_workers", ["p0", "p0"]),
]
UNTYPED: list[tuple[str, Any]] = [
    ("year", "soon"),
    ("obtained_on", "2021-02-30"),
    ("obtained_on", "yesterday"),
    ("registration_fee", "abc"),
    ("full_time", "yes"),
    ("tier", "two"),
    ("professional_posts", 1.5),
    ("extra", 1),
]


@st.composite
def spoilt(draw: st.DrawFn, typed_only: bool) -> list[dict[str, Any]]:
    facts = [dict(f) for f in draw(populations(max_persons=5, histories=True))]
    spoilers = TYPED if typed_only else TYPED + UNTYPED
    for _ in range(draw(st.integers(0, 4))):
        if not facts:
            break
        what = draw(st.sampled_from(["field", "field", "duplicate", "dangling", "overlap", "window"]))
        i = draw(st.integers(0, len(facts) - 1))
        fact = facts[i]
        if what == "field":
            usable = [(k, v) for k, v in spoilers if k in fact or k in ("id", "extra") or k == "holder"]
            key, value = draw(st.sampled_from(usable))
            if key == "extra" and typed_only:
                continue
            if value is None:
                fact.pop(key, None)
            else:
                fact[key] = value
        elif what == "duplicate":
            facts.insert(draw(st.integers(0, len(facts))), dict(fact))
        elif what == "dangling":
            refs = [k for k in ("holder", "person", "community", "organization") if k in fact]
            if refs:
                fact[draw(st.sampled_from(refs))] = "nobody"
            elif "social_workers" in fact:
                fact["social_workers"] = [*fact["social_workers"], "nobody"]
        elif what == "overlap" and "valid_from" in fact:
            fact["valid_from"] = "2000-01-01"
        elif what == "window":
            fact["valid_from"], fact["valid_until"] = "2021-06-01", "2021-05-31"
    return facts


# --- writing the three formats -----------------------------------------------------------------------------


def write_jsonl(path: Path, facts: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")


def by_type(facts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        out.setdefault(f["type"], []).append(f)
    return out


def write_csv(folder: Path, facts: list[dict[str, Any]]) -> None:
    folder.mkdir()
    for fact_type, rows in by_type(facts).items():
        names = sorted({k for r in rows for k in r if k != "type"})
        with open(folder / f"{fact_type}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            for r in rows:
                writer.writerow([_cell(r.get(n)) for n in names])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def _places(value: Any) -> int:
    text = str(value)
    return len(text.split(".")[1]) if "." in text else 0


def write_parquet(folder: Path, facts: list[dict[str, Any]], narrow: bool = False) -> bool:
    """The facts as typed Parquet columns (every field of the type); False if some value fits no column.

    Money and hours are decimals wide enough for every value (DECIMAL(24,2) or more places); ``narrow`` writes
    the types the checks can lean on where the values fit them — money DECIMAL(22,2) or INT32, hours INT64,
    integers INT32, texts as large strings or dictionary-encoded — which the reader judges in those types.
    """
    folder.mkdir()
    for fact_type, rows in by_type(facts).items():
        if any(k != "type" and k not in {c.name for c in columnar.columns(fact_type)} for r in rows for k in r):
            return False
        arrays, names = [], []
        for column in columnar.columns(fact_type):
            values = [r.get(column.name) for r in rows]
            kind = column.kind
            if kind in ("money", "number"):
                if not all(v is None or (isinstance(v, str) and _DECIMAL.match(v)) for v in values):
                    return False
                scale = max([2 if kind == "money" else 0, *(_places(v) for v in values if v is not None)])
                typ = pa.decimal128(22 + scale, scale)
                values = [None if v is None else Decimal(v) for v in values]
                if narrow and all(v is None or (v == v.to_integral_value() and abs(v) < 2**31) for v in values):
                    typ = pa.int32() if kind == "money" else pa.int64()
                    values = [None if v is None else int(v) for v in values]
                elif narrow and kind == "money" and scale == 2 and all(v is None or abs(v) < 10**20 for v in values):
                    typ = pa.decimal128(22, 2)
            elif kind == "date":
                try:
                    values = [None if v is None else date.fromisoformat(v) for v in values]
                except (TypeError, ValueError):
                    return False
                typ = pa.date32()
            else:
                typ = column.arrow
                wanted = {"bool": bool, "int": int, "refs": list}.get(kind, str)
                if not all(
                    v is None or (isinstance(v, wanted) and not (wanted is int and isinstance(v, bool))) for v in values
                ):
                    return False
                if narrow and kind == "int" and all(v is None or abs(v) < 2**31 for v in values):
                    typ = pa.int32()
                elif narrow and wanted is str:
                    typ = pa.large_string() if column.values is None else pa.dictionary(pa.int32(), pa.string())
            arrays.append(pa.array(values, type=typ))
            names.append(column.name)
        pq.write_table(pa.Table.from_arrays(arrays, names=names), folder / f"{fact_type}.parquet")
    return True


def parquet_reference(folder: Path) -> list[dict[str, Any]]:
    """The document the Parquet folder holds, as the loader reads it: files by name, rows in order, a null an
    absent field, a date its ISO text, a decimal without the column's padding beyond two places."""
    out = []
    for path in sorted(folder.glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            fact: dict[str, Any] = {"type": path.stem}
            for k, v in row.items():
                if v is None:
                    continue
                if isinstance(v, date):
                    v = v.isoformat()
                elif isinstance(v, Decimal) and v.as_tuple().exponent < -2:
                    v = v.normalize()
                fact[k] = v
            out.append(fact)
    return out


# --- comparing ---------------------------------------------------------------------------------------------


def outcome(call: Any) -> tuple[str, Any]:
    """What a reader gives: its facts (a FactSet), or its problems."""
    try:
        found = call()
    except InputError as err:
        return "problems", [(p.message, p.index, p.fact_type, p.fact_id, p.field, p.source) for p in err.problems]
    if not isinstance(found, FactSet):
        with found:
            found = found.to_factset()
    return "facts", (found.facts, found.rejected, found.read)


@contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="swrules-columnar-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parquet_places(folder: Path, facts: list[dict[str, Any]]) -> list[str]:
    """Where each fact of the Parquet reference is, as the loader's ``sources`` name it: ``path row N`` (the first
    row is row 1), files by name."""
    where: list[str] = []
    for fact_type, rows in sorted(by_type(facts).items()):
        where.extend(f"{folder / (fact_type + '.parquet')} row {n}" for n in range(1, len(rows) + 1))
    return where


def compare(
    facts: list[dict[str, Any]], keep_going: bool, typed_only: bool, note: Any = lambda _: None, narrow: bool = False
) -> None:
    """Write ``facts`` in the three formats; each columnar reader must give what the loader gives."""
    with scratch() as tmp:
        write_jsonl(tmp / "facts.jsonl", facts)
        expected = outcome(lambda: read_facts(str(tmp / "facts.jsonl"), keep_going=keep_going))
        note(f"loader: {expected[0]}{' with rejected' if expected[0] == 'facts' and expected[1][1] else ''}")
        assert outcome(lambda: columnar.read_jsonl(str(tmp / "facts.jsonl"), keep_going=keep_going)) == expected
        if facts:
            write_csv(tmp / "csv", facts)
            expected = outcome(lambda: read_csv_folder(str(tmp / "csv"), keep_going=keep_going))
            assert outcome(lambda: columnar.read_csv_folder(str(tmp / "csv"), keep_going=keep_going)) == expected
        if facts and write_parquet(tmp / "parquet", facts, narrow):
            reference = parquet_reference(tmp / "parquet")
            where = parquet_places(tmp / "parquet", facts)
            expected = outcome(lambda: load_facts(reference, keep_going=keep_going, sources=where))
            got = outcome(lambda: columnar.read_parquet_folder(str(tmp / "parquet"), keep_going=keep_going))
            note(f"parquet compared: {expected[0]}")
            assert got == expected
        elif typed_only and facts:
            pytest.fail("a typed spoiler did not fit a Parquet column")  # the strategy's promise


@settings(max_examples=EXAMPLES)
@given(st.booleans().flatmap(lambda typed: st.tuples(st.just(typed), spoilt(typed))), st.booleans(), st.booleans())
def test_the_columnar_readers_report_and_keep_what_the_loader_does(drawn: Any, keep_going: bool, narrow: bool) -> None:
    typed_only, facts = drawn
    compare(facts, keep_going, typed_only, event, narrow)


CHAIN = [
    {"type": "community", "id": "c1", "kind": "suburb"},
    {"type": "person", "id": "p1", "role": "other", "community": "c1"},
    {"type": "person", "id": "p2", "role": "other"},
    {"type": "organization", "id": "o1", "kind": "other"},
    {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-01-01"},
    {"type": "post", "id": "q1", "band": "junior", "tier": 1, "holder": "p1", "organization": "o1"},
    {"type": "service_project", "id": "s1", "organization": "o1", "funds": "10.00", "personnel_cost": "1.00",
     "social_workers": ["p2", "p1"]},
    {"type": "service_project", "id": "s2", "organization": "o9", "funds": "10.00", "personnel_cost": "1.00"},
    {"type": "post", "id": "q2", "band": "junior", "tier": 1, "holder": "p2", "valid_until": "2021-06-30"},
    {"type": "post", "id": "q2", "band": "junior", "tier": 2, "holder": "p2", "valid_from": "2021-06-01"},
]  # fmt: skip
JURISDICTIONS = [
    {"type": "jurisdiction", "id": "zj", "population": 1},
    {"type": "jurisdiction", "id": "dn", "population": 2},
    {"type": "jurisdiction", "id": "zj", "population": 3},
    {"type": "jurisdiction", "id": "xx", "valid_from": "2021-01-01"},
]


# Facts with problems of their own still count: their ids are present (a reference to one is no dangling
# reference), two of them or one and a valid fact share an id, their own references may dangle.
SHADOWS = [
    {"type": "person", "id": "p1", "role": "wizard"},
    {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-01-01"},
    {"type": "person", "id": "p2", "role": "wizard"},
    {"type": "person", "id": "p2", "role": "other", "community": ""},
    {"type": "post", "id": "q3", "band": "junior", "tier": 7, "holder": "nobody"},
    {"type": "person", "id": "p3", "role": "other", "valid_from": "2021-01-01"},
    {"type": "person", "id": "p3", "role": "wizard", "valid_from": "2021-06-01"},
    {"type": "person", "id": "p4", "role": "other"},
    {"type": "person", "id": "p4", "role": "wizard", "valid_from": "2021-02-30"},
    {"type": "service_project", "id": "s1", "organization": "o1", "funds": "-1", "personnel_cost": "1.00",
     "social_workers": ["p1", "p9"]},
    {"type": "organization", "id": "o1", "kind": "other"},
    {"type": "person", "id": "p5", "role": "wizard", "valid_from": "2021-01-01"},
    {"type": "person", "id": "p5", "role": "other", "valid_from": "2021-03-01"},
    {"type": "certificate", "id": "k2", "holder": "p9", "level": "assistant", "obtained_on": "2021-01-01"},
]  # fmt: skip


@pytest.mark.parametrize("keep_going", [False, True])
@pytest.mark.parametrize(
    ("facts", "wanted"),
    [(CHAIN, "depends on person 'p1'"), (JURISDICTIONS, "only one jurisdiction"), (SHADOWS, "same id")],
    ids=["chain", "jurisdictions", "shadows"],
)
def test_what_random_documents_rarely_hold(facts: list[dict[str, Any]], wanted: str, keep_going: bool) -> None:
    """Chains of dependants left out pass by pass (a reference in a list, a history), several jurisdictions,
    the ids, histories and references of facts with problems of their own."""
    compare(facts, keep_going, typed_only=False)
    try:  # what the loader says, so that the comparison above is known to cover these paths
        said = [r for rejected in load_facts(facts, keep_going=True).rejected for r in rejected.reasons]
    except InputError as err:
        said = [p.message for p in err.problems]
    assert sum(wanted in r for r in said) >= 2


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_line_that_is_not_json_is_reported_with_the_others(tmp_path: Path, keep_going: bool) -> None:
    path = tmp_path / "facts.jsonl"
    lines = [json.dumps(CHAIN[0]), "{not json", json.dumps({**CHAIN[1], "role": "wizard"}), json.dumps(CHAIN[2])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = outcome(lambda: read_facts(str(path), keep_going=keep_going))
    assert outcome(lambda: columnar.read_jsonl(str(path), keep_going=keep_going)) == expected
    places = [r.where for r in expected[1][1]] if keep_going else [p[5] for p in expected[1]]
    assert places == [f"{path} line {n}" for n in (1, 2, 3)]  # CHAIN's community is spoilt too


def test_every_fact_type_has_a_column_for_every_field() -> None:
    import attrs

    for fact_type, cls in FACT_TYPES.items():
        assert [c.name for c in columnar.columns(fact_type)] == [a.name for a in attrs.fields(cls)]
