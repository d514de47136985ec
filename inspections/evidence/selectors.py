"""Reads of photo evidence: who sees which photos, the facts of photos, who names a photo.

Visibility follows the inspection's embargo rule
(:func:`inspections.fieldwork.selectors.inspection_list`) and, for a case's
after-photos, the cases the caller may see.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import Case, FollowUp, Rectification
from inspections.evidence import imaging
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding
from inspections.fieldwork.selectors import inspection_list
from villages.models import Datum


@dataclass(frozen=True)
class PhotoFacts:
    """What the evidence pipeline knows of a photo that the flags need."""

    uuid: str
    longitude: float | None = None
    latitude: float | None = None
    datum: str = ""
    phash: str = ""  # 64-bit perceptual hash, hex


def photo_facts(uuids: Sequence[str]) -> list[PhotoFacts]:
    """Facts of the photos with these client UUIDs that have been processed.

    Read from the evidence pipeline's ``Photo`` in one query, in the order
    given. The position is the file's EXIF GPS (WGS-84), the one the pipeline
    measures distances and raises flags from; the phone-reported position is
    not evidence and is not used. Photos that have not arrived or are not
    processed yet are simply absent, as are strings that are not UUIDs.
    """
    wanted: list[uuid.UUID] = []
    for value in uuids:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not wanted:
        return []
    rows = {
        client_uuid: (longitude, latitude, phash)
        for client_uuid, longitude, latitude, phash in Photo.objects.filter(
            client_uuid__in=wanted, status=Photo.Status.READY
        ).values_list("client_uuid", "gps_longitude", "gps_latitude", "phash")
    }
    facts: list[PhotoFacts] = []
    for key in dict.fromkeys(wanted):
        if key not in rows:
            continue
        longitude, latitude, phash = rows[key]
        positioned = longitude is not None and latitude is not None
        facts.append(
            PhotoFacts(
                uuid=str(key),
                longitude=longitude if positioned else None,
                latitude=latitude if positioned else None,
                datum=Datum.WGS84 if positioned else "",
                phash=f"{imaging.phash_from_db(phash):016x}" if phash is not None else "",
            )
        )
    return facts


def visible_photos(
    *, user: User, visible_cases: QuerySet[Case], now: datetime | None = None
) -> QuerySet[Photo]:
    """Photos of the inspections ``user`` may see, of ``visible_cases``, and the finding photos
    of the problems ``user`` is drawn to verify.

    The caller passes the cases ``user`` may see
    (``inspections.cases.selectors.case_list``): evidence sits below the
    cases area and does not read its selectors.

    A verification visit's team sees the photos of the finding each problem came
    from (what was wrong, to compare on site) from the opening of the visit's
    window, never before (the embargo); their renditions only, as
    :func:`inspections.evidence.policies.may_see_original` keeps originals with
    the finding's team, its organisers and supervisors. One query more for an
    inspector (the findings' photo lists), none for anyone else.
    """
    visible = Q(inspection__in=inspection_list(user=user)) | Q(case__in=visible_cases)
    findings = verified_finding_photos(user=user, now=now)
    if findings:
        inspections, uuids = findings
        visible |= Q(inspection_id__in=inspections, client_uuid__in=uuids, case__isnull=True)
    return Photo.objects.filter(visible)


def verified_finding_photos(*, user: User, now: datetime | None = None) -> tuple[set[int], set[str]] | None:
    """The inspections and photo UUIDs of the findings of problems ``user`` is on a verification
    team for, from the opening of that visit's window (None: there are none)."""
    if not user.is_authenticated or not user.is_active or not hasattr(user, "inspector_profile"):
        return None
    now = now or timezone.now()
    rows = Finding.objects.filter(
        case__follow_ups__kind=FollowUp.Kind.VERIFICATION,
        case__follow_ups__inspection__team__user_id=user.pk,
        case__follow_ups__inspection__window_start__lte=now,
    ).values_list("inspection_id", "photo_uuids")
    inspections: set[int] = set()
    uuids: set[str] = set()
    for inspection_id, photo_uuids in rows:
        inspections.add(inspection_id)
        uuids.update(str(u) for u in photo_uuids or [])
    return (inspections, uuids) if uuids else None


def rectifications_naming(photo_uuid: uuid.UUID | str) -> QuerySet[Rectification]:
    """The rectifications whose after-photos include this photo, or whose finding's before-photos do.

    One query: the ids named either way, as a union, so that on PostgreSQL
    each side is answered by JSON containment (``@>``) from its GIN index
    (migration 0010) instead of a scan of every finding and rectification.
    Databases without containment compare the quoted UUID in the stored JSON
    text, which for a UUID is just as exact.
    """
    key = str(photo_uuid)
    if connection.features.supports_json_field_contains:
        names = Q(photo_uuids__contains=[key])
    else:
        names = Q(photo_uuids__icontains=f'"{key}"')
    by_after = Rectification.objects.filter(names).order_by().values("pk")
    by_before = (
        Rectification.objects.filter(case__finding__in=Finding.objects.filter(names)).order_by().values("pk")
    )
    return Rectification.objects.filter(pk__in=by_after.union(by_before))
