"""Role × status × action, through the API and through the admin: every cell as the table says.

Each cell builds one case of 余村 directly in its status, with a pending
verification and a pending look-back visit whose drawn inspector's window is
open, then takes one action as one person. Allowed: the new status and exactly
one new event. Refused: the stable code over the API, the reason in the
reader's words in the admin, and the case, its events and its visits unchanged.

The expectation is derived from ``TRANSITIONS`` (who may take which action
from which status) plus the rules around it: a case the caller may not see
is a 404, a visit result needs its visit first, and the admin is for
supervisors of the village.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone, translation

from inspections.accounts.models import User
from inspections.cases.errors import CaseNotEscalable, CaseTransitionNotAllowed
from inspections.cases.models import (
    NOT_HANDED_OVER,
    RECTIFICATION_DUE,
    TRANSITIONS,
    Case,
    CaseAction,
    CaseEvent,
    CaseRole,
    CaseStatus,
    FollowUp,
    FollowUpDraw,
    Rectification,
)
from inspections.fieldwork.models import Inspection
from tests.builders import (
    division,
    force_status,
    inspector,
    open_case,
    responsible_party,
    supervisor,
    user,
    verifiers,
)
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

ANJI_TOWNSHIP, DEQING_TOWNSHIP = "330523108", "330521101"  # 余村's township, and one elsewhere

ROLES = [
    "party_in_scope",
    "party_out_of_scope",
    "supervisor_in_scope",
    "supervisor_out_of_scope",
    "drawn_inspector",
    "other_inspector",
    "superuser",
]

# What each person is to the case, in the table's terms.
CASE_ROLES: dict[str, frozenset[str]] = {
    "party_in_scope": frozenset({CaseRole.RESPONSIBLE_PARTY}),
    "supervisor_in_scope": frozenset({CaseRole.SUPERVISOR, CaseRole.ASSIGNING_SUPERVISOR}),
    "drawn_inspector": frozenset({CaseRole.DRAWN_INSPECTOR}),
    "superuser": frozenset(CaseRole.values),
}
SEES_THE_CASE = {"party_in_scope", "supervisor_in_scope", "drawn_inspector", "superuser"}
USES_THE_ADMIN = {"supervisor_in_scope", "supervisor_out_of_scope", "superuser"}
# Who may know of a pending visit, and so record its result (from its window on).
DRAWN_FOR_THE_VISIT = {"drawn_inspector", "superuser"}


@dataclass(frozen=True)
class Surface:
    """One action as a caller takes it: an endpoint or an admin action."""

    name: str
    action: str | None  # the table's action; None for escalation, which changes no status
    to_status: str | None
    endpoint: str = ""  # API path under the case
    body: tuple[tuple[str, str], ...] = ()
    admin_action: str = ""
    visit: str = ""  # the visit whose result this records


SURFACES = [
    Surface("acknowledge", CaseAction.START_RECTIFYING, CaseStatus.RECTIFYING, endpoint="acknowledge/"),
    Surface(
        "rectify",
        CaseAction.RECTIFY,
        CaseStatus.AWAITING_VERIFICATION,
        endpoint="rectifications/",
        body=(("description", "已清理垃圾"),),
    ),
    Surface(
        "verification_result",
        CaseAction.VERIFICATION_PASSED,
        CaseStatus.VERIFIED,
        endpoint="verification/",
        body=(("result", "passed"),),
        visit=FollowUp.Kind.VERIFICATION,
    ),
    Surface(
        "look_back_result",
        CaseAction.LOOK_BACK_FAILED,
        CaseStatus.REOPENED,
        endpoint="look-back/",
        body=(("result", "failed"), ("note", "返黑返臭")),
        visit=FollowUp.Kind.LOOK_BACK,
    ),
    Surface(
        "admin_start_rectifying",
        CaseAction.START_RECTIFYING,
        CaseStatus.RECTIFYING,
        admin_action="action_start_rectifying",
    ),
    Surface("admin_confirm", CaseAction.CONFIRM, CaseStatus.OPEN, admin_action="action_confirm"),
    Surface(
        "admin_void",
        CaseAction.VOID,
        CaseStatus.VOIDED,
        body=(("note", "同一垃圾点，已由上次检查记录"),),
        admin_action="action_void",
    ),
    Surface(
        "admin_verify",
        CaseAction.VERIFY,
        CaseStatus.CLOSED,
        body=(("note", "核对整改照片与说明，符合要求"),),
        admin_action="action_verify",
    ),
    Surface("admin_close", CaseAction.CLOSE, CaseStatus.CLOSED, admin_action="action_close"),
    Surface("admin_send_back", CaseAction.SEND_BACK, CaseStatus.RECTIFYING, admin_action="action_send_back"),
    Surface("admin_reopen", CaseAction.REOPEN, CaseStatus.REOPENED, admin_action="action_reopen"),
    Surface("admin_escalate", None, None, admin_action="action_escalate"),
]

VISIT_NEEDS: dict[str, str] = {
    FollowUp.Kind.VERIFICATION: CaseStatus.AWAITING_VERIFICATION,
    FollowUp.Kind.LOOK_BACK: CaseStatus.CLOSED,
}


# --- The expected outcome of a cell ------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    to_status: str
    event_kind: str


@dataclass(frozen=True)
class Refused:
    status: int = 0  # the API's answer
    code: str = ""
    message: str = ""  # the admin's, in the reader's language; empty when the admin shows nothing


def may(role: str, action: str, *, from_status: str | None = None) -> bool:
    """Whether ``role`` is among those the table lets take ``action`` (from ``from_status``, or from any)."""
    held = CASE_ROLES.get(role, frozenset())
    for status, moves in TRANSITIONS.items():
        if from_status is not None and status != from_status:
            continue
        for actions in moves.values():
            if held & actions.get(action, frozenset()):
                return True
    return False


def expected(role: str, from_status: str, surface: Surface, case_id: int) -> Moved | Refused:
    if surface.admin_action:
        return expected_in_the_admin(role, from_status, surface, case_id)
    if role not in SEES_THE_CASE or (role == "party_in_scope" and from_status in NOT_HANDED_OVER):
        # the responsible party learns of a problem when it is handed over (交办)
        return Refused(404, "not_found")
    assert surface.action is not None and surface.to_status is not None
    if surface.visit and (from_status != VISIT_NEEDS[surface.visit] or role not in DRAWN_FOR_THE_VISIT):
        # Anyone but the drawn inspector gets the answer of "no visit": it never tells whether one is coming.
        return Refused(409, "no_pending_visit")
    if not may(role, surface.action):
        return Refused(403, "permission_denied")
    if surface.action not in TRANSITIONS[from_status].get(surface.to_status, {}):
        return Refused(409, "case_transition_not_allowed")
    return Moved(surface.to_status, CaseEvent.Kind.STATUS)


def expected_in_the_admin(role: str, from_status: str, surface: Surface, case_id: int) -> Moved | Refused:
    if role not in USES_THE_ADMIN or not (CASE_ROLES.get(role)):
        return Refused()  # no admin, or the case is not on their list: nothing happens
    with translation.override("zh-hans"):
        if surface.action is None:  # escalation: a supervisor's, while a rectification is owed
            if from_status in RECTIFICATION_DUE:
                return Moved(from_status, CaseEvent.Kind.ESCALATED)
            reason = str(CaseNotEscalable())
        elif surface.action in TRANSITIONS[from_status].get(surface.to_status or "", {}):
            assert may(role, surface.action, from_status=from_status)
            assert surface.to_status is not None
            return Moved(surface.to_status, CaseEvent.Kind.STATUS)
        else:
            assert surface.to_status is not None
            reason = str(CaseTransitionNotAllowed(from_status=from_status, to_status=surface.to_status))
        return Refused(
            message=translation.gettext("Case #%(id)s: %(reason)s") % {"id": case_id, "reason": reason}
        )


# --- Building a cell -----------------------------------------------------------------------------


def person(role: str, drawn: User) -> User:
    if role == "party_in_scope":
        return responsible_party(ANJI_TOWNSHIP)
    if role == "party_out_of_scope":
        return responsible_party(DEQING_TOWNSHIP)
    if role == "supervisor_in_scope":
        return supervisor("330523")
    if role == "supervisor_out_of_scope":
        return supervisor("330521")
    if role == "drawn_inspector":
        return drawn
    if role == "other_inspector":
        return inspector(home_division=division("330502")).user
    return user(is_superuser=True, is_staff=True)


def pending_visit(case: Case, kind: str, drawn: Any, now: dt.datetime) -> FollowUp:
    """A pending visit of ``kind`` drawn for ``drawn``, its window open."""
    mode = Inspection.Mode.VERIFICATION if kind == FollowUp.Kind.VERIFICATION else Inspection.Mode.LOOK_BACK
    visit = Inspection.objects.create(
        mode=mode,
        village=case.village,
        window_start=now - dt.timedelta(hours=1),
        window_end=now + dt.timedelta(days=1),
    )
    visit.team.add(drawn)
    draw = FollowUpDraw.objects.create(
        kind=FollowUpDraw.Kind.VERIFIER,
        label=f"{kind}:case:{case.pk}:1",
        seed="00" * 32,
        seed_sha256="",
        candidates=[drawn.credential_number],
        candidates_sha256="",
        k=1,
        drawn=[drawn.credential_number],
        created_at=now,
    )
    return FollowUp.objects.create(case=case, kind=kind, inspection=visit, inspector=drawn, draw=draw)


def passed_verification(case: Case, now: dt.datetime) -> FollowUp:
    """A verification visit passed by a team of two, for a case verified and awaiting its 销号."""
    team = [inspector(home_division=division("330502")) for _ in range(2)]
    visit = Inspection.objects.create(
        mode=Inspection.Mode.VERIFICATION,
        village=case.village,
        status=Inspection.Status.SUBMITTED,
        window_start=now - dt.timedelta(days=2),
        window_end=now - dt.timedelta(days=1),
        submitted_at=now - dt.timedelta(days=1),
    )
    visit.team.add(*team)
    draw = FollowUpDraw.objects.create(
        kind=FollowUpDraw.Kind.VERIFIER,
        label=f"verification:case:{case.pk}:0",
        seed="00" * 32,
        seed_sha256="",
        candidates=[i.credential_number for i in team],
        candidates_sha256="",
        k=2,
        drawn=[i.credential_number for i in team],
        created_at=now,
    )
    return FollowUp.objects.create(
        case=case,
        kind=FollowUp.Kind.VERIFICATION,
        inspection=visit,
        inspector=team[0],
        draw=draw,
        result=FollowUp.Result.PASSED,
        result_at=now - dt.timedelta(days=1),
    )


def snapshot(case: Case) -> tuple[Any, ...]:
    """Everything a refusal must leave as it was: the case row, its events, its visits."""
    row = Case.objects.filter(pk=case.pk).values().get()
    events = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("seq", "hash"))
    visits = list(
        FollowUp.objects.filter(case=case)
        .order_by("pk")
        .values_list("pk", "result", "result_at", "inspection__status")
    )
    return row, events, visits


def take(surface: Surface, actor: User, case: Case) -> Any:
    if surface.admin_action:
        client = Client()
        client.force_login(actor)
        response = client.post(
            "/admin/inspections/case/",
            {"action": surface.admin_action, "_selected_action": [case.pk], **dict(surface.body)},
        )
        return response, [str(m) for m in get_messages(response.wsgi_request)]
    body = {"client_uuid": str(uuid.uuid4()), **dict(surface.body)}
    return client_for(actor).post(f"/api/v1/cases/{case.pk}/{surface.endpoint}", body, format="json"), []


# --- The matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES, ids=[s.name for s in SURFACES])
@pytest.mark.parametrize("from_status", CaseStatus.values)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_status_and_action_does_what_the_transitions_table_says(
    role: str, from_status: str, surface: Surface
) -> None:
    now = timezone.now()
    drawn = inspector(home_division=division("330502"))
    case = force_status(open_case(team=[inspector(home_division=division("330523"))]), from_status)
    pending_visit(case, FollowUp.Kind.VERIFICATION, drawn, now)
    pending_visit(case, FollowUp.Kind.LOOK_BACK, drawn, now)
    Rectification.objects.create(case=case, submitted_by=user(), description="已清理垃圾")
    if from_status == CaseStatus.VERIFIED:
        passed_verification(case, now)
    actor = person(role, drawn.user)
    before = snapshot(case)
    outcome = expected(role, from_status, surface, case.pk)

    response, messages = take(surface, actor, case)

    case.refresh_from_db()
    if isinstance(outcome, Moved):
        assert response.status_code in (200, 201, 302), getattr(response, "content", b"")[:500]
        assert case.status == outcome.to_status, messages
        new_events = list(case.events.filter(seq__gt=len(before[1])))
        assert [(e.kind, e.from_status, e.to_status, e.actor_id) for e in new_events] == [
            (outcome.event_kind, from_status, outcome.to_status, actor.pk)
        ]
        return
    if outcome.code:
        assert_problem(response, outcome.status, outcome.code)
    elif outcome.message:
        assert messages == [outcome.message]  # the reason in the reader's words, never the code
    else:
        with translation.override("zh-hans"):
            refused_prefix = translation.gettext("Case #%(id)s: %(reason)s").split("#")[0]
        assert not any(m.startswith(refused_prefix) for m in messages), messages
    assert snapshot(case) == before


# --- The bug this guard fixes ----------------------------------------------------------------------


def test_a_partys_acknowledge_no_longer_pulls_a_case_awaiting_verification_back_to_rectifying() -> None:
    verifiers(2)
    case = open_case(team=[inspector(home_division=division("330523"))])
    party = client_for(responsible_party(ANJI_TOWNSHIP))
    rectified = party.post(
        f"/api/v1/cases/{case.pk}/rectifications/",
        {"client_uuid": str(uuid.uuid4()), "description": "已整改"},
        format="json",
    )
    assert rectified.status_code == 201
    follow_up = FollowUp.objects.get(case=case, kind=FollowUp.Kind.VERIFICATION)
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        window_start=timezone.now() - dt.timedelta(hours=1)
    )

    acknowledged = party.post(f"/api/v1/cases/{case.pk}/acknowledge/", {}, format="json")

    body = assert_problem(acknowledged, 409, "case_transition_not_allowed")
    assert (body["from_status"], body["to_status"]) == ("awaiting_verification", "rectifying")
    case.refresh_from_db()
    follow_up.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_VERIFICATION
    assert follow_up.result == FollowUp.Result.PENDING  # the verification visit is not stranded
    verified = client_for(follow_up.inspector.user).post(
        f"/api/v1/cases/{case.pk}/verification/",
        {"client_uuid": str(uuid.uuid4()), "result": "passed"},
        format="json",
    )
    assert verified.status_code == 201
    case.refresh_from_db()
    assert case.status == CaseStatus.VERIFIED
