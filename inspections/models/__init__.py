from .checklist import Domain, ProblemCategory, Severity
from .fieldwork import Finding, Inspection
from .roster import Inspector, Role, User

__all__ = [
    "Domain",
    "Finding",
    "Inspection",
    "Inspector",
    "ProblemCategory",
    "Role",
    "Severity",
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
from .digests import DigestKind, DigestSend, DigestSubscription

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
__all__ += ["DigestKind", "DigestSend", "DigestSubscription"]
