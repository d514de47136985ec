"""The models module Django loads: every model of the app, from its concern's package.

Code imports ``inspections.<concern>.models`` directly; this hub exists so that
Django finds the models under the app label ``inspections``, and for callers
that name ``inspections.models``.
"""

from inspections.accounts.models import Inspector, Language, Role, User
from inspections.cases.models import (
    ALLOWED_TRANSITIONS,
    Case,
    CaseEvent,
    CaseNotification,
    CaseStatus,
    DeadlineRule,
    FollowUp,
    FollowUpDraw,
    Rectification,
)
from inspections.checklist.models import Domain, ProblemCategory, Severity
from inspections.common.models import MailSend
from inspections.complaints.models import Complaint
from inspections.digests.models import DigestKind, DigestSend, DigestSubscription
from inspections.evidence.models import Photo, Upload
from inspections.fieldwork.models import CheckIn, Finding, Inspection, LocationStatus
from inspections.publication.models import Publication, PublicImage, TypicalCase
from inspections.sampling.models import (
    Assignment,
    Cancellation,
    Draw,
    DrawInputs,
    EmbargoAccessLog,
    KeyVillage,
    Reassignment,
    SamplingPlan,
    StratumLevel,
    TeamPool,
)
from inspections.workdays.models import HolidayDate, HolidayYear

__all__ = [
    "ALLOWED_TRANSITIONS",
    "Assignment",
    "Cancellation",
    "Case",
    "CaseEvent",
    "CaseNotification",
    "CaseStatus",
    "CheckIn",
    "Complaint",
    "DeadlineRule",
    "DigestKind",
    "DigestSend",
    "DigestSubscription",
    "Domain",
    "Draw",
    "DrawInputs",
    "EmbargoAccessLog",
    "Finding",
    "FollowUp",
    "FollowUpDraw",
    "HolidayDate",
    "HolidayYear",
    "Inspection",
    "Inspector",
    "KeyVillage",
    "Language",
    "LocationStatus",
    "MailSend",
    "Photo",
    "ProblemCategory",
    "PublicImage",
    "Publication",
    "Reassignment",
    "Rectification",
    "Role",
    "SamplingPlan",
    "Severity",
    "StratumLevel",
    "TeamPool",
    "TypicalCase",
    "Upload",
    "User",
]
