"""From JSON (or plain dicts) to validated facts, reporting every problem at once.

The loader checks everything INTERCHANGE lists as bad input: unknown type,
unknown, missing or ill-typed field, unknown enum value, impossible date, band
and tier outside the grade table, duplicate id, dangling reference. It never
stops at the first problem: :class:`~swrules.errors.InputError` carries all of
them, each naming the fact's index, its id and the field.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from swrules._collector import collector_paused
from swrules._decimal import DECIMAL_TEXT, MAX_DIGITS, decimal_problem
from swrules.errors import FactError, InputError, Problem, shown
from swrules.facts import FACT_TYPES, TIERS, Band, Fact, fact_key, in_force, text_problem

__all__ = [
    "FactSet",
    "Rejected",
    "Unreadable",
    "canonical_order",
    "check_more",
    "dependency_reason",
    "fact_to_dict",
    "load_facts",
    "parse_json",
    "references",
]

_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
#: Bounds that keep a hostile document from costing unbounded time or memory (digits: see swrules._decimal).
MAX_ID_LENGTH: Final = 200


@attrs.frozen
class Unreadable:
    """An entry of the input that could not be read as a fact at all (a JSON Lines line that is not JSON).

    Readers put one in the list handed to :func:`load_facts` in place of the fact, so that it is reported with
    every other problem (and, with ``keep_going``, skipped and counted like any other reject).
    """

    message: str


@attrs.frozen
class Rejected:
    """A fact left out by ``load_facts(..., keep_going=True)``: where it was, what it was, and why.

    ``source`` names the file and line or row when the facts came from one (else None: see ``index``).
    """

    index: int
    fact_type: str | None
    fact_id: str | None
    raw: Any = attrs.field(eq=False, repr=False)
    reasons: tuple[str, ...]
    source: str | None = None

    @classmethod
    def of(cls, index: int, raw: Any, reasons: Sequence[str], source: str | None) -> Rejected:
        """The reject of the input entry ``raw`` (a mapping, a typed fact or anything else) at ``index``."""
        fact_type = raw.get("type") if isinstance(raw, Mapping) else getattr(raw, "TYPE", None)
        fact_id = raw.get("id") if isinstance(raw, Mapping) else getattr(raw, "id", None)
        return cls(
            index=index,
            fact_type=fact_type if isinstance(fact_type, str) else None,
            fact_id=fact_id if isinstance(fact_id, str) else None,
            raw=raw,
            reasons=tuple(reasons),
            source=source,
        )

    @property
    def where(self) -> str:
        """The file and line or row, or ``facts[i]``."""
        return self.source if self.source is not None else f"facts[{self.index}]"

    def to_dict(self) -> dict[str, Any]:
        """The reject as written to ``--rejects``: values too long to be valid are cut (see :func:`shown`)."""
        out: dict[str, Any] = {
            "index": self.index,
            "type": _cut(self.fact_type),
            "id": _cut(self.fact_id),
            "reasons": list(self.reasons),
        }
        if self.source is not None:
            out["source"] = self.source
        return out

    def raw_fact(self) -> dict[str, Any] | None:
        """The fact as read, its strings too long to be valid cut (no valid string is longer than MAX_ID_LENGTH)."""
        return _cut(self.raw) if isinstance(self.raw, Mapping) else None


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_ID_LENGTH:
            value = value[:MAX_ID_LENGTH] + f"… ({len(value):,} characters)"
        return value.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate as \\udXXX
    if isinstance(value, Mapping):
        return {_cut(str(k)): _cut(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cut(v) for v in value]
    return value


@attrs.frozen
class FactSet:
    """A validated, internally consistent collection of facts.

    Facts are kept in a canonical order (by type, then id, then the start of
    their window) so that everything computed from a fact set is independent
    of the order the facts came in. Several facts of one type may share an id
    when their windows (``valid_from``/``valid_until``) do not overlap: the
    *versions* of one entity's history, each with its own key (see
    :func:`~swrules.facts.fact_key`).
    ``rejected`` lists the facts left out when loading with ``keep_going``;
    ``read`` is how many facts the input held, so ``read == len(facts) + len(rejected)``.
    """

    facts: tuple[Fact, ...]
    rejected: tuple[Rejected, ...] = ()
    read: int = -1
    _index: Mapping[str, Fact] = attrs.field(init=False, repr=False, eq=False)
    _versions: Mapping[tuple[str, str], tuple[Fact, ...]] = attrs.field(init=False, repr=False, eq=False)
    _dated: frozenset[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {fact_key(f): f for f in self.facts})
        versions: dict[tuple[str, str], list[Fact]] = {}
        for f in self.facts:
            versions.setdefault((f.TYPE, f.id), []).append(f)
        object.__setattr__(self, "_versions", {k: tuple(v) for k, v in versions.items()})
        dated = frozenset(f.TYPE for f in self.facts if f.valid_from is not None or f.valid_until is not None)
        object.__setattr__(self, "_dated", dated)
        if self.read < 0:
            object.__setattr__(self, "read", len(self.facts) + len(self.rejected))

    @classmethod
    def of(cls, facts: Iterable[Fact], rejected: Iterable[Rejected] = (), read: int = -1) -> FactSet:
        return cls(tuple(sorted(facts, key=canonical_order)), tuple(rejected), read)

    def __len__(self) -> int:
        return len(self.facts)

    def __iter__(self) -> Iterator[Fact]:
        return iter(self.facts)

    def by_key(self, key: str) -> Fact | None:
        """The fact with this key (``person/p1``, ``person/p1@2021-07-01``), or None."""
        return self._index.get(key)

    def versions(self, fact_type: str, fact_id: str) -> tuple[Fact, ...]:
        """Every version of one entity, earliest first (one for a fact without a history; none if unknown)."""
        return self._versions.get((fact_type, fact_id), ())

    def get(self, fact_type: str, fact_id: str, on: _dt.date | None = None) -> Fact | None:
        """The version of that type and id in force ``on`` a day; without a day, the latest version; or None."""
        found = self._versions.get((fact_type, fact_id), ())
        if on is None:
            return found[-1] if found else None
        for fact in found:
            if in_force(fact, on):
                return fact
        return None

    def dated_types(self) -> frozenset[str]:
        """The fact types some fact of which has a window (the others need no in-force test)."""
        return self._dated

    def ids(self) -> Set[tuple[str, str]]:
        """The (type, id) of every entity held."""
        return self._versions.keys()

    def of_type(self, fact_type: str) -> tuple[Fact, ...]:
        """Every fact of one type, in id order (versions of one id earliest first)."""
        return tuple(f for f in self.facts if f.TYPE == fact_type)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``{"facts": [...]}``) these facts load from."""
        return {"facts": [fact_to_dict(f) for f in self.facts]}


