"""The durable-rules backend: each stratum compiled to a durable ruleset, one session per partition.

What ENGINE-NOTES says about durable-rules 2.0.28, and what this module does
about it:

- background dispatch threads: our :class:`_Host` overrides ``_run`` so none
  start; every assert runs its agenda to completion on the calling thread;
- swallowed action exceptions: every action is wrapped; the first failure is
  kept and re-raised after the assert returns, naming the rule;
- 1,024 live sessions: one session at a time, deleted after its partition;
- 32-bit fact identity: every fact carries its own unique ``key_``; a
  "duplicate" of a fact never asserted before is a hash collision, retried
  with a salt field;
- ``id`` is durable's identity: our ``id`` travels as ``id_``;
- no JSON for dates or Decimal: dates travel as ISO strings, Decimal as str;
- C memory never freed: compiled rulesets are cached (LRU) and deleted on
  eviction;
- not thread-safe: one lock serialises every call into the engine.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

import attrs

from swrules.errors import EngineError, EngineUnavailableError, SwrulesError
from swrules.ir import Lit, Op, Ref, Test

from ._match import OPEN_END, OPEN_START
from ._program import BoundRule, Program
from ._run import Partition, Record, Run

try:  # durable-rules does not import on Python 3.13+
    import durable.engine as _de
    import durable_rules_engine as _dre

    AVAILABLE: Final = True
    _IMPORT_ERROR = ""
except ImportError as err:  # pragma: no cover - depends on the interpreter
    AVAILABLE = False  # type: ignore[misc]
    _IMPORT_ERROR = str(err)

__all__ = ["AVAILABLE", "DurableBackend"]

_LOCK: Final = threading.RLock()
_SIDS: Final = itertools.count(1)
_CACHE_SIZE: Final = 16
_MAX_SALT: Final = 8
_OPS: Final = {Op.NE: "$neq", Op.LT: "$lt", Op.LE: "$lte", Op.GT: "$gt", Op.GE: "$gte"}


def _field(name: str) -> str:
    return "id_" if name == "id" else name


def _encode_value(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def encode(record: Record, sid: str) -> dict[str, Any]:
    """A fact or item as a durable message: plain JSON values, our key, no field named ``id``."""
    out: dict[str, Any] = {"sid": sid, "type_": record.type, "key_": record.key}
    names = _FIELD_NAMES.get(record.type)
    if names is None:
        names = _FIELD_NAMES[record.type] = tuple((a.name, _field(a.name)) for a in attrs.fields(type(record.obj)))
    for name, durable_name in names:
        value = getattr(record.obj, name)
        out[durable_name] = _OPEN[name] if value is None and name in _OPEN else _encode_value(value)
    return out


_FIELD_NAMES: dict[str, tuple[tuple[str, str], ...]] = {}
#: An open end of a window, as patterns compare it (see ``_match.OPEN_START``).
_OPEN: Final = {"valid_from": OPEN_START, "valid_until": OPEN_END}


class _Compiled:
    """One program's strata as durable rulesets, in a host that runs no threads."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.actions: dict[str, Callable[[Any], None]] = {}
        self.current: tuple[Run, str] | None = None
        self.failure: BaseException | None = None
        self.names: list[str] = []
        definitions: dict[str, Any] = {}
        for s, rules in enumerate(program.strata):
            name = f"swrules_{program.fingerprint}_{s}"
            self.names.append(name)
            definitions[name] = {f"r{r.index}": self._rule(r) for r in rules}
            # Every session first stores an anchor fact, so it exists when deleted: durable-rules 2.0.28
            # frees memory it never owned when asked to delete a session in which no fact was stored.
            definitions[name]["anchor"] = {"all": [{"a0": {"type_": _ANCHOR}}], "run": "anchor"}
        self.actions["anchor"] = _no_action
        self.host = _Host(self.actions)
        try:
            self.host.register_rulesets(definitions)
        except Exception as err:  # durable's own errors are bare Exceptions
            raise EngineError(f"durable-rules rejected ruleset {program.ruleset!r}: {err}") from err

    def _rule(self, rule: BoundRule) -> dict[str, Any]:
        aliases = {m.alias: f"a{i}" for i, m in enumerate(rule.match)}
        patterns = []
        for m in rule.match:
            terms: list[Any] = [{"type_": m.type}]
            terms.extend(_test(t, aliases) for t in m.where)
            patterns.append({aliases[m.alias]: terms[0] if len(terms) == 1 else {"$and": terms}})
        action = f"r{rule.index}"
        self.actions[action] = self._action(rule, aliases)
        return {"all": patterns, "run": action}

    def _action(self, rule: BoundRule, aliases: dict[str, str]) -> Callable[[Any], None]:
        def action(c: Any) -> None:
            if self.failure is not None or self.current is None:
                return
            run, partition = self.current
            started = time.monotonic()
            try:
                matched = {alias: c._m[d]["key_"] for alias, d in aliases.items()}
                for record in run.fire(rule, matched, partition):
                    _assert(c._ruleset, encode(record, c.s.sid), inside=True)
            except BaseException as err:  # durable would swallow it: keep it and stop this run
                self.failure = err
                return
            elapsed = time.monotonic() - started
            if elapsed > ACTION_LIMIT:  # durable drops the rest of a chain after 10 s: never return that as whole
                self.failure = EngineError(
                    f"rule {rule.id!r} took {elapsed:.1f} s in partition {partition!r}; durable-rules stops a chain "
                    "after 10 s, so the result could be incomplete and is not returned"
                )

        return action

    def run_stratum(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        ruleset = self.host.get_ruleset(self.names[stratum])
        self.failure = None
        for partition, records in partitions:
            sid = str(next(_SIDS))
            self.current = (run, partition)
            try:
                _assert(
                    ruleset,
                    {"sid": sid, "type_": _ANCHOR, "key_": _ANCHOR},
                    inside=False,
                    host=self.host,
                    name=self.names[stratum],
                )
                for record in records:
                    message = encode(record, sid)
                    _assert(ruleset, message, inside=False, host=self.host, name=self.names[stratum])
                    if self.failure is not None:
                        break
            finally:
                self.current = None
                try:
                    self.host.delete_state(self.names[stratum], sid)
                except Exception:  # pragma: no cover - a session that never started
                    pass
            if self.failure is not None:
                failure, self.failure = self.failure, None
                if isinstance(failure, SwrulesError):
                    raise failure
                raise EngineError(f"durable-rules failed in partition {partition!r}: {failure}") from failure

    def close(self) -> None:
        for name in self.names:
            try:
                _dre.delete_ruleset(self.host.get_ruleset(name)._handle)
            except Exception:  # pragma: no cover - best effort on eviction
                pass


_ANCHOR: Final = "anchor_"
#: Seconds one action may run before its result is distrusted (durable-rules abandons a chain at 10 s).
ACTION_LIMIT = 8.0


def _no_action(c: Any) -> None:
    """The anchor rule's action: the anchor only keeps the session alive."""


def _test(t: Test, aliases: dict[str, str]) -> dict[str, Any]:
    field = _field(t.field)
    operand = t.operand
    if isinstance(operand, Ref):
        value: Any = {aliases[operand.alias]: _field(operand.field)}
    elif isinstance(operand, Lit):
        value = operand.value
    else:  # pragma: no cover - parameters are resolved before compiling
        raise AssertionError(operand)
    if t.op is Op.EQ:
        return {field: value}
    if t.op is Op.IN:  # against a list of literals (a resolved parameter): one of several equalities
        if isinstance(operand, Ref) or not isinstance(value, tuple):  # pragma: no cover - rejected at compile time
            raise EngineError("'in' against another fact is only allowed in collections")
        if not value:
            return {"$and": [{field: "\u0000"}, {"$ne": {field: "\u0000"}}]}  # an empty list matches nothing
        options = [{field: v} for v in value]
        return options[0] if len(options) == 1 else {"$or": options}
    return {_OPS[t.op]: {field: value}}


def _assert(ruleset: Any, message: dict[str, Any], *, inside: bool, host: Any = None, name: str = "") -> None:
    """Assert one message; a fact no pattern wants is fine; a false duplicate is retried salted."""
    for salt in range(_MAX_SALT):
        try:
            if inside:
                ruleset.assert_fact(message)  # inside an action: durable queues the follow-up actions
            else:
                host.assert_fact(name, message)  # runs the agenda to completion before returning
            return
        except _de.MessageNotHandledException:
            return
        except _de.MessageObservedException:
            # We assert each key once: this is durable's 32-bit hash colliding, not a duplicate.
            message = dict(message, salt_=salt + 1)
    raise EngineError(f"durable-rules kept rejecting {message['key_']!r} as a duplicate")  # pragma: no cover


if AVAILABLE:

    class _Host(_de.Host):  # type: ignore[misc]
        """A durable host that starts no dispatch threads and resolves our actions."""

        def __init__(self, actions: dict[str, Callable[[Any], None]]) -> None:
            self._swrules_actions = actions
            super().__init__()

        def _run(self) -> None:
            """No background dispatchers: every assert completes on the calling thread."""

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            return self._swrules_actions[action_name]


class DurableBackend:
    """Runs programs on durable-rules, one partition's session at a time."""

    name = "durable"

    def __init__(self) -> None:
        if not AVAILABLE:
            raise EngineUnavailableError(
                f"the durable engine is not available on this Python ({_IMPORT_ERROR}); use engine='native'"
            )
        self._cache: OrderedDict[str, _Compiled] = OrderedDict()

    def _compiled_for(self, program: Program) -> _Compiled:
        compiled = self._cache.get(program.fingerprint)
        if compiled is None:
            compiled = _Compiled(program)
            self._cache[program.fingerprint] = compiled
            while len(self._cache) > _CACHE_SIZE:
                _, old = self._cache.popitem(last=False)
                old.close()
        else:
            self._cache.move_to_end(program.fingerprint)
        return compiled

    def execute(self, run: Run) -> None:
        with _LOCK:
            self._compiled = self._compiled_for(run.program)
            run.execute()

    def run_stratum(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        self._compiled.run_stratum(run, stratum, partitions)

    def match_partitions(self, run: Run, stratum: int, partitions: Sequence[Partition]) -> None:
        with _LOCK:
            self._compiled_for(run.program).run_stratum(run, stratum, partitions)
