"""Golden cases: policy behaviour pinned in TOML files that people who do not write Python can read and run.

A case names a behaviour as a sentence, gives facts (inline or a bundled
example), a ruleset and a period, and lists the items expected, absent or
counted — only the fields that matter (see ``docs/cases.md``). ``run_file``
and ``run_paths`` evaluate them and report every difference per field;
``swrules test`` prints the report.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Final

import attrs

from swrules.engine import ENGINES
from swrules.errors import RulesetError, SwrulesError, shown
from swrules.evaluation import evaluate
from swrules.items import ITEM_TYPES, OUTPUT_SECTIONS
from swrules.load import parse_json
from swrules.period import Period
from swrules.rulesets import Ruleset, load_ruleset

__all__ = ["Case", "CaseFileError", "CaseResult", "load_cases", "run_case", "run_file", "run_paths"]

NULL: Final = "<null>"
_CASE_KEYS: Final = {
    "name",
    "ruleset",
    "period",
    "clause",
    "facts",
    "example",
    "parameters",
    "engine",
    "expect",
    "absent",
    "count",
    "error",
}
_MAX_CASE_BYTES: Final = 5_000_000
_MISSING: Final = object()


@attrs.frozen(kw_only=True)
class Case:
    """One golden case as read from its file."""

    name: str
    file: str
    ruleset: str | Path
    period: str
    clause: str | None
    facts: Any
    parameters: Mapping[str, Any]
    engine: str | None
    expect: tuple[Mapping[str, Any], ...]
    absent: tuple[Mapping[str, Any], ...]
    count: tuple[Mapping[str, Any], ...]
    error: str | None


@attrs.frozen(kw_only=True)
class CaseResult:
    """The outcome of one case: passed, or the readable differences."""

    case: Case
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def file(self) -> str:
        return self.case.file


def _fail(file: str, key: str, message: str) -> RulesetError:
    return RulesetError(message, file=file, key=key)


class CaseFileError(RulesetError):
    """Every problem found in one or more case files, in one run; ``errors`` holds each, naming file and key."""

    def __init__(self, errors: Sequence[RulesetError]) -> None:
        self.errors = tuple(errors)
        self.file, self.key = errors[0].file, errors[0].key
        ValueError.__init__(self, f"{len(errors)} problems in case files:\n" + "\n".join(str(e) for e in errors))


def _raise_all(errors: Sequence[RulesetError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise CaseFileError(errors)


def load_cases(path: str | Path) -> list[Case]:
    """Read and check a case file; any malformed entry raises :class:`RulesetError` naming file and key."""
    p = Path(path)
    file = str(p)
    try:
        raw_bytes = p.read_bytes()
    except OSError as err:
        raise RulesetError(f"cannot read case file: {err.strerror}", file=file) from None
    if len(raw_bytes) > _MAX_CASE_BYTES:
        raise RulesetError(f"case file is larger than {_MAX_CASE_BYTES} bytes", file=file)
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise RulesetError("is not UTF-8 text", file=file) from None
    except tomllib.TOMLDecodeError as err:
        raise RulesetError(f"is not valid TOML: {err}", file=file) from None
    for key in data:
        if key != "cases":
            raise _fail(file, key, "unknown key (a case file holds [[cases]] only)")
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise _fail(file, "cases", "must be one or more [[cases]] tables")
    rulesets: dict[str | Path, Ruleset] = {}
    errors: list[RulesetError] = []
    cases: list[Case] = []
    for i, raw in enumerate(raw_cases):  # every case is checked, every problem of every case reported
        before = len(errors)
        case = _case(raw, file, p.parent, i, errors)
        if case is not None and len(errors) == before:
            try:
                _check_against_ruleset(case, f"cases[{i}] ({shown(case.name)})", rulesets)
            except RulesetError as err:
                errors.append(err)
            cases.append(case)
    _raise_all(errors)
    return cases


def _check_against_ruleset(case: Case, where: str, cache: dict[str | Path, Ruleset]) -> None:
    """What needs the ruleset: it loads, the clause is one it cites, the parameters are its own.

    A case that expects an error may have a bad period or parameter on purpose; those are left to the evaluation.
    """
    file = case.file
    if case.ruleset not in cache:
        try:
            cache[case.ruleset] = load_ruleset(case.ruleset)
        except SwrulesError as err:
            raise _fail(file, f"{where}.ruleset", f"cannot be loaded: {err}") from None
    ruleset = cache[case.ruleset]
    if case.clause is not None and case.clause not in {r.clause for r in ruleset.rules}:
        cited = ", ".join(sorted({r.clause for r in ruleset.rules}))
        raise _fail(
            file, f"{where}.clause", f"{shown(case.clause)} is cited by no rule of {ruleset.id} (it cites {cited})"
        )
    if case.error is not None:
        return
    try:
        Period.parse(case.period)
    except SwrulesError as err:
        raise _fail(file, f"{where}.period", str(err)) from None
    if case.parameters:
        try:
            ruleset.with_parameters(case.parameters)
        except RulesetError as err:
            raise _fail(file, f"{where}.parameters.{err.key}", str(err).split(": ", 1)[-1]) from None


def _case(raw: object, file: str, folder: Path, index: int, errors: list[RulesetError]) -> Case | None:
    """One case, or None with its problems (all of them) added to ``errors``."""
    before = len(errors)

    def fail(key: str, message: str) -> None:
        errors.append(_fail(file, key, message))

    where = f"cases[{index}]"
    if not isinstance(raw, dict):
        fail(where, "must be a table")
        return None
    for key in raw:
        if key not in _CASE_KEYS:
            fail(f"{where}.{key}", "unknown key")
    for key in ("name", "ruleset", "period"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            fail(f"{where}.{key}", "is required (a non-empty string)")
    name = raw["name"] if isinstance(raw.get("name"), str) else ""
    if name:
        where = f"cases[{index}] ({shown(name)})"
    ruleset: Any = raw.get("ruleset")
    if isinstance(ruleset, str) and (ruleset.endswith(".toml") or "/" in ruleset):
        ruleset = (folder / ruleset).resolve()
    has_facts, has_example = "facts" in raw, "example" in raw
    facts: Any = None
    if has_facts == has_example:
        fail(where, "give either facts or example (one of them)")
    elif has_facts:
        if not isinstance(raw["facts"], list):
            fail(f"{where}.facts", "must be an array of fact tables")
        else:
            facts = {"facts": [_plain(f) for f in raw["facts"]]}
    elif not isinstance(raw["example"], str):
        fail(f"{where}.example", "must be the id of a bundled example")
    else:
        try:
            facts = _example(raw["example"], file, f"{where}.example")
        except RulesetError as err:
            errors.append(err)
    params = raw.get("parameters", {})
    if not isinstance(params, dict):
        fail(f"{where}.parameters", "must be a table of parameter values")
    for key in ("clause", "engine", "error"):
        if key in raw and not isinstance(raw[key], str):
            fail(f"{where}.{key}", "must be a string")
    if raw.get("engine") not in (None, *ENGINES):
        fail(f"{where}.engine", f"must be one of {', '.join(ENGINES)}")
    if "error" not in raw and isinstance(raw.get("period"), str) and raw["period"].strip():
        try:  # a case expecting an error may have a bad period on purpose
            Period.parse(raw["period"])
        except SwrulesError as err:
            fail(f"{where}.period", str(err))
    expect = _checks(raw.get("expect", []), file, f"{where}.expect", (), errors)
    absent = _checks(raw.get("absent", []), file, f"{where}.absent", (), errors)
    count = _checks(raw.get("count", []), file, f"{where}.count", ("where", "n"), errors)
    for i, c in enumerate(count):
        if not isinstance(c.get("n"), int) or isinstance(c.get("n"), bool) or c["n"] < 0:
            fail(f"{where}.count[{i}].n", "is required (a whole number)")
        if not isinstance(c.get("where", {}), dict):
            fail(f"{where}.count[{i}].where", "must be a table of field values")
    if "error" not in raw and not (expect or absent or count) and len(errors) == before:
        fail(where, "checks nothing: give expect, absent, count or error")
    if len(errors) > before:
        return None
    return Case(
        name=name,
        file=file,
        ruleset=ruleset,
        period=raw["period"],
        clause=raw.get("clause"),
        facts=facts,
        parameters=_plain(params),
        engine=raw.get("engine"),
        expect=expect,
        absent=absent,
        count=count,
        error=raw.get("error"),
    )


def _checks(
    raw: object, file: str, where: str, extra: tuple[str, ...], errors: list[RulesetError]
) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(raw, list):
        errors.append(_fail(file, where, "must be an array of tables"))
        return ()
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            errors.append(_fail(file, f"{where}[{i}]", "must be a table"))
            continue
        section = entry.get("section")
        if section not in OUTPUT_SECTIONS:
            message = f"must be one of {', '.join(OUTPUT_SECTIONS)} (got {shown(section)})"
            errors.append(_fail(file, f"{where}[{i}].section", message))
            continue
        fields = _section_fields(section)
        if extra:
            for key in entry:
                if key not in ("section", *extra):
                    message = f"unknown key (expected section, {', '.join(extra)})"
                    errors.append(_fail(file, f"{where}[{i}].{key}", message))
            named = entry.get("where", {})
            prefix = f"{where}[{i}].where"
        else:
            named = {k: v for k, v in entry.items() if k != "section"}
            prefix = f"{where}[{i}]"
        if isinstance(named, dict):
            for key in named:
                if key not in fields:
                    message = f"is no field of {section} (its fields: {', '.join(fields)})"
                    errors.append(_fail(file, f"{prefix}.{key}", message))
        out.append(_plain(entry))
    return tuple(out)


def _section_fields(section: str) -> tuple[str, ...]:
    """The fields an item of an output section has in the JSON output."""
    for cls in ITEM_TYPES.values():
        if cls.SECTION == section:
            return tuple(a.name for a in attrs.fields(cls) if a.metadata.get("output", True))
    raise AssertionError(f"no item type for section {section}")  # pragma: no cover


def _plain(value: Any) -> Any:
    """TOML values as the JSON loader sees them: dates as ISO strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float):  # TOML has binary floats; a case means the decimal it shows
        return Decimal(repr(value))
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return value