_TYPE_ORDER: Final = {name: i for i, name in enumerate(FACT_TYPES)}
_DAY_ZERO: Final = _dt.date.min


def canonical_order(fact: Fact) -> tuple[int, str, _dt.date]:
    """Facts sort by type (as INTERCHANGE lists them), id, then the start of their window."""
    return (_TYPE_ORDER[fact.TYPE], fact.id, fact.valid_from or _DAY_ZERO)


def fact_to_dict(fact: Fact) -> dict[str, Any]:
    """One fact as its JSON object: every field, money and hours as decimal strings; a window only when set."""
    out: dict[str, Any] = {"type": fact.TYPE}
    for a in attrs.fields(type(fact)):
        value = getattr(fact, a.name)
        if value is None and "window" in a.metadata:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, _dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[a.name] = value
    return out


def parse_json(text: str | bytes, *, source: str = "input") -> Any:
    """Parse JSON strictly: numbers as Decimal or int, no NaN or Infinity, no duplicate keys."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"key {shown(key)} appears twice in one object")
            out[key] = value
        return out

    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_DIGITS:
            raise ValueError(f"number {digits[:30]}… has more than {MAX_DIGITS} digits")
        return int(digits)

    def bounded_decimal(digits: str) -> Decimal:
        if len(digits) > MAX_DIGITS + 10:
            raise ValueError(f"number {digits[:30]}… is too long")
        return Decimal(digits)

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(
                [Problem(message=f"{source} is not UTF-8 text: {err.reason} at byte {err.start}")]
            ) from None
    try:
        return json.loads(
            text,
            parse_float=bounded_decimal,
            parse_int=bounded_int,
            parse_constant=no_constants,
            object_pairs_hook=no_duplicates,
        )
    except RecursionError:
        raise InputError([Problem(message=f"{source} is nested too deeply")]) from None
    except json.JSONDecodeError as err:
        raise InputError(
            [Problem(message=f"{source} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}")]
        ) from None
    except (ValueError, InvalidOperation) as err:
        raise InputError([Problem(message=f"{source} is not valid JSON: {err}")]) from None


def load_facts(
    data: Any, *, source: str | None = None, keep_going: bool = False, sources: Sequence[str] | None = None
) -> FactSet:
    """Validate a JSON document (``{"facts": [...]}``), a list of dicts, or fact objects.

    Fact objects may be mixed with dicts. Returns a :class:`FactSet`; raises
    :class:`InputError` listing every problem found — field errors, duplicate
    ids and dangling references together, in one run. With ``keep_going``, a bad
    fact is left out instead — together with every fact that refers to it,
    directly or through others — and listed in ``FactSet.rejected`` with its
    reasons; only a problem with the document as a whole still raises.
    ``sources`` names where each entry came from (``people.jsonl line 6``,
    ``folder/person.csv row 3``); problems and rejects then say that rather
    than ``facts[i]``.
    """
    if isinstance(data, FactSet):
        return data
    with collector_paused():  # facts form no reference cycles; see swrules._collector
        return _load(data, source, keep_going, sources)


def _located(problems: Iterable[Problem], sources: Sequence[str] | None) -> list[Problem]:
    """Problems that name the file and line or row their fact came from, where that is known."""
    if sources is None:
        return list(problems)
    return [attrs.evolve(p, source=sources[p.index], index=None) if p.index is not None else p for p in problems]


def _namer(sources: Sequence[str] | None) -> Callable[[int], str]:
    if sources is None:
        return lambda index: f"facts[{index}]"
    return lambda index: sources[index]


def _load(data: Any, source: str | None, keep_going: bool, sources: Sequence[str] | None) -> FactSet:
    if isinstance(data, Mapping):
        extra = sorted(set(data) - {"facts"})
        if "facts" not in data:
            raise InputError([Problem(message='the document must be an object with a "facts" list', source=source)])
        if extra:
            raise InputError(
                [Problem(message=f'unknown top-level key {shown(extra[0])} (expected only "facts")', source=source)]
            )
        data = data["facts"]
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise InputError([Problem(message='"facts" must be a list of fact objects', source=source)])
    if sources is not None and len(sources) != len(data):
        raise ValueError("sources must name every entry of the data")
    problems: list[Problem] = []
    facts: list[tuple[int, Fact]] = []
    shadows: list[tuple[int, _Shadow]] = []
    for index, raw in enumerate(data):
        fact = _one_fact(index, raw, problems, source)
        if fact is not None:
            facts.append((index, fact))
        else:
            shadow = _shadow(raw)
            if shadow is not None:
                shadows.append((index, shadow))
    _check_ids(facts, problems, source, shadows=shadows, name=_namer(sources))
    if not problems:
        return FactSet.of((f for _, f in facts), read=len(data))
    problems.sort(key=lambda p: -1 if p.index is None else p.index)  # in input order, whatever found them
    if not keep_going or any(p.index is None for p in problems):
        raise InputError(_located(problems, sources))
    return _keep_going(data, facts, problems, sources)


@attrs.frozen
class _Shadow:
    """What could be read of a fact with problems: enough to find its duplicates and dangling references too.

    ``refs`` holds the reference fields that were readable; ``windowed`` is False when a window field was
    present but unreadable (the fact's history cannot then be compared with others).
    """

    TYPE: str
    id: str | None
    valid_from: _dt.date | None
    valid_until: _dt.date | None
    refs: tuple[tuple[str, str, tuple[str, ...]], ...]
    windowed: bool


def _shadow(raw: object) -> _Shadow | None:
    if not isinstance(raw, Mapping):
        return None
    fact_type = raw.get("type")
    if not isinstance(fact_type, str) or fact_type not in FACT_TYPES:
        return None
    fields = _fields_of(FACT_TYPES[fact_type])
    ok, fact_id = _convert(fields["id"], raw.get("id"))
    window: dict[str, _dt.date | None] = {}
    windowed = True
    for name in ("valid_from", "valid_until"):
        value = raw.get(name)
        good, day = _convert(fields[name], value) if value is not None else (True, None)
        window[name] = day if good else None
        windowed = windowed and good
    refs = []
    for name, target in _refs_of(FACT_TYPES[fact_type]):
        value = raw.get(name)
        if value is None:
            continue
        entries = value if isinstance(value, list) else [value]
        readable = tuple(v for v in entries if _convert(fields[name], v if not isinstance(value, list) else [v])[0])
        if readable:
            refs.append((name, target, readable))
    return _Shadow(
        fact_type, fact_id if ok else None, window["valid_from"], window["valid_until"], tuple(refs), windowed
    )


def _keep_going(
    data: Sequence[Any], facts: list[tuple[int, Fact]], problems: list[Problem], sources: Sequence[str] | None
) -> FactSet:
    """Leave out every fact with a problem and, transitively, every fact that refers to one left out."""
    reasons: dict[int, list[str]] = {}
    for p in problems:
        assert p.index is not None
        reasons.setdefault(p.index, []).append(f"{p.field}: {p.message}" if p.field else p.message)
    kept = {i: f for i, f in facts if i not in reasons}
    changed = True
    while changed:
        changed = False
        present = {(f.TYPE, f.id) for f in kept.values()}
        for index, fact in list(kept.items()):
            for name, target in _refs_of(type(fact)):
                value = getattr(fact, name)
                refs = value if isinstance(value, tuple) else (value,)
                missing = [r for r in refs if r is not None and (target, r) not in present]
                if missing:
                    reasons.setdefault(index, []).append(dependency_reason(name, target, missing[0]))
                    del kept[index]
                    changed = True
                    break
    rejected = [
        Rejected.of(index, data[index], reasons[index], None if sources is None else sources[index])
        for index in sorted(reasons)
    ]
    return FactSet.of(kept.values(), rejected, read=len(data))


def dependency_reason(field: str, target: str, ref: str) -> str:
    """Why ``keep_going`` leaves out a fact whose ``field`` refers to a ``target`` fact that was left out."""
    return f"{field}: depends on {target} {shown(ref)}, which was rejected"


def _one_fact(index: int, raw: object, problems: list[Problem], source: str | None) -> Fact | None:
    if isinstance(raw, tuple(FACT_TYPES.values())):
        return raw  # type: ignore[return-value]
    if isinstance(raw, Unreadable):
        problems.append(Problem(message=raw.message, index=index, source=source))
        return None
    if not isinstance(raw, Mapping):
        problems.append(Problem(message=f"a fact must be an object (got {_kind(raw)})", index=index, source=source))
        return None
    fact_type = raw.get("type")
    raw_id = raw.get("id")
    fact_id = raw_id if isinstance(raw_id, str) and raw_id else None
    if not isinstance(fact_type, str) or fact_type not in FACT_TYPES:
        got = "no type" if fact_type is None else _short(fact_type)
        hint = _did_you_mean(fact_type, FACT_TYPES) if isinstance(fact_type, str) else ""
        problems.append(
            Problem(
                message=f"type must be one of {', '.join(FACT_TYPES)} (got {got}){hint}",
                index=index,
                fact_id=fact_id,
                field="type",
                source=source,
            )
        )
        return None
    cls = FACT_TYPES[fact_type]
    fields = _fields_of(cls)

    def problem(field: str | None, message: str) -> None:
        problems.append(
            Problem(message=message, index=index, fact_type=fact_type, fact_id=fact_id, field=field, source=source)
        )

    before = len(problems)
    for key in raw:
        if key != "type" and key not in fields:
            problem(field_name(key), f"unknown field for a {fact_type}{_did_you_mean(key, fields)}")
    kwargs: dict[str, Any] = {}
    for name, a in fields.items():
        if name not in raw or raw[name] is None:
            if a.default is attrs.NOTHING:
                problem(name, "is required" if name not in raw else "is required and must not be null")
            continue
        ok, value = _convert(a, raw[name])
        if ok:
            kwargs[name] = value
        else:
            problem(name, value)
    if len(problems) > before:
        return None
    start, end = kwargs.get("valid_from"), kwargs.get("valid_until")
    if start is not None and end is not None and end < start:
        problem("valid_until", f"must not be before valid_from {start.isoformat()} (got {end.isoformat()})")
        return None
    if "band" in kwargs and "tier" in kwargs:
        band: Band = kwargs["band"]
        if kwargs["tier"] not in TIERS[band]:
            allowed = ", ".join(str(t) for t in TIERS[band])
            problem("tier", f"must be one of {allowed} for a {band.value} post (got {kwargs['tier']})")
            return None
    try:
        return cls(**kwargs)
    except FactError as err:  # a constraint between fields
        problem(err.field, err.message)
        return None
    except (TypeError, ValueError) as err:  # pragma: no cover - every check raises FactError
        problem(None, str(err))
        return None


def _convert(a: attrs.Attribute[Any], value: object) -> tuple[bool, Any]:
    kind = a.metadata["kind"]
    if kind in ("id", "ref", "text"):
        return _text(value)
    if kind == "refs":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return False, f"must be a list of ids (got {_kind(value)})"
        for i, entry in enumerate(value):
            ok, why = _text(entry)
            if not ok:
                return False, f"entry {i} {why}"
        if len(set(value)) != len(value):
            return False, "lists an id twice"
        return True, tuple(value)
    if kind == "bool":
        if not isinstance(value, bool):
            return False, f"must be true or false (got {_kind(value)})"
        return True, value
    if kind == "int":
        if _too_long(value):
            return False, f"must be an integer of at most {MAX_DIGITS} digits (got {_kind(value)})"
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            return False, f"must be an integer (got {_kind(value)})"
        try:
            a.metadata["check"](None, a, value)
        except (TypeError, ValueError) as err:
            return False, _strip_name(a.name, err)
        return True, value
    if kind == "enum":
        members = _members_of(a.metadata["enum"])
        member = members.get(value) if isinstance(value, str) else None
        if member is None:
            allowed = list(members)
            hint = _did_you_mean(value, allowed) if isinstance(value, str) else ""
            return False, f"must be one of {', '.join(allowed)} (got {_short(value)}){hint}"
        return True, member
    if kind == "date":
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            return False, f"must be a date YYYY-MM-DD (got {_short(value)})"
        try:
            return True, _dt.date.fromisoformat(value)
        except ValueError:
            return False, f"is not a real date (got {shown(value)})"
    if kind in ("money", "number"):
        if _too_long(value):
            return False, f"must have at most {MAX_DIGITS} digits before the decimal point (got {_kind(value)})"
        number = _decimal(value)
        if number is None:
            what = "an amount in yuan (a JSON number or a decimal string)" if kind == "money" else "a number"
            if isinstance(value, float):
                what = f"{what.split(' (')[0]}, not a binary float: pass a Decimal or a decimal string"
            return False, f"must be {what} (got {_short(value)})"
        why = decimal_problem(number)
        if why is not None:
            return False, f"{why} (got {_short(value)})"
        try:
            a.metadata["check"](None, a, number)
        except (TypeError, ValueError) as err:
            return False, _strip_name(a.name, err)
        return True, number
    raise AssertionError(f"unhandled field kind {kind}")  # pragma: no cover


def _text(value: object) -> tuple[bool, Any]:
    """An id, reference or text: a non-empty string of at most MAX_ID_LENGTH characters, all of them text."""
    if not isinstance(value, str) or not value:
        return False, f"must be a non-empty string (got {_kind(value)})"
    if len(value) > MAX_ID_LENGTH:
        return False, f"must be at most {MAX_ID_LENGTH} characters (got {len(value):,}: {_short(value)})"
    why = text_problem(value)
    if why is not None:
        return False, f"{why} (got {_short(value)})"
    return True, value


def _decimal(value: object) -> Decimal | None:
    """A number as a Decimal: an int, a Decimal, or a decimal string of ASCII digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if _too_long(value) else Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and len(value) <= MAX_DIGITS + 2 and DECIMAL_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None  # floats included: money is never a float


def _too_long(value: object) -> bool:
    """A number with more than MAX_DIGITS digits before the point, found without writing it out.

    Exponent notation keeps a huge number short (``1E+999999999``), and Python
    refuses to write out an integer of more than 4300 digits at all.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) >= 10**MAX_DIGITS
    if isinstance(value, Decimal):
        return value.is_finite() and not value.is_zero() and value.adjusted() >= MAX_DIGITS
    return False


def _check_ids(
    facts: list[tuple[int, Fact]],
    problems: list[Problem],
    source: str | None,
    known: Mapping[tuple[str, str], Sequence[Fact]] | None = None,
    replacing: bool = False,
    known_jurisdictions: Set[str] = frozenset(),
    absent: str = "is not in the input",
    shadows: Sequence[tuple[int, _Shadow]] = (),
    name: Callable[[int], str] = lambda index: f"facts[{index}]",
) -> None:
    """Duplicate ids and overlapping histories, more than one jurisdiction, dangling references.

    Facts of one type and id are versions of one entity's history: their windows must not overlap. ``known``
    holds the versions already held elsewhere (a session) by (type, id), ``known_jurisdictions`` the ids of its
    jurisdictions: new facts may refer to them, and must not overlap them — unless ``replacing``, when each new
    fact must replace a held version with the same key (type, id and ``valid_from``). ``shadows`` are what
    could be read of the facts with problems of their own: their ids and references are checked too, so that
    every problem of the input is found in one run.
    """
    held_versions: Mapping[tuple[str, str], Sequence[Fact]] = known or {}

    def problem(index: int, fact: Fact | _Shadow, message: str, field: str | None = "id") -> None:
        problems.append(
            Problem(message=message, index=index, fact_type=fact.TYPE, fact_id=fact.id, field=field, source=source)
        )

    grouped: dict[tuple[str, str], list[tuple[int, Any]]] = {}
    for index, fact in facts:
        grouped.setdefault((fact.TYPE, fact.id), []).append((index, fact))
    present = set(grouped)
    for index, shadow in shadows:
        if shadow.id is not None:
            present.add((shadow.TYPE, shadow.id))
            if shadow.windowed:
                grouped.setdefault((shadow.TYPE, shadow.id), []).append((index, shadow))
    for key, mine in grouped.items():
        held: list[tuple[int | None, Fact]] = [(None, f) for f in held_versions.get(key, ())]
        if replacing:
            replaced = {fact_key(f) for _, f in mine}
            held_keys = {fact_key(f) for _, f in held}
            for index, fact in mine:
                if fact_key(fact) not in held_keys:
                    what = "" if fact.valid_from is None else f" version from {fact.valid_from.isoformat()}"
                    problem(index, fact, f"there is no {fact.TYPE} {_short(fact.id)}{what} to replace")
            held = [(i, f) for i, f in held if fact_key(f) not in replaced]
        if len(mine) == 1 and not held:
            continue
        _check_overlaps([*held, *mine], problem, name)
    jurisdictions = sorted({f.id for _, f in facts if f.TYPE == "jurisdiction"} | set(known_jurisdictions))
    if len(jurisdictions) > 1:
        first = jurisdictions[0] if jurisdictions[0] in known_jurisdictions else None
        for index, fact in facts:
            if fact.TYPE == "jurisdiction" and fact.id != (first or jurisdictions[0]):
                other = first or jurisdictions[0]
                problem(
                    index, fact, f"only one jurisdiction may be described per input ({shown(other)} is one)", field=None
                )
    readable: list[tuple[int, Fact | _Shadow, tuple[tuple[str, str, tuple[str, ...]], ...]]] = [
        (index, fact, tuple((f, t, _as_tuple(getattr(fact, f))) for f, t in _refs_of(type(fact))))
        for index, fact in facts
    ]
    readable += [(index, shadow, shadow.refs) for index, shadow in shadows]
    for index, subject, refs in sorted(readable, key=lambda r: r[0]):
        for field, target, values in refs:
            for ref in values:
                if (target, ref) not in present and (target, ref) not in held_versions:
                    problem(index, subject, f"refers to {target} {_short(ref)}, which {absent}", field=field)


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (str(value),)


def _check_overlaps(versions: list[tuple[int | None, Any]], problem: Any, name: Callable[[int], str]) -> None:
    """Report every version whose window overlaps an earlier one (by start), naming both and the days shared."""
    ordered = sorted(versions, key=lambda v: (v[1].valid_from or _DAY_ZERO, v[0] is not None, v[0] or 0))
    reach: tuple[int | None, Fact] | None = None  # the version whose window reaches furthest so far
    for index, fact in ordered:
        if reach is not None:
            prev_index, prev = reach
            start = fact.valid_from
            prev_end = prev.valid_until
            if start is None or prev_end is None or prev_end >= start:
                later, earlier = (index, prev_index) if index is not None else (prev_index, index)
                subject, other = (fact, prev) if index is not None else (prev, fact)
                assert later is not None  # a held version never overlaps another held one
                problem(later, subject, _overlap_message(subject, other, None if earlier is None else name(earlier)))
                if _end_key(fact) <= _end_key(prev):
                    continue
        reach = (index, fact)


def _end_key(fact: Fact) -> _dt.date:
    return fact.valid_until or _dt.date.max


def _overlap_message(fact: Any, other: Any, other_name: str | None) -> str:
    where = "a held fact" if other_name is None else other_name
    if fact.valid_from is None and fact.valid_until is None and other.valid_from is None and other.valid_until is None:
        if other_name is None:
            return f"duplicate id: a {fact.TYPE} with this id is already held"
        return f"duplicate id: {where} is a {fact.TYPE} with the same id"
    first = max(fact.valid_from or _DAY_ZERO, other.valid_from or _DAY_ZERO)
    last = min(_end_key(fact), _end_key(other))
    span = _span(first if first != _DAY_ZERO else None, last if last != _dt.date.max else None)
    return (
        f"overlaps {where} of the same id: {where} is in force {window_text(other)}, this fact "
        f"{window_text(fact)}; both are in force {span}"
    )


def window_text(fact: Any) -> str:
    """A fact's window in words: ``from 2021-07-01``, ``until 2021-06-30``, ``from … until …`` or ``always``."""
    return _span(fact.valid_from, fact.valid_until) if fact.valid_from or fact.valid_until else "always"


def _span(start: _dt.date | None, end: _dt.date | None) -> str:
    if start is not None and end is not None:
        return f"from {start.isoformat()} until {end.isoformat()}"
    if start is not None:
        return f"from {start.isoformat()}"
    if end is not None:
        return f"until {end.isoformat()}"
    return "always"


# What the loader reads of each class, worked out once rather than per fact.
_FIELDS: dict[type, dict[str, attrs.Attribute[Any]]] = {}
_REFS: dict[type, tuple[tuple[str, str], ...]] = {}
_MEMBERS: dict[type, dict[str, enum.Enum]] = {}


def _fields_of(cls: type) -> dict[str, attrs.Attribute[Any]]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {a.name: a for a in attrs.fields(cls)}
    return found


def references(fact: Fact) -> Iterator[tuple[str, str]]:
    """The (type, id) of every fact ``fact`` refers to."""
    for name, target in _refs_of(type(fact)):
        value = getattr(fact, name)
        for ref in value if isinstance(value, tuple) else (value,):
            if ref is not None:
                yield (target, ref)


def _refs_of(cls: type) -> tuple[tuple[str, str], ...]:
    """(field, type it refers to) for every reference field of a fact class."""
    found = _REFS.get(cls)
    if found is None:
        found = _REFS[cls] = tuple((a.name, a.metadata["ref"]) for a in attrs.fields(cls) if "ref" in a.metadata)
    return found


def _members_of(cls: type[enum.Enum]) -> dict[str, enum.Enum]:
    found = _MEMBERS.get(cls)
    if found is None:
        found = _MEMBERS[cls] = {m.value: m for m in cls}
    return found


def check_more(
    data: Sequence[Any],
    known: Mapping[tuple[str, str], Sequence[Fact]],
    *,
    jurisdictions: Set[str] = frozenset(),
    replacing: bool = False,
    source: str | None = None,
) -> list[Fact]:
    """Validate facts to add to a set already holding ``known`` versions by (type, id), or to replace some.

    The same checks as :func:`load_facts`, with references allowed to point into ``known``. Raises
    :class:`InputError` listing every problem.
    """
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise InputError([Problem(message="facts must be given as a list of fact objects", source=source)])
    problems: list[Problem] = []
    facts: list[tuple[int, Fact]] = []
    shadows: list[tuple[int, _Shadow]] = []
    for index, raw in enumerate(data):
        fact = _one_fact(index, raw, problems, source)
        if fact is not None:
            facts.append((index, fact))
        else:
            shadow = _shadow(raw)
            if shadow is not None:
                shadows.append((index, shadow))
    _check_ids(
        facts,
        problems,
        source,
        known=known,
        replacing=replacing,
        known_jurisdictions=jurisdictions,
        absent="is neither among these facts nor held",
        shadows=shadows,
    )
    if problems:
        problems.sort(key=lambda p: -1 if p.index is None else p.index)
        raise InputError(problems)
    return [f for _, f in facts]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return f"a number of more than {MAX_DIGITS} digits" if _too_long(value) else f"the number {_short(value)}"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _short(value: object) -> str:
    if isinstance(value, int) and _too_long(value):
        return f"a number of more than {MAX_DIGITS} digits"
    return shown(value)


def field_name(key: object) -> str:
    """A key of the input as a problem names its field: as written when it is a short plain name, else shown."""
    if isinstance(key, str) and key.isidentifier() and len(key) <= 60:
        return key
    return _short(key)


def _strip_name(name: str, err: Exception) -> str:
    text = str(err)
    return text[len(name) + 1 :] if text.startswith(name + " ") else text


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    import difflib

    if not isinstance(word, str) or len(word) > 100:
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""
