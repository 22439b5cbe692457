"""Derived items: what the rules conclude (INTERCHANGE: "Output").

Four kinds reach the output — :class:`PostGrade`, :class:`Eligibility`,
:class:`Obligation`, :class:`Finding` — and a few are intermediate steps of a
chain (:class:`Held`, :class:`PersonStatus`, :class:`SubjectCount`) that
explanations show but the JSON output does not. Every item has a ``key``,
unique within a result, by which it can be explained; rule and clause are
filled in by the evaluator from the rule that derived the item.
"""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeAlias

import attrs

from swrules.facts import Band, CertLevel

__all__ = [
    "CURRENCY",
    "OUTPUT_SECTIONS",
    "AllowanceRates",
    "DeadlineStatus",
    "Eligibility",
    "Finding",
    "Held",
    "Item",
    "Obligation",
    "ObligationKind",
    "PersonStatus",
    "PostGrade",
    "PostStatus",
    "Severity",
    "SubjectCount",
    "obligation_id",
]

CURRENCY: Final = "CNY"
_CENT: Final = Decimal("0.01")


class ObligationKind(enum.Enum):
    EXAM_REWARD = "exam_reward"
    EXAM_EXPENSE_REIMBURSEMENT = "exam_expense_reimbursement"
    MONTHLY_ALLOWANCE = "monthly_allowance"
    TALENT_REWARD = "talent_reward"
    TALENT_CARD = "talent_card"


class Severity(enum.Enum):
    """How strongly a finding's clause asks for what it checks, from the clause's own wording (contract v2)."""

    BINDING = "binding"  # 应、必须、不得、确保: the text commands
    TARGET = "target"  # 力争、达到…目标: a goal, usually with a date
    ADVISORY = "advisory"  # 鼓励、推动、逐步、左右、可: the text encourages or permits


class DeadlineStatus(enum.Enum):
    """Where a finding's deadline lies relative to the evaluated period."""

    AHEAD = "ahead"  # the period ends before the deadline: progress so far, judged on the period's last day
    DUE = "due"  # the deadline falls in the period: judged on the deadline
    PAST = "past"  # the period starts after the deadline: judged on the deadline, for the record


def _escape_key(part: str) -> str:
    if "@" not in part and "%" not in part:
        return part
    return part.replace("%", "%25").replace("@", "%40")


def _escape(part: str) -> str:
    if "%" not in part and "/" not in part:
        return part
    return part.replace("%", "%25").replace("/", "%2F")


def obligation_id(ruleset: str, rule: str, *parts: str) -> str:
    """A stable, readable id: ``ruleset/rule/part/...``, each part escaped so ids never collide."""
    return "/".join(_escape(p) for p in (ruleset, rule, *parts))


@attrs.frozen(kw_only=True)
class Held:
    """A certificate counts for its holder at the evaluation date (intermediate)."""

    TYPE: ClassVar[str] = "held"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)
    SECTION: ClassVar[str | None] = None

    person: str
    certificate: str
    level: CertLevel
    obtained_on: date
    registered: bool
    version: str = ""  # the start of the certificate version it comes from, for a dated certificate
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        base = f"held/{_escape_key(self.certificate)}"
        return f"{base}@{self.version}" if self.version else base

    @property
    def rank(self) -> int:
        return self.level.rank


@attrs.frozen(kw_only=True)
class PersonStatus:
    """One person's standing at the evaluation date, summarised for counting (intermediate).

    ``top_level`` is the highest certificate held, or None.
    """

    TYPE: ClassVar[str] = "person_status"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)
    SECTION: ClassVar[str | None] = None

    person: str
    community: str | None
    organization: str | None
    top_level: CertLevel | None
    registered: bool
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        return f"person_status/{self.person}"

    @property
    def certified(self) -> bool:
        return self.top_level is not None


@attrs.frozen(kw_only=True)
class PostStatus:
    """An occupied post with its holder's highest certificate at the evaluation date (intermediate)."""

    TYPE: ClassVar[str] = "post_status"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "holder"),)
    SECTION: ClassVar[str | None] = None

    post: str
    holder: str
    community: str | None
    organization: str | None
    social_work: bool
    holder_level: CertLevel | None
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        return f"post_status/{self.post}"

    @property
    def holder_certified(self) -> bool:
        return self.holder_level is not None


@attrs.frozen(kw_only=True)
class SubjectCount:
    """A count of certified people attached to one subject (intermediate)."""

    TYPE: ClassVar[str] = "subject_count"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("subject", "subject"),)
    SECTION: ClassVar[str | None] = None

    subject: str
    what: str
    count: int
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        return f"subject_count/{self.what}/{self.subject}"


@attrs.frozen(kw_only=True)
class AllowanceRates:
    """What one version of a person's record earns a day, where it earns anything (intermediate).

    ``segments`` are (first day, last day, monthly amount) runs within the months in which something may fall
    due; the monthly allowance puts the runs of all the person's versions together month by month.
    """

    TYPE: ClassVar[str] = "allowance_rates"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)
    SECTION: ClassVar[str | None] = None

    person: str
    version: str  # the start of the person version (ISO), or "" for an undated person
    segments: tuple[tuple[date, date, Decimal], ...]
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        base = f"allowance_rates/{_escape_key(self.person)}"
        return f"{base}@{self.version}" if self.version else base


