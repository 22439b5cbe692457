"""The columnar engine against the native one: the same JSON, byte for byte, or a clear refusal before any fact.

Golden cases of every ruleset, the sample county's included, run on both engines (by default every third case
of the smaller rulesets and every 24th of dingnan-2020 and the sample county, whose plans take longest to
compile, to keep the suite short; ``SWRULES_COLUMNAR_GOLDEN=all`` runs every one). A property holds the two
engines equal on random populations, with and without histories, over years and months. A ruleset using a
construct the compiler does not translate is refused at compile time, naming the ruleset, the rule and the
construct.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import PERIODS, populations

pytest.importorskip("ibis")
columnar = pytest.importorskip("swrules.columnar")

from parquet_folders import write_parquet_folder  # noqa: E402

from swrules.cases import Case, case_files, load_cases  # noqa: E402
from swrules.columnar._engine import check_columnar  # noqa: E402
from swrules.errors import ColumnarUnsupportedError, EngineError, SwrulesError  # noqa: E402
from swrules.evaluation import evaluate  # noqa: E402
from swrules.period import Period  # noqa: E402
from swrules.rulesets import load_ruleset  # noqa: E402

GOLDEN = Path(__file__).parent.parent / "golden"
EXAMPLE = Path(str(resources.files("swrules") / "examples" / "sample-county-2024"))
RULESETS = ("xx-county-2023", "zhejiang-2019", "national-grades", "dingnan-2020", "sample-county-2024")
#: Every how many cases of a ruleset the default run takes (the rest: every third).
STRIDE = {"dingnan-2020": 24, "sample-county-2024": 24}
EXAMPLES = max(5, settings().max_examples // 10)


def _ruleset_id(case: Case) -> str:
    return case.ruleset if isinstance(case.ruleset, str) else Path(case.ruleset).stem


def _all_cases() -> list[Case]:
    return [c for path in case_files([GOLDEN, EXAMPLE / "cases.toml"]) for c in load_cases(path)]


def _cases() -> list[Case]:
    found = _all_cases()
    if os.environ.get("SWRULES_COLUMNAR_GOLDEN") == "all":
        return found
    out = []
    for ruleset in RULESETS:
        of = [c for c in found if _ruleset_id(c) == ruleset]
        out += of[:: STRIDE.get(ruleset, 3)]
    return out


def _outcome(facts: Any, ruleset: Any, period: str, engine: str, parameters: Any = None) -> str:
    try:
        if isinstance(ruleset, Path):
            ruleset = load_ruleset(ruleset)
        return evaluate(facts, ruleset=ruleset, period=period, engine=engine, parameters=parameters).to_json()
    except SwrulesError as err:
        return f"{type(err).__name__}: {err}"


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{Path(c.file).stem}: {c.name[:60]}") for c in _cases()])
def test_golden_case_is_byte_identical(case: Case) -> None:
    native = _outcome(case.facts, case.ruleset, case.period, "native", case.parameters or None)
    assert _outcome(case.facts, case.ruleset, case.period, "columnar", case.parameters or None) == native


def test_the_default_run_takes_a_third_of_the_cases_and_all_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWRULES_COLUMNAR_GOLDEN", raising=False)
    some = _cases()
    monkeypatch.setenv("SWRULES_COLUMNAR_GOLDEN", "all")
    every = _cases()
    assert len(every) == len(_all_cases())
    for ruleset in RULESETS:
        n = len([c for c in every if _ruleset_id(c) == ruleset])
        stride = STRIDE.get(ruleset, 3)
        assert n and len([c for c in some if _ruleset_id(c) == ruleset]) == (n + stride - 1) // stride
    assert {_ruleset_id(c) for c in every} == set(RULESETS)


@pytest.mark.parametrize("ruleset", ["xx-county-2023", "zhejiang-2019"])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_columnar_equals_native_on_random_populations(ruleset: str, data: st.DataObject) -> None:
    facts = data.draw(populations(max_persons=6, histories=data.draw(st.booleans())))
    period = data.draw(st.sampled_from(PERIODS[ruleset]))
    assert _outcome(facts, ruleset, period, "columnar") == _outcome(facts, ruleset, period, "native")


# dingnan-2020's plans take seconds to compile for each period: fewer examples, the periods drawn from its list.
@settings(max_examples=max(3, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_columnar_equals_native_on_random_dingnan_populations(data: st.DataObject) -> None:
    facts = data.draw(populations(max_persons=6, histories=data.draw(st.booleans())))
    period = data.draw(st.sampled_from(PERIODS["dingnan-2020"]))
    assert _outcome(facts, "dingnan-2020", period, "columnar") == _outcome(facts, "dingnan-2020", period, "native")


def test_what_ifs_are_applied_as_on_the_native_engine() -> None:
    facts = [
        {"type": "jurisdiction", "id": "j1"},
        {"type": "person", "id": "p1", "role": "community_worker", "organization": "o1"},
        {"type": "person", "id": "p2", "role": "village_cadre", "organization": "o1", "social_work_education": True},
        {"type": "organization", "id": "o1", "kind": "social_work_agency"},
        {"type": "certificate", "id": "c1", "holder": "p1", "level": "assistant", "obtained_on": "2023-03-01"},
        {"type": "talent_selection", "id": "t1", "person": "p1", "year": 2023},
        {"type": "talent_selection", "id": "t2", "person": "p1", "year": 2024},
    ]
    for changes in (
        {"agency_indicator.reading": "two_shares"},
        {"agency_indicator.reading": "both", "certified_share.roles": ["village_cadre", "community_worker"]},
        {"talent.once_per_person": False, "talent.reward": "2000.50"},
    ):
        for period in ("2023", "2024-12"):
            native = _outcome(facts, "xx-county-2023", period, "native", changes)
            assert _outcome(facts, "xx-county-2023", period, "columnar", changes) == native


def test_facts_read_into_tables_give_the_same_result(tmp_path: Path) -> None:
    facts = [
        {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
        {"type": "community", "id": "c1", "kind": "urban", "township": "t1"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "senior", "obtained_on": "2021-05-01"},
        {"type": "training", "id": "tr1", "person": "p1", "year": 2020, "hours": "60.5"},
        {"type": "organization", "id": "o1", "kind": "public_institution", "primarily_social_work": True},
        {"type": "post", "id": "q1", "band": "senior", "tier": 1, "organization": "o1", "holder": "p1"},
    ]
    path = tmp_path / "facts.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    with columnar.read_jsonl(str(path)) as tables:
        assert tables.scaled
        got = evaluate(tables, ruleset="zhejiang-2019", period="2022", engine="columnar").to_json()
        # The native engine on the same tables' facts, each decimal given back its places.
        held = evaluate(tables.to_factset(), ruleset="zhejiang-2019", period="2022", engine="native").to_json()
    # Read from text, each decimal keeps the places it was written with: the native engine's output on the file.
    assert got == held == evaluate(facts, ruleset="zhejiang-2019", period="2022", engine="native").to_json()
    assert '"actual": 60.5,' in got
    # From Parquet, a decimal is its column's: as the native engine gives on the same tables' facts.
    folder = tmp_path / "parquet"
    with columnar.read_jsonl(str(path)) as tables:
        write_parquet_folder(tables, folder)
    with columnar.read_parquet_folder(str(folder)) as tables:  # hours as the column holds them: 18 places
        assert not tables.scaled
        got = evaluate(tables, ruleset="zhejiang-2019", period="2022", engine="columnar").to_json()
        held = evaluate(tables.to_factset(), ruleset="zhejiang-2019", period="2022", engine="native").to_json()
    assert got == held and '"actual": 60.500000000000000000,' in got


def test_every_derived_item_can_be_found_and_names_its_rule() -> None:
    facts = [
        {"type": "person", "id": "p1", "role": "community_worker"},
        {"type": "certificate", "id": "k1", "holder": "p1", "level": "intermediate", "obtained_on": "2020-01-01"},
        {"type": "post", "id": "q1", "band": "intermediate", "tier": 2, "organization": "o1", "holder": "p1"},
        {"type": "organization", "id": "o1", "kind": "public_institution"},
    ]
    result = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar")
    native = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="native")
    assert result.keys() == native.keys()
    assert result.get("post_grade/q1") == native.get("post_grade/q1")
    assert result.engine == "columnar"


def test_a_construct_not_compiled_is_refused_before_any_fact_is_read(refused_ruleset: Path) -> None:
    # the ruleset (conftest.py): dingnan-2020 with a division outside round(…) in its salary-floor rule
    with pytest.raises(ColumnarUnsupportedError) as caught:
        evaluate(["not a fact"], ruleset=load_ruleset(refused_ruleset), period="2021", engine="columnar")
    err = caught.value
    assert err.ruleset == "dingnan-2020" and err.rule == "salary-floor"
    assert "division" in err.construct
    assert err.rule in str(err) and "dingnan-2020" in str(err) and "native engine" in str(err)
    assert isinstance(err, EngineError)


def test_the_check_alone_passes_every_ruleset_and_refuses_what_is_not_compiled(refused_ruleset: Path) -> None:
    for ruleset in ("xx-county-2023", "zhejiang-2019", "national-grades", "dingnan-2020"):
        for period in PERIODS.get(ruleset, ("2021",))[:1]:
            check_columnar(load_ruleset(ruleset), Period.parse(period))
    check_columnar(load_ruleset(EXAMPLE / "sample-county-2024.toml"), Period.parse("2024-03"))
    with pytest.raises(ColumnarUnsupportedError, match="division"):
        check_columnar(load_ruleset(refused_ruleset), Period.parse("2021"))


def test_a_rule_error_fails_as_on_the_native_engine() -> None:
    # A reporting duty without a deadline reaches error(…): both engines fail naming the rule.
    ruleset = load_ruleset("xx-county-2023")
    import attrs

    spec = ruleset.rule("report-plan")
    broken = attrs.evolve(
        ruleset, rules=tuple(attrs.evolve(r, deadline=None) if r is spec else r for r in ruleset.rules)
    )
    facts = [{"type": "jurisdiction", "id": "j1"}]
    for engine in ("native", "columnar"):
        with pytest.raises(EngineError, match="report-plan"):
            evaluate(facts, ruleset=broken, period="2023", engine=engine)


def test_money_keeps_the_places_it_was_given() -> None:
    facts = [
        {"type": "organization", "id": "o1", "kind": "social_work_agency"},
        {"type": "service_project", "id": "s1", "organization": "o1", "funds": "1000", "personnel_cost": "700.5"},
    ]
    result = evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="columnar")
    (finding,) = [f for f in result.findings if f.requirement == "personnel_cost_cap"]
    assert finding.actual == Decimal("700.5") and str(finding.actual) == "700.5"
    assert str(finding.required) == "700.00"
    assert result.to_json() == evaluate(facts, ruleset="zhejiang-2019", period="2021", engine="native").to_json()
