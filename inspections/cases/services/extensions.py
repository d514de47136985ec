"""延期: the responsible party asks for a later deadline; the assigning level approves or rejects.

Both are history events. An approval moves the deadline and the escalation
clock after it; a problem escalated under the old deadline that is no longer
overdue under the new one is de-escalated, its event saying why.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.errors import (
    ExtensionNotAllowed,
    ExtensionNotLater,
    ExtensionNotPending,
    ExtensionPending,
)
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import RECTIFICATION_DUE, Case, CaseEvent, ExtensionRequest
from inspections.cases.policies import can_assign, can_rectify
from inspections.cases.services.escalation import deadline_moved
from inspections.common.errors import PermissionDenied
from inspections.common.idempotency import create_once


@transaction.atomic
def extension_request(
    *,
    case: Case,
    actor: User,
    client_uuid: uuid.UUID,
    reason: str,
    proposed_deadline: dt.date,
    now: dt.datetime | None = None,
) -> tuple[ExtensionRequest, bool]:
    """The responsible party asks for ``proposed_deadline``; returns ``(request, created)``.

    Idempotent by ``client_uuid`` (a different request under it is
    ``uuid_conflict``). Refuses ``permission_denied`` to anyone but the
    responsible party, ``extension_not_allowed`` unless a rectification is
    owed, ``extension_not_later`` for a date not after the deadline and
    ``extension_pending`` while another request awaits its decision.
    """
    now = now or timezone.now()
    if not can_rectify(actor, case):
        raise PermissionDenied(_only_party)
    locked = case_lock(case)

    def same(existing: ExtensionRequest) -> bool:
        return (
            existing.case_id == locked.pk
            and existing.reason == reason
            and existing.proposed_deadline == proposed_deadline
        )

    def refuse_unless_allowed() -> None:
        if locked.status not in RECTIFICATION_DUE:
            raise ExtensionNotAllowed()
        if proposed_deadline <= locked.deadline:
            raise ExtensionNotLater()
        if ExtensionRequest.objects.filter(case=locked, status=ExtensionRequest.Status.PENDING).exists():
            raise ExtensionPending()

    def create() -> ExtensionRequest:
        asked = ExtensionRequest.objects.create(
            client_uuid=client_uuid,
            case=locked,
            requested_by=actor,
            reason=reason,
            current_deadline=locked.deadline,
            proposed_deadline=proposed_deadline,
            created_at=now,
        )
        case_event_append(
            locked,
            kind=CaseEvent.Kind.EXTENSION_REQUESTED,
            actor=actor,
            from_status=locked.status,
            note=reason,
            evidence={
                "extension": asked.pk,
                "deadline": locked.deadline.isoformat(),
                "proposed": proposed_deadline.isoformat(),
            },
            now=now,
        )
        locked.save(update_fields=HEAD_FIELDS)
        return asked

    return create_once(
        ExtensionRequest,
        client_uuid=client_uuid,
        same=same,
        create=create,
        before_insert=refuse_unless_allowed,
    )


_only_party = _("Only the responsible party may ask for an extension.")


def extension_decide_check(*, request: ExtensionRequest, case: Case, actor: User) -> None:
    """Refuse unless ``actor`` may decide ``request`` (of ``case``) now: the assigning level or above,
    while it is pending. Writes nothing; asked by :func:`extension_decide` and the problem page."""
    if not can_assign(actor, case):
        raise PermissionDenied()
    if request.status != ExtensionRequest.Status.PENDING:
        raise ExtensionNotPending()


@transaction.atomic
def extension_decide(
    *, request: ExtensionRequest, actor: User, approve: bool, note: str = "", now: dt.datetime | None = None
) -> ExtensionRequest:
    """The assigning level (or above) approves or rejects a pending request; one event either way.

    An approval moves the deadline to the proposed date through
    :func:`~inspections.cases.services.escalation.deadline_moved`: the
    escalation clock restarts after it, and a problem escalated under the old
    deadline that is not overdue under the new one is de-escalated (the event
    says so). Refuses ``permission_denied`` and ``extension_not_pending``.
    """
    now = now or timezone.now()
    locked = case_lock(request.case)
    asked = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    extension_decide_check(request=asked, case=locked, actor=actor)
    asked.status = ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REJECTED
    asked.decided_by, asked.decided_at, asked.decision_note = actor, now, note
    asked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    evidence: dict[str, object] = {"extension": asked.pk, "approved": approve}
    if approve:
        evidence["deadline"] = {
            "from": locked.deadline.isoformat(),
            "to": asked.proposed_deadline.isoformat(),
        }
        deadline_moved(
            locked,
            to=asked.proposed_deadline,
            actor=actor,
            why="deadline extended",
            now=now,
            event_kind=CaseEvent.Kind.EXTENSION_DECIDED,
            note=note,
            evidence=evidence,
        )
        return asked
    case_event_append(
        locked,
        kind=CaseEvent.Kind.EXTENSION_DECIDED,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence=evidence,
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    return asked
