"""Incremental sessions: an evaluation kept current as facts arrive, change and leave.

An HR system that receives events — a certificate obtained, a person moving
to another community, a post vacated — keeps a :class:`Session` per ruleset
and period and tells it each event. The session re-derives only what the
event touches and answers what changed; :meth:`Session.result` is at any
moment exactly what :func:`swrules.evaluate` gives for the facts it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from swrules.engine import (
    Change,
    Derivations,
    compile_programs,
    incremental,
    key_of,
    update,
)
from swrules.errors import InputError, Problem, SwrulesError, shown
from swrules.evaluation import DEFAULT_SESSION_ENGINE, World, build_result
from swrules.facts import FACT_TYPES, Fact, fact_key
from swrules.items import Eligibility, Finding, Obligation, PostGrade
from swrules.load import FactSet, check_more, fact_to_dict, load_facts, references
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset, load_ruleset

__all__ = ["Session", "Update"]

OutputItem = PostGrade | Eligibility | Obligation | Finding
_FACT_CLASSES = tuple(FACT_TYPES.values())


@attrs.frozen(kw_only=True)
class Update:
    """What one change to a session's facts changed in its result.

    ``added`` and ``removed`` are output items that appeared or went;
    ``changed`` pairs an item before and after (same key, other values: an
    allowance of another amount, a finding now satisfied). Intermediate steps
    of a chain are left out. A payroll system pays ``added`` obligations and
    reverses ``removed`` ones, by obligation id.
    """

    added: tuple[OutputItem, ...] = ()
    removed: tuple[OutputItem, ...] = ()
    changed: tuple[tuple[OutputItem, OutputItem], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def obligations(self) -> tuple[Obligation, ...]:
        """Obligations added, and the new version of those changed."""
        return tuple(i for i in (*self.added, *(new for _, new in self.changed)) if isinstance(i, Obligation))

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [_tagged(i) for i in self.added],
            "removed": [_tagged(i) for i in self.removed],
            "changed": [{"before": _tagged(old), "after": _tagged(new)} for old, new in self.changed],
        }


def _tagged(item: OutputItem) -> dict[str, Any]:
    return {"section": item.SECTION, **item.to_dict()}


def _update_of(changes: list[Change]) -> Update:
    added, removed, changed = [], [], []
    for _, old, new in changes:
        if (old if new is None else new).SECTION is None:  # type: ignore[union-attr]
            continue
        if old is None:
            added.append(new)
        elif new is None:
            removed.append(old)
        else:
            changed.append((old, new))
    return Update(added=tuple(added), removed=tuple(removed), changed=tuple(changed))  # type: ignore[arg-type]


def _named(fact: Fact) -> str:
    dated = "" if fact.valid_from is None else f" from {fact.valid_from.isoformat()}"
    return f"{fact.TYPE} {fact.id!r}{dated}"


class _HeldVersions(Mapping[tuple[str, str], list[Fact]]):
    """The versions a session holds, by (type, id), looked up on demand (a copy would cost a pass per event)."""

    def __init__(self, facts: Mapping[str, Fact], versions: Mapping[tuple[str, str], set[str]]) -> None:
        self._facts = facts
        self._versions = versions

    def __getitem__(self, entity: tuple[str, str]) -> list[Fact]:
        return [self._facts[k] for k in sorted(self._versions[entity])]

    def __contains__(self, entity: object) -> bool:
        return entity in self._versions

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._versions)

    def __len__(self) -> int:
        return len(self._versions)


class Session:
    """One ruleset and period over a changing set of facts.

    ``engine`` is ``durable`` (durable-rules matches each touched partition
    again, in a short-lived session) or ``native`` (also what ``auto`` takes:
    an update touches a few small partitions); the default is durable
    where durable-rules imports (``DEFAULT_SESSION_ENGINE``). ``facts`` are loaded first, checked as one
    document. Each call that changes facts checks its input the way
    :func:`swrules.load_facts` does — a reference must resolve among the
    facts held, an id must be new — and raises :class:`InputError` naming
    the fact and the field, changing nothing. A failed re-derivation (a rule
    that raises) also leaves the session as it was.

    Calls on one session are serialised; sessions do not share state.
    """

    def __init__(
        self,
        *,
        ruleset: str | Path | Ruleset,
        period: str | Period,
        engine: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        facts: Any = None,
    ) -> None:
        self.period = Period.parse(period)
        the_ruleset = load_ruleset(ruleset)
        self.ruleset = the_ruleset.with_parameters(parameters) if parameters else the_ruleset
        self.engine = "native" if engine == "auto" else engine or DEFAULT_SESSION_ENGINE
        self._programs = compile_programs(
            self.ruleset.id, self.ruleset.bindings(), self.ruleset.parameters, self.ruleset.frame(self.period)
        )
        self._runs = [incremental(program, self.engine) for program in self._programs]
        self._facts: dict[str, Fact] = {}  # by key: every version of every entity held
        self._versions: dict[tuple[str, str], set[str]] = {}  # (type, id) -> the keys of its versions
        self._referrers: dict[tuple[str, str], set[str]] = {}  # (type, id) -> keys of the facts referring to it
        self._jurisdictions: set[str] = set()
        self._lock = threading.RLock()
        if facts is not None:
            self._apply(list(load_facts(facts)), [])

    # -- reading --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._facts)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._resolve_key(key) is not None

    @property
    def facts(self) -> FactSet:
        """The facts held now."""
        with self._lock:
            return FactSet.of(self._facts.values())

    def result(self) -> Result:
        """What evaluating the facts held now gives, byte for byte (a snapshot: later changes leave it alone)."""
        with self._lock:
            worlds = [
                World(program, run.items_now(), Derivations(run.why_now()), dict(run.objects))
                for program, run in zip(self._programs, self._runs, strict=True)
            ]
            return build_result(self.ruleset, self.period, self.engine, worlds)

    # -- changing -------------------------------------------------------------

    def add(self, fact: Fact | Mapping[str, Any]) -> Update:
        """Add one fact (an object or its JSON dict): a new entity, or a new version of one held (its window must
        not overlap the others'). Several facts at once go to :meth:`add_all`."""
        if isinstance(fact, Iterable) and not isinstance(fact, (Mapping, str, bytes)):
            raise InputError(
                [
                    Problem(
                        message=f"Session.add takes one fact, not a {type(fact).__name__}: "
                        "add several facts, checked together, with Session.add_all([...])"
                    )
                ]
            )
        return self.add_all([fact])

    def add_all(self, facts: Iterable[Fact | Mapping[str, Any]]) -> Update:
        """Add several facts at once, checked together (they may refer to each other)."""
        with self._lock:
            new = check_more(list(facts), self._held_versions(), jurisdictions=self._jurisdictions)
            return self._apply(new, [])

    def replace(self, fact: Fact | Mapping[str, Any]) -> Update:
        """Replace the fact with the same key — type, id and ``valid_from`` (a person moving community, a post given
        a holder, a version's ``valid_until`` set when a change is entered)."""
        with self._lock:
            (new,) = check_more([fact], self._held_versions(), jurisdictions=self._jurisdictions, replacing=True)
            return self._apply([new], [fact_key(new)])

    def remove(self, fact: Fact | str, *, cascade: bool = False) -> Update:
        """Remove a fact, named by the fact itself, its key (``type/id``, ``type/id@valid_from`` for a dated
        version), or its id when no other type uses it and it has one version.

        A fact other facts refer to (a person holding certificates) is removed only with ``cascade``, and then
        with every fact that refers to it, directly or through others — unless another version of it stays.
        """
        return self._remove(fact, cascade=cascade, hint="pass cascade=True to remove them too")

    def _remove(self, fact: Fact | str, *, cascade: bool, hint: str) -> Update:
        """:meth:`remove`, where a refusal for want of ``cascade`` ends with ``hint`` (how the caller's user asks
        for it: a keyword argument in Python, a key of the event in ``swrules session``)."""
        with self._lock:
            key = self._key_of(fact)
            doomed = self._dependants(key)
            if len(doomed) > 1 and not cascade:
                target = self._facts[key]
                others = [self._facts[k] for k in sorted(doomed - {key})]
                shown = ", ".join(_named(f) for f in others[:5]) + (" …" if len(others) > 5 else "")
                raise InputError(
                    [
                        Problem(
                            message=f"{len(others)} fact(s) refer to it ({shown}); remove them first, or {hint}",
                            fact_type=target.TYPE,
                            fact_id=target.id,
                        )
                    ]
                )
            return self._apply([], sorted(doomed))

    # -- inside ---------------------------------------------------------------

    def _held_versions(self) -> _HeldVersions:
        return _HeldVersions(self._facts, self._versions)

    def _key_of(self, fact: Fact | str) -> str:
        if not isinstance(fact, str) and isinstance(fact, _FACT_CLASSES):
            key = fact_key(fact)
            if key not in self._facts:
                raise InputError([Problem(message="no such fact is held", fact_type=fact.TYPE, fact_id=fact.id)])
            return key
        if not isinstance(fact, str):
            raise InputError([Problem(message=f"a fact, its key type/id or its id is expected (got {shown(fact)})")])
        found = self._resolve_key(fact)
        if found is None:
            raise InputError([Problem(message=f"no fact {shown(fact)} is held")])
        if isinstance(found, list):
            kinds = ", ".join(found)
            raise InputError(
                [Problem(message=f"{shown(fact)} names more than one fact ({kinds}); give its key type/id")]
            )
        return found

    def _resolve_key(self, text: str) -> str | list[str] | None:
        if text in self._facts:
            return text
        found = [k for t in FACT_TYPES for k in sorted(self._versions.get((t, text), ()))]
        if not found:
            return None
        return found[0] if len(found) == 1 else found

    def _dependants(self, key: str) -> set[str]:
        """``key`` and, if it is the last version of its entity, every fact that refers to it, transitively."""
        doomed = {key}
        todo = [key]
        while todo:
            fact = self._facts[todo.pop()]
            entity = (fact.TYPE, fact.id)
            if self._versions[entity] - doomed:
                continue  # another version stays: references to the entity still resolve
            for other in self._referrers.get(entity, ()):
                if other not in doomed:
                    doomed.add(other)
                    todo.append(other)
        return doomed

    def _apply(self, added: list[Fact], removed: list[str]) -> Update:
        gone = [self._facts[key] for key in removed]
        for key in removed:
            self._forget(key)
        for fact in added:
            self._remember(fact)
        changes: list[Change] = []
        try:
            for number, run in enumerate(self._runs):
                found = update(run, added, removed)
                if number:
                    owned = self._programs[number].owned
                    found = [c for c in found if (c[2] if c[2] is not None else c[1]).rule in owned]  # type: ignore[union-attr]
                changes.extend(found)
        except SwrulesError:
            for fact in added:
                self._forget(fact_key(fact))
            for fact in gone:
                self._remember(fact)
            self._rebuild()
            raise
        return _update_of(changes)

    def _remember(self, fact: Fact) -> None:
        key = fact_key(fact)
        self._facts[key] = fact
        self._versions.setdefault((fact.TYPE, fact.id), set()).add(key)
        if fact.TYPE == "jurisdiction":
            self._jurisdictions.add(fact.id)
        for target in references(fact):
            self._referrers.setdefault(target, set()).add(key)

    def _forget(self, key: str) -> None:
        fact = self._facts.pop(key)
        entity = (fact.TYPE, fact.id)
        versions = self._versions[entity]
        versions.discard(key)
        if not versions:
            del self._versions[entity]
            if fact.TYPE == "jurisdiction":
                self._jurisdictions.discard(fact.id)
        for target in references(fact):
            referrers = self._referrers.get(target)
            if referrers is not None:
                referrers.discard(key)
                if not referrers:
                    del self._referrers[target]

    def _rebuild(self) -> None:
        """After a failed update: the facts as they were, evaluated from nothing."""
        self._runs = [incremental(program, self.engine) for program in self._programs]
        for run in self._runs:
            update(run, sorted(self._facts.values(), key=key_of), [])

    def __repr__(self) -> str:
        held = len(self)
        return f"Session(ruleset={self.ruleset.id!r}, period={self.period!s}, engine={self.engine!r}, facts={held})"

    def to_dict(self) -> dict[str, Any]:
        """The facts held now, as the JSON document they load from."""
        return {"facts": [fact_to_dict(f) for f in self.facts]}
