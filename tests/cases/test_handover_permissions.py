"""Every role × the 交办 endpoints: the 交办单, 签收, 整改措施, a stage done, the notices, the admin form.

As everywhere in the cases API: a problem the caller may not see is a 404
(whatever the action), one they see but may not act on a 403
``permission_denied``; nothing is written by a refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Role, User
from inspections.cases.models import Case, CaseStage
from inspections.cases.services.handover import case_receive
from inspections.cases.services.problem_list import case_stage_add
from inspections.common.china_time import local_date
from tests.builders import division, inspector, open_case, responsible_party, supervisor, user
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ANJI, TOWNSHIP = "330523", "330523108"
URL = "/api/v1/cases/"

# Who each role is, given the problem's inspection team; and whether they see the problem, act on it.
ROLES: dict[str, Callable[[list[User]], User]] = {
    "superuser": lambda team: user(is_superuser=True, is_staff=True),
    "assigning_supervisor": lambda team: supervisor(ANJI),
    "supervisor_above": lambda team: supervisor("3305"),
    "township_supervisor": lambda team: supervisor(TOWNSHIP),
    "supervisor_elsewhere": lambda team: supervisor("330521"),
    "party_of_the_township": lambda team: responsible_party(TOWNSHIP),
    "party_of_the_county": lambda team: responsible_party(ANJI),
    "party_elsewhere": lambda team: responsible_party("330523101"),
    "inspector_on_the_team": lambda team: team[0],
    "inspector_elsewhere": lambda team: inspector().user,
    "complaint_intake": lambda team: user(role=Role.COMPLAINT_INTAKE, jurisdiction=division(ANJI)),
    "no_role": lambda team: user(),
}
SEES = {
    "superuser",
    "assigning_supervisor",
    "supervisor_above",
    "township_supervisor",
    "party_of_the_township",
    "party_of_the_county",
    "inspector_on_the_team",
    "complaint_intake",
}
ACTS = {"superuser", "party_of_the_township", "party_of_the_county"}  # the responsible party
ASSIGNS = {"superuser", "assigning_supervisor", "supervisor_above"}  # 谁交办: the county or above


def world(role: str) -> tuple[Case, User]:
    member = inspector()
    caller = ROLES[role]([member.user])  # an account of the unit at the time of 交办 is notified
    return open_case(hand_over=True, team=[member]), caller


def expected(role: str, allowed: int) -> int:
    if role not in SEES:
        return 404
    return allowed if role in ACTS else 403


@pytest.mark.parametrize("role", ROLES)
def test_the_hand_over_sheet_is_for_everyone_who_sees_the_problem(role: str) -> None:
    case, caller = world(role)
    response = client_for(caller).get(f"{URL}{case.pk}/handover-sheet/")
    assert response.status_code == (200 if role in SEES else 404)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_responsible_party_acknowledges_receipt(role: str) -> None:
    case, caller = world(role)
    response = client_for(caller).post(f"{URL}{case.pk}/receipt/", {}, format="json")
    assert response.status_code == expected(role, 201)
    case.refresh_from_db()
    assert (case.received_at is not None) == (role in ACTS)
    if response.status_code == 403:
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("role", ROLES)
def test_only_the_responsible_party_submits_measures(role: str) -> None:
    case, caller = world(role)
    case_receive(case=case, actor=responsible_party(TOWNSHIP))
    response = client_for(caller).post(f"{URL}{case.pk}/measures/", {"measures": "清运"}, format="json")
    assert response.status_code == expected(role, 200)
    case.refresh_from_db()
    assert case.measures == ("清运" if role in ACTS else "")


@pytest.mark.parametrize("role", ROLES)
def test_only_the_responsible_party_reports_a_stage_done(role: str) -> None:
    case, caller = world(role)
    case_stage_add(
        case=case, actor=supervisor(ANJI), description="完成设计", due_date=local_date(timezone.now())
    )
    response = client_for(caller).post(f"{URL}{case.pk}/stages/1/complete/", {}, format="json")
    assert response.status_code == expected(role, 200)
    assert (CaseStage.objects.get(case=case).completed_at is not None) == (role in ACTS)


@pytest.mark.parametrize("role", ROLES)
def test_each_caller_lists_only_their_own_notices(role: str) -> None:
    case, caller = world(role)
    listed = client_for(caller).get("/api/v1/notifications/")
    assert listed.status_code == 200
    notified = role in {"party_of_the_township", "party_of_the_county"}
    assert [row["case"]["id"] for row in listed.json()["results"]] == ([case.pk] if notified else [])


@pytest.mark.parametrize(
    "role", ["superuser", "assigning_supervisor", "supervisor_above", "township_supervisor"]
)
def test_only_the_assigning_level_changes_the_time_limit_in_the_admin(role: str) -> None:
    case, caller = world(role)
    browser = Client()
    browser.force_login(caller)
    later = case.deadline + dt.timedelta(days=20)
    form = {
        "responsible_division": case.responsible_division_id,
        "new_deadline": later.isoformat(),
        "deadline_reason": "汛期",
        **{
            f"{prefix}-{name}": "0"
            for prefix in ("typical", "rectifications", "stages", "events")
            for name in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
    }
    response = browser.post(f"/admin/inspections/case/{case.pk}/change/", form)
    case.refresh_from_db()
    if role in ASSIGNS:
        assert response.status_code == 302 and case.deadline == later
    else:
        assert response.status_code == 200 and case.deadline != later
        assert "errornote" in response.content.decode()


def test_the_admin_sheet_and_form_are_for_staff_only() -> None:
    case, party = world("party_of_the_township")
    browser = Client()
    browser.force_login(party)
    for url in (
        f"/admin/inspections/case/{case.pk}/handover-sheet/",
        f"/admin/inspections/case/{case.pk}/change/",
    ):
        assert browser.get(url).status_code == 302  # to the admin login
