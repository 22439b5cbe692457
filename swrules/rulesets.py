"""Rulesets as data: loading, layering and validating the TOML files of ``rulesets/``.

A ruleset file states where its policy comes from (title, issuer, document
number, dates), its parameters (amounts, thresholds, tables), and its rules:
for each, the rule itself in the rule language (``swrules.lang``), the catalog clause it implements, the
clause's original text, an English reading, and the assumptions taken where
the text is ambiguous. A file may ``extend`` base layers; a parameter or rule
given twice with different values fails to load unless the later layer says
``override``. Unknown keys are errors, and every error names the file and key.
Rulesets are data only: nothing in a file is ever executed.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import attrs

from swrules.engine import RuleBinding
from swrules.errors import PeriodError, RuleProblemsError, RulesetError, UnknownRulesetError
from swrules.facts import TIERS
from swrules.ir import ParamSpec, RuleDef
from swrules.items import Severity
from swrules.lang import Table, compile_rule, load_table, param_spec
from swrules.period import Period, TimeFrame

__all__ = [
    "WINDOW_PARAMETERS",
    "Assumption",
    "RuleSpec",
    "Ruleset",
    "builtin_dir",
    "list_rulesets",
    "load_ruleset",
    "parse_value",
]

_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9.-]*")  # used with fullmatch: "$" would let a final newline in
_MAX_FILE_BYTES: Final = 2_000_000
#: The most parts a key may have, header and dotted key together (``[parameters]`` + ``allowance.senior`` is 3).
MAX_KEY_PARTS: Final = 32
#: The deepest arrays and inline tables may nest inside one another.
MAX_NESTING: Final = 32
#: The longest chain of ``extends`` (a file, its base, the base's base …), and the most layer files in one ruleset.
MAX_EXTENDS_DEPTH: Final = 32
MAX_LAYERS: Final = 128
#: Decimal parameters: at most this many places after the point (and values are at most 10^12, so at most
#: 12 digits before it); a longer text is refused before it is read as a number.
MAX_DECIMAL_PLACES: Final = 12
_MAX_DECIMAL_TEXT: Final = 64
_META_KEYS: Final = {
    "id": (str, True),
    "kind": (str, False),
    "title": (str, True),
    "title_en": (str, False),
    "issuer": (str, True),
    "issuer_en": (str, False),
    "document_number": (str, False),
    "published": (date, True),
    "applies_from": (date, True),
    "applies_until": (date, False),
    "extends": (list, False),
    "notes": (str, False),
}
#: What a ruleset file is: a policy; a base layer that policies extend; or an example, an invented policy written
#: to teach the rule language (docs/tutorial.md), evaluated like a policy but never a real county's.
_KINDS: Final = ("policy", "base", "example")
_RULE_KEYS: Final = {
    "id",
    "rule",
    "reads",
    "doc",
    "clause",
    "text",
    "reading",
    "override",
    "assumptions",
    "severity",
    "deadline",
}
#: Parameters that are not a rule's: the ruleset's window, overridable on purpose for a what-if.
WINDOW_PARAMETERS: Final = ("applies_from", "applies_until")
_ASSUMPTION_KEYS: Final = {"id", "statement", "reason", "parameter"}
_TOP_KEYS: Final = {"ruleset", "parameters", "overrides", "rules", "parameter_types", "tables", "functions"}
_SEVERITIES: Final = tuple(s.value for s in Severity)


@attrs.frozen(kw_only=True)
class Assumption:
    """A reading chosen where the text is ambiguous, with its reason; ``parameter`` switches it."""

    id: str
    statement: str
    reason: str
    parameter: str | None = None


@attrs.frozen(kw_only=True)
class RuleSpec:
    """One rule of a ruleset: its text in the rule language (``logic``), compiled, bound to a catalog clause."""

    id: str
    clause: str
    text: str
    reading: str
    assumptions: tuple[Assumption, ...]
    source: str
    severity: Severity | None = None
    deadline: date | None = None
    definition: RuleDef = attrs.field(eq=False, repr=False)
    logic: str = ""  # the rule's text in the rule language


def _read_only(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy: loaded rulesets are cached and shared, so nobody may change one in place."""
    return MappingProxyType(dict(mapping))


