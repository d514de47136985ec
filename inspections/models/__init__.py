from .checklist import Domain, ProblemCategory, Severity
from .fieldwork import Finding, Inspection
from .roster import Inspector, Role, User
from .sampling import (
    Assignment,
    Draw,
    DrawInputs,
    EmbargoAccessLog,
    Reassignment,
    SamplingPlan,
    StratumLevel,
    TeamPool,
)

__all__ = [
    "Assignment",
    "Domain",
    "Draw",
    "DrawInputs",
    "EmbargoAccessLog",
    "Finding",
    "Inspection",
    "Inspector",
    "ProblemCategory",
    "Reassignment",
    "Role",
    "SamplingPlan",
    "Severity",
    "StratumLevel",
    "TeamPool",
    "User",
]
from .cases import (
    ALLOWED_TRANSITIONS,
    Case,
    CaseEvent,
    CaseNotification,
    CaseStatus,
    DeadlineRule,
    FollowUp,
    FollowUpDraw,
    HolidayDate,
    HolidayYear,
    Publication,
    PublicImage,
    Rectification,
    TypicalCase,
)

__all__ += [
    "ALLOWED_TRANSITIONS",
    "Case",
    "CaseEvent",
    "CaseNotification",
    "CaseStatus",
    "DeadlineRule",
    "FollowUp",
    "FollowUpDraw",
    "HolidayDate",
    "HolidayYear",
    "PublicImage",
    "Publication",
    "Rectification",
    "TypicalCase",
]
