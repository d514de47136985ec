"""Write paths of a field inspection: check-in, findings, submission.

Every create from the field is idempotent on the phone's UUID (see
``inspections.common.idempotency``). Each write locks the inspection row
first, so a finding cannot slip in beside a concurrent submission, and a
submitted inspection is read-only. Refusals are the
:mod:`inspections.fieldwork.errors`.
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
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.checklist.models import ProblemCategory
from inspections.common.errors import NotFound
from inspections.common.idempotency import create_once
from inspections.fieldwork.errors import CheckInNotAccurate, InspectionSubmitted, PhotoArrived, PhotosPending
from inspections.fieldwork.models import CheckIn, Finding, Inspection, LocationStatus
from inspections.fieldwork.selectors import inspection_pending_photos
from villages.models import Datum, Village

logger = logging.getLogger(__name__)


def inspection_lock_for_change(inspection: Inspection) -> Inspection:
    """Lock the inspection row for the rest of the transaction; refuse if it no longer takes changes.

    Raises ``inspection_submitted`` or ``inspection_cancelled`` (409). Every
    write to an inspection's records (here and in evidence) starts with it.
    """
    locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
    locked.check_open()
    return locked


def check_in_record(
    *,
    inspection: Inspection,
    user: User,
    client_uuid: UUID,
    longitude: float,
    latitude: float,
    accuracy_m: float | None,
    device_time: datetime,
    fixed_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[CheckIn, bool]:
    """Record a check-in (WGS-84 fix, accuracy, phone clock) with the server's time and distance.

    ``fixed_at`` is when the phone fixed the position (part of the check-in);
    ``device_time`` is the phone's clock when it sent it, which changes on every
    retry of an offline queue: it is kept from the first arrival, compared with
    the server's time for the skew, and not part of "the same content". The
    distance is the village's own measure (:meth:`Village.distance_m`), empty
    when the village has no confirmed or surveyed location.
    """

    def same(existing: CheckIn) -> bool:
        return (
            existing.inspection_id == inspection.pk
            and existing.created_by_id == user.pk
            and existing.longitude == longitude
            and existing.latitude == latitude
            and existing.accuracy_m == accuracy_m
            and existing.fixed_at == fixed_at
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
            fixed_at=fixed_at,
            device_time=device_time,
            received_at=now or timezone.now(),
            location_status=LocationStatus.UNKNOWN if distance is None else LocationStatus.KNOWN,
            distance_m=distance,
        )
        inspection.mark_started()
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
            # A replay from before a photo was dropped still names it.
            and [u for u in photo_strings if u not in existing.dropped_photo_uuids] == existing.photo_uuids
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
        inspection.mark_started()
        return finding

    return create_once(
        Finding,
        client_uuid=client_uuid,
        same=same,
        create=create,
        before_insert=lambda: inspection_lock_for_change(inspection),
    )


def finding_photo_drop(*, finding: Finding, photo_uuid: UUID) -> Finding:
    """Stop waiting for a photo the finding names that will never arrive (lost on the phone).

    Idempotent: dropping it again answers the finding as it is, also once the
    inspection is submitted. Refused while the inspection is not open (409
    ``inspection_submitted`` / ``inspection_cancelled``), for a photo that has
    arrived (409 ``photo_arrived``: it is evidence), and for a UUID the finding
    never named (404). The UUID moves from ``photo_uuids`` to
    ``dropped_photo_uuids``, so submission no longer waits for it and a replay
    of the finding's creation still matches.
    """
    key = str(photo_uuid)
    if key in finding.dropped_photo_uuids:
        return finding
    with transaction.atomic():
        inspection_lock_for_change(finding.inspection)
        locked = Finding.objects.select_for_update().get(pk=finding.pk)
        if key in locked.dropped_photo_uuids:
            return locked
        if key not in locked.photo_uuids:
            raise NotFound(_("This finding names no such photo."))
        if locked.inspection.photos.filter(client_uuid=photo_uuid).exists():
            raise PhotoArrived
        locked.photo_uuids = [u for u in locked.photo_uuids if u != key]
        locked.dropped_photo_uuids = [*locked.dropped_photo_uuids, key]
        locked.save(update_fields=["photo_uuids", "dropped_photo_uuids"])
    logger.info("finding %s: photo %s dropped", locked.client_uuid, key)
    return locked


def inspection_submit(
    *, inspection: Inspection, user: User, summary: str, now: datetime | None = None
) -> tuple[Inspection, bool]:
    """Submit the inspection with its summary; a replay of the same submission is a no-op.

    Refused with 409 ``photos_pending`` while a photo that a finding names has
    not arrived. Each finding then opens its case, in the same transaction: a
    submitted inspection without its cases is never visible.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if locked.status == Inspection.Status.SUBMITTED:
            if locked.summary == summary:
                return locked, False
            raise InspectionSubmitted(_("This inspection was already submitted with a different summary."))
        locked.check_open()
        pending = inspection_pending_photos(inspection=locked)
        if pending:
            raise PhotosPending(pending)
        locked.submit(summary=summary, now=now)
        cases_open_for_inspection(inspection=locked, now=now)
        return locked, True


def village_confirm_location(*, check_in: CheckIn, by: User) -> Village:
    """Take a good check-in's fix as the village's confirmed location (WGS-84).

    Only a fix at least as accurate as ``QINGSHAN_CONFIRM_LOCATION_MAX_ACCURACY_M``
    qualifies: confirming a location from a poor fix would make every later
    distance wrong.
    """
    limit = settings.QINGSHAN_CONFIRM_LOCATION_MAX_ACCURACY_M
    if check_in.accuracy_m is None or check_in.accuracy_m > limit:
        raise CheckInNotAccurate(limit)
    with transaction.atomic():
        village = Village.objects.select_for_update().get(pk=check_in.inspection.village_id)
        village.longitude = check_in.longitude
        village.latitude = check_in.latitude
        village.datum = Datum.WGS84
        village.location_source = Village.LocationSource.CONFIRMED
        village.save(update_fields=["longitude", "latitude", "datum", "location_source"])
    logger.info("village %s location confirmed by %s from check-in %s", village.code, by.pk, check_in.pk)
    return village
