"""Who reads a complaint's reporter (the intake role only, and superusers), who records and
who orders its 核查 visit."""

from __future__ import annotations

from typing import Any

from inspections.accounts.models import Role

# The fields no one but the intake role reads: never in a public page, digest or export.
PRIVATE_FIELDS = ("reporter_name", "reporter_contact")


def can_read_reporter(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or user.has_role(Role.COMPLAINT_INTAKE))


def can_record(user: Any) -> bool:
    """The intake role records complaints (and superusers)."""
    return can_read_reporter(user)


def can_order_check(user: Any) -> bool:
    """Supervisors order a complaint's 核查 visit (a targeted visit), as they order any targeted visit."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or user.has_role(Role.SUPERVISOR))
