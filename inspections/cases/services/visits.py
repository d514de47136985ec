"""Results of the follow-up visits, recorded by the inspector drawn for them.

Verification: passed marks the case verified, for the assigning level to
sign off its 销号 (:func:`~inspections.cases.services.status.case_close`); failed sends it back to
rectifying with a new deadline. Look-back: passed is recorded as an event;
failed reopens the case marked as a relapse. Every status change goes
through :func:`~inspections.cases.services.status.case_set_status`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.deadlines import deadline_fields
from inspections.cases.errors import NoPendingVisit
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import Case, CaseAction, CaseEvent, CaseStatus, FollowUp
from inspections.cases.policies import can_record_visit
from inspections.cases.services.follow_ups import follow_up_close, pending_follow_up
from inspections.cases.services.status import case_set_status, rectifier_check, reopen_changes
from inspections.common.idempotency import create_once
from inspections.fieldwork.models import Inspection


@transaction.atomic
def follow_up_record_result(
    *,
    case: Case,
    kind: str,
    actor: User,
    client_uuid: uuid.UUID,
    passed: bool,
    note: str,
    photo_uuids: Sequence[str],
    false_rectification: bool = False,
    now: dt.datetime | None = None,
) -> tuple[FollowUp, bool]:
    """Record the result of the pending visit of ``kind``; returns ``(visit, created)``.

    Idempotent by ``client_uuid`` like every create from the field: the same
    result again returns the visit (``created`` false) and changes nothing;
    a different one is ``uuid_conflict``. Refuses ``no_pending_visit`` when
    the case has no such visit in the status it needs, and exactly so to
    anyone who may not know of the visit: everyone but the drawn inspector
    from the visit's window on (四不两直: the answer never tells a village that
    an unannounced visit is coming). Refuses ``verifier_is_rectifier`` to the
    rectifier.
    """
    now = now or timezone.now()
    photo_uuids = [str(u) for u in photo_uuids]
    result = FollowUp.Result.PASSED if passed else FollowUp.Result.FAILED
    expected = CaseStatus.AWAITING_VERIFICATION if kind == FollowUp.Kind.VERIFICATION else CaseStatus.CLOSED
    locked = case_lock(case)  # before the replay lookup: a concurrent replay waits, then finds the first
    follow_up = pending_follow_up(case=locked, kind=kind)

    def same(existing: FollowUp) -> bool:
        return (
            existing.case_id == case.pk
            and existing.kind == kind
            and existing.result == result
            and existing.result_note == note
            and existing.result_photo_uuids == photo_uuids
        )

    def refuse_unless_allowed() -> None:
        # One answer whether the visit exists or not, for whoever may not know of it.
        if follow_up is None or locked.status != expected or not can_record_visit(actor, follow_up, now=now):
            raise NoPendingVisit()
        rectifier_check(case=locked, actor=actor)

    def record() -> FollowUp:
        assert follow_up is not None  # refuse_unless_allowed said so
        return follow_up_close(
            follow_up,
            result=result,
            actor=actor,
            client_uuid=client_uuid,
            note=note,
            photo_uuids=photo_uuids,
            now=now,
            inspection_status=Inspection.Status.SUBMITTED,
        )

    recorded, created = create_once(
        FollowUp,
        client_uuid=client_uuid,
        field="result_uuid",
        same=same,
        create=record,
        before_insert=refuse_unless_allowed,
    )
    if not created:
        return recorded, False
    evidence: dict[str, object] = {
        "follow_up": recorded.pk,
        "kind": kind,
        "result": result,
        "photos": photo_uuids,
    }
    # A failed visit may find the rectification was never done (虚假整改): counted apart from a relapse.
    false = false_rectification and not passed
    if kind == FollowUp.Kind.VERIFICATION and passed:
        case_set_status(
            case=locked,
            to_status=CaseStatus.VERIFIED,
            action=CaseAction.VERIFICATION_PASSED,
            actor=actor,
            note=note,
            evidence=evidence,
            follow_up=recorded,
            now=now,
        )
    elif kind == FollowUp.Kind.VERIFICATION:
        case_set_status(
            case=locked,
            to_status=CaseStatus.RECTIFYING,
            action=CaseAction.VERIFICATION_FAILED,
            actor=actor,
            note=note,
            evidence={**evidence, **({"false_rectification": True} if false else {})},
            changes={
                **deadline_fields(locked, now=now),
                "reopen_count": locked.reopen_count + 1,
                **({"is_false_rectification": True} if false else {}),
            },
            follow_up=recorded,
            now=now,
        )
    elif passed:
        case_event_append(
            locked,
            kind=CaseEvent.Kind.LOOK_BACK_PASSED,
            actor=actor,
            from_status=locked.status,
            note=note,
            evidence=evidence,
            now=now,
        )
        locked.save(update_fields=HEAD_FIELDS)
    else:
        case_set_status(
            case=locked,
            to_status=CaseStatus.REOPENED,
            action=CaseAction.LOOK_BACK_FAILED,
            actor=actor,
            note=note,
            evidence={**evidence, "relapse": not false, **({"false_rectification": True} if false else {})},
            changes={
                **reopen_changes(locked, now=now, relapse=not false),
                **({"is_false_rectification": True} if false else {}),
            },
            follow_up=recorded,
            now=now,
        )
    recorded.refresh_from_db()
    return recorded, True
