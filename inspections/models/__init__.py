from .checklist import Domain, ProblemCategory, Severity
from .evidence import Photo, Upload
from .fieldwork import CheckIn, Finding, Inspection, LocationStatus
from .roster import Inspector, Role, User

__all__ = [
    "CheckIn",
    "Domain",
    "Finding",
    "Inspection",
    "Inspector",
    "LocationStatus",
    "Photo",
    "ProblemCategory",
    "Role",
    "Severity",
    "Upload",
    "User",
]
