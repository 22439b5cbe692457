"""What-if and comparison: the same facts under two rulesets (or one ruleset with changed parameters).

Items are matched by what they are about, not by the rule that made them, so
two jurisdictions' schemes compare too: an obligation by (payee, kind,
period), a finding by (subject, requirement, person), a post grade by post,
an eligibility by (person, band). Each matched pair that differs is a
*change* (field by field, old → new); an item on one side only is *added* or
*removed*. Totals of obligation amounts by kind and payer reconcile exactly:
old + change = new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from swrules._json import dumps
from swrules._text import printable
from swrules.errors import RulesetError, shown
from swrules.evaluation import evaluate, is_fact_tables
from swrules.items import Eligibility, Finding, Obligation, PostGrade
from swrules.load import FactSet, load_facts
from swrules.result import Result
from swrules.rulesets import Ruleset, load_ruleset

__all__ = ["Diff", "ItemChange", "Total", "diff", "parse_settings"]

_IGNORED = ("rule", "clause", "id")  # where an item came from, not what it says


@attrs.frozen(kw_only=True)
class ItemChange:
    """One item that differs: ``change`` is ``added``, ``removed`` or ``changed``; ``fields`` old → new."""

    section: str
    subject: str
    key: tuple[str, ...]
    change: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    fields: Mapping[str, tuple[Any, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "subject": self.subject,
            "key": list(self.key),
            "change": self.change,
            "fields": {k: {"old": o, "new": n} for k, (o, n) in self.fields.items()},
            "old": None if self.old is None else dict(self.old),
            "new": None if self.new is None else dict(self.new),
        }


@attrs.frozen(kw_only=True)
class Total:
    """Obligation amounts of one kind and payer, before and after."""

    kind: str
    payer: str
    old: Decimal
    new: Decimal

    @property
    def change(self) -> Decimal:
        return self.new - self.old

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "payer": self.payer, "old": self.old, "new": self.new, "change": self.change}


@attrs.frozen(kw_only=True)
class Diff:
    """Every difference between two evaluations of the same facts, and the money totals."""

    period: str
    old_ruleset: str
    new_ruleset: str
    changes: tuple[ItemChange, ...]
    totals: tuple[Total, ...]
    old: Result = attrs.field(repr=False, eq=False)
    new: Result = attrs.field(repr=False, eq=False)

    @property
    def subjects(self) -> list[str]:
        """Persons, communities, organizations, projects… something changed for, sorted."""
        return sorted({c.subject for c in self.changes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "from": self.old_ruleset,
            "to": self.new_ruleset,
            "changes": [c.to_dict() for c in self.changes],
            "totals": [t.to_dict() for t in self.totals],
            "total": {
                "old": sum((t.old for t in self.totals), Decimal(0)),
                "new": sum((t.new for t in self.totals), Decimal(0)),
                "change": sum((t.change for t in self.totals), Decimal(0)),
            },
        }

    def to_json(self) -> str:
        return dumps(self.to_dict()) + "\n"

    def to_text(self) -> str:
        lines = [f"swrules diff — {self.old_ruleset} → {self.new_ruleset}, period {self.period}", ""]
        if not self.changes:
            lines.append("No differences.")
        by_subject: dict[str, list[ItemChange]] = defaultdict(list)
        for c in self.changes:
            by_subject[c.subject].append(c)
        for subject in sorted(by_subject):
            lines.append(subject)
            for c, last, months in _grouped(by_subject[subject]):
                what = " ".join(c.key[1:]) if len(c.key) > 1 else c.key[0]
                if months > 1:  # the same change to consecutive months of one monthly obligation
                    what = f"{c.key[1]} {c.key[2]}…{last.key[2]} ({months} months)"
                if c.change == "changed":
                    fields = ", ".join(f"{k} {_show(o)} → {_show(n)}" for k, (o, n) in c.fields.items())
                    lines.append(
                        f"  changed  {c.section[:-1] if c.section.endswith('s') else c.section} {what}: {fields}"
                    )
                else:
                    item = c.new if c.change == "added" else c.old
                    assert item is not None
                    body = ", ".join(f"{k}={_show(v)}" for k, v in item.items() if k not in _IGNORED)
                    lines.append(f"  {c.change:<8} {c.section[:-1] if c.section.endswith('s') else c.section}: {body}")
        lines += ["", "Obligation totals (CNY)", f"  {'kind':<28} {'payer':<22} {'old':>14} {'new':>14} {'change':>14}"]
        for t in self.totals:
            lines.append(f"  {t.kind:<28} {t.payer:<22} {t.old:>14,.2f} {t.new:>14,.2f} {t.change:>+14,.2f}")
        old = sum((t.old for t in self.totals), Decimal(0))
        new = sum((t.new for t in self.totals), Decimal(0))
        lines.append(f"  {'total':<28} {'':<22} {old:>14,.2f} {new:>14,.2f} {new - old:>+14,.2f}")
        return "\n".join(printable(line) for line in lines) + "\n"

    def to_frames(self) -> dict[str, Any]:
        """``changes`` and ``totals`` as pandas DataFrames (needs the ``analysis`` extra)."""
        from swrules.frames import _pandas

        pd = _pandas()
        changes = pd.DataFrame(
            [
                {
                    "section": c.section,
                    "subject": c.subject,
                    "key": "/".join(c.key),
                    "change": c.change,
                    "field": f,
                    "old": o,
                    "new": n,
                }
                for c in self.changes
                for f, (o, n) in (c.fields.items() or [("", (None, None))])
            ]
        )
        totals = pd.DataFrame([t.to_dict() for t in self.totals])
        return {"changes": changes, "totals": totals}


def _grouped(changes: list[ItemChange]) -> list[tuple[ItemChange, ItemChange, int]]:
    """Runs of one change repeated over the months of a monthly obligation: (first, last, how many)."""
    out: list[tuple[ItemChange, ItemChange, int]] = []
    for c in changes:
        if out:
            first, last, n = out[-1]
            if (
                c.section == last.section == "obligations"
                and c.change == last.change
                and c.key[:2] == last.key[:2]
                and len(c.key[2]) == len(last.key[2]) == 7
                and c.fields == last.fields
                and _without_period(c) == _without_period(last)
            ):
                out[-1] = (first, c, n + 1)
                continue
        out.append((c, c, 1))
    return out


def _without_period(c: ItemChange) -> dict[str, Any]:
    return {k: v for k, v in (c.new or c.old or {}).items() if k not in ("period", "due")}


def _show(value: Any) -> str:
    return "null" if value is None else str(value)


def _matching_key(section: str, item: Any) -> tuple[str, ...]:
    if isinstance(item, Obligation):
        return (item.payee, item.kind.value, item.period)
    if isinstance(item, Finding):
        return (item.subject, item.requirement, item.person or "")
    if isinstance(item, PostGrade):
        return (item.post,)
    assert isinstance(item, Eligibility)
    return (item.person, item.band.value)


def _subject(item: Any) -> str:
    if isinstance(item, Obligation):
        return item.payee
    if isinstance(item, Finding):
        return item.subject
    if isinstance(item, PostGrade):
        return item.post
    return str(item.person)


def parse_settings(ruleset: Ruleset, settings: Mapping[str, str] | list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings (or a mapping) as typed parameter values of ``ruleset``; unknown names are errors."""
    pairs: dict[str, Any] = {}
    for entry in settings if isinstance(settings, list) else [f"{k}={v}" for k, v in settings.items()]:
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise RulesetError(f"--set takes NAME=VALUE (got {shown(entry)})", key=shown(entry))
        pairs[name.strip()] = value.strip()
    return pairs


