"""Who may do what with photo evidence: see an original, send a case's after-photos.

Read by the API and the admin alike, so that both answer the same caller the
same way. A refusal to find is :class:`~inspections.common.errors.NotFound`:
exactly as if the inspection or case did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Role, User
from inspections.accounts.policies import user_covers
from inspections.cases.models import Case, FollowUp
from inspections.cases.policies import can_rectify
from inspections.common.errors import NotFound
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_actionable


def may_see_original(user: User, photo: Photo, *, now: datetime | None = None) -> bool:
    """Originals carry the exact position and device: team, organisers, supervisors in scope only.

    A case's after-photos: its responsible party, its supervisors, and the
    inspector drawn to verify it (from the opening of the visit's window).
    Renditions carry neither and go to whoever sees the photo.
    """
    if user.is_superuser:
        return True
    if photo.case is not None:
        return _may_see_case_original(user, photo.case, now=now or timezone.now())
    inspection = photo.inspection
    if inspection is None:
        return False
    if inspection.team.filter(user=user).exists() or inspection.organisers.filter(pk=user.pk).exists():
        return True
    return _supervises(user, inspection.village.code)


def originals_visible(user: User, photos: Iterable[Photo], *, now: datetime | None = None) -> set[int]:
    """The pks of ``photos`` whose original (and metadata) ``user`` may see, as :func:`may_see_original` says.

    Asked once per inspection or case the photos belong to, so that a page of
    one inspection's photos costs the same few queries as one photo. What the
    original carries (GPS, capture time, device) is shown, in the API, the
    admin and the flags alike, only to these readers.
    """
    now = now or timezone.now()
    answers: dict[tuple[int | None, int | None], bool] = {}
    allowed: set[int] = set()
    for photo in photos:
        owner = (photo.inspection_id, photo.case_id)
        if owner not in answers:
            answers[owner] = may_see_original(user, photo, now=now)
        if answers[owner]:
            allowed.add(photo.pk)
    return allowed


def may_see_file(user: User, photo: Photo, kind: str) -> bool:
    """Whether ``user``, who sees ``photo``, may have its file ``kind`` (one of ``Photo.FILE_KINDS``).

    A rendition, always; the original only as :func:`may_see_original` says.
    Callers answer a refusal as a 404, like a file that does not exist: the
    API and the admin's review page alike.
    """
    if kind == "original":
        return may_see_original(user, photo)
    return kind in Photo.FILE_KINDS


def rectifiable_case(user: User, case_id: int) -> Case:
    """The case whose after-photos ``user`` may send: they are its village's responsible party.

    :func:`inspections.cases.policies.can_rectify` decides (a superuser may
    too). Raises :class:`NotFound` for any other caller, and for a case that
    does not exist. Cases exist only for submitted inspections (the database
    holds to it).
    """
    # One row at most (its primary key): no ORDER BY to build.
    case = next(iter(Case.objects.select_related("village").filter(pk=case_id).order_by()[:1]), None)
    if case is None or not user.is_active or not can_rectify(user, case):
        raise NotFound(_("No such case."))
    return case


def photographable_inspection(user: User, inspection_id: int) -> Inspection:
    """The inspection ``user`` may send evidence photos of now: their team's, in its window plus grace.

    :func:`inspections.fieldwork.selectors.inspection_actionable` decides.
    Raises :class:`NotFound` otherwise.
    """
    # One row at most (its primary key): no ORDER BY to build, as ``first()`` would. Without its
    # village: an upload needs none of it (processing reads the photo's village itself).
    found = inspection_actionable(user=user).filter(pk=inspection_id).order_by()[:1]
    inspection = next(iter(found), None)
    if inspection is None:
        raise NotFound(_("No such inspection."))
    return inspection


def _supervises(user: User, village_code: str) -> bool:
    return user.has_role(Role.SUPERVISOR) and user_covers(user, village_code)


def _may_see_case_original(user: User, case: Case, *, now: datetime) -> bool:
    if can_rectify(user, case) or _supervises(user, case.village.code):
        return True
    return FollowUp.objects.filter(
        case=case,
        kind=FollowUp.Kind.VERIFICATION,
        inspector__user=user,
        inspection__window_start__lte=now,
    ).exists()
