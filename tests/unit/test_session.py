"""Incremental sessions: what an HR system sees when it sends events one at a time."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest

import swrules
from swrules import InputError, RuleFailedError, Session
from swrules.engine import ENGINES, durable_available

ENGINES_HERE = [e for e in ENGINES if e == "native" or durable_available()]
EXAMPLES = Path(swrules.__file__).parent / "examples"

BASE = [
    {"type": "community", "id": "c1", "kind": "urban"},
    {"type": "community", "id": "c2", "kind": "rural"},
    {"type": "person", "id": "p1", "role": "community_worker", "community": "c1"},
    {"type": "person", "id": "p2", "role": "village_cadre", "community": "c2"},
    {"type": "jurisdiction", "id": "dingnan", "population": 1500},
]
ORDER = [
    "community",
    "organization",
    "jurisdiction",
    "person",
    "certificate",
    "post",
    "exam_registration",
    "service_project",
    "training",
    "talent_selection",
]
CERT = {"type": "certificate", "id": "k1", "holder": "p1", "level": "assistant", "obtained_on": "2021-03-15"}


def scratch(session: Session) -> str:
    return swrules.evaluate(session.facts, ruleset=session.ruleset, period=session.period, engine="native").to_json()


@pytest.fixture(params=ENGINES_HERE)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_new_certificate_adds_its_reward_and_allowances_and_removing_it_takes_them_back(engine: str) -> None:
    s = Session(ruleset="dingnan-2020", period="2021", engine=engine, facts=BASE)
    update = s.add(CERT)
    paid = {(o.kind.value, o.period): o.amount for o in update.added if isinstance(o, swrules.Obligation)}
    assert paid[("exam_reward", "2021")] == Decimal("1000.00")
    assert {p for k, p in paid if k == "monthly_allowance"} == {f"2021-{m:02d}" for m in range(4, 13)}
    assert len(update.obligations) == 10
    # The community now has its certified professional; the eligibility of p1 for the junior band changed.
    changed = {
        (new.requirement if isinstance(new, swrules.Finding) else type(new).__name__) for _, new in update.changed
    }
    assert "community_staffing" in changed and "Eligibility" in changed
    assert s.result().to_json() == scratch(s)

    back = s.remove("certificate/k1")
    assert sorted(o.id for o in back.removed if isinstance(o, swrules.Obligation)) == sorted(
        o.id for o in update.obligations
    )
    assert not back.added
    assert s.result().to_json() == scratch(s)
    assert s.result().to_json() == Session(ruleset="dingnan-2020", period="2021", facts=BASE).result().to_json()


def test_replacing_a_person_moves_them_between_communities(engine: str) -> None:
    s = Session(ruleset="dingnan-2020", period="2021", engine=engine, facts=[*BASE, CERT])
    before = {f.subject: f for f in s.result().findings if f.requirement == "community_staffing"}
    assert before["c1"].actual == 1 and before["c2"].actual == 0
    s.replace({"type": "person", "id": "p1", "role": "community_worker", "community": "c2"})
    after = {f.subject: f for f in s.result().findings if f.requirement == "community_staffing"}
    assert after["c1"].actual == 0 and after["c2"].actual == 1
    assert s.result().to_json() == scratch(s)


def test_an_unchanged_conclusion_is_not_reported(engine: str) -> None:
    s = Session(ruleset="dingnan-2020", period="2021", engine=engine, facts=[*BASE, CERT])
    # A second, lower certificate obtained later changes nothing the person is paid or eligible for.
    update = s.add(
        {"type": "certificate", "id": "k0", "holder": "p1", "level": "assistant", "obtained_on": "2021-06-01"}
    )
    assert [o.id for o in update.added] == ["dingnan-2020/exam-reward/k0"]
    assert not update.removed and not update.changed
    assert bool(update) and not bool(s.add({"type": "community", "id": "c3", "kind": "rural"}).obligations)


def test_the_result_is_a_snapshot(engine: str) -> None:
    s = Session(ruleset="dingnan-2020", period="2021", engine=engine, facts=BASE)
    first = s.result()
    text = first.to_json()
    s.add(CERT)
    assert first.to_json() == text and not first.obligations
    assert s.result().obligations
    explained = s.result().explain("dingnan-2020/exam-reward/k1")
    assert explained.clause == "dn2020.s3.1.exam-reward"
    assert [f["alias"] for f in explained.to_dict()["facts"]] == ["c", "p"]


def test_the_bundled_example_is_the_same_event_by_event_as_all_at_once() -> None:
    doc = json.loads((EXAMPLES / "dingnan-2020.json").read_text(encoding="utf-8"))
    s = Session(ruleset="dingnan-2020", period="2021")
    for fact in sorted(doc["facts"], key=lambda f: ORDER.index(f["type"])):  # what is referred to comes first
        s.add(fact)
    assert len(s) == len(doc["facts"])
    assert s.result().to_json() == swrules.evaluate(doc, ruleset="dingnan-2020", period="2021").to_json()


def test_bad_input_names_the_fact_and_field_and_changes_nothing() -> None:
    s = Session(ruleset="dingnan-2020", period="2021", facts=[*BASE, CERT])
    held = s.result().to_json()
    with pytest.raises(InputError, match=r"certificate 'k1'.*id: duplicate id: a certificate with this id is already"):
        s.add(CERT)
    with pytest.raises(
        InputError, match=r"certificate 'k2'.*holder: refers to person 'nobody', which is neither among"
    ):
        s.add({**CERT, "id": "k2", "holder": "nobody"})
    with pytest.raises(InputError, match=r"level: must be one of assistant"):
        s.add({**CERT, "id": "k2", "level": "expert"})
    with pytest.raises(InputError, match=r"there is no certificate 'k9' to replace"):
        s.replace({**CERT, "id": "k9"})
    with pytest.raises(InputError, match=r"only one jurisdiction"):
        s.add({"type": "jurisdiction", "id": "other", "population": 5})
    with pytest.raises(InputError, match=r"no fact 'k9' is held"):
        s.remove("k9")
    with pytest.raises(InputError, match=r"expected \(got 3\)"):
        s.remove(3)  # type: ignore[arg-type]
    assert s.result().to_json() == held and len(s) == 6


def test_removing_a_fact_others_refer_to_needs_cascade() -> None:
    s = Session(ruleset="dingnan-2020", period="2021", facts=[*BASE, CERT])
    with pytest.raises(InputError, match=r"person 'p1'.*1 fact\(s\) refer to it \(certificate 'k1'\).*cascade=True"):
        s.remove("person/p1")
    update = s.remove("p1", cascade=True)  # a bare id names the one fact that has it
    assert "person/p1" not in s and "certificate/k1" not in s and len(s) == 4
    assert {o.payee for o in update.removed if isinstance(o, swrules.Obligation)} == {"p1"}
    assert s.result().to_json() == scratch(s)


def test_an_id_two_types_share_must_be_given_with_its_type() -> None:
    s = Session(ruleset="dingnan-2020", period="2021", facts=[{"type": "community", "id": "x", "kind": "urban"}])
    s.add({"type": "person", "id": "x", "role": "other"})
    with pytest.raises(InputError, match=r"'x' names more than one fact \(person/x, community/x\)"):
        s.remove("x")
    s.remove("person/x")
    s.remove(swrules.Community(id="x", kind=swrules.CommunityKind.URBAN))
    assert len(s) == 0 and "x" not in s


def test_a_failed_update_leaves_the_session_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    from tests.reliability.test_faults import _boom, install

    install(monkeypatch, _boom)
    text = (Path(__file__).parents[1] / "reliability" / "test_faults.py").read_text(encoding="utf-8")
    path = tmp_path / "faulty.toml"
    path.write_text(text.split('RULESET = """')[1].split('"""')[0], encoding="utf-8")
    s = Session(ruleset=path, period="2021", engine=engine, facts=[{"type": "person", "id": "p1", "role": "other"}])
    held = s.result().to_json()
    with pytest.raises(RuleFailedError, match="ZeroDivisionError"):
        s.add({"type": "person", "id": "p9", "role": "other"})
    assert len(s) == 1 and s.result().to_json() == held
    s.add({"type": "person", "id": "p3", "role": "other"})
    assert [e.person for e in s.result().eligibility][-1] == "p3"


def test_calls_from_several_threads_are_serialised() -> None:
    s = Session(ruleset="dingnan-2020", period="2021", facts=BASE)

    def work(n: int) -> None:
        for i in range(20):
            s.add({"type": "person", "id": f"t{n}-{i}", "role": "community_worker", "community": "c1"})
            s.add(
                {
                    "type": "certificate",
                    "id": f"k{n}-{i}",
                    "holder": f"t{n}-{i}",
                    "level": "intermediate",
                    "obtained_on": "2020-05-01",
                }
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(s) == len(BASE) + 160
    assert s.result().to_json() == scratch(s)


def test_what_a_session_holds_round_trips_and_reads_plainly() -> None:
    s = Session(ruleset="dingnan-2020", period="2021-06", facts=[*BASE, CERT])
    assert (
        Session(ruleset="dingnan-2020", period="2021-06", facts=s.to_dict()).result().to_json() == s.result().to_json()
    )
    assert repr(s).startswith("Session(ruleset='dingnan-2020', period=2021-06")
    update = s.add({"type": "certificate", "id": "k5", "holder": "p2", "level": "senior", "obtained_on": "2021-06-30"})
    as_dict = update.to_dict()
    assert {c["after"]["section"] for c in as_dict["changed"]} == {"eligibility", "findings"}
    assert as_dict["added"] == [] and as_dict["removed"] == []


@pytest.mark.skipif(durable_available(), reason="durable-rules imports here")
def test_the_durable_engine_is_refused_clearly_where_it_cannot_load() -> None:
    with pytest.raises(swrules.EngineUnavailableError, match="engine='native'"):
        Session(ruleset="dingnan-2020", period="2021", engine="durable")


def test_auto_takes_the_native_engine_for_a_session() -> None:
    session = Session(ruleset="dingnan-2020", period="2021", engine="auto", facts=BASE)
    assert session.engine == "native"
    session.add(CERT)
    assert session.result().engine == "native" and session.result().to_json() == scratch(session)