def settings_for(ruleset: str | Path | Ruleset, entries: list[str] | None) -> dict[str, Any] | None:
    """``--set NAME=VALUE`` entries for ``ruleset`` as a parameters mapping (None when there are none)."""
    if not entries:
        return None
    return parse_settings(load_ruleset(ruleset), entries)


def diff(
    facts: Any,
    *,
    from_: str | Path | Ruleset,
    to: str | Path | Ruleset,
    period: str,
    set_from: Mapping[str, Any] | None = None,
    set_to: Mapping[str, Any] | None = None,
    engine: str | None = None,
) -> Diff:
    """Evaluate ``facts`` under ``from_`` and ``to`` (each with optional parameter changes) and compare.

    ``engine`` is any :func:`~swrules.evaluation.evaluate` takes, ``auto`` unless named (``columnar`` too);
    ``facts`` may then also be a :class:`~swrules.columnar.FactTables`, evaluated as it is on both sides."""
    fact_set = facts if isinstance(facts, FactSet) or is_fact_tables(facts) else load_facts(facts)
    old_rs, new_rs = load_ruleset(from_), load_ruleset(to)
    old = evaluate(fact_set, ruleset=old_rs, period=period, engine=engine, parameters=set_from or None)
    new = evaluate(fact_set, ruleset=new_rs, period=period, engine=engine, parameters=set_to or None)
    changes: list[ItemChange] = []
    for section in ("post_grades", "eligibility", "obligations", "findings"):
        before = {_matching_key(section, i): i for i in getattr(old, section)}
        after = {_matching_key(section, i): i for i in getattr(new, section)}
        for key in sorted(set(before) | set(after)):
            a, b = before.get(key), after.get(key)
            da = None if a is None else {k: v for k, v in a.to_dict().items() if k not in _IGNORED}
            db = None if b is None else {k: v for k, v in b.to_dict().items() if k not in _IGNORED}
            if da == db:
                continue
            fields = {}
            if da is not None and db is not None:
                fields = {k: (da.get(k), db.get(k)) for k in {**da, **db} if da.get(k) != db.get(k)}
            change = "added" if a is None else "removed" if b is None else "changed"
            changes.append(
                ItemChange(
                    section=section,
                    subject=_subject(b if a is None else a),
                    key=key,
                    change=change,
                    old=da,
                    new=db,
                    fields=dict(sorted(fields.items())),
                )
            )
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for side, result in ((0, old), (1, new)):
        for ob in result.obligations:
            if ob.amount is not None:
                sums[(ob.kind.value, ob.payer)][side] += ob.amount
    totals = tuple(Total(kind=k, payer=p, old=v[0], new=v[1]) for (k, p), v in sorted(sums.items()))
    changes.sort(key=lambda c: (c.subject, c.section, c.key))
    return Diff(
        period=str(old.period),
        old_ruleset=old_rs.id,
        new_ruleset=new_rs.id,
        changes=tuple(changes),
        totals=totals,
        old=old,
        new=new,
    )
