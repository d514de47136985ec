"""Who may act on a case (read by the services, the API, the admin and evidence)."""

from __future__ import annotations

from inspections.accounts.models import Role, User
from inspections.cases.models import (
    Case,
)


def user_covers_village(user: User, village_code: str) -> bool:
    prefix = user.scope_prefix()
    return prefix is not None and village_code.startswith(prefix)


def can_rectify(user: User, case: Case) -> bool:
    """The responsible party of the village's jurisdiction (or a superuser)."""
    if user.is_superuser:
        return True
    return user.has_role(Role.RESPONSIBLE_PARTY) and user_covers_village(user, case.village.code)
