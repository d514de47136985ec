"""Review before 交办: the organising level confirms, merges or voids each finding of a submitted inspection.

A finding opens as a problem awaiting review (unless its jurisdiction hands
over automatically, :class:`~inspections.cases.models.ReviewPolicy`). The
organising level then

* confirms it: the problem is handed over (交办) to the responsible unit,
  with its deadline counted from that day;
* merges a duplicate (the same problem found twice) into another problem of
  the village: the duplicate is closed as merged, and the problem it joins
  records it;
* voids it, with a written reason.

Each is one history event through the status guard
(:func:`~inspections.cases.services.status.case_set_status`).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.deadlines import deadline_fields
from inspections.cases.errors import MergeTargetInvalid, ReviewReasonRequired
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import NOT_HANDED_OVER, Case, CaseAction, CaseEvent, CaseStatus
from inspections.cases.services.handover import case_handover_notify
from inspections.cases.services.status import case_set_status, case_status_check


@transaction.atomic
def case_confirm(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Awaiting review → open: confirmed and handed over (交办), the deadline counted from today.

    The responsible unit is notified (:func:`~inspections.cases.services.handover.case_handover_notify`).
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(case=locked, to_status=CaseStatus.OPEN, action=CaseAction.CONFIRM, actor=actor, now=now)
    confirmed = case_set_status(
        case=locked,
        to_status=CaseStatus.OPEN,
        action=CaseAction.CONFIRM,
        actor=actor,
        note=note,
        evidence={"handed_over": "reviewed"},
        changes={**deadline_fields(locked, now=now), "handed_over_at": now, "handed_over_by": actor},
        now=now,
    )
    case_handover_notify(case=confirmed, now=now)
    return confirmed


@transaction.atomic
def case_void(*, case: Case, actor: User, note: str, now: dt.datetime | None = None) -> Case:
    """Awaiting review → voided, with the written reason in the event and on the problem."""
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(case=locked, to_status=CaseStatus.VOIDED, action=CaseAction.VOID, actor=actor, now=now)
    reason = (note or "").strip()
    if not reason:
        raise ReviewReasonRequired()
    return case_set_status(
        case=locked,
        to_status=CaseStatus.VOIDED,
        action=CaseAction.VOID,
        actor=actor,
        note=reason,
        changes={"review_note": reason},
        now=now,
    )


@transaction.atomic
def case_merge(
    *, case: Case, into: Case, actor: User, note: str = "", now: dt.datetime | None = None
) -> Case:
    """Awaiting review → merged into ``into`` (a live problem of the same village); both histories say so.

    Returns the merged duplicate. Both rows are locked in id order.
    """
    now = now or timezone.now()
    first, second = sorted([case.pk, into.pk])
    locks = {pk: case_lock(Case(pk=pk)) for pk in (first, second)}
    locked, target = locks[case.pk], locks[into.pk]
    case_status_check(case=locked, to_status=CaseStatus.MERGED, action=CaseAction.MERGE, actor=actor, now=now)
    if (
        target.pk == locked.pk
        or target.village_id != locked.village_id
        or target.status in (CaseStatus.VOIDED, CaseStatus.MERGED)
    ):
        raise MergeTargetInvalid()
    merged = case_set_status(
        case=locked,
        to_status=CaseStatus.MERGED,
        action=CaseAction.MERGE,
        actor=actor,
        note=note,
        evidence={"merged_into": target.pk},
        changes={"merged_into": target, "review_note": note},
        now=now,
    )
    case_event_append(
        target,
        kind=CaseEvent.Kind.MERGED_IN,
        actor=actor,
        from_status=target.status,
        note=note,
        evidence={"duplicate": locked.pk, "finding": str(locked.finding.client_uuid)},
        now=now,
    )
    target.save(update_fields=HEAD_FIELDS)
    return merged


def is_handed_over(case: Case) -> bool:
    """Whether the problem has been confirmed and handed over (not awaiting review, voided or merged)."""
    return case.status not in NOT_HANDED_OVER
