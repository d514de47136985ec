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
