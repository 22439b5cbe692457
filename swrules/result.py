"""What an evaluation returns: typed items, the JSON document, and explanations."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO, overload

import attrs

from swrules._json import dump
from swrules.engine import Derivation
from swrules.errors import ItemNotFoundError, shown
from swrules.explain import Explanation, explain
from swrules.items import Eligibility, Finding, Item, Obligation, PostGrade
from swrules.period import Period
from swrules.rulesets import Ruleset

__all__ = ["Result"]


@attrs.frozen(kw_only=True)
class Result:
    """The items derived from one input by one ruleset for one period.

    ``post_grades``, ``eligibility``, ``obligations`` and ``findings`` are
    sorted as the JSON contract says (by subject, then kind), so the same
    input gives the same bytes whatever the order of its facts.
    """

    ruleset: Ruleset
    period: Period
    engine: str
    post_grades: tuple[PostGrade, ...]
    eligibility: tuple[Eligibility, ...]
    obligations: tuple[Obligation, ...]
    findings: tuple[Finding, ...]
    intermediate: tuple[Item, ...] = attrs.field(repr=False)
    _derivations: Mapping[str, Derivation] = attrs.field(repr=False, eq=False)
    _objects: Mapping[str, Any] = attrs.field(repr=False, eq=False)
    #: Where the explanations come from when not from this run: the native engine's result on the same facts
    #: (made when first asked for), for an engine that keeps only what each item matched (the columnar one).
    _explained_by: Callable[[], Result] | None = attrs.field(default=None, repr=False, eq=False)

    def to_dict(self) -> dict[str, Any]:
        """The output document of INTERCHANGE, as plain data (money as strings, numbers as Decimal)."""
        return {
            "ruleset": self.ruleset.id,
            "period": str(self.period),
            "post_grades": [i.to_dict() for i in self.post_grades],
            "eligibility": [i.to_dict() for i in self.eligibility],
            "obligations": [i.to_dict() for i in self.obligations],
            "findings": [i.to_dict() for i in self.findings],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The output document as JSON text: the same input always gives the same bytes."""
        buffer = io.StringIO()
        self.write_json(buffer, indent=indent)
        return buffer.getvalue()

    def write_json(self, stream: TextIO, *, indent: int | None = 2) -> None:
        """Write :meth:`to_json`'s text to ``stream`` item by item, never holding the whole document."""
        dump(
            {
                "ruleset": self.ruleset.id,
                "period": str(self.period),
                "post_grades": _AsDicts(self.post_grades),
                "eligibility": _AsDicts(self.eligibility),
                "obligations": _AsDicts(self.obligations),
                "findings": _AsDicts(self.findings),
            },
            stream,
            indent=indent,
        )
        stream.write("\n")

    def to_frames(self) -> dict[str, Any]:
        """One pandas DataFrame per section, with typed columns (see :mod:`swrules.frames`; needs pandas)."""
        from swrules.frames import to_frames

        return to_frames(self)

    def items(self) -> Iterator[PostGrade | Eligibility | Obligation | Finding]:
        """Every output item, section by section."""
        yield from self.post_grades
        yield from self.eligibility
        yield from self.obligations
        yield from self.findings

    def keys(self) -> list[str]:
        """The key of every derived item, intermediate steps included (what ``explain`` accepts)."""
        return sorted(self._derivations)

    def get(self, key: str) -> Item:
        """The derived item with this key (``post_grade/P1``, an obligation id, …).

        A finding with a deadline has it in its key (``finding/community_staffing/c1@2021-12-31``); its key
        without the deadline finds it too when one finding alone has it.
        """
        item: Item = self._objects[self._resolve(key)]
        return item

    def _resolve(self, key: str) -> str:
        if key in self._derivations:
            return key
        if key.startswith("finding/") and "@" not in key:
            dated = [k for k in self._derivations if k.startswith(key + "@")]
            if len(dated) == 1:
                return dated[0]
        raise ItemNotFoundError(f"no derived item {shown(key)} in this result{_hint(key, self._derivations)}")

    def explain(self, item: Item | str, *, depth: int = 8) -> Explanation:
        """Why ``item`` (an item of this result, or its key) was derived."""
        key = self._resolve(item if isinstance(item, str) else item.key)
        if self._explained_by is not None:  # the same item of the native engine's run on the same facts
            return self._explained_by().explain(key, depth=depth)
        derivations, objects = self._derivations, self._objects
        world_of = getattr(derivations, "world_of", None)
        if world_of is not None and world_of(key):  # judged on a deadline: explained from that day's program
            derivations, objects = derivations.views[world_of(key)]  # type: ignore[attr-defined]
        return explain(key, self.ruleset, derivations, objects, depth=depth)


def _hint(word: str, choices: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _AsDicts(Sequence[dict[str, Any]]):
    """A section's items as output dicts, made one at a time while they are written."""

    def __init__(self, items: Sequence[PostGrade | Eligibility | Obligation | Finding]) -> None:
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for item in self._items:
            yield item.to_dict()

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [item.to_dict() for item in self._items[index]]
        return self._items[index].to_dict()