def _example(name: str, file: str, key: str) -> Any:
    path = resources.files("swrules") / "examples" / f"{name}.json"
    if not path.is_file():
        raise _fail(file, key, f"no bundled example is called {shown(name)}")
    return parse_json(path.read_bytes(), source=f"example {name}")


# -- running -------------------------------------------------------------------------


def run_case(case: Case, *, engine: str | None = None) -> CaseResult:
    """Evaluate one case and compare; never raises for a wrong result, only reports it."""
    try:
        ruleset = load_ruleset(case.ruleset)
        if case.clause is not None and case.clause not in {r.clause for r in ruleset.rules}:
            return CaseResult(case=case, failures=(f"clause {case.clause!r} is cited by no rule of {ruleset.id}",))
        result = evaluate(
            case.facts,
            ruleset=ruleset,
            period=case.period,
            engine=case.engine or engine,
            parameters=case.parameters or None,
        )
    except SwrulesError as err:
        if case.error is not None and case.error in str(err):
            return CaseResult(case=case, failures=())
        expected = f"an error containing {case.error!r}" if case.error is not None else "a result"
        return CaseResult(case=case, failures=(f"expected {expected}, got error: {err}",))
    if case.error is not None:
        return CaseResult(case=case, failures=(f"expected an error containing {case.error!r}, got a result",))
    document = json.loads(result.to_json(), parse_float=Decimal)
    return CaseResult(case=case, failures=tuple(_compare(case, document, ruleset)))


