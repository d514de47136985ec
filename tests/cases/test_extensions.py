"""延期: the party asks, the assigning level approves or rejects; the deadline and escalation follow."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from inspections.cases.models import CaseEvent, ExtensionRequest
from inspections.cases.services.extensions import extension_decide, extension_request
from inspections.common.errors import PermissionDenied
from tests.builders import events_of, force_status, open_case, responsible_party, supervisor
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

ANJI, ANJI_TOWNSHIP = "330523", "330523108"


def ask(client, case, days: int = 20, reason: str = "雨季施工受阻", key: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/cases/{case.pk}/extensions/",
        {
            "client_uuid": key or str(uuid.uuid4()),
            "reason": reason,
            "proposed_deadline": (case.deadline + dt.timedelta(days=days)).isoformat(),
        },
        format="json",
    )


def test_the_party_asks_once_and_a_replay_answers_the_same_request() -> None:
    case = open_case()
    party = client_for(responsible_party(ANJI_TOWNSHIP))
    key = str(uuid.uuid4())

    first = ask(party, case, key=key)
    again = ask(party, case, key=key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "pending"
    assert events_of(case) == ["opened", "extension_requested"]
    assert_problem(ask(party, case, reason="另一理由", key=key), 409, "uuid_conflict")
    assert_problem(ask(party, case), 409, "extension_pending")


def test_a_date_not_later_a_supervisor_and_a_closed_problem_are_refused_with_nothing_written() -> None:
    case = open_case()
    party = client_for(responsible_party(ANJI_TOWNSHIP))
    assert_problem(ask(party, case, days=0), 422, "extension_not_later")
    assert_problem(ask(client_for(supervisor(ANJI)), case), 403, "permission_denied")
    assert_problem(ask(client_for(responsible_party("330521101")), case), 404, "not_found")
    force_status(case, "awaiting_verification")
    assert_problem(ask(party, case), 409, "extension_not_allowed")
    assert ExtensionRequest.objects.count() == 0
    assert events_of(case) == ["opened"]


def test_an_approval_moves_the_deadline_and_de_escalates_a_problem_no_longer_overdue() -> None:
    case = force_status(open_case(), "open", escalation_level=1)
    party = responsible_party(ANJI_TOWNSHIP)
    new_deadline = case.deadline + dt.timedelta(days=30)
    asked, _created = extension_request(
        case=case, actor=party, client_uuid=uuid.uuid4(), reason="待管网接入", proposed_deadline=new_deadline
    )
    with pytest.raises(PermissionDenied):
        extension_decide(request=asked, actor=supervisor(ANJI_TOWNSHIP), approve=True)  # the level below

    decided = extension_decide(request=asked, actor=supervisor(ANJI), approve=True, note="同意")

    case.refresh_from_db()
    assert decided.status == ExtensionRequest.Status.APPROVED
    assert (case.deadline, case.escalation_due_on) == (new_deadline, new_deadline + dt.timedelta(days=1))
    assert case.escalation_level == 0
    event = case.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.EXTENSION_DECIDED
    assert event.evidence["de_escalated"] == {"from": 1, "to": 0, "why": "deadline extended"}


def test_a_rejection_in_the_admin_leaves_the_deadline_and_a_second_decision_is_refused() -> None:
    case = open_case()
    asked, _created = extension_request(
        case=case,
        actor=responsible_party(ANJI_TOWNSHIP),
        client_uuid=uuid.uuid4(),
        reason="人手不足",
        proposed_deadline=case.deadline + dt.timedelta(days=10),
    )
    admin = Client()
    admin.force_login(supervisor(ANJI, language="zh-hans"))

    response = admin.post(
        "/admin/inspections/extensionrequest/",
        {"action": "action_reject", "_selected_action": [asked.pk], "note": "理由不充分"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 302
    asked.refresh_from_db()
    deadline = case.deadline
    case.refresh_from_db()
    assert (asked.status, asked.decision_note, case.deadline) == ("rejected", "理由不充分", deadline)
    assert events_of(case)[-1] == "extension_decided"
    assert [str(m) for m in get_messages(response.wsgi_request)]
    again = admin.post(
        "/admin/inspections/extensionrequest/",
        {"action": "action_approve", "_selected_action": [asked.pk]},
    )
    case.refresh_from_db()
    assert case.deadline == deadline  # decided once
    refusals = [str(m) for m in get_messages(again.wsgi_request) if f"#{case.pk}" in str(m)]
    assert len(refusals) == 1
