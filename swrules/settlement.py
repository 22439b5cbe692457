"""Settlement: what is owed under the facts as they stand now, against what a ledger says was paid.

Payroll pays month by month, and facts are corrected after the fact: a role
change entered late, a certificate date fixed. :func:`settle` evaluates every
obligation due from the ruleset's first day through a month, compares each
with the payments a ledger records against its id, and lists one line per
obligation owed or paid: ``balance = owed − paid`` — positive, arrears to pay
now; negative, an overpayment to recover. Totals by payer and kind reconcile.

Money obligations only: an in-kind benefit (the talent card) has no amount to
settle, and a payment booked against one is shown as an overpayment.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Final, TextIO

import attrs

from swrules._json import dump
from swrules._text import printable
from swrules.budget import TimeBudget, budget_of, timed
from swrules.errors import InputError, PeriodError, Problem
from swrules.evaluation import evaluate, is_fact_tables
from swrules.items import ObligationKind
from swrules.load import FactSet, load_facts, parse_json
from swrules.period import Period
from swrules.rulesets import Ruleset, load_ruleset

__all__ = ["Payment", "Settlement", "SettlementLine", "SettlementTotal", "parse_ledger", "read_ledger", "settle"]

_ZERO: Final = Decimal("0.00")
_CENT: Final = Decimal("0.01")
_MONEY_RE: Final = re.compile(r"-?\d{1,15}(\.\d{1,2})?")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_RE: Final = re.compile(r"\d{4}-\d{2}")
_FIELDS: Final = ("obligation", "amount", "paid_on")
_OPTIONAL: Final = ("payee", "payer", "kind", "due")
_KINDS: Final = frozenset(k.value for k in ObligationKind)
#: Largest ledger read (bytes), like a JSON document of facts.
MAX_LEDGER_BYTES: Final = 128 * 1024 * 1024


@attrs.frozen(kw_only=True)
class Payment:
    """One payment a ledger records: to an obligation id, an amount (negative: money taken back), a day."""

    obligation: str
    amount: Decimal
    paid_on: _dt.date
    payee: str | None = None
    payer: str | None = None
    kind: str | None = None
    due: str | None = None


@attrs.frozen(kw_only=True)
class SettlementLine:
    """One obligation owed or paid: what the facts say is owed, what was paid, and the balance."""

    obligation: str
    payee: str | None
    payer: str | None
    kind: str | None
    due: str | None
    owed: Decimal
    paid: Decimal

    @property
    def balance(self) -> Decimal:
        return self.owed - self.paid

    def sort_key(self) -> tuple[str, ...]:
        return (self.payee or "", self.kind or "", self.due or "", self.obligation)

    def to_dict(self) -> dict[str, Any]:
        return {
            "obligation": self.obligation,
            "payee": self.payee,
            "payer": self.payer,
            "kind": self.kind,
            "due": self.due,
            "owed": _money(self.owed),
            "paid": _money(self.paid),
            "balance": _money(self.balance),
        }


@attrs.frozen(kw_only=True)
class SettlementTotal:
    """Sums over the lines of one payer and kind: Σ owed − Σ paid = Σ balance."""

    payer: str | None
    kind: str | None
    owed: Decimal
    paid: Decimal
    balance: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "payer": self.payer,
            "kind": self.kind,
            "owed": _money(self.owed),
            "paid": _money(self.paid),
            "balance": _money(self.balance),
        }


@attrs.frozen(kw_only=True)
class Settlement:
    """What settling facts against a ledger through a month gives (INTERCHANGE: "Settlement")."""

    ruleset: str
    through: str
    lines: tuple[SettlementLine, ...]
    totals: tuple[SettlementTotal, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ruleset": self.ruleset,
            "through": self.through,
            "lines": [line.to_dict() for line in self.lines],
            "totals": [t.to_dict() for t in self.totals],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        buffer = io.StringIO()
        self.write_json(buffer, indent=indent)
        return buffer.getvalue()

    def write_json(self, stream: TextIO, *, indent: int | None = 2) -> None:
        dump(self.to_dict(), stream, indent=indent)
        stream.write("\n")

    def balances(self) -> dict[str, Decimal]:
        """The balance of each payee (lines with no payee under ``""``)."""
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.payee or ""] = out.get(line.payee or "", _ZERO) + line.balance
        return out

    def to_text(self) -> str:
        """The lines with a balance, then the totals, for a person to read."""
        rows = [f"Settlement of {self.ruleset} through {self.through}"]
        open_lines = [line for line in self.lines if line.balance]
        rows.append(f"{len(self.lines)} obligations owed or paid; {len(open_lines)} with a balance")
        for line in open_lines:
            what = "pay" if line.balance > 0 else "recover"
            rows.append(
                f"  {what:<8} {_money(abs(line.balance)):>10}  {line.payee or '?':<12} {line.kind or '?':<28} "
                f"{line.due or '?':<8} {line.obligation}"
            )
        rows.append("Totals")
        for t in self.totals:
            rows.append(
                f"  {t.payer or '?':<16} {t.kind or '?':<28} owed {_money(t.owed):>12}  paid {_money(t.paid):>12}  "
                f"balance {_money(t.balance):>12}"
            )
        return "\n".join(printable(row) for row in rows) + "\n"


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENT):.2f}"


# -- reading a ledger ----------------------------------------------------------------------


def read_ledger(path: str | Path) -> list[Payment]:
    """The payments of a ledger file: CSV (``obligation,amount,paid_on``), JSON (``{"payments": [...]}``) or JSON
    Lines (``.jsonl``); every problem names the file, the line and the field."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_LEDGER_BYTES + 1)
    except OSError as err:
        raise InputError([Problem(message=f"cannot read the ledger: {err.strerror}", source=source)]) from None
    if len(raw) > MAX_LEDGER_BYTES:
        raise InputError([Problem(message=f"the ledger is larger than {MAX_LEDGER_BYTES} bytes", source=source)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            [Problem(message=f"not UTF-8 text ({err.reason} at byte {err.start})", source=source)]
        ) from None
    if source.endswith(".csv"):
        return _from_csv(io.StringIO(text, newline=""), source)
    if source.endswith(".jsonl"):
        return _from_jsonl(text, source)
    return _from_json(text, source)


def parse_ledger(data: Any, *, source: str = "ledger") -> list[Payment]:
    """Payments given as Python data: ``{"payments": [...]}``, a list of dicts, or :class:`Payment` objects."""
    if isinstance(data, Mapping):
        if set(data) != {"payments"}:
            raise InputError([Problem(message='a ledger document is {"payments": [...]}', source=source)])
        data = data["payments"]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise InputError([Problem(message="a ledger is a list of payments", source=source)])
    payments: list[Payment] = []
    problems: list[Problem] = []
    for i, entry in enumerate(data):
        if isinstance(entry, Payment):
            payments.append(entry)
            continue
        _one(entry, f"{source} payments[{i}]", payments, problems)
    if problems:
        raise InputError(problems)
    return payments


def _from_csv(stream: IO[str], source: str) -> list[Payment]:
    reader = csv.reader(stream)
    problems: list[Problem] = []
    payments: list[Payment] = []
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(
                [Problem(message="the ledger is empty (expected a header obligation,amount,paid_on)", source=source)]
            )
        columns = [h.strip() for h in header]
        for name in columns:
            if name not in _FIELDS and name not in _OPTIONAL:
                problems.append(
                    Problem(
                        message=f"unknown column (expected {', '.join((*_FIELDS, *_OPTIONAL))})",
                        source=f"{source} line 1",
                        field=name,
                    )
                )
        if len(set(columns)) != len(columns):
            problems.append(Problem(message="a column appears twice", source=f"{source} line 1"))
        for name in _FIELDS:
            if name not in columns:
                problems.append(Problem(message="is a required column", source=f"{source} line 1", field=name))
        if problems:
            raise InputError(problems)
        for row in reader:
            where = f"{source} line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                problems.append(Problem(message=f"has {len(row)} cells for {len(columns)} columns", source=where))
                continue
            entry = {name: cell for name, cell in zip(columns, row, strict=True) if cell.strip() != ""}
            _one(entry, where, payments, problems)
    except csv.Error as err:
        problems.append(Problem(message=f"cannot be read as CSV: {err}", source=f"{source} line {reader.line_num}"))
    if problems:
        raise InputError(problems)
    return payments


def _from_jsonl(text: str, source: str) -> list[Payment]:
    payments: list[Payment] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            entry = parse_json(line, source=where)
        except InputError as err:
            problems.extend(err.problems)
            continue
        _one(entry, where, payments, problems)
    if problems:
        raise InputError(problems)
    return payments


def _from_json(text: str, source: str) -> list[Payment]:
    document = parse_json(text, source=source)
    if not isinstance(document, dict) or set(document) != {"payments"} or not isinstance(document["payments"], list):
        raise InputError([Problem(message='a ledger document is {"payments": [...]}', source=source)])
    lines = _element_lines(text)
    payments: list[Payment] = []
    problems: list[Problem] = []
    for i, entry in enumerate(document["payments"]):
        line = f" line {lines[i]}" if i < len(lines) else ""
        _one(entry, f"{source}{line} payments[{i}]", payments, problems)
    if problems:
        raise InputError(problems)
    return payments


def _element_lines(text: str) -> list[int]:
    """The line on which each element of the document's ``payments`` list starts (the JSON is known valid)."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != "{":
        return []
    pos += 1
    while True:
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos : pos + 1] == "}":
            return []
        key, pos = decoder.raw_decode(text, pos)
        pos = ws.match(text, pos).end() + 1  # type: ignore[union-attr]  # past ':'
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if key != "payments":
            _, pos = decoder.raw_decode(text, pos)
            pos = ws.match(text, pos).end() + 1  # type: ignore[union-attr]  # past ',' or '}'
            continue
        starts: list[int] = []
        pos += 1  # past '['
        while True:
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == "]":
                return starts
            starts.append(text.count("\n", 0, pos) + 1)
            _, pos = decoder.raw_decode(text, pos)
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == ",":
                pos += 1


def _one(entry: object, where: str, payments: list[Payment], problems: list[Problem]) -> None:
    """Check one payment; append it, or a problem per bad field."""
    if not isinstance(entry, Mapping):
        problems.append(
            Problem(message="a payment must be an object with obligation, amount and paid_on", source=where)
        )
        return
    before = len(problems)

    def problem(field: str, message: str) -> None:
        problems.append(Problem(message=message, source=where, field=field))

    for key in entry:
        if key not in _FIELDS and key not in _OPTIONAL:
            problem(str(key)[:60], f"unknown field (expected {', '.join((*_FIELDS, *_OPTIONAL))})")
    obligation = entry.get("obligation")
    if not isinstance(obligation, str) or not obligation.strip() or len(obligation) > 1000:
        problem("obligation", "is required: the obligation id paid (a non-empty string)")
    amount = _amount(entry.get("amount"))
    if amount is None:
        problem(
            "amount", f"must be an amount in yuan with at most two decimal places (got {_shown(entry.get('amount'))})"
        )
    paid_on = entry.get("paid_on")
    day: _dt.date | None = None
    if isinstance(paid_on, str) and _DATE_RE.fullmatch(paid_on.strip()):
        try:
            day = _dt.date.fromisoformat(paid_on.strip())
        except ValueError:
            day = None
    if day is None:
        problem("paid_on", f"must be a date YYYY-MM-DD (got {_shown(paid_on)})")
    extra: dict[str, str | None] = {}
    for name in _OPTIONAL:
        value = entry.get(name)
        if value is None:
            extra[name] = None
        elif not isinstance(value, str) or not value.strip() or len(value) > 200:
            problem(name, f"must be a non-empty string (got {_shown(value)})")
        elif name == "kind" and value.strip() not in _KINDS:
            problem(name, f"must be one of {', '.join(sorted(_KINDS))} (got {_shown(value)})")
        elif name == "due" and not _MONTH_RE.fullmatch(value.strip()):
            problem(name, f"must be a month YYYY-MM (got {_shown(value)})")
        else:
            extra[name] = value.strip()
    if len(problems) > before:
        return
    assert isinstance(obligation, str) and amount is not None and day is not None
    payments.append(Payment(obligation=obligation, amount=amount, paid_on=day, **extra))


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        value = str(value) if value.is_finite() else ""
    if not isinstance(value, str) or not _MONEY_RE.fullmatch(value.strip()):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


# -- settling --------------------------------------------------------------------------------


def settle(
    facts: Any,
    *,
    ruleset: str | Path | Ruleset,
    through: str | Period,
    paid: Any,
    engine: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | TimeBudget | None = None,
) -> Settlement:
    """Settle ``facts`` under ``ruleset`` through the month ``through`` against the payments ``paid``.

    ``paid`` is a list of :class:`Payment` (or ledger dicts, or ``{"payments": [...]}``), or the path of a ledger
    file. Owed are the money obligations due from the ruleset's first day through ``through``, evaluated year by
    year (a year's run lists exactly what falls due in its months). ``timeout`` is one time budget for the whole
    call, every year's evaluation included. ``engine`` is any :func:`~swrules.evaluation.evaluate` takes,
    ``auto`` unless named (``columnar`` too); ``facts`` may then also be a :class:`~swrules.columnar.FactTables`, each
    year evaluated on it as it is.
    """
    budget = budget_of(timeout)
    month = Period.parse(through)
    if month.month is None:
        raise PeriodError(f"settle runs through a month YYYY-MM (got {str(month)!r})")
    the_ruleset = load_ruleset(ruleset)
    if parameters:
        the_ruleset = the_ruleset.with_parameters(parameters)
    fact_set = facts if isinstance(facts, FactSet) or is_fact_tables(facts) else load_facts(timed(facts, budget))
    payments = read_ledger(paid) if isinstance(paid, (str, Path)) else parse_ledger(paid)
    owed: dict[str, tuple[str, str, str, str, Decimal]] = {}
    seen: dict[str, tuple[str, str, str, str, Decimal]] = {}  # in-kind benefits too: what ids of a rule look like
    first = the_ruleset.applies_from.year
    last = month.year if the_ruleset.applies_until is None else min(month.year, the_ruleset.applies_until.year)
    for year in range(first, last + 1):
        result = evaluate(fact_set, ruleset=the_ruleset, period=str(year), engine=engine, timeout=budget)
        for ob in result.obligations:
            if ob.due > str(month):
                continue
            seen[ob.id] = (ob.payee, ob.payer, ob.kind.value, ob.due, ob.amount or _ZERO)
            if ob.amount is not None:
                owed[ob.id] = seen[ob.id]
    paid_sum: dict[str, Decimal] = {}
    told: dict[str, dict[str, str]] = {}
    for p in payments:
        paid_sum[p.obligation] = paid_sum.get(p.obligation, _ZERO) + p.amount
        known = told.setdefault(p.obligation, {})
        for name in _OPTIONAL:
            value = getattr(p, name)
            if value is not None:
                known.setdefault(name, value)
    objects: list[FactSet] = []  # a FactTables read back as objects once, for a paid id no longer owed

    def as_objects() -> FactSet:
        if isinstance(fact_set, FactSet):
            return fact_set
        if not objects:
            objects.append(fact_set.to_factset())
        return objects[0]

    lines = []
    for ident in sorted(set(owed) | set(paid_sum)):
        payee: str | None
        payer: str | None
        kind: str | None
        due: str | None
        if ident in owed:
            payee, payer, kind, due, amount = owed[ident]
        elif ident in seen:  # an in-kind benefit due now: nothing in money is owed for it
            payee, payer, kind, due, _ = seen[ident]
            amount = _ZERO
        else:
            said = {**_inferred(ident, seen, as_objects()), **told.get(ident, {})}
            payee, payer, kind, due, amount = (
                said.get("payee"),
                said.get("payer"),
                said.get("kind"),
                said.get("due"),
                _ZERO,
            )
        lines.append(
            SettlementLine(
                obligation=ident,
                payee=payee,
                payer=payer,
                kind=kind,
                due=due,
                owed=amount,
                paid=paid_sum.get(ident, _ZERO),
            )
        )
    lines.sort(key=SettlementLine.sort_key)
    return Settlement(ruleset=the_ruleset.id, through=str(month), lines=tuple(lines), totals=_totals(lines))


_PERSON_REFS: Final = {"certificate": "holder", "exam_registration": "person", "talent_selection": "person"}


def _inferred(ident: str, owed: Mapping[str, tuple[str, str, str, str, Decimal]], facts: FactSet) -> dict[str, str]:
    """What an obligation id no longer owed says of itself, where the ledger does not say it.

    Ids read ``ruleset/rule/part/…`` (``/`` and ``%`` escaped in parts): a last part ``YYYY-MM`` is the month
    due; a first part naming a person is the payee, one naming a certificate, registration or selection gives
    its person; kind and payer are those every obligation of the same rule (and last part) owed now shares.
    """
    parts = [p.replace("%2F", "/").replace("%25", "%") for p in ident.split("/")]
    if len(parts) < 3:
        return {}
    out: dict[str, str] = {}
    if _MONTH_RE.fullmatch(parts[-1]):
        out["due"] = parts[-1]
    subject = parts[2]
    if facts.get("person", subject) is not None:
        out["payee"] = subject
    else:
        for fact_type, field in _PERSON_REFS.items():
            fact = facts.get(fact_type, subject)
            if fact is not None:
                out["payee"] = getattr(fact, field)
                break
    prefix = "/".join(ident.split("/")[:2]) + "/"
    tail = parts[-1] if len(parts) > 3 and not _MONTH_RE.fullmatch(parts[-1]) else None
    siblings = [v for k, v in owed.items() if k.startswith(prefix) and (tail is None or k.endswith("/" + tail))]
    for index, name in ((1, "payer"), (2, "kind")):
        values = {str(v[index]) for v in siblings}
        if len(values) == 1:
            out[name] = values.pop()
    return out


def _totals(lines: Sequence[SettlementLine]) -> tuple[SettlementTotal, ...]:
    sums: dict[tuple[str | None, str | None], tuple[Decimal, Decimal]] = {}
    for line in lines:
        key = (line.payer, line.kind)
        owed, paid = sums.get(key, (_ZERO, _ZERO))
        sums[key] = (owed + line.owed, paid + line.paid)
    return tuple(
        SettlementTotal(payer=payer, kind=kind, owed=owed, paid=paid, balance=owed - paid)
        for (payer, kind), (owed, paid) in sorted(sums.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    )
