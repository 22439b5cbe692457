"""swrules: Chinese social-work talent policy as typed facts and forward-chaining rulesets."""

from swrules.budget import TimeBudget
from swrules.compare import Diff, diff
from swrules.errors import (
    ColumnarUnsupportedError,
    EngineError,
    EngineUnavailableError,
    EvaluationTimeout,
    FactError,
    InputError,
    ItemNotFoundError,
    PeriodError,
    Problem,
    RuleExpressionError,
    RuleFailedError,
    RulesetError,
    SwrulesError,
    UnknownRulesetError,
)
from swrules.evaluation import DEFAULT_ENGINE, DEFAULT_SESSION_ENGINE, evaluate
from swrules.explain import Explanation
from swrules.facts import (
    Band,
    Certificate,
    CertLevel,
    Community,
    CommunityKind,
    ExamRegistration,
    Jurisdiction,
    Organization,
    OrgKind,
    Person,
    Post,
    Role,
    ServiceProject,
    TalentSelection,
    Training,
)
from swrules.items import Eligibility, Finding, Obligation, ObligationKind, PostGrade
from swrules.load import FactSet, Rejected, load_facts, parse_json
from swrules.period import Period
from swrules.result import Result
from swrules.rulesets import Ruleset, list_rulesets, load_ruleset
from swrules.session import Session, Update
from swrules.settlement import Payment, Settlement, settle

__version__ = "0.2.0"

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_SESSION_ENGINE",
    "Band",
    "CertLevel",
    "Certificate",
    "ColumnarUnsupportedError",
    "Community",
    "CommunityKind",
    "Diff",
    "Eligibility",
    "EngineError",
    "EngineUnavailableError",
    "EvaluationTimeout",
    "ExamRegistration",
    "Explanation",
    "FactError",
    "FactSet",
    "Finding",
    "InputError",
    "ItemNotFoundError",
    "Jurisdiction",
    "Obligation",
    "ObligationKind",
    "OrgKind",
    "Organization",
    "Payment",
    "Period",
    "PeriodError",
    "Person",
    "Post",
    "PostGrade",
    "Problem",
    "Rejected",
    "Result",
    "Role",
    "RuleExpressionError",
    "RuleFailedError",
    "Ruleset",
    "RulesetError",
    "ServiceProject",
    "Session",
    "Settlement",
    "SwrulesError",
    "TalentSelection",
    "TimeBudget",
    "Training",
    "UnknownRulesetError",
    "Update",
    "diff",
    "evaluate",
    "list_rulesets",
    "load_facts",
    "load_ruleset",
    "parse_json",
    "settle",
]