@attrs.frozen(kw_only=True)
class PostGrade:
    """The professional grade (level 5-12) and title a post carries."""

    TYPE: ClassVar[str] = "post_grade"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "holder"), ("post", "post"))
    SECTION: ClassVar[str | None] = "post_grades"

    post: str
    band: Band
    tier: int
    level: int
    title: str
    holder: str | None = attrs.field(default=None, metadata={"output": False})
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        return f"post_grade/{self.post}"

    def sort_key(self) -> tuple[str, ...]:
        return (self.post,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "post": self.post,
            "band": self.band.value,
            "tier": self.tier,
            "level": self.level,
            "title": self.title,
            "rule": self.rule,
            "clause": self.clause,
        }


@attrs.frozen(kw_only=True)
class Eligibility:
    """Whether a person may hold a post of a band (holds a certificate of its level or above)."""

    TYPE: ClassVar[str] = "eligibility"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)
    SECTION: ClassVar[str | None] = "eligibility"

    person: str
    band: Band
    eligible: bool
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def key(self) -> str:
        return f"eligibility/{self.person}/{self.band.value}"

    def sort_key(self) -> tuple[str, ...]:
        return (self.person, f"{self.band.rank}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "band": self.band.value,
            "eligible": self.eligible,
            "rule": self.rule,
            "clause": self.clause,
        }


@attrs.frozen(kw_only=True)
class Obligation:
    """Something owed to a person in a period: money (``amount``) or an in-kind benefit (``amount`` None)."""

    TYPE: ClassVar[str] = "obligation"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "payee"),)
    SECTION: ClassVar[str | None] = "obligations"

    id: str
    kind: ObligationKind
    payee: str
    payer: str
    amount: Decimal | None
    period: str
    due: str  # YYYY-MM: the month the obligation falls due (contract v2)
    currency: str = CURRENCY
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    def __attrs_post_init__(self) -> None:
        if self.amount is not None:
            if self.amount < 0:
                raise ValueError(f"obligation {self.id}: amount must not be negative (got {self.amount})")
            object.__setattr__(self, "amount", self.amount.quantize(_CENT))

    @property
    def key(self) -> str:
        return self.id

    def sort_key(self) -> tuple[str, ...]:
        return (self.payee, self.kind.value, self.period, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "payee": self.payee,
            "payer": self.payer,
            "amount": None if self.amount is None else f"{self.amount:.2f}",
            "currency": self.currency,
            "period": self.period,
            "due": self.due,
            "rule": self.rule,
            "clause": self.clause,
        }


@attrs.frozen(kw_only=True)
class Finding:
    """A requirement checked against a subject.

    ``satisfied`` is None for an indicator with no threshold (and then
    ``required`` is None too). ``person`` is set when the requirement is about
    one person within the subject.
    """

    TYPE: ClassVar[str] = "finding"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("subject", "subject"),)
    SECTION: ClassVar[str | None] = "findings"

    subject: str
    requirement: str
    satisfied: bool | None
    actual: Decimal
    required: Decimal | None
    person: str | None = None
    severity: Severity | None = None  # stamped from the rule's declaration
    deadline: date | None = None  # stamped from the rule's declaration (a target with a date)
    deadline_status: DeadlineStatus | None = None
    rule: str = ""
    clause: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    @classmethod
    def at_least(
        cls,
        *,
        subject: str,
        requirement: str,
        actual: Decimal | int,
        required: Decimal | int,
        person: str | None = None,
    ) -> Finding:
        """A requirement that ``actual`` reach ``required`` (the usual shape: counts, hours, money, shares)."""
        actual, required = Decimal(actual), Decimal(required)
        return cls(
            subject=subject,
            requirement=requirement,
            satisfied=actual >= required,
            actual=actual,
            required=required,
            person=person,
        )

    @property
    def key(self) -> str:
        tail = "" if self.person is None else f"/{self.person}"
        dated = "" if self.deadline is None else f"@{self.deadline.isoformat()}"
        return f"finding/{self.requirement}/{self.subject}{tail}{dated}"

    def sort_key(self) -> tuple[str, ...]:
        return (self.subject, self.requirement, self.person or "", self.deadline.isoformat() if self.deadline else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subject": self.subject,
            "requirement": self.requirement,
            "satisfied": self.satisfied,
            "actual": self.actual,
            "required": self.required,
        }
        if self.person is not None:
            out["person"] = self.person
        out["severity"] = None if self.severity is None else self.severity.value
        if self.deadline is not None:
            out["deadline"] = self.deadline.isoformat()
            out["deadline_status"] = None if self.deadline_status is None else self.deadline_status.value
        out["rule"] = self.rule
        out["clause"] = self.clause
        return out


Item: TypeAlias = (
    Held | PersonStatus | PostStatus | SubjectCount | AllowanceRates | PostGrade | Eligibility | Obligation | Finding
)
OutputItem: TypeAlias = PostGrade | Eligibility | Obligation | Finding

#: Output sections in the order of the JSON document.
OUTPUT_SECTIONS: Final = ("post_grades", "eligibility", "obligations", "findings")

ITEM_TYPES: Final[dict[str, type[Item]]] = {
    cls.TYPE: cls
    for cls in (
        Held,
        PersonStatus,
        PostStatus,
        SubjectCount,
        AllowanceRates,
        PostGrade,
        Eligibility,
        Obligation,
        Finding,
    )
}


def plain(value: object) -> object:
    """An item field as plain JSON-ready data (enums by value, dates ISO)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value
