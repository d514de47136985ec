"""TODO docstring."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from inspections.accounts.models import User
from inspections.cases.selectors import case_list
from inspections.evidence.models import Photo
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
    from inspections.evidence import imaging
    from inspections.evidence.models import Photo

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


def visible_photos(user: User) -> Any:
    """Photos of the inspections ``user`` may see, and of the cases they may see."""
    return Photo.objects.filter(
        Q(inspection__in=inspection_list(user=user)) | Q(case__in=case_list(user=user))
    )
