"""Rectification: what the responsible party reports having done, with after-photos.

A rectification moves its case to awaiting verification and schedules the
verification visit in the same transaction. Its after-photo flags are
recomputed whenever the evidence pipeline finishes a photo it names.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.events import case_lock
from inspections.cases.flags import after_photo_flags
from inspections.cases.models import Case, CaseAction, CaseStatus, FollowUp, Rectification
from inspections.cases.services.follow_ups import follow_up_schedule
from inspections.cases.services.status import case_set_status, case_status_check
from inspections.common.idempotency import create_once
from inspections.evidence.selectors import photo_facts


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
    flags = after_photo_flags(
        finding=finding,
        before=photo_facts([str(u) for u in finding.photo_uuids]),
        after=photo_facts([str(u) for u in rectification.photo_uuids]),
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