def _compare(case: Case, document: Mapping[str, Any], ruleset: Ruleset) -> list[str]:
    failures: list[str] = []
    for entry in case.expect:
        section = entry["section"]
        wanted = {k: v for k, v in entry.items() if k != "section"}
        items = document[section]
        hits = [item for item in items if _matches(item, wanted)]
        if len(hits) == 1:
            continue
        head = f"expected one item in {section} with {_show_fields(wanted)}"
        if hits:
            failures.append(f"{head}, found {len(hits)}")
            continue
        lines = [f"{head}, found none"]
        closest = _closest(items, wanted)
        if not closest:
            lines.append(f"    ({section} holds {len(items)} items, none agreeing on any of these fields)")
        for item, diffs in closest:
            label = _label(section, item)
            lines.append(f"    closest: {label}")
            lines.extend(f"      {field}: expected {_show(exp)}, got {_show(got)}" for field, exp, got in diffs)
        failures.append("\n".join(lines))
    for entry in case.absent:
        section = entry["section"]
        wanted = {k: v for k, v in entry.items() if k != "section"}
        hits = [item for item in document[section] if _matches(item, wanted)]
        if hits:
            failures.append(
                f"expected no item in {section} with {_show_fields(wanted)}, found {len(hits)}: "
                + ", ".join(_label(section, h) for h in hits[:5])
            )
    for entry in case.count:
        section = entry["section"]
        wanted = dict(entry.get("where", {}))
        hits = [item for item in document[section] if _matches(item, wanted)]
        if len(hits) != entry["n"]:
            what = f" with {_show_fields(wanted)}" if wanted else ""
            failures.append(f"expected {entry['n']} items in {section}{what}, found {len(hits)}")
    del ruleset
    return failures


