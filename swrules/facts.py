"""Typed facts: the input vocabulary of swrules (INTERCHANGE: "Input").

Every fact is a frozen, keyword-only attrs class with real types: enums for
closed vocabularies, :class:`datetime.date` for dates, :class:`decimal.Decimal`
for money (never float). Each class validates itself at construction, so the
rules never re-check a field. Loading from JSON, with friendly messages that
name the fact and the field, lives in :mod:`swrules.load`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Final, NoReturn, TypeAlias

import attrs

from swrules._decimal import decimal_problem
from swrules.errors import FactError, shown

__all__ = [
    "FACT_TYPES",
    "TIERS",
    "Band",
    "CertLevel",
    "Certificate",
    "Community",
    "CommunityKind",
    "ExamRegistration",
    "Fact",
    "Jurisdiction",
    "OrgKind",
    "Organization",
    "Person",
    "Post",
    "Role",
    "ServiceProject",
    "TalentSelection",
    "Training",
    "fact_key",
    "in_force",
]


class Role(enum.Enum):
    """What a person does (the groups the documents name)."""

    COMMUNITY_WORKER = "community_worker"  # 社区工作者
    INSTITUTION_STAFF = "institution_staff"  # 事业单位工作人员
    SOCIAL_ORG_STAFF = "social_org_staff"  # 社会组织/社工机构工作人员
    TOWNSHIP_STAFF = "township_staff"  # 镇政府/社区管委会基层站所干部
    VILLAGE_CADRE = "village_cadre"  # 村（居）干部
    OTHER = "other"


class CertLevel(enum.Enum):
    """Level of the national social-worker certificate (全国社会工作者职业水平证书)."""

    ASSISTANT = "assistant"  # 助理社会工作师
    INTERMEDIATE = "intermediate"  # 社会工作师
    SENIOR = "senior"  # 高级社会工作师

    @property
    def rank(self) -> int:
        """1 for assistant, 2 for intermediate, 3 for senior."""
        return _LEVEL_RANK[self._value_]  # by value: a str hashes in C, an enum member in Python


_LEVEL_RANK: Final = {"assistant": 1, "intermediate": 2, "senior": 3}


class Band(enum.Enum):
    """Band of a professional technical post (初级 / 中级 / 高级)."""

    JUNIOR = "junior"
    INTERMEDIATE = "intermediate"
    SENIOR = "senior"

    @property
    def rank(self) -> int:
        """The certificate rank the band asks for: junior 1, intermediate 2, senior 3."""
        return _BAND_RANK[self._value_]


_BAND_RANK: Final = {"junior": 1, "intermediate": 2, "senior": 3}

#: Tiers each band has (zj2019.s8.grade-map): junior 1-2, the others 1-3.
TIERS: Final[dict[Band, tuple[int, ...]]] = {
    Band.JUNIOR: (1, 2),
    Band.INTERMEDIATE: (1, 2, 3),
    Band.SENIOR: (1, 2, 3),
}


class CommunityKind(enum.Enum):
    URBAN = "urban"
    RURAL = "rural"


class OrgKind(enum.Enum):
    PUBLIC_INSTITUTION = "public_institution"
    SOCIAL_WORK_AGENCY = "social_work_agency"
    COMMUNITY_SOCIAL_ORG = "community_social_org"
    TOWNSHIP_GOVERNMENT = "township_government"
    OTHER = "other"


# --- field helpers -----------------------------------------------------------
# Each field carries metadata read by the loader: its JSON kind and, for a
# reference, the fact type it points at. The validators here are the last
# line of defence for Python callers who build facts by hand.


def _fail(inst: object, attribute: attrs.Attribute[Any], message: str) -> NoReturn:
    """Raise the :class:`~swrules.errors.FactError` of one field (``inst`` is None when the loader asks)."""
    raise FactError(attribute.name, message, fact_type=getattr(inst, "TYPE", None))


def text_problem(value: str) -> str | None:
    """Why a string cannot be an id or a text of a fact (a NUL or a lone surrogate in it), or None.

    A lone surrogate (``"\\ud800"`` in JSON) is no character: it cannot be written as UTF-8, so it would
    break every output that echoes the string. NUL cuts strings short in the C code of many tools.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        return f"must be text: holds a lone surrogate \\u{ord(value[err.start]):04x} at character {err.start}"
    if "\x00" in value:
        return f"must be text: holds a NUL character at character {value.index(chr(0))}"
    return None


