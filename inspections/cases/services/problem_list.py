"""The 问题清单 fields of a problem: 责任单位, 责任人, 整改时限 and the stages of a long-term problem.

The responsible unit defaults, when the problem opens, to the village's
township or to the village itself (``QINGSHAN_RESPONSIBLE_UNIT_DEFAULT``). The
assigning level (谁交办) may change the unit, the department and the
responsible person, change the time limit with a written reason, and split a
long-term problem into stages, each with its own description and due date.
Each change is one history event; a moved time limit goes through the same
path as an approved extension
(:func:`~inspections.cases.services.escalation.deadline_moved`), so the
escalation clock follows and a problem escalated under the old deadline is
de-escalated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from inspections.accounts.models import Role, User
from inspections.accounts.policies import user_covers
from inspections.cases.errors import (
    CaseNotHandedOver,
    DeadlineChangeNotAllowed,
    DeadlineInvalid,
    DeadlineReasonRequired,
    ResponsibleAccountInvalid,
    ResponsibleUnitInvalid,
    StageAfterDeadline,
    StageNotAllowed,
)
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import (
    RECTIFICATION_DUE,
    Case,
    CaseEvent,
    CaseStage,
    CaseStatus,
    Department,
)
from inspections.cases.policies import can_assign, can_rectify
from inspections.cases.services.escalation import deadline_moved
from inspections.cases.services.handover import case_handover_notify
from inspections.cases.services.review import is_handed_over
from inspections.common.china_time import local_date
from inspections.common.errors import PermissionDenied
from villages.models import Division, Village

# The unit a problem is handed to unless the assigning level says otherwise.
UNIT_TOWNSHIP, UNIT_VILLAGE = "township", "village"


def responsible_defaults(village: Village) -> dict[str, Any]:
    """The 责任单位 of a new problem of ``village``: its township, or the village itself."""
    if settings.QINGSHAN_RESPONSIBLE_UNIT_DEFAULT == UNIT_VILLAGE or village.township_id is None:
        return {"responsible_division": None, "responsible_village": village}
    return {"responsible_division_id": village.township_id, "responsible_village": None}


def responsible_unit_code(case: Case) -> str:
    """The code of the unit the problem is handed to (the village's when none is recorded)."""
    return case.responsible_unit.code


def responsible_unit_name(case: Case) -> str:
    return case.responsible_unit.name


def _unit_check(case: Case, division: Division | None, village: Village | None) -> None:
    if (division is None) == (village is None):
        raise ResponsibleUnitInvalid()
    if division is not None and not case.village.code.startswith(division.code):
        raise ResponsibleUnitInvalid()
    if village is not None and village.pk != case.village_id:
        raise ResponsibleUnitInvalid()


def _account_check(case: Case, account: User | None) -> None:
    if account is None:
        return
    if not (account.is_active and account.has_role(Role.RESPONSIBLE_PARTY)):
        raise ResponsibleAccountInvalid()
    if not user_covers(account, case.village.code):
        raise ResponsibleAccountInvalid()


def responsibility_check(
    *,
    case: Case,
    actor: User,
    division: Division | None,
    village: Village | None,
    account: User | None,
) -> None:
    """Refuse unless ``actor`` may set this responsibility on ``case``; writes nothing (the admin asks)."""
    if not can_assign(actor, case):
        raise PermissionDenied()
    if case.status in (CaseStatus.VOIDED, CaseStatus.MERGED):
        raise CaseNotHandedOver()
    _unit_check(case, division, village)
    _account_check(case, account)


@transaction.atomic
def case_set_responsibility(
    *,
    case: Case,
    actor: User,
    division: Division | None,
    village: Village | None,
    department: Department | None,
    person_name: str,
    person_post: str,
    account: User | None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """The assigning level sets the 责任单位 and 责任人; one ``responsibility`` event, or none if unchanged.

    After 交办, the accounts of the unit and the person now responsible who were not told of
    the problem yet are notified as at the 交办 (notice and email with the 交办单).

    Allowed under review and after 交办 (not on a voided or merged problem:
    ``case_not_handed_over``); ``responsible_unit_invalid`` unless exactly one
    of ``division`` (over the village) and ``village`` (the problem's) is
    given, ``responsible_account_invalid`` for an account that is not a
    responsible party covering the village.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    responsibility_check(case=locked, actor=actor, division=division, village=village, account=account)
    values: dict[str, Any] = {
        "responsible_division": division,
        "responsible_village": village,
        "responsible_department": department,
        "responsible_person_name": person_name.strip(),
        "responsible_person_post": person_post.strip(),
        "responsible_person": account,
    }
    changed = {name: value for name, value in values.items() if getattr(locked, name) != value}
    if not changed:
        return locked
    for name, value in changed.items():
        setattr(locked, name, value)
    case_event_append(
        locked,
        kind=CaseEvent.Kind.RESPONSIBILITY,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence={
            "unit": responsible_unit_code(locked),
            "department": department.name if department else "",
            "person": locked.responsible_person_name,
            "post": locked.responsible_person_post,
            "account": account.pk if account else None,
        },
        now=now,
    )
    locked.save(update_fields=[*changed, *HEAD_FIELDS])
    if is_handed_over(locked):
        # Handed over already: the unit or person now responsible is told, as at the 交办 (each
        # account once per problem; those told before are not told again).
        case_handover_notify(case=locked, now=now)
    return locked


def deadline_change_check(
    *, case: Case, actor: User, deadline: dt.date, reason: str, now: dt.datetime
) -> str:
    """Refuse unless ``actor`` may move ``case``'s time limit to ``deadline``; the reason, stripped."""
    if not can_assign(actor, case):
        raise PermissionDenied()
    if case.status not in RECTIFICATION_DUE:
        raise DeadlineChangeNotAllowed()
    written = (reason or "").strip()
    if not written:
        raise DeadlineReasonRequired()
    last_stage = CaseStage.objects.filter(case=case).aggregate(last=Max("due_date"))["last"]
    if deadline == case.deadline or deadline < local_date(now) or (last_stage and deadline < last_stage):
        raise DeadlineInvalid()
    return written


@transaction.atomic
def case_change_deadline(
    *, case: Case, actor: User, deadline: dt.date, reason: str, now: dt.datetime | None = None
) -> Case:
    """The assigning level moves the time limit (整改时限) of one problem, with a written reason.

    One ``deadline_changed`` event (the reason as its note, the old and new
    day in its evidence). Earlier or later, the escalation clock restarts
    after the new day and an escalated problem whose new day has not passed
    is de-escalated. Refuses ``permission_denied``,
    ``deadline_change_not_allowed`` unless a rectification is owed,
    ``deadline_reason_required`` and ``deadline_invalid`` (the same day, a
    day before today, or before a stage's due date).
    """
    now = now or timezone.now()
    locked = case_lock(case)
    written = deadline_change_check(case=locked, actor=actor, deadline=deadline, reason=reason, now=now)
    return deadline_moved(
        locked,
        to=deadline,
        actor=actor,
        why="time limit changed",
        now=now,
        event_kind=CaseEvent.Kind.DEADLINE_CHANGED,
        note=written,
        evidence={
            "deadline": {"from": locked.deadline.isoformat(), "to": deadline.isoformat()},
            "changed_by": actor.pk,
        },
    )


def stage_add_check(
    *, case: Case, actor: User, description: str, due_date: dt.date, now: dt.datetime
) -> None:
    if not can_assign(actor, case):
        raise PermissionDenied()
    if case.status not in RECTIFICATION_DUE:
        raise DeadlineChangeNotAllowed()
    if not description.strip() or due_date < local_date(now):
        raise DeadlineInvalid()
    if due_date > case.deadline:
        raise StageAfterDeadline()


@transaction.atomic
def case_stage_add(
    *, case: Case, actor: User, description: str, due_date: dt.date, now: dt.datetime | None = None
) -> CaseStage:
    """The assigning level adds a stage to a long-term problem: one ``stage_added`` event.

    The stage is due by the problem's time limit (``stage_after_deadline``
    otherwise: move the time limit first, with its reason), not before today.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    stage_add_check(case=locked, actor=actor, description=description, due_date=due_date, now=now)
    seq = (CaseStage.objects.filter(case=locked).aggregate(last=Max("seq"))["last"] or 0) + 1
    stage = CaseStage.objects.create(
        case=locked,
        seq=seq,
        description=description.strip(),
        due_date=due_date,
        created_by=actor,
        created_at=now,
    )
    case_event_append(
        locked,
        kind=CaseEvent.Kind.STAGE_ADDED,
        actor=actor,
        from_status=locked.status,
        note=stage.description,
        evidence={"stage": seq, "due_date": due_date.isoformat()},
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    return stage


@transaction.atomic
def case_stage_complete(
    *, case: Case, seq: int, actor: User, note: str = "", now: dt.datetime | None = None
) -> tuple[CaseStage, bool]:
    """The responsible party reports stage ``seq`` done; returns ``(stage, completed now)``.

    Once: reporting a stage already done changes nothing (no event). Refuses
    ``permission_denied`` to anyone but the responsible party and
    ``stage_not_allowed`` unless a rectification is owed.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    if not can_rectify(actor, locked):
        raise PermissionDenied()
    stage = CaseStage.objects.select_for_update().get(case=locked, seq=seq)
    if stage.completed_at is not None:
        return stage, False
    if locked.status not in RECTIFICATION_DUE:
        raise StageNotAllowed()
    stage.completed_at, stage.completed_by, stage.completion_note = now, actor, note
    stage.save(update_fields=["completed_at", "completed_by", "completion_note"])
    case_event_append(
        locked,
        kind=CaseEvent.Kind.STAGE_COMPLETED,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence={
            "stage": seq,
            "due_date": stage.due_date.isoformat(),
            "late": stage.due_date < local_date(now),
        },
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    return stage, True