@attrs.frozen(kw_only=True)
class Ruleset:
    """A policy as data: provenance, parameter values and rules, all layers merged."""

    id: str
    kind: str
    title: str
    title_en: str
    issuer: str
    issuer_en: str
    document_number: str
    published: date
    applies_from: date
    applies_until: date | None
    notes: str
    extends: tuple[str, ...]
    parameters: Mapping[str, Any] = attrs.field(converter=_read_only)
    parameter_sources: Mapping[str, str] = attrs.field(converter=_read_only)
    rules: tuple[RuleSpec, ...]
    sources: tuple[str, ...]
    parameter_types: Mapping[str, ParamSpec] = attrs.field(factory=dict, converter=_read_only)
    tables: Mapping[str, Table] = attrs.field(factory=dict, converter=_read_only)
    #: The shared ``functions`` of each layer that has some, as (the layer's file, the text of its ``def``s).
    functions: tuple[tuple[str, str], ...] = ()

    def rule(self, rule_id: str) -> RuleSpec:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise LookupError(f"ruleset {self.id!r} has no rule {rule_id!r}")

    def bindings(self) -> list[RuleBinding]:
        return [
            RuleBinding(id=r.id, clause=r.clause, definition=r.definition, severity=r.severity, deadline=r.deadline)
            for r in self.rules
        ]

    def frame(self, period: Period) -> TimeFrame:
        """The time frame of an evaluation of ``period``; a period wholly outside the ruleset's window is an error.

        Nothing falls due outside the window (``applies_from`` … ``applies_until``); to evaluate such a period
        anyway, as a what-if, override the window (``with_parameters({"applies_from": "2017-01-01"})``, on the
        command line ``--set applies_from=2017-01-01``).
        """
        if period.end < self.applies_from or (self.applies_until is not None and period.start > self.applies_until):
            until = self.applies_until.isoformat() if self.applies_until else "(no end)"
            raise PeriodError(
                f"period {period} lies outside the window of ruleset {self.id!r}, {self.applies_from.isoformat()} "
                f"to {until}: nothing it says applies then; to evaluate it anyway as a what-if, override the window "
                f"(--set applies_from=YYYY-MM-DD / applies_until=YYYY-MM-DD or none)"
            )
        return TimeFrame.of(period, self.applies_from, self.applies_until)

    def assumptions(self) -> list[tuple[RuleSpec, Assumption]]:
        return [(r, a) for r in self.rules for a in r.assumptions]

    def with_parameters(self, changes: Mapping[str, Any], *, label: str = "override") -> Ruleset:
        """A copy with some parameters replaced (a what-if); values are checked like a file's."""
        specs = _param_specs(self.rules)
        params = dict(self.parameters)
        sources = dict(self.parameter_sources)
        window: dict[str, date | None] = {}
        for name, raw in changes.items():
            if name in WINDOW_PARAMETERS:
                window[name] = _window_value(name, raw, label)
                continue
            if name not in specs:
                raise RulesetError(
                    f"no rule of {self.id!r} uses parameter {name!r}{_hint(name, specs)}", file=label, key=name
                )
            params[name] = parse_value(specs[name], raw, file=label, key=name)
            sources[name] = label
        start = window.get("applies_from", self.applies_from)
        if start is None:
            raise RulesetError("a ruleset's window needs a first day (got none)", file=label, key="applies_from")
        end = window.get("applies_until", self.applies_until) if "applies_until" in window else self.applies_until
        if end is not None and end < start:
            raise RulesetError(
                f"the window would end ({end.isoformat()}) before it starts ({start.isoformat()})",
                file=label,
                key="applies_until",
            )
        return attrs.evolve(self, parameters=params, parameter_sources=sources, applies_from=start, applies_until=end)


# --- finding files ---------------------------------------------------------------


def builtin_dir() -> Path:
    """Where the rulesets shipped with swrules live."""
    try:
        root = resources.files("swrules._rulesets")
        path = Path(str(root))
        if path.is_dir():
            return path
    except ModuleNotFoundError:  # pragma: no cover - a source checkout without install
        pass
    return Path(__file__).resolve().parent.parent / "rulesets"  # pragma: no cover


