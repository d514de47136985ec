"""The one door for a case's status: :func:`case_set_status`, and the supervisors' actions through it.

Every status change of the API, the admin and the visits goes through
:func:`case_set_status`, which checks the move, the action and the actor's
role against :data:`~inspections.cases.models.TRANSITIONS`, and appends
exactly one hash-chained event under a lock on the case row. The functions
below it are thin: they name their action and add what the action changes
beside the status (a new deadline, a cancelled visit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.deadlines import deadline_fields
from inspections.cases.errors import (
    CaseTransitionNotAllowed,
    DeskReviewNoteRequired,
    VerificationTeamTooSmall,
    VerifierIsRectifier,
)
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import (
    TRANSITIONS,
    Case,
    CaseAction,
    CaseEvent,
    CaseStatus,
    FollowUp,
    Rectification,
    action_roles,
)
from inspections.cases.policies import holds_role
from inspections.cases.services.follow_ups import follow_up_cancel_pending
from inspections.common.china_time import local_date
from inspections.common.errors import PermissionDenied
from inspections.workdays.calendar import add_working_days

# What a refused caller is told, per action.
_WHO_MAY: dict[str, Any] = {
    CaseAction.START_RECTIFYING: _("Only the responsible party or a supervisor of the village may do this."),
    CaseAction.RECTIFY: _("Only the responsible party may rectify."),
    CaseAction.CONFIRM: _("Only a supervisor of the organising level or above may do this."),
    CaseAction.MERGE: _("Only a supervisor of the organising level or above may do this."),
    CaseAction.VOID: _("Only a supervisor of the organising level or above may do this."),
    CaseAction.VERIFY: _(
        "Only the level that assigned the problem, or a level above, may close it (谁交办、谁销号)."
    ),
    CaseAction.CLOSE: _(
        "Only the level that assigned the problem, or a level above, may close it (谁交办、谁销号)."
    ),
    CaseAction.SEND_BACK: _("Only a supervisor of the village may do this."),
    CaseAction.REOPEN: _("Only a supervisor of the village may do this."),
    CaseAction.VERIFICATION_PASSED: _("Only the drawn inspector may record this visit."),
    CaseAction.VERIFICATION_FAILED: _("Only the drawn inspector may record this visit."),
    CaseAction.LOOK_BACK_FAILED: _("Only the drawn inspector may record this visit."),
}


def case_status_check(
    *,
    case: Case,
    to_status: str,
    action: str,
    actor: User,
    follow_up: FollowUp | None = None,
    now: dt.datetime,
) -> None:
    """Refuse unless ``actor`` may take ``action`` to move ``case`` to ``to_status`` now.

    Who comes first: someone who may take the action from no status at all
    is ``permission_denied`` (403), whatever the case's status. Then the
    move: no row for (status, target, action) is ``case_transition_not_allowed``
    (409, with ``from_status`` and ``to_status``). Writes nothing.
    ``follow_up`` is the visit whose drawn inspector acts, for the visits'
    actions.
    """
    if not any(
        holds_role(actor, role, case=case, follow_up=follow_up, now=now) for role in action_roles(action)
    ):
        raise PermissionDenied(_WHO_MAY.get(action))
    roles = TRANSITIONS.get(case.status, {}).get(to_status, {}).get(action)
    if roles is None:
        raise CaseTransitionNotAllowed(from_status=case.status, to_status=to_status)
    if not any(holds_role(actor, role, case=case, follow_up=follow_up, now=now) for role in roles):
        raise PermissionDenied(_WHO_MAY.get(action))


def case_actions_allowed(*, case: Case, actor: User, now: dt.datetime | None = None) -> list[str]:
    """The actions of :data:`~inspections.cases.models.TRANSITIONS` that ``actor`` may take on ``case`` now.

    Exactly what :func:`case_status_check` lets through from the case's
    status, in the table's order: what the problem page offers as buttons
    (the services check again, under the case's lock, when one is pressed).
    The visits' results need their visit and are never among them for
    anyone but a superuser.
    """
    now = now or timezone.now()
    allowed: list[str] = []
    for to_status, actions in TRANSITIONS.get(case.status, {}).items():
        for action in actions:
            try:
                case_status_check(case=case, to_status=to_status, action=action, actor=actor, now=now)
            except (PermissionDenied, CaseTransitionNotAllowed):
                continue
            if action not in allowed:
                allowed.append(action)
    return allowed


@transaction.atomic
def closure_publicity_until(now: dt.datetime) -> dt.date | None:
    """The last day of a 销号's 公示 closed at ``now``: ``QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS``
    working days on (China's calendar); ``None`` when the setting is 0 (no 公示)."""
    days = settings.QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS
    if days <= 0:
        return None
    return add_working_days(local_date(now), days).date


def case_set_status(
    *,
    case: Case,
    to_status: str,
    action: str,
    actor: User,
    note: str = "",
    evidence: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    follow_up: FollowUp | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Move ``case`` to ``to_status`` by ``action``, if the transitions table lets ``actor`` do it.

    Returns the case as saved (locked and reloaded). ``changes`` are other
    fields set in the same save (a new deadline, the reopen count…).
    Writes exactly one ``status`` event; a refusal (see
    :func:`case_status_check`) writes nothing.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(
        case=locked, to_status=to_status, action=action, actor=actor, follow_up=follow_up, now=now
    )
    from_status = locked.status
    locked.status = to_status
    changes = dict(changes or {})
    if to_status == CaseStatus.CLOSED:
        changes.setdefault("closed_at", now)
        changes.setdefault("publicity_until", closure_publicity_until(now))
    for name, value in changes.items():
        setattr(locked, name, value)
    case_event_append(
        locked,
        kind=CaseEvent.Kind.STATUS,
        actor=actor,
        from_status=from_status,
        note=note,
        evidence=evidence,
        now=now,
    )
    locked.save(update_fields=["status", *changes.keys(), *HEAD_FIELDS])
    return locked


def case_start_rectifying(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Open or reopened → rectifying: the responsible party acknowledges the case.

    The API's ``acknowledge`` and the admin's "mark as rectifying" (by a
    supervisor of the village) both call this. A case awaiting verification
    is refused: only a send-back or a failed verification returns it to
    rectifying, and they settle the pending visit.
    """
    return case_set_status(
        case=case,
        to_status=CaseStatus.RECTIFYING,
        action=CaseAction.START_RECTIFYING,
        actor=actor,
        note=note,
        now=now,
    )


def rectifier_check(*, case: Case, actor: User) -> None:
    """Refuse ``verifier_is_rectifier`` when ``actor`` submitted a rectification of ``case``."""
    if Rectification.objects.filter(case=case, submitted_by=actor).exists():
        raise VerifierIsRectifier()


def sign_off(actor: User) -> dict[str, Any]:
    """Who signs a 销号 off, as the closing event records it."""
    return {"signed_off_by": actor.pk, "signed_off_name": actor.get_full_name() or actor.get_username()}


@transaction.atomic
def case_verify(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Awaiting verification → closed by a desk review of the assigning level (admin action).

    Returns the closed case. The desk review is documented: ``note`` records
    what was checked (``desk_review_note_required`` without it), and the
    event names the rectification and its after-photos and who signed off.
    The pending verification visit has nothing left to check and is
    cancelled. The rectifier never verifies their own work.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(
        case=locked, to_status=CaseStatus.CLOSED, action=CaseAction.VERIFY, actor=actor, now=now
    )
    rectifier_check(case=locked, actor=actor)
    rectification = Rectification.objects.filter(case=locked).order_by("-created_at", "-id").first()
    record = (note or "").strip()
    if not record or rectification is None:
        raise DeskReviewNoteRequired()
    follow_up = follow_up_cancel_pending(case=locked, kind=FollowUp.Kind.VERIFICATION, actor=actor, now=now)
    return case_set_status(
        case=locked,
        to_status=CaseStatus.CLOSED,
        action=CaseAction.VERIFY,
        actor=actor,
        note=record,
        evidence={
            "verified_in": "admin",
            "desk_review": True,
            "rectification": rectification.pk,
            "photos": list(rectification.photo_uuids),
            "follow_up_cancelled": follow_up.pk if follow_up else None,
            **sign_off(actor),
        },
        now=now,
    )


@transaction.atomic
def case_close(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Verified → closed (销号): the assigning level signs off a passed verification visit.

    Refuses ``verification_team_too_small`` unless the visit that passed had
    at least ``QINGSHAN_CLOSURE_MIN_INSPECTORS`` inspectors on its team. The
    closing event names the visit, its team size and who signed off.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(case=locked, to_status=CaseStatus.CLOSED, action=CaseAction.CLOSE, actor=actor, now=now)
    passed = (
        FollowUp.objects.filter(case=locked, kind=FollowUp.Kind.VERIFICATION, result=FollowUp.Result.PASSED)
        .order_by("-result_at", "-id")
        .first()
    )
    team = passed.inspection.team.count() if passed is not None else 0
    if team < settings.QINGSHAN_CLOSURE_MIN_INSPECTORS:
        raise VerificationTeamTooSmall()
    assert passed is not None
    return case_set_status(
        case=locked,
        to_status=CaseStatus.CLOSED,
        action=CaseAction.CLOSE,
        actor=actor,
        note=note,
        evidence={"verification": passed.pk, "inspectors": team, **sign_off(actor)},
        now=now,
    )


@transaction.atomic
def case_send_back(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Awaiting verification → rectifying: a supervisor finds the rectification insufficient.

    Returns the case with a new deadline counted from today and one more
    reopen; the pending verification visit is cancelled.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(
        case=locked, to_status=CaseStatus.RECTIFYING, action=CaseAction.SEND_BACK, actor=actor, now=now
    )
    follow_up_cancel_pending(case=locked, kind=FollowUp.Kind.VERIFICATION, actor=actor, now=now)
    return case_set_status(
        case=locked,
        to_status=CaseStatus.RECTIFYING,
        action=CaseAction.SEND_BACK,
        actor=actor,
        note=note,
        evidence={"sent_back_in": "admin"},
        changes={**deadline_fields(locked, now=now), "reopen_count": locked.reopen_count + 1},
        now=now,
    )


def reopen_changes(case: Case, *, now: dt.datetime, relapse: bool) -> dict[str, Any]:
    """The fields a reopening sets beside the status: a new deadline, one more reopen, not closed."""
    changes: dict[str, Any] = {
        **deadline_fields(case, now=now),
        "reopen_count": case.reopen_count + 1,
        "closed_at": None,
        "publicity_until": None,
    }
    if relapse:
        changes["is_relapse"] = True
    return changes


@transaction.atomic
def case_reopen(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Closed → reopened by a supervisor, with a new deadline.

    Returns the reopened case. The pending look-back visit, if any, has
    nothing left to check and is cancelled. (A relapse found on a look-back
    reopens through :func:`inspections.cases.services.visits.follow_up_record_result`.)
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_status_check(
        case=locked, to_status=CaseStatus.REOPENED, action=CaseAction.REOPEN, actor=actor, now=now
    )
    follow_up_cancel_pending(case=locked, kind=FollowUp.Kind.LOOK_BACK, actor=actor, now=now)
    return case_set_status(
        case=locked,
        to_status=CaseStatus.REOPENED,
        action=CaseAction.REOPEN,
        actor=actor,
        note=note,
        evidence={"relapse": False},
        changes=reopen_changes(locked, now=now, relapse=False),
        now=now,
    )
