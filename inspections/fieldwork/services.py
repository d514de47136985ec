"""Write paths of a field inspection: check-in, findings, submission.

Every create from the field is idempotent on the phone's UUID (see
``inspections.services.idempotency``). Each write locks the inspection row
first, so a finding cannot slip in beside a concurrent submission, and a
submitted inspection is read-only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.api.problems import Problem
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.checklist.models import ProblemCategory
from inspections.common.idempotency import create_once
from inspections.evidence.models import Photo
from inspections.fieldwork.models import CheckIn, Finding, Inspection, LocationStatus
from villages.models import Datum, Village

logger = logging.getLogger(__name__)


def inspection_lock_for_change(inspection: Inspection) -> Inspection:
    """Lock the inspection row; refuse if it no longer takes changes."""
    locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if locked.status == Inspection.Status.SUBMITTED:
        raise Problem(
            status=409,
            code="inspection_submitted",
            detail=str(_("This inspection has been submitted and is read-only.")),
        )
    if locked.status == Inspection.Status.CANCELLED:
        raise Problem(
            status=409, code="inspection_cancelled", detail=str(_("This inspection has been cancelled."))
        )
    return locked


def inspection_mark_started(inspection: Inspection) -> None:
    Inspection.objects.filter(pk=inspection.pk, status=Inspection.Status.SCHEDULED).update(
        status=Inspection.Status.IN_PROGRESS
    )


def check_in_record(
    *,
    inspection: Inspection,
    user: User,
    client_uuid: UUID,
    longitude: float,
    latitude: float,
    accuracy_m: float | None,
    device_time: datetime,
) -> tuple[CheckIn, bool]:
    """Record a check-in (WGS-84 fix, accuracy, phone clock) with the server's time and distance."""

    def same(existing: CheckIn) -> bool:
        return (
            existing.inspection_id == inspection.pk
            and existing.created_by_id == user.pk
            and existing.longitude == longitude
            and existing.latitude == latitude
            and existing.accuracy_m == accuracy_m
            and existing.device_time == device_time
        )

    def create() -> CheckIn:
        distance = inspection.village.distance_m(longitude=longitude, latitude=latitude)
        check_in = CheckIn.objects.create(
            client_uuid=client_uuid,
            inspection=inspection,
            created_by=user,
            longitude=longitude,
            latitude=latitude,
            accuracy_m=accuracy_m,
            device_time=device_time,
            received_at=timezone.now(),
            location_status=LocationStatus.UNKNOWN if distance is None else LocationStatus.KNOWN,
            distance_m=distance,
        )
        inspection_mark_started(inspection)
        return check_in

    return create_once(
        CheckIn,
        client_uuid=client_uuid,
        same=same,
        create=create,
        before_insert=lambda: inspection_lock_for_change(inspection),
    )


def finding_record(
    *,
    inspection: Inspection,
    user: User,
    client_uuid: UUID,
    category: ProblemCategory,
    severity: str,
    description: str,
    longitude: float | None,
    latitude: float | None,
    datum: str,
    photo_uuids: list[UUID],
) -> tuple[Finding, bool]:
    """Record a finding; its photos are named by UUID and may arrive later."""
    photo_strings = [str(u) for u in photo_uuids]
    if longitude is None or latitude is None:
        longitude = latitude = None
        datum = ""

    def same(existing: Finding) -> bool:
        return (
            existing.inspection_id == inspection.pk
            and existing.created_by_id == user.pk
            and existing.category_id == category.pk
            and existing.severity == severity
            and existing.description == description
            and existing.longitude == longitude
            and existing.latitude == latitude
            and existing.datum == datum
            and existing.photo_uuids == photo_strings
        )

    def create() -> Finding:
        finding = Finding.objects.create(
            client_uuid=client_uuid,
            inspection=inspection,
            category=category,
            severity=severity,
            description=description,
            longitude=longitude,
            latitude=latitude,
            datum=datum,
            photo_uuids=photo_strings,
            created_by=user,
        )
        inspection_mark_started(inspection)
        return finding

    return create_once(
        Finding,
        client_uuid=client_uuid,
        same=same,
        create=create,
        before_insert=lambda: inspection_lock_for_change(inspection),
    )


def inspection_pending_photos(*, inspection: Inspection) -> list[str]:
    """UUIDs named by the inspection's findings whose photos have not arrived, in order."""
    named: list[str] = []
    for uuids in inspection.findings.values_list("photo_uuids", flat=True):
        for value in uuids:
            if value not in named:
                named.append(value)
    if not named:
        return []
    arrived = {
        str(u)
        for u in Photo.objects.filter(inspection=inspection, client_uuid__in=named).values_list(
            "client_uuid", flat=True
        )
    }
    return [value for value in named if value not in arrived]


def inspection_submit(*, inspection: Inspection, user: User, summary: str) -> tuple[Inspection, bool]:
    """Submit the inspection with its summary; a replay of the same submission is a no-op.

    Refused with 409 ``photos_pending`` while a photo that a finding names has
    not arrived. Each finding then opens its case, in the same transaction: a
    submitted inspection without its cases is never visible.
    """
    with transaction.atomic():
        locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if locked.status == Inspection.Status.SUBMITTED:
            if locked.summary == summary:
                return locked, False
            raise Problem(
                status=409,
                code="inspection_submitted",
                detail=str(_("This inspection was already submitted with a different summary.")),
            )
        if locked.status == Inspection.Status.CANCELLED:
            raise Problem(
                status=409, code="inspection_cancelled", detail=str(_("This inspection has been cancelled."))
            )
        pending = inspection_pending_photos(inspection=locked)
        if pending:
            raise Problem(
                status=409,
                code="photos_pending",
                detail=str(
                    _("%(count)d photo(s) named by findings have not arrived yet.") % {"count": len(pending)}
                ),
                extra={"pending_photos": pending},
            )
        locked.status = Inspection.Status.SUBMITTED
        locked.summary = summary
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["status", "summary", "submitted_at"])
        cases_open_for_inspection(inspection=locked)
        return locked, True


def village_confirm_location(*, check_in: CheckIn, by: User) -> Village:
    """Take a good check-in's fix as the village's confirmed location (WGS-84).

    Only a fix at least as accurate as ``QINGSHAN_CONFIRM_LOCATION_MAX_ACCURACY_M``
    qualifies: confirming a location from a poor fix would make every later
    distance wrong.
    """
    limit = settings.QINGSHAN_CONFIRM_LOCATION_MAX_ACCURACY_M
    if check_in.accuracy_m is None or check_in.accuracy_m > limit:
        raise Problem(
            status=409,
            code="check_in_not_accurate",
            detail=str(
                _("Only a check-in accurate to %(limit)s m or better can confirm a village's location.")
                % {"limit": limit}
            ),
        )
    with transaction.atomic():
        village = Village.objects.select_for_update().get(pk=check_in.inspection.village_id)
        village.longitude = check_in.longitude
        village.latitude = check_in.latitude
        village.datum = Datum.WGS84
        village.location_source = Village.LocationSource.CONFIRMED
        village.save(update_fields=["longitude", "latitude", "datum", "location_source"])
    logger.info("village %s location confirmed by %s from check-in %s", village.code, by.pk, check_in.pk)
    return village