def _catalogue(directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.toml")):
        found.setdefault(path.stem, path)
    return found


def list_rulesets() -> list[Ruleset]:
    """Every policy ruleset shipped with swrules (base layers left out), by id."""
    out = []
    for name, path in sorted(_catalogue(builtin_dir()).items()):
        ruleset = load_ruleset(path)
        if ruleset.kind == "policy":
            out.append(ruleset)
        del name
    return out


def load_ruleset(ref: str | Path | Ruleset) -> Ruleset:
    """A ruleset by id (``dingnan-2020``) or by the path of a ``.toml`` file."""
    if isinstance(ref, Ruleset):
        return ref
    path = Path(ref)
    if isinstance(ref, str) and not ref.endswith(".toml") and "/" not in ref and "\\" not in ref:
        known = _catalogue(builtin_dir())
        if ref not in known:
            policies = sorted(k for k, p in known.items() if "base" not in p.parts[-2:-1])
            raise UnknownRulesetError(f"no ruleset {ref!r}; known: {', '.join(policies)}{_hint(ref, known)}")
        path = known[ref]
    if not path.is_file():
        raise UnknownRulesetError(f"no ruleset file at {str(path)!r}")
    return _cached_load(path.resolve())


_CACHE: dict[Path, tuple[tuple[tuple[str, int, int], ...], Ruleset]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE: Final = 64


def _stamp(sources: Iterable[str]) -> tuple[tuple[str, int, int], ...] | None:
    try:
        return tuple((s, (st := os.stat(s)).st_mtime_ns, st.st_size) for s in sources)
    except OSError:
        return None


def _cached_load(path: Path) -> Ruleset:
    """Load a ruleset, reusing the last load while none of its layer files has changed."""
    with _CACHE_LOCK:
        hit = _CACHE.get(path)
    if hit is not None and _stamp(s for s, _, _ in hit[0]) == hit[0]:
        return hit[1]
    ruleset = _Loader().load(path)
    stamp = _stamp(ruleset.sources)
    if stamp is not None:
        with _CACHE_LOCK:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[path] = (stamp, ruleset)
    return ruleset


# --- loading -----------------------------------------------------------------------


@attrs.frozen
class _Layer:
    path: Path
    meta: dict[str, Any]
    parameters: dict[str, Any]
    overrides: dict[str, Any]
    rules: list[dict[str, Any]]
    parameter_types: dict[str, Any]
    tables: list[dict[str, Any]]
    functions: str


class _Loader:
    """One load of one ruleset: each layer file is read once, however many layers extend it."""

    def __init__(self) -> None:
        self._stack: list[Path] = []
        self._done: dict[Path, list[_Layer]] = {}

    def _read(self, path: Path) -> _Layer:
        name = str(path)
        try:
            size = path.stat().st_size
            if size > _MAX_FILE_BYTES:
                raise RulesetError(f"file is {size} bytes; a ruleset may be at most {_MAX_FILE_BYTES}", file=name)
            with path.open("rb") as fh:  # never more than the limit, whatever the size said (a pipe, a device)
                raw = fh.read(_MAX_FILE_BYTES + 1)
            if len(raw) > _MAX_FILE_BYTES:
                raise RulesetError(f"file is over {_MAX_FILE_BYTES} bytes; a ruleset may be at most that", file=name)
            text = raw.decode("utf-8")
            _check_shape(text, name)  # before tomllib, whose cost grows with the square of a key's parts
            data = tomllib.loads(text)
        except UnicodeDecodeError as err:
            raise RulesetError(f"not UTF-8 text ({err.reason} at byte {err.start})", file=name) from None
        except tomllib.TOMLDecodeError as err:
            raise RulesetError(f"not valid TOML: {err}", file=name) from None
        except RecursionError:
            raise RulesetError("nested too deeply", file=name) from None
        except RulesetError:
            raise
        except ValueError:  # tomllib lets int() fail on an integer of more than sys.get_int_max_str_digits()
            raise RulesetError(
                f"not valid TOML: a number has more than {sys.get_int_max_str_digits()} digits", file=name
            ) from None
        except OSError as err:
            raise RulesetError(f"cannot be read: {err.strerror}", file=name) from None
        for key in data:
            if key not in _TOP_KEYS:
                raise RulesetError(
                    f"unknown key (expected {', '.join(sorted(_TOP_KEYS))}){_hint(key, _TOP_KEYS)}", file=name, key=key
                )
        meta = data.get("ruleset")
        if not isinstance(meta, dict):
            raise RulesetError(
                "a [ruleset] table with id, title, issuer and dates is required", file=name, key="ruleset"
            )
        for key in meta:
            if key not in _META_KEYS:
                raise RulesetError(f"unknown key{_hint(key, _META_KEYS)}", file=name, key=f"ruleset.{key}")
        for key, (kind, required) in _META_KEYS.items():
            if key not in meta:
                if required:
                    raise RulesetError("is required", file=name, key=f"ruleset.{key}")
                continue
            value = meta[key]
            if kind is date and not (isinstance(value, date) and not hasattr(value, "hour")):
                raise RulesetError(f"must be a date like 2020-01-31 (got {value!r})", file=name, key=f"ruleset.{key}")
            if kind is str and not isinstance(value, str):
                raise RulesetError(f"must be a string (got {value!r})", file=name, key=f"ruleset.{key}")
            if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise RulesetError("must be a list of ruleset ids", file=name, key=f"ruleset.{key}")
        if not _ID_RE.fullmatch(meta["id"]):
            raise RulesetError(
                f"must be lower-case letters, digits, dots and dashes (got {meta['id']!r})", file=name, key="ruleset.id"
            )
        if meta.get("kind", "policy") not in _KINDS:
            raise RulesetError(
                f"must be {', '.join(_KINDS)} (got {meta['kind']!r}){_hint(meta['kind'], _KINDS)}",
                file=name,
                key="ruleset.kind",
            )
        parameters = _flatten(data.get("parameters", {}), name, "parameters")
        overrides = _flatten(data.get("overrides", {}), name, "overrides")
        rules = data.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise RulesetError("must be an array of tables ([[rules]])", file=name, key="rules")
        types = _flatten_types(data.get("parameter_types", {}), name)
        tables = data.get("tables", [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise RulesetError("must be an array of tables ([[tables]])", file=name, key="tables")
        functions = data.get("functions", "")
        if not isinstance(functions, str):
            raise RulesetError("must be a text of def statements", file=name, key="functions")
        return _Layer(path, meta, parameters, overrides, rules, types, tables, functions)

    def load(self, path: Path) -> Ruleset:
        path = path.resolve()
        layers = self._layers(path)
        top = layers[-1]
        params: dict[str, Any] = {}
        param_src: dict[str, str] = {}
        rules: dict[str, tuple[dict[str, Any], str]] = {}
        types: dict[str, ParamSpec] = {}
        tables: dict[str, Table] = {}
        broken_tables: set[str] = set()  # tables with problems: a rule naming one adds no problem of its own
        functions: list[str] = []
        function_files: list[str] = []
        problems: list[RulesetError] = []
        for layer in layers:
            src = str(layer.path)
            for key, raw_type in layer.parameter_types.items():
                spec, why = param_spec(raw_type)
                if spec is None:
                    problems.append(RulesetError(why, file=src, key=f"parameter_types.{key}"))
                elif key in types and types[key] != spec:
                    problems.append(
                        RulesetError("declared here with another type than in a base layer", file=src, key=key)
                    )
                else:
                    types[key] = spec
            for index, raw_table in enumerate(layer.tables):
                table, why_table = load_table(raw_table)
                for message in why_table:
                    problems.append(RulesetError(message, file=src, key=f"tables[{index}]"))
                if table is None and isinstance(raw_table.get("id"), str):
                    broken_tables.add(raw_table["id"])
                if table is not None:
                    if table.id in tables:
                        problems.append(RulesetError(f"table {table.id!r} is defined twice", file=src, key="tables"))
                    tables[table.id] = table
            if layer.functions.strip():
                functions.append(layer.functions)
                function_files.append(src)
            for key, value in layer.parameters.items():
                if key in params and params[key] != value:
                    raise RulesetError(
                        f"parameter is set to {value!r} here and to {params[key]!r} in {param_src[key]}; "
                        "put the new value under [overrides] to replace it",
                        file=src,
                        key=f"parameters.{key}",
                    )
                params[key] = value
                param_src.setdefault(key, src)
            for key, value in layer.overrides.items():
                if key not in params:
                    raise RulesetError("overrides a parameter no base layer sets", file=src, key=f"overrides.{key}")
                params[key] = value
                param_src[key] = src
            for index, raw in enumerate(layer.rules):
                where = f"rules[{index}]"
                for key in raw:
                    if key == "template":
                        raise RulesetError(
                            "rules are no longer bound to Python templates: write the rule itself in the rule "
                            'language (rule = """ … """; see docs/language.md)',
                            file=src,
                            key=f"{where}.{key}",
                        )
                    if key not in _RULE_KEYS:
                        raise RulesetError(f"unknown key{_hint(key, _RULE_KEYS)}", file=src, key=f"{where}.{key}")
                rid = raw.get("id")
                if not isinstance(rid, str) or not _ID_RE.fullmatch(rid):
                    raise RulesetError(
                        "must be an id of lower-case letters, digits and dashes", file=src, key=f"{where}.id"
                    )
                override = raw.get("override", False)
                if not isinstance(override, bool):
                    raise RulesetError("must be true or false", file=src, key=f"{where}.override")
                if rid in rules and not override:
                    raise RulesetError(
                        f"rule {rid!r} is already defined in {rules[rid][1]}; set override = true to replace it",
                        file=src,
                        key=f"{where}.id",
                    )
                if override and rid not in rules:
                    raise RulesetError(
                        f"rule {rid!r} overrides nothing: no base layer defines it", file=src, key=f"{where}.override"
                    )
                rules[rid] = (raw, src)
        specs = []
        for raw, src in rules.values():
            try:
                specs.append(self._rule(raw, src, types, tables, functions, broken_tables=frozenset(broken_tables)))
            except RuleProblemsError as err:
                for problem in err.problems:
                    origin = getattr(problem, "origin", -1)
                    if origin >= 0:  # in the ruleset's functions: reported once, against the file that has them
                        message = str(getattr(problem, "raw", ""))
                        problem = RulesetError(message, file=function_files[origin], key="functions")
                    if str(problem) not in {str(p) for p in problems}:
                        problems.append(problem)
            except RulesetError as err:
                problems.append(err)
        if problems:
            raise RuleProblemsError(problems)
        self._check_parameters(specs, params, param_src, types)
        meta = top.meta
        return Ruleset(
            id=meta["id"],
            kind=meta.get("kind", "policy"),
            title=meta["title"],
            title_en=meta.get("title_en", ""),
            issuer=meta["issuer"],
            issuer_en=meta.get("issuer_en", ""),
            document_number=meta.get("document_number", ""),
            published=meta["published"],
            applies_from=meta["applies_from"],
            applies_until=meta.get("applies_until"),
            notes=meta.get("notes", ""),
            extends=tuple(meta.get("extends", ())),
            parameters=params,
            parameter_sources=param_src,
            rules=tuple(specs),
            sources=tuple(str(layer.path) for layer in layers),
            parameter_types=types,
            tables=tables,
            functions=tuple(zip(function_files, functions, strict=True)),
        )

    def _layers(self, path: Path) -> list[_Layer]:
        """The layers of ``path``, bases first, each once; a base reached twice (a diamond) is not read again."""
        done = self._done.get(path)
        if done is not None:
            return done
        if path in self._stack:
            chain = " -> ".join(p.name for p in (*self._stack, path))
            raise RulesetError(f"layers extend each other in a circle: {chain}", file=str(path), key="ruleset.extends")
        if len(self._stack) >= MAX_EXTENDS_DEPTH:
            raise RulesetError(
                f"extends are chained more than {MAX_EXTENDS_DEPTH} deep ({self._stack[0].name} -> "
                f"{self._stack[1].name if len(self._stack) > 1 else ''} -> … -> {path.name})",
                file=str(self._stack[-1]),
                key="ruleset.extends",
            )
        if len(self._done) + len(self._stack) >= MAX_LAYERS:  # checked before reading: files are read one by one
            raise RulesetError(
                f"extends more than {MAX_LAYERS} layer files in all", file=str(self._stack[-1]), key="ruleset.extends"
            )
        self._stack.append(path)
        layer = self._read(path)
        out: list[_Layer] = []
        seen: set[Path] = set()
        for base in layer.meta.get("extends", []):
            base_path = self._find_base(base, path)
            for sub in self._layers(base_path):
                if sub.path not in seen:
                    seen.add(sub.path)
                    out.append(sub)
        self._stack.pop()
        out.append(layer)
        self._done[path] = out
        return out

    @staticmethod
    def _find_base(ref: str, origin: Path) -> Path:
        """A base by its id, beside ``origin`` (or in its ``base/`` folder) or shipped; never a path."""
        if not _ID_RE.fullmatch(ref):
            raise RulesetError(
                f"extends {_shown(ref)}: a base is named by its ruleset id (lower-case letters, digits, dots and "
                "dashes), found beside this file or shipped with swrules; paths are not accepted",
                file=str(origin),
                key="ruleset.extends",
            )
        for directory in (origin.parent, origin.parent / "base", builtin_dir(), builtin_dir() / "base"):
            candidate = directory / f"{ref}.toml"
            if candidate.is_file():
                return candidate.resolve()
        raise RulesetError(
            f"extends {ref!r}, which is neither beside this file nor shipped with swrules",
            file=str(origin),
            key="ruleset.extends",
        )

    @staticmethod
    def _definition(
        raw: dict[str, Any],
        src: str,
        types: Mapping[str, ParamSpec],
        tables: Mapping[str, Table],
        functions: Sequence[str],
        *,
        broken_tables: frozenset[str] = frozenset(),
    ) -> RuleDef:
        rid = raw["id"]
        where = f"rules.{rid}"
        logic = raw.get("rule")
        if not isinstance(logic, str) or not logic.strip():
            raise RulesetError(
                "is required: the rule in the rule language (see docs/language.md)", file=src, key=f"{where}.rule"
            )
        reads = raw.get("reads", "snapshot")
        if reads not in ("snapshot", "history"):
            raise RulesetError(f"must be snapshot or history (got {reads!r})", file=src, key=f"{where}.reads")
        doc = raw.get("doc", "")
        if not isinstance(doc, str):
            raise RulesetError("must be a string", file=src, key=f"{where}.doc")
        definition, problems = compile_rule(
            rid,
            logic,
            doc=doc.strip() or str(raw.get("reading", "")).strip(),
            reads=reads,
            param_specs=types,
            tables=tables,
            functions=functions,
            broken_tables=broken_tables,
        )
        if definition is None:
            errors = []
            for p in problems:
                error = RulesetError(str(p), file=src, key=f"rules.{rid}")
                error.origin = p.origin  # type: ignore[attr-defined]
                error.raw = str(p)  # type: ignore[attr-defined]
                errors.append(error)
            raise RuleProblemsError(errors)
        return definition

    @staticmethod
    def _rule(
        raw: dict[str, Any],
        src: str,
        types: Mapping[str, ParamSpec],
        tables: Mapping[str, Table],
        functions: Sequence[str],
        *,
        broken_tables: frozenset[str] = frozenset(),
    ) -> RuleSpec:
        rid = raw["id"]
        where = f"rules.{rid}"
        for key in ("clause", "text", "reading"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise RulesetError("is required (a non-empty string)", file=src, key=f"{where}.{key}")
        definition = _Loader._definition(raw, src, types, tables, functions, broken_tables=broken_tables)
        assumptions = []
        raw_assumptions = raw.get("assumptions", [])
        if not isinstance(raw_assumptions, list):
            raise RulesetError("must be an array of tables", file=src, key=f"{where}.assumptions")
        for i, a in enumerate(raw_assumptions):
            akey = f"{where}.assumptions[{i}]"
            if not isinstance(a, dict):
                raise RulesetError("must be a table", file=src, key=akey)
            for key in a:
                if key not in _ASSUMPTION_KEYS:
                    raise RulesetError(f"unknown key{_hint(key, _ASSUMPTION_KEYS)}", file=src, key=f"{akey}.{key}")
            for key in ("id", "statement", "reason"):
                if not isinstance(a.get(key), str) or not a[key].strip():
                    raise RulesetError("is required (a non-empty string)", file=src, key=f"{akey}.{key}")
            if "parameter" in a and not isinstance(a["parameter"], str):
                raise RulesetError("must be a parameter name", file=src, key=f"{akey}.parameter")
            assumptions.append(
                Assumption(id=a["id"], statement=a["statement"], reason=a["reason"], parameter=a.get("parameter"))
            )
        severity = raw.get("severity")
        emits_findings = "finding" in definition.emits
        if severity is None and emits_findings:
            raise RulesetError(
                "is required for a rule that makes findings: binding (应、必须、不得、确保), "
                "target (力争、达到…目标) or advisory (鼓励、推动、逐步、左右、可), from the clause's wording",
                file=src,
                key=f"{where}.severity",
            )
        if severity is not None and severity not in _SEVERITIES:
            raise RulesetError(
                f"must be one of {', '.join(_SEVERITIES)} (got {severity!r}){_hint(str(severity), _SEVERITIES)}",
                file=src,
                key=f"{where}.severity",
            )
        if severity is not None and not emits_findings:
            raise RulesetError("only a rule that makes findings has a severity", file=src, key=f"{where}.severity")
        deadline = raw.get("deadline")
        if deadline is not None and not (isinstance(deadline, date) and not hasattr(deadline, "hour")):
            raise RulesetError(f"must be a date like 2022-12-31 (got {deadline!r})", file=src, key=f"{where}.deadline")
        if deadline is not None and definition.reads != "snapshot":
            raise RulesetError(
                "only a rule that judges a snapshot can have a deadline (this one reads histories)",
                file=src,
                key=f"{where}.deadline",
            )
        return RuleSpec(
            id=rid,
            definition=definition,
            logic=raw.get("rule", ""),
            clause=raw["clause"],
            text=raw["text"].strip(),
            reading=raw["reading"].strip(),
            assumptions=tuple(assumptions),
            source=src,
            severity=None if severity is None else Severity(severity),
            deadline=deadline,
        )

    @staticmethod
    def _check_parameters(
        specs: Sequence[RuleSpec],
        params: dict[str, Any],
        sources: Mapping[str, str],
        types: Mapping[str, ParamSpec],
    ) -> None:
        wanted = _param_specs(specs)
        for name, value in list(params.items()):
            if name not in wanted:
                raise RulesetError(
                    f"no rule of this ruleset uses this parameter{_hint(name, wanted)}",
                    file=sources[name],
                    key=f"parameters.{name}",
                )
            params[name] = parse_value(wanted[name], value, file=sources[name], key=f"parameters.{name}")
        for spec in specs:
            for name in spec.definition.param_names():
                if name not in params and name not in spec.definition.optional:
                    raise RulesetError(
                        f"rule {spec.id!r} needs parameter {name!r}, which no layer sets",
                        file=spec.source,
                        key=f"parameters.{name}",
                    )
            for a in spec.assumptions:
                if a.parameter is not None and a.parameter not in params:
                    raise RulesetError(
                        f"assumption {a.id!r} names parameter {a.parameter!r}, which the ruleset does not set",
                        file=spec.source,
                        key=f"rules.{spec.id}.assumptions",
                    )


#: TOML's tokens as far as the shape check needs them: strings and comments (whose dots and brackets do not
#: count), the characters that end a run of key parts or open and close a level, and everything else. Every
#: string pattern matches even when its string is not closed (a basic or literal string then ends with its line,
#: a multi-line one with the text), so that no token is ever tried twice: the scan takes linear time.
_TOKEN: Final = re.compile(
    r'''"""(?:[^"\\]++|\\.?|"(?!""))*+(?:"{3,5}|\Z)'''  # multi-line basic string
    r"|'''(?:[^']++|'(?!''))*+(?:'{3,5}|\Z)"  # multi-line literal string
    r'|"(?:[^"\\\n]++|\\[^\n]?)*+"?'  # basic string
    r"|'[^'\n]*+'?"  # literal string
    r"|#[^\n]*+"  # comment
    r"|(?P<open>[\[{])|(?P<close>[\]}])|(?P<dot>\.)|(?P<sep>[=,\n])"
    r"|[^\"'#.=,{}\[\]\n]++",  # anything else
    re.S,
)


def _check_shape(text: str, file: str) -> None:
    """Refuse a key of more than MAX_KEY_PARTS parts and nesting deeper than MAX_NESTING, before parsing.

    Dots outside strings and comments are counted since the last ``=``, ``,``, bracket, brace or line end: a
    dotted key (``a.b.c``, in a table header or an inline table too) has one fewer dot than it has parts, while a
    value has at most one (``1.5``). A file that is not valid TOML may be misjudged here, but only ever refused.
    """
    if text.count(".") < MAX_KEY_PARTS and text.count("[") + text.count("{") <= MAX_NESTING:
        return
    dots = depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "dot":
            dots += 1
            if dots >= MAX_KEY_PARTS:
                line = text.count("\n", 0, m.start()) + 1
                raise RulesetError(f"line {line}: a key has more than {MAX_KEY_PARTS} parts", file=file)
            continue
        if kind is None:
            continue
        dots = 0
        if kind == "open":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, m.start()) + 1
                raise RulesetError(f"line {line}: arrays and tables nested more than {MAX_NESTING} deep", file=file)
        elif kind == "close":
            depth = max(depth - 1, 0)


def _shown(value: str, limit: int = 60) -> str:
    """A value from a file, quoted and cut to a readable length."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"… ({len(value)} characters)"


def _window_value(name: str, raw: Any, label: str) -> date | None:
    """A window override: a date (``2017-01-01``), or for ``applies_until`` none (no end)."""
    if isinstance(raw, date) and not hasattr(raw, "hour"):
        return raw
    if name == "applies_until" and (raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "none"))):
        return None
    if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    expected = "a date YYYY-MM-DD" + (" or none" if name == "applies_until" else "")
    raise RulesetError(f"must be {expected} (got {raw!r})", file=label, key=name)


def _param_specs(specs: Iterable[RuleSpec]) -> dict[str, ParamSpec]:
    out: dict[str, ParamSpec] = {}
    for spec in specs:
        out.update(spec.definition.params)
    return out


def _flatten_types(table: object, file: str) -> dict[str, Any]:
    """``[parameter_types]``: dotted names to a type (a text, or a table with ``type`` and ``doc``)."""
    if not isinstance(table, dict):
        raise RulesetError("must be a table", file=file, key="parameter_types")
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        for key, value in node.items():
            name = f"{path}.{key}" if path else key
            if isinstance(value, dict) and "type" not in value:
                walk(value, name)
            else:
                out[name] = value

    walk(table, "")
    return out


def _flatten(table: object, file: str, prefix: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise RulesetError("must be a table", file=file, key=prefix)
    out: dict[str, Any] = {}
    # depth first and in file order, as written; a stack, not recursion, so depth alone cannot crash it
    stack: list[tuple[Iterator[tuple[str, Any]], str]] = [(iter(table.items()), "")]
    while stack:
        items, path = stack[-1]
        for key, value in items:
            name = f"{path}.{key}" if path else key
            if isinstance(value, dict):
                if len(stack) >= MAX_KEY_PARTS:
                    raise RulesetError(f"a key has more than {MAX_KEY_PARTS} parts", file=file, key=prefix)
                stack.append((iter(value.items()), name))
                break
            out[name] = value
        else:
            stack.pop()
    return out


def parse_value(spec: ParamSpec, value: Any, *, file: str, key: str) -> Any:
    """Check and convert one parameter value (from TOML or a command-line ``--set``)."""

    def fail(expected: str) -> RulesetError:
        return RulesetError(f"must be {expected} (got {value!r})", file=file, key=key)

    kind = spec.kind
    if kind in ("money", "decimal"):
        if isinstance(value, float):
            raise fail('a decimal written as a string, e.g. "1000.00" (floats are not exact)')
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            raise fail("a decimal string")
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int) and not -(10**13) < value < 10**13:
            raise fail("a finite number between 0 and 10^12")
        else:
            text = str(value).strip()
            if len(text) > _MAX_DECIMAL_TEXT:
                raise RulesetError(
                    f"must be a decimal of at most {_MAX_DECIMAL_TEXT} characters (got {len(text)})", file=file, key=key
                )
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise fail("a decimal string") from None
        if not number.is_finite() or number < 0 or number > Decimal("1e12"):
            raise fail("a finite number between 0 and 10^12")
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if not -MAX_DECIMAL_PLACES <= exponent <= 12:  # "0E+999999999" is zero, but written out it is not small
            raise fail(f"a decimal with at most {MAX_DECIMAL_PLACES} decimal places, written without a large exponent")
        if kind == "money" and exponent < -2:
            raise fail("an amount with at most two decimal places")
        return number
    if kind == "date":
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise fail("a date YYYY-MM-DD")
    if kind == "year_month":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value.strip()):
            raise fail("a month YYYY-MM")
        return value.strip()
    if kind == "month":
        if isinstance(value, str) and re.fullmatch(r"\d{1,2}", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
            raise fail("a month number from 1 to 12")
        return value
    if kind == "int":
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
            raise fail("a whole number between 0 and 10^12")
        return value
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if kind == "str":
        if not isinstance(value, str) or (spec.choices and value not in spec.choices):
            raise fail(f"one of {', '.join(spec.choices)}" if spec.choices else "a string")
        return value
    if kind == "str_list":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail("a list of strings")
        bad = [v for v in value if spec.choices and v not in spec.choices]
        if bad:
            raise fail(f"a list of {', '.join(spec.choices)}")
        if len(set(value)) != len(value):
            raise fail("a list without repeats")
        return tuple(value)
    if kind == "grade_table":
        return _grade_table(value, fail, file, key)
    raise AssertionError(f"unknown parameter kind {kind}")  # pragma: no cover


def _grade_table(value: Any, fail: Any, file: str, key: str) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise fail("an array of tables with band, tier, level and title")
    seen: set[tuple[str, int]] = set()
    rows = []
    for i, row in enumerate(value):
        if set(row) != {"band", "tier", "level", "title"}:
            raise RulesetError("each row must have exactly band, tier, level and title", file=file, key=f"{key}[{i}]")
        band = next((b for b in TIERS if b.value == row["band"]), None)
        if band is None:
            raise RulesetError(
                f"band must be junior, intermediate or senior (got {row['band']!r})", file=file, key=f"{key}[{i}].band"
            )
        if row["tier"] not in TIERS[band] or isinstance(row["tier"], bool):
            raise RulesetError(f"a {band.value} post has no tier {row['tier']!r}", file=file, key=f"{key}[{i}].tier")
        if isinstance(row["level"], bool) or not isinstance(row["level"], int) or not 5 <= row["level"] <= 12:
            raise RulesetError(
                f"level must be a whole number from 5 to 12 (got {row['level']!r})", file=file, key=f"{key}[{i}].level"
            )
        if not isinstance(row["title"], str) or not row["title"]:
            raise RulesetError("title must be a non-empty string", file=file, key=f"{key}[{i}].title")
        if (band.value, row["tier"]) in seen:
            raise RulesetError(f"{band.value} tier {row['tier']} appears twice", file=file, key=f"{key}[{i}]")
        seen.add((band.value, row["tier"]))
        rows.append(dict(row))
    missing = [f"{b.value} {t}" for b, tiers in TIERS.items() for t in tiers if (b.value, t) not in seen]
    if missing:
        raise RulesetError(f"the grade table has no row for {', '.join(missing)}", file=file, key=key)
    return tuple(rows)


def _hint(word: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""