def _nonempty_str(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        _fail(inst, attribute, f"must be a non-empty string (got {shown(value)})")
    problem = text_problem(value)
    if problem is not None:
        _fail(inst, attribute, f"{problem} (got {shown(value)})")


def _opt_str(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _nonempty_str(inst, attribute, value)


def _strict_bool(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        _fail(inst, attribute, f"must be true or false (got {shown(value)})")


def _strict_int(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(inst, attribute, f"must be an integer (got {shown(value)})")


def _decimal_check(inst: object, attribute: attrs.Attribute[Any], value: object) -> Decimal:
    """A Decimal of bounded size, or the error saying what to pass (a float says: a Decimal, from a string)."""
    if isinstance(value, float):
        _fail(
            inst,
            attribute,
            f"must be a Decimal, not a binary float (got {value!r}): pass Decimal({str(value)!r}), built from "
            "a string, or the decimal string itself through swrules.load_facts",
        )
    if not isinstance(value, Decimal):
        _fail(inst, attribute, f"must be a Decimal (got {shown(value)}): pass Decimal('1000.00'), built from a string")
    problem = decimal_problem(value)
    if problem is not None:
        _fail(inst, attribute, f"{problem} (got {shown(value)})")
    return value


def _money(minimum: Decimal | None, strict: bool) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        number = _decimal_check(inst, attribute, value)
        if number.as_tuple().exponent < -2:  # type: ignore[operator]
            _fail(inst, attribute, f"must have at most two decimal places (got {shown(number)})")
        if minimum is not None and (number <= minimum if strict else number < minimum):
            op = ">" if strict else ">="
            _fail(inst, attribute, f"must be {op} {minimum} (got {shown(number)})")

    return check


def _opt(
    check: Callable[[object, attrs.Attribute[Any], object], None],
) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def inner(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(inst, attribute, value)

    return inner


def _enum(cls: type[enum.Enum]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, cls):
            return
        members = {m.value: m.name for m in cls}
        if isinstance(value, str) and value in members:
            hint = f"pass {cls.__name__}.{members[value]} (or {cls.__name__}({value!r}))"
        else:
            hint = "one of " + ", ".join(f"{cls.__name__}.{name}" for name in members.values())
        _fail(inst, attribute, f"must be a {cls.__name__} (got {shown(value)}): {hint}")

    return check


def _date(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, date):
        _fail(inst, attribute, f"must be a datetime.date (got {shown(value)}): pass date(2021, 7, 1)")


def _positive_int(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _strict_int(inst, attribute, value)
    assert isinstance(value, int)
    if value <= 0:
        _fail(inst, attribute, f"must be > 0 (got {value})")


def _nonneg_int(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _strict_int(inst, attribute, value)
    assert isinstance(value, int)
    if value < 0:
        _fail(inst, attribute, f"must be >= 0 (got {value})")


def _year(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _strict_int(inst, attribute, value)
    assert isinstance(value, int)
    if not 1900 <= value <= 2999:
        _fail(inst, attribute, f"must be a year between 1900 and 2999 (got {shown(value)})")


def _hours(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    number = _decimal_check(inst, attribute, value)
    if number < 0:
        _fail(inst, attribute, f"must be a number >= 0 (got {shown(number)})")


def _str_tuple(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
        _fail(inst, attribute, f"must be a tuple of ids (got {shown(value)})")
    for v in value:
        problem = text_problem(v)
        if problem is not None:
            _fail(inst, attribute, f"{problem} (got {shown(v)})")
    if len(set(value)) != len(value):
        _fail(inst, attribute, f"lists an id twice (got {shown(list(value))})")


def _id() -> Any:
    return attrs.field(validator=_nonempty_str, metadata={"kind": "id"})


def _ref(target: str, *, required: bool = True) -> Any:
    if required:
        return attrs.field(validator=_nonempty_str, metadata={"kind": "ref", "ref": target})
    return attrs.field(default=None, validator=_opt_str, metadata={"kind": "ref", "ref": target})


def _bool(default: bool) -> Any:
    return attrs.field(default=default, validator=_strict_bool, metadata={"kind": "bool"})


def _money_field(
    *,
    default: Decimal | None = None,
    required: bool = False,
    minimum: Decimal | None = Decimal(0),
    strict: bool = False,
) -> Any:
    check = _money(minimum, strict)
    meta = {"kind": "money", "check": check}
    if required:
        return attrs.field(validator=check, metadata=meta)
    return attrs.field(default=default, validator=_opt(check) if default is None else check, metadata=meta)


def _enum_field(cls: type[enum.Enum]) -> Any:
    return attrs.field(validator=_enum(cls), metadata={"kind": "enum", "enum": cls})


def _opt_date(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _date(_inst, attribute, value)


def _window_end(inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    _opt_date(inst, attribute, value)
    start = inst.valid_from
    if value is not None and start is not None and value < start:
        _fail(inst, attribute, f"must not be before valid_from {start.isoformat()} (got {value})")


def _valid_from() -> Any:
    """First day the fact is in force (None: since always). See "Time" in the user guide."""
    return attrs.field(default=None, validator=_opt_date, metadata={"kind": "date", "window": "from"})


def _valid_until() -> Any:
    """Last day the fact is in force, inclusive (None: still in force)."""
    return attrs.field(default=None, validator=_window_end, metadata={"kind": "date", "window": "until"})


# --- the facts ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Person:
    """Someone in the social-work workforce, or who may join it."""

    TYPE: ClassVar[str] = "person"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "id"),)

    id: str = _id()
    role: Role = _enum_field(Role)
    community: str | None = _ref("community", required=False)
    organization: str | None = _ref("organization", required=False)
    full_time: bool = _bool(False)
    leader: bool = _bool(False)
    social_work_education: bool = _bool(False)
    monthly_salary: Decimal | None = _money_field()
    reference_salary: Decimal | None = _money_field()
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class Certificate:
    """A national social-worker certificate (全国社会工作者职业水平证书)."""

    TYPE: ClassVar[str] = "certificate"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "holder"),)

    id: str = _id()
    holder: str = _ref("person")
    level: CertLevel = _enum_field(CertLevel)
    obtained_on: date = attrs.field(validator=_date, metadata={"kind": "date"})
    registered: bool = _bool(False)
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class Post:
    """A professional technical post, occupied (``holder``) or vacant."""

    TYPE: ClassVar[str] = "post"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "holder"), ("post", "id"))

    id: str = _id()
    band: Band = _enum_field(Band)
    tier: int = attrs.field(validator=_strict_int, metadata={"kind": "int", "check": _strict_int})
    organization: str | None = _ref("organization", required=False)
    community: str | None = _ref("community", required=False)
    holder: str | None = _ref("person", required=False)
    social_work: bool = _bool(True)
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()

    @tier.validator
    def _check_tier(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value not in TIERS[self.band]:
            allowed = ", ".join(str(t) for t in TIERS[self.band])
            _fail(self, attribute, f"must be one of {allowed} for a {self.band.value} post (got {value})")


@attrs.frozen(kw_only=True)
class Community:
    """An urban or rural community (城市社区 / 农村社区); ``township`` names the township (乡镇/街道) it is in."""

    TYPE: ClassVar[str] = "community"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("community", "id"),)

    id: str = _id()
    kind: CommunityKind = _enum_field(CommunityKind)
    township: str | None = attrs.field(default=None, validator=_opt_str, metadata={"kind": "text"})
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class Organization:
    """An employer: public institution, social-work agency, community social organisation, …

    ``community_level``: a community-level organisation (社区事业单位, 社区社会组织) rather than a county or
    higher one. ``public_benefit``: a public-service institution (公益服务类事业单位) or a charitable social
    organisation (公益慈善类社会组织), as most are; false for an administrative or commercial one.
    """

    TYPE: ClassVar[str] = "organization"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("organization", "id"),)

    id: str = _id()
    kind: OrgKind = _enum_field(OrgKind)
    primarily_social_work: bool = _bool(False)
    professional_posts: int | None = attrs.field(
        default=None, validator=_opt(_nonneg_int), metadata={"kind": "int", "check": _nonneg_int}
    )
    community_level: bool = _bool(False)
    public_benefit: bool = _bool(True)
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class ExamRegistration:
    """A registration for the national social-worker exam, with its costs."""

    TYPE: ClassVar[str] = "exam_registration"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)

    id: str = _id()
    person: str = _ref("person")
    year: int = attrs.field(validator=_year, metadata={"kind": "int", "check": _year})
    registration_fee: Decimal = _money_field(default=Decimal("0"))
    travel_cost: Decimal = _money_field(default=Decimal("0"))
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class ServiceProject:
    """A social-service project, usually purchased by government."""

    TYPE: ClassVar[str] = "service_project"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("project", "id"),)

    id: str = _id()
    organization: str = _ref("organization")
    funds: Decimal = _money_field(required=True, minimum=Decimal(0), strict=True)
    personnel_cost: Decimal = _money_field(required=True)
    government_purchased: bool = _bool(True)
    social_workers: tuple[str, ...] = attrs.field(
        default=(), validator=_str_tuple, metadata={"kind": "refs", "ref": "person"}
    )
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class Training:
    """Hours of social-work training a person took in a year."""

    TYPE: ClassVar[str] = "training"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)

    id: str = _id()
    person: str = _ref("person")
    year: int = attrs.field(validator=_year, metadata={"kind": "int", "check": _year})
    hours: Decimal = attrs.field(validator=_hours, metadata={"kind": "number", "check": _hours})
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class TalentSelection:
    """Selection of a person in a county talent selection (人才遴选)."""

    TYPE: ClassVar[str] = "talent_selection"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("person", "person"),)

    id: str = _id()
    person: str = _ref("person")
    year: int = attrs.field(validator=_year, metadata={"kind": "int", "check": _year})
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


@attrs.frozen(kw_only=True)
class Jurisdiction:
    """The province or county the facts describe."""

    TYPE: ClassVar[str] = "jurisdiction"
    #: Where it lives for matching: the first (scope, field) whose value is set names its partition.
    PARTITION: ClassVar[tuple[tuple[str, str], ...]] = (("jurisdiction", "id"),)

    id: str = _id()
    population: int | None = attrs.field(
        default=None, validator=_opt(_positive_int), metadata={"kind": "int", "check": _positive_int}
    )
    valid_from: date | None = _valid_from()
    valid_until: date | None = _valid_until()


Fact: TypeAlias = (
    Person
    | Certificate
    | Post
    | Community
    | Organization
    | ExamRegistration
    | ServiceProject
    | Training
    | TalentSelection
    | Jurisdiction
)

#: Fact classes by their JSON ``type``, in the order INTERCHANGE lists them.
FACT_TYPES: Final[dict[str, type[Fact]]] = {
    cls.TYPE: cls
    for cls in (
        Person,
        Certificate,
        Post,
        Community,
        Organization,
        ExamRegistration,
        ServiceProject,
        Training,
        TalentSelection,
        Jurisdiction,
    )
}


def _escape_id(ident: str) -> str:
    if "@" not in ident and "%" not in ident:
        return ident
    return ident.replace("%", "%25").replace("@", "%40")


def fact_key(fact: Fact) -> str:
    """A fact's unique key: ``type/id``, and ``type/id@valid_from`` for a dated version of a history.

    Versions of one id have windows that do not overlap, so their ``valid_from`` differ; ``@`` and ``%`` in an id
    are escaped (``%40``, ``%25``) so that a key names one fact only.
    """
    start = fact.valid_from
    ident = _escape_id(fact.id)
    return f"{fact.TYPE}/{ident}" if start is None else f"{fact.TYPE}/{ident}@{start.isoformat()}"


def in_force(obj: Any, day: date) -> bool:
    """Whether a fact (or a derived item with a window) is in force on ``day``."""
    start, end = obj.valid_from, obj.valid_until
    return (start is None or start <= day) and (end is None or day <= end)
