"""Who may act on a case: the roles of :data:`~inspections.cases.models.TRANSITIONS`.

Read by the services (the status guard), the API, the admin and evidence. A
superuser holds every role; everyone else holds a role only for the cases of
their jurisdiction, or for the visit they were drawn for.
"""

from __future__ import annotations

import datetime as dt

from inspections.accounts.models import Role, User
from inspections.accounts.policies import user_covers
from inspections.cases.models import Case, CaseRole, FollowUp


def can_rectify(user: User, case: Case) -> bool:
    """The responsible party of the village's jurisdiction (or a superuser)."""
    if user.is_superuser:
        return True
    return user.has_role(Role.RESPONSIBLE_PARTY) and user_covers(user, case.village.code)


def can_supervise(user: User, case: Case) -> bool:
    """A supervisor of the village's jurisdiction (or a superuser): verifies, sends back, reopens."""
    if user.is_superuser:
        return True
    return user.has_role(Role.SUPERVISOR) and user_covers(user, case.village.code)


def can_assign(user: User, case: Case) -> bool:
    """A supervisor of the level that assigns the problem, or above (or a superuser).

    The organising level reviews (confirms, merges, voids), hands over (交办)
    and closes (销号) the problem: 谁交办、谁销号. A supervisor of the
    inspected level below it (a township whose village was inspected by the
    county) may follow the problem but not close it. Without a recorded level
    it falls back to any supervisor of the village.
    """
    if user.is_superuser:
        return True
    division = case.organising_division
    if division is None:
        return can_supervise(user, case)
    prefix = user.scope_prefix()
    return user.has_role(Role.SUPERVISOR) and prefix is not None and division.code.startswith(prefix)


def can_record_visit(user: User, follow_up: FollowUp, *, now: dt.datetime) -> bool:
    """A member of this visit's drawn team, once its window has opened (or a superuser).

    Before the window opens the visit is embargoed, even from its team. Any
    member records the team's one result (the first drawn leads; the result is
    replayed by its client UUID, so a second member's copy of it is the same).
    """
    if user.is_superuser:
        return True
    if follow_up.inspection.window_start > now:
        return False
    return follow_up.inspection.team.filter(user_id=user.pk).exists()


def holds_role(
    user: User, role: str, *, case: Case, follow_up: FollowUp | None = None, now: dt.datetime
) -> bool:
    """Whether ``user`` is ``role`` (a :class:`CaseRole`) for ``case``.

    The drawn inspector is defined by a visit: without ``follow_up`` nobody
    but a superuser holds that role.
    """
    if role == CaseRole.RESPONSIBLE_PARTY:
        return can_rectify(user, case)
    if role == CaseRole.SUPERVISOR:
        return can_supervise(user, case)
    if role == CaseRole.ASSIGNING_SUPERVISOR:
        return can_assign(user, case)
    if role == CaseRole.DRAWN_INSPECTOR:
        if follow_up is None:
            return user.is_superuser
        return can_record_visit(user, follow_up, now=now)
    raise ValueError(f"unknown case role {role!r}")
