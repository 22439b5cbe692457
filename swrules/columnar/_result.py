"""A columnar evaluation's result: its items stay in the engine's tables until asked for.

:class:`ColumnarResult` is a :class:`~swrules.result.Result` whose sections, intermediate steps, derivations and
objects are made when first read, each in one pass over an Arrow table of the engine's item tables (sorted there as
the native result sorts them). :meth:`~ColumnarResult.to_dict` and :meth:`~ColumnarResult.write_json` make the
output document straight from those tables, without an item object, to the same bytes; ``--format parquet``
writes each section from the tables with DuckDB's ``COPY``. The tables are dropped when the result is.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO, cast

import attrs
import duckdb
import pyarrow as pa

from swrules._json import dump
from swrules.columnar._compile import rows_field, rows_from_column
from swrules.columnar._itemsql import columns_of, converter, decimal_text
from swrules.columnar._schema import quote, sql_text
from swrules.columnar._tables import arrow_of
from swrules.engine._program import BoundRule
from swrules.errors import EngineError
from swrules.evaluation import Routed
from swrules.facts import Band
from swrules.items import ITEM_TYPES, OUTPUT_SECTIONS, Item
from swrules.lang._types import fields_of
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset

__all__ = ["ColumnarResult", "ResultTables"]

#: The item type of each output section.
SECTION_TYPES: Final = {cls.SECTION: t for t, cls in ITEM_TYPES.items() if cls.SECTION is not None}
_INTERMEDIATE: Final = tuple(t for t, cls in ITEM_TYPES.items() if cls.SECTION is None)

# The orders of the sections (those of the items' ``sort_key``): text compared by code point, as Python does.
_BAND_ORDER: Final = " ".join(
    f"WHEN {sql_text(b.value)} THEN {sql_text(str(b.rank))} || '/' || {i:03d}"
    for i, b in enumerate(sorted(Band, key=lambda band: f"{band.rank}"))
)
ORDER: Final = {
    "post_grade": "s.post",
    "eligibility": f"s.person, CASE s.band {_BAND_ORDER} END",
    "obligation": "s.payee, s.kind, s.period, s.id",
    "finding": "s.subject, s.requirement, COALESCE(s.person, ''), COALESCE(strftime(s.deadline, '%Y-%m-%d'), '')",
}

_RUNS = itertools.count()


def _drop(con: duckdb.DuckDBPyConnection, names: Sequence[str], close: bool) -> None:
    try:
        for name in names:
            con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        if close:
            con.close()
    except duckdb.Error:  # the connection was closed first: its tables went with it
        pass


@attrs.define
class ResultTables:
    """Where a columnar result's items are: an item table per type and program (world), in a connection."""

    con: duckdb.DuckDBPyConnection
    names: tuple[Mapping[str, str], ...]  # by world: the table of each item type
    owned: tuple[frozenset[str], ...]  # by world: the rules whose items it contributes (the first: all)
    rules: tuple[Mapping[str, BoundRule], ...]  # by world: its rules by id

    def detach(self) -> None:
        """Move the tables into a connection of their own (as Arrow tables), before theirs is closed."""
        con = duckdb.connect()
        for name in self.all_names():
            con.register(name, arrow_of(self.con, f"SELECT * FROM {quote(name)}"))
            self.con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.con = con

    @classmethod
    def keep(
        cls,
        con: duckdb.DuckDBPyConnection,
        names: Sequence[Mapping[str, str]],
        owned: Sequence[frozenset[str]],
        rules: Sequence[Mapping[str, BoundRule]],
    ) -> ResultTables:
        """The item tables ``names``, renamed for this result alone (a later run reuses the first names)."""
        run = next(_RUNS)
        kept = []
        for world, tables in enumerate(names):
            renamed = {}
            for t, name in tables.items():
                new = f"_swrules_result{run}_w{world}_{t}"
                con.execute(f"ALTER TABLE {quote(name)} RENAME TO {quote(new)}")
                renamed[t] = new
            kept.append(renamed)
        return cls(con, tuple(kept), tuple(owned), tuple(rules))

    def all_names(self) -> list[str]:
        return [name for tables in self.names for name in tables.values()]

    def arrow(self, query: str) -> pa.Table:
        with _still_there():
            return arrow_of(self.con, query)

    def execute(self, query: str) -> Any:
        with _still_there():
            return self.con.execute(query)

    def source(self, kind: str) -> str:
        """The rows of ``kind`` in the result: all of the first world's, and those of each later world's rules."""
        parts = [f"SELECT * FROM {quote(self.names[0][kind])}"]
        for world in range(1, len(self.names)):
            if self.owned[world]:
                rules = ", ".join(sql_text(r) for r in sorted(self.owned[world]))
                parts.append(f"SELECT * FROM {quote(self.names[world][kind])} WHERE rule IN ({rules})")
        return " UNION ALL ".join(parts)

    def section(self, kind: str) -> pa.Table:
        """A section's items in order, their decimals as the text of the Decimal each item holds."""
        return self.arrow(f"SELECT {_readable(kind)} FROM ({self.source(kind)}) AS s ORDER BY {ORDER[kind]}")

    def world(self, world: int, kind: str) -> pa.Table:
        return self.arrow(f"SELECT {_readable(kind)} FROM {quote(self.names[world][kind])}")