def _same(expected: Any, actual: Any) -> bool:
    """Strings compare as strings (money is ``"1000.00"``); numbers numerically; ``"<null>"`` is null."""
    if expected == NULL:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(actual, (int, Decimal)) or isinstance(expected, (int, float)):
        left, right = _number(expected), _number(actual)
        return left is not None and left == right
    return bool(expected == actual)


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _matches(item: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(field in item and _same(value, item[field]) for field, value in wanted.items())


def _closest(items: Sequence[Mapping[str, Any]], wanted: Mapping[str, Any]) -> list[tuple[Any, list[Any]]]:
    scored = []
    for item in items:
        diffs = [(f, v, item.get(f, _MISSING)) for f, v in wanted.items() if not (f in item and _same(v, item[f]))]
        scored.append((len(diffs), item, diffs))
    best = min((s for s, _, _ in scored), default=0)
    return [(item, diffs) for s, item, diffs in scored if s == best and s < len(wanted)][:3]


def _label(section: str, item: Mapping[str, Any]) -> str:
    if section == "obligations":
        return str(item.get("id"))
    if section == "post_grades":
        return f"post {item.get('post')}"
    if section == "eligibility":
        return f"{item.get('person')} {item.get('band')}"
    person = f" ({item['person']})" if "person" in item else ""
    return f"{item.get('requirement')} of {item.get('subject')}{person}"


def _show(value: Any) -> str:
    if value is _MISSING:
        return "no such field"
    if value is None or value == NULL:
        return "null"
    return json.dumps(value, ensure_ascii=False, default=str)


def _show_fields(fields: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in fields.items()) or "any fields"


def run_file(path: str | Path, *, engine: str | None = None) -> list[CaseResult]:
    return [run_case(case, engine=engine) for case in load_cases(path)]


def case_files(paths: Iterable[str | Path]) -> list[Path]:
    """The case files named, folders searched recursively for ``*.toml``, in a stable order."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(p.rglob("*.toml")))
        elif p.is_file():
            out.append(p)
        else:
            raise RulesetError("no such file or folder", file=str(p))
    seen: set[Path] = set()
    unique = []
    for path in out:  # a file named twice (or inside a folder also named) runs once
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def run_paths(paths: Iterable[str | Path], *, engine: str | None = None) -> list[CaseResult]:
    """Every case of every file under ``paths``; a malformed file raises before anything runs."""
    files = case_files(paths)
    cases: list[Case] = []
    errors: list[RulesetError] = []
    for f in files:  # every file's problems, not the first file's
        try:
            cases.extend(load_cases(f))
        except CaseFileError as err:
            errors.extend(err.errors)
        except RulesetError as err:
            errors.append(err)
    _raise_all(errors)
    return [run_case(case, engine=engine) for case in cases]
