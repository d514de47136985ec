"""TODO docstring."""

from __future__ import annotations

from django.utils import timezone

from inspections.accounts.models import Role, User
from inspections.cases.models import Case, FollowUp
from inspections.cases.policies import can_rectify
from inspections.evidence.models import Photo


def may_see_original(user: User, photo: Photo) -> bool:
    """Originals carry the exact position and device: team, organisers, supervisors in scope only."""
    if user.is_superuser:
        return True
    if photo.case is not None:
        return _may_see_case_original(user, photo.case)
    inspection = photo.inspection
    if inspection is None:
        return False
    if inspection.team.filter(user=user).exists() or inspection.organisers.filter(pk=user.pk).exists():
        return True
    prefix = user.scope_prefix()
    return (
        user.has_role(Role.SUPERVISOR) and prefix is not None and inspection.village.code.startswith(prefix)
    )


def _may_see_case_original(user: User, case: Case) -> bool:
    """A case's after-photos: its responsible party, its supervisors, and its verifying inspector."""
    if can_rectify(user, case):
        return True
    prefix = user.scope_prefix()
    if user.has_role(Role.SUPERVISOR) and prefix is not None and case.village.code.startswith(prefix):
        return True
    return FollowUp.objects.filter(
        case=case,
        kind=FollowUp.Kind.VERIFICATION,
        inspector__user=user,
        inspection__window_start__lte=timezone.now(),
    ).exists()