def _readable(kind: str) -> str:
    out = []
    for name, sql in columns_of(kind):
        if name.endswith("__scale") or name in ("_ord", "_batch"):
            continue
        out.append(f"{decimal_text(name)} AS {quote(name)}" if sql.startswith("DECIMAL") else quote(name))
    return ", ".join(out)


def items_of(kind: str, table: pa.Table) -> list[Item]:
    """The items of ``kind`` in ``table`` (from :meth:`ResultTables.section` or ``world``), in its order."""
    cls = cast(Any, ITEM_TYPES[kind])
    types = fields_of(cls)
    names = [f.name for f in attrs.fields(cls) if f.name in table.column_names]
    columns = []
    for name in names:
        values = table.column(name).to_pylist()
        kinds = rows_field(cls, name)
        if kinds is not None:  # a list of tuples (segments): each decimal given back its places
            values = [rows_from_column(kinds, v) for v in values]
            columns.append(values)
            continue
        convert = converter(types.get(name))
        if convert is not None:
            values = [None if v is None else convert(v) for v in values]
        columns.append(values)
    return [cls(**dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]


def _dicts(kind: str, table: pa.Table) -> list[dict[str, Any]]:
    """The output dicts (``to_dict``) of a section's items, straight from its table."""

    def col(name: str) -> list[Any]:
        values: list[Any] = table.column(name).to_pylist()
        return values

    rule, clause = col("rule"), col("clause")
    if kind == "post_grade":
        return [
            {"post": p, "band": b, "tier": t, "level": lv, "title": ti, "rule": r, "clause": c}
            for p, b, t, lv, ti, r, c in zip(
                col("post"), col("band"), col("tier"), col("level"), col("title"), rule, clause, strict=True
            )
        ]
    if kind == "eligibility":
        return [
            {"person": p, "band": b, "eligible": e, "rule": r, "clause": c}
            for p, b, e, r, c in zip(col("person"), col("band"), col("eligible"), rule, clause, strict=True)
        ]
    if kind == "obligation":
        return [
            {
                "id": i,
                "kind": k,
                "payee": pe,
                "payer": pr,
                "amount": a,
                "currency": cu,
                "period": p,
                "due": d,
                "rule": r,
                "clause": c,
            }
            for i, k, pe, pr, a, cu, p, d, r, c in zip(
                col("id"),
                col("kind"),
                col("payee"),
                col("payer"),
                col("amount"),
                col("currency"),
                col("period"),
                col("due"),
                rule,
                clause,
                strict=True,
            )
        ]
    out = []
    for s, q, sat, a, req, p, sev, dl, st, r, c in zip(
        col("subject"),
        col("requirement"),
        col("satisfied"),
        col("actual"),
        col("required"),
        col("person"),
        col("severity"),
        col("deadline"),
        col("deadline_status"),
        rule,
        clause,
        strict=True,
    ):
        row: dict[str, Any] = {
            "subject": s,
            "requirement": q,
            "satisfied": sat,
            "actual": Decimal(a),
            "required": None if req is None else Decimal(req),
        }
        if p is not None:
            row["person"] = p
        row["severity"] = sev
        if dl is not None:
            row["deadline"] = dl.isoformat()
            row["deadline_status"] = st
        row["rule"] = r
        row["clause"] = c
        out.append(row)
    return out


class _Lazy(Mapping[str, Any]):
    """A mapping made on first use."""

    def __init__(self, make: Callable[[], Mapping[str, Any]]) -> None:
        self._make: Callable[[], Mapping[str, Any]] | None = make
        self._made: Mapping[str, Any] = {}

    def _get(self) -> Mapping[str, Any]:
        if self._make is not None:
            self._made, self._make = self._make(), None
        return self._made

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


_LAZY: Final = frozenset(
    ("post_grades", "eligibility", "obligations", "findings", "intermediate", "_derivations", "_objects")
)


class ColumnarResult(Result):
    """A :class:`~swrules.result.Result` whose items are read from the columnar engine's tables when first asked
    for (see the module's text); the same attributes, the same JSON, the same dicts."""

    __slots__ = ("_tables",)

    @classmethod
    def of(
        cls,
        ruleset: Ruleset,
        period: Period,
        engine: str,
        tables: ResultTables,
        explained_by: Callable[[], Result] | None,
        *,
        close: bool,
    ) -> ColumnarResult:
        """A result over ``tables`` (dropped with it, and their connection closed where ``close``)."""
        self = object.__new__(cls)
        for name, value in (
            ("ruleset", ruleset),
            ("period", period),
            ("engine", engine),
            ("_explained_by", explained_by),
            ("_tables", tables),
        ):
            object.__setattr__(self, name, value)
        weakref.finalize(self, _drop, tables.con, tables.all_names(), close)
        return self

    def detach(self) -> None:
        """Take the items out of the connection they were made in, which is about to close (a FactTables')."""
        try:
            tables: ResultTables = object.__getattribute__(self, "_tables")
        except AttributeError:
            return
        tables.detach()

    def __getattr__(self, name: str) -> Any:
        # Called for an attribute not yet set: a section, the steps, derivations or objects not yet made.
        if name not in _LAZY:
            raise AttributeError(name)
        tables: ResultTables = object.__getattribute__(self, "_tables")
        value: Any
        if name == "intermediate":
            steps = [i for t in _INTERMEDIATE for i in items_of(t, tables.world(0, t))]
            value = tuple(sorted(steps, key=lambda item: item.key))
        elif name in ("_derivations", "_objects"):
            derivations, objects = _routed(tables)
            object.__setattr__(self, "_derivations", derivations)
            object.__setattr__(self, "_objects", objects)
            return derivations if name == "_derivations" else objects
        else:
            kind = SECTION_TYPES[name]
            value = tuple(items_of(kind, tables.section(kind)))
        object.__setattr__(self, name, value)
        return value

    def _section_dicts(self, section: str) -> Sequence[dict[str, Any]]:
        try:
            items = object.__getattribute__(self, section)  # made already: from its items
        except AttributeError:
            tables: ResultTables = object.__getattribute__(self, "_tables")
            kind = SECTION_TYPES[section]
            return _dicts(kind, tables.section(kind))
        return [i.to_dict() for i in items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ruleset": self.ruleset.id,
            "period": str(self.period),
            **{section: list(self._section_dicts(section)) for section in OUTPUT_SECTIONS},
        }

    def write_json(self, stream: TextIO, *, indent: int | None = 2) -> None:
        dump(self.to_dict(), stream, indent=indent)
        stream.write("\n")

    def write_parquet(self, folder: str | Path) -> list[Path] | None:
        """One Parquet file per section in ``folder``, written from the engine's tables (``COPY``): the files
        :func:`swrules.frames.write_tables` writes from the items. None where the tables are not kept (a copy)."""
        try:
            tables: ResultTables = object.__getattribute__(self, "_tables")
        except AttributeError:
            return None
        from swrules.columnar._output import copy_sections

        return copy_sections(tables, Path(folder))


def _routed(tables: ResultTables) -> tuple[Routed, Routed]:
    """The derivations and objects of every world, each world's made when first used."""
    from swrules.columnar._engine import _Derivations

    views = []
    for world in range(len(tables.names)):

        def derivations(world: int = world) -> Mapping[str, Any]:
            made = _Derivations()
            rules = tables.rules[world]
            for t, name in tables.names[world].items():
                found = tables.arrow(f"SELECT _key, rule, _matched FROM {quote(name)}")
                for key, rule, matched in zip(*(c.to_pylist() for c in found.columns), strict=True):
                    bound = rules[rule]
                    keys = (matched,) if len(bound.match) == 1 else tuple(json.loads(matched) if matched else ())
                    made.kept[key] = (bound, keys)
                del t
            return made

        def objects(world: int = world) -> Mapping[str, Any]:
            return {item.key: item for t in tables.names[world] for item in items_of(t, tables.world(world, t))}

        views.append((_Lazy(derivations), _Lazy(objects)))
    owner: dict[str, int] = {}
    for world in range(1, len(tables.names)):
        if tables.owned[world]:
            rules = ", ".join(sql_text(r) for r in sorted(tables.owned[world]))
            for name in tables.names[world].values():
                found = tables.arrow(f"SELECT _key FROM {quote(name)} WHERE rule IN ({rules})")
                owner.update((key, world) for key in found.column(0).to_pylist())
    return Routed(views, owner, 0), Routed(views, owner, 1)


@contextlib.contextmanager
def _still_there() -> Iterator[None]:
    """A query on a result's tables, which go when their FactTables closes: that said, not DuckDB's error."""
    try:
        yield
    except duckdb.Error as err:
        raise EngineError(
            "a columnar result reads its items from the tables of its evaluation, which are no longer there "
            f"({str(err).splitlines()[0]}): read it while its FactTables is open"
        ) from None
