"""Rectification: what the responsible party reports having done, with after-photos.

A rectification moves its case to awaiting verification and schedules the
verification visit in the same transaction. Its after-photo flags are
recomputed whenever the evidence pipeline finishes a photo it names.

It names only photos uploaded for its case: one the submitter may see that
belongs elsewhere is refused (``photo_not_of_case``); one they may not see is
answered as if it did not exist (a photo still to arrive), and only the case's
own photos ever count in its flags.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.errors import PhotoNotOfCase
from inspections.cases.events import case_lock
from inspections.cases.flags import after_photo_flags
from inspections.cases.models import Case, CaseAction, CaseStatus, FollowUp, Rectification
from inspections.cases.selectors import case_list
from inspections.cases.services.follow_ups import follow_up_schedule
from inspections.cases.services.status import case_set_status, case_status_check
from inspections.common.idempotency import create_once
from inspections.evidence.models import Photo
from inspections.evidence.selectors import photo_facts, visible_photos


def _uuids(values: Sequence[object]) -> list[uuid.UUID]:
    parsed: list[uuid.UUID] = []
    for value in values:
        try:
            parsed.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return parsed


def _own_photos(values: Sequence[object], **owner: int) -> list[str]:
    """The UUIDs among ``values`` that are photos of ``owner`` (``case_id=`` or ``inspection_id=``)."""
    wanted = _uuids(values)
    if not wanted:
        return []
    own = {
        str(u)
        for u in Photo.objects.filter(client_uuid__in=wanted, **owner).values_list("client_uuid", flat=True)
    }
    return [str(u) for u in dict.fromkeys(wanted) if str(u) in own]


def rectification_photos_check(*, case: Case, actor: User, photo_uuids: Sequence[str]) -> None:
    """Refuse photos ``actor`` may see that were uploaded for another case or an inspection.

    A UUID no photo has yet is a photo still to arrive (phones upload after
    they submit); one of a photo ``actor`` may not see is answered alike.
    """
    wanted = _uuids(photo_uuids)
    if not wanted:
        return
    elsewhere = (
        visible_photos(user=actor, visible_cases=case_list(user=actor))
        .filter(client_uuid__in=wanted)
        .exclude(case_id=case.pk)
        .values_list("client_uuid", flat=True)
    )
    refused = sorted(str(u) for u in elsewhere)
    if refused:
        raise PhotoNotOfCase.of(refused)


@transaction.atomic
def rectification_flags_refresh(*, rectification: Rectification) -> list[dict[str, Any]]:
    """Recompute the after-photo flags of ``rectification`` from the photos processed so far; returns them.

    The evidence pipeline calls it when a photo is processed, since a
    rectification may name its photos before they arrive. Saves only on a
    change, so running it twice is free.
    """
    rectification = (
        Rectification.objects.select_for_update().select_related("case__finding").get(pk=rectification.pk)
    )
    finding = rectification.case.finding
    # Only photos of the finding's inspection and of this case: a UUID named that belongs
    # elsewhere (perhaps to a visit still embargoed) tells nothing here.
    flags = after_photo_flags(
        finding=finding,
        before=photo_facts(_own_photos(finding.photo_uuids, inspection_id=finding.inspection_id)),
        after=photo_facts(_own_photos(rectification.photo_uuids, case_id=rectification.case_id)),
    )
    if flags != rectification.flags:
        rectification.flags = flags
        rectification.save(update_fields=["flags"])
    return flags


@transaction.atomic
def rectification_submit(
    *,
    case: Case,
    actor: User,
    client_uuid: uuid.UUID,
    description: str,
    photo_uuids: Sequence[str],
    now: dt.datetime | None = None,
) -> tuple[Rectification, bool]:
    """Record a rectification, moving the case to awaiting verification; returns ``(rectification, created)``.

    Idempotent by ``client_uuid``: a replay with the same content returns the
    first rectification (``created`` false) and changes nothing; different
    content is ``uuid_conflict``. The case row is locked before the replay is
    looked up, so a concurrent replay waits and then finds the first.
    Refuses ``permission_denied`` to anyone but the responsible party and
    ``case_transition_not_allowed`` when the case cannot take a rectification.
    """
    now = now or timezone.now()
    photo_uuids = [str(u) for u in photo_uuids]
    locked = case_lock(case)

    def same(existing: Rectification) -> bool:
        return (
            existing.case_id == case.pk
            and existing.description == description
            and [str(u) for u in existing.photo_uuids] == photo_uuids
            and existing.submitted_by_id == actor.pk
        )

    def refuse_unless_allowed() -> None:
        case_status_check(
            case=locked,
            to_status=CaseStatus.AWAITING_VERIFICATION,
            action=CaseAction.RECTIFY,
            actor=actor,
            now=now,
        )
        rectification_photos_check(case=locked, actor=actor, photo_uuids=photo_uuids)

    def create() -> Rectification:
        return Rectification.objects.create(
            client_uuid=client_uuid,
            case=locked,
            submitted_by=actor,
            description=description,
            photo_uuids=photo_uuids,
        )

    rectification, created = create_once(
        Rectification, client_uuid=client_uuid, same=same, create=create, before_insert=refuse_unless_allowed
    )
    if not created:
        return rectification, False
    flags = rectification_flags_refresh(rectification=rectification)
    case_set_status(
        case=locked,
        to_status=CaseStatus.AWAITING_VERIFICATION,
        action=CaseAction.RECTIFY,
        actor=actor,
        note=description,
        evidence={
            "rectification": str(client_uuid),
            "photos": photo_uuids,
            "flags": [f["code"] for f in flags],
        },
        now=now,
    )
    follow_up_schedule(case=locked, kind=FollowUp.Kind.VERIFICATION, rectification=rectification, now=now)
    return rectification, True
