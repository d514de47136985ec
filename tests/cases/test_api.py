"""Case list and detail: scope, filters, query counts; the admin actions."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from inspections.cases.errors import CaseNotEscalable, CaseTransitionNotAllowed
from inspections.cases.models import Case, CaseStatus, FollowUp, Rectification
from inspections.cases.services.rectification import rectification_submit
from inspections.fieldwork.models import Finding, Inspection
from inspections.publication.models import TypicalCase
from tests.builders import (
    at,
    division,
    force_status,
    inspector,
    open_case,
    responsible_party,
    submitted_inspection,
    supervisor,
    user,
    verifiers,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/cases/"


def ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_responsible_party_sees_only_their_jurisdiction_and_only_after_submission() -> None:
    mine = open_case(village_code="330523108204")
    other_township = open_case(village_code="330523109201")
    other_county = open_case(village_code="330521101201")
    pending = submitted_inspection(status=Inspection.Status.IN_PROGRESS)
    party = responsible_party("330523108")

    assert ids(client_for(party).get(URL)) == {mine.pk}
    assert client_for(party).get(f"{URL}{other_township.pk}/").status_code == 404
    assert client_for(party).get(f"{URL}{other_county.pk}/").status_code == 404
    # an unsubmitted inspection has no case: the database refuses one forced into being
    finding = Finding.objects.get(inspection=pending)
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(
            finding=finding,
            inspection=pending,
            village=pending.village,
            category=finding.category,
            severity="moderate",
            opened_at=timezone.now(),
            deadline=dt.date(2030, 1, 1),
            deadline_from=dt.date(2029, 12, 1),
            deadline_working_days=10,
        )
    assert ids(client_for(party).get(URL)) == {mine.pk}


def test_an_inspector_sees_the_cases_of_their_inspections_and_verification_visits() -> None:
    me = inspector(home_division=division("330502"))
    inspector(home_division=division("330521"))  # the second member of a verification team
    someone = inspector(home_division=division("330523"))
    own = open_case(team=[me])
    others = open_case(team=[someone])
    rectified = open_case(team=[someone])
    client_for(responsible_party("330523108")).post(
        f"{URL}{rectified.pk}/rectifications/",
        {"client_uuid": str(uuid.uuid4()), "description": "已整改"},
        format="json",
    )

    visible = ids(client_for(me.user).get(URL))

    assert own.pk in visible
    assert others.pk not in visible
    # A team of the only two eligible verifiers is drawn; its leader sees the case, window open.
    leader = FollowUp.objects.get(case=rectified).inspector
    assert rectified.pk in (visible if leader == me else ids(client_for(leader.user).get(URL)))


def test_a_supervisor_sees_the_jurisdiction_and_filters_it() -> None:
    anji = open_case(village_code="330523108204")
    deqing = open_case(village_code="330521101201")
    force_status(deqing, CaseStatus.RECTIFYING, deadline=dt.date(2020, 1, 1))
    client = client_for(supervisor("3305"))

    assert ids(client.get(URL)) == {anji.pk, deqing.pk}
    assert ids(client_for(supervisor("330523")).get(URL)) == {anji.pk}
    assert ids(client.get(URL, {"division": "330521"})) == {deqing.pk}
    assert ids(client.get(URL, {"village": "330523108204"})) == {anji.pk}
    assert ids(client.get(URL, {"status": "rectifying"})) == {deqing.pk}
    assert ids(client.get(URL, {"overdue": "true"})) == {deqing.pk}
    assert ids(client.get(URL, {"overdue": "false"})) == {anji.pk}
    assert ids(client.get(URL, {"severity": "moderate"})) == {anji.pk, deqing.pk}
    assert ids(client.get(URL, {"category": anji.category.code})) == {anji.pk, deqing.pk}
    assert ids(client_for(user()).get(URL)) == set()


def busy_case(events: int, photos: int) -> Case:
    case = open_case(photos_per_finding=photos)
    party = responsible_party("330523108")
    for n in range(events):
        force_status(case, CaseStatus.RECTIFYING)
        rectification_submit(
            case=case,
            actor=party,
            client_uuid=uuid.uuid4(),
            description=f"第{n}次",
            photo_uuids=[str(uuid.uuid4()) for _ in range(photos)],
        )
    return case


def count_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_and_detail_cost_the_same_queries_whatever_the_events_and_photos() -> None:
    verifiers(1)
    small = busy_case(events=0, photos=0)
    large = busy_case(events=6, photos=4)
    client = client_for(supervisor("3305"))

    # list: the user (1), their jurisdiction (1), their inspector profile, if any (1),
    # the count (1), the page with category and village (1)
    list_small = count_queries(client, f"{URL}?village={small.village.code}&page_size=1")
    list_large = count_queries(client, f"{URL}?page_size=50")
    # detail: the same three about the caller, the case with category, village and
    # finding (1), its events with their actors (1), its rectifications (1)
    detail_small = count_queries(client, f"{URL}{small.pk}/")
    detail_large = count_queries(client, f"{URL}{large.pk}/")

    assert list_small == list_large == 5
    assert detail_small == detail_large == 7
    assert large.events.count() == 7  # opened + six rectifications
    assert large.rectifications.count() == 6


# --- Admin actions --------------------------------------------------------------------------


def admin_action(client: Client, action: str, case: Case) -> list[str]:
    response = client.post(
        "/admin/inspections/case/", {"action": action, "_selected_action": [case.pk]}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def admin_client_of_anji(settings) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(supervisor("330523"))
    return client


def test_admin_escalate_raises_one_level_and_refuses_a_closed_case(admin_client_of_anji: Client) -> None:
    case = open_case()
    closed = force_status(open_case(), CaseStatus.CLOSED)

    admin_action(admin_client_of_anji, "action_escalate", case)
    refused = admin_action(admin_client_of_anji, "action_escalate", closed)

    case.refresh_from_db()
    assert case.escalation_level == 1
    assert case.events.count() == 2
    with translation.override("zh-hans"):
        expected = translation.gettext("Case #%(id)s: %(reason)s") % {
            "id": closed.pk,
            "reason": CaseNotEscalable(),
        }
    assert refused == [expected]  # the reader's words, never the code
    assert expected.startswith("问题 #")
    assert closed.events.count() == 1


def test_an_admin_refusal_is_shown_in_the_readers_language_without_its_code(
    admin_client_of_anji: Client,
) -> None:
    closed = force_status(open_case(), CaseStatus.CLOSED)

    (message,) = admin_action(admin_client_of_anji, "action_send_back", closed)

    with translation.override("zh-hans"):
        reason = str(CaseTransitionNotAllowed(from_status="closed", to_status="rectifying"))
        expected = translation.gettext("Case #%(id)s: %(reason)s") % {"id": closed.pk, "reason": reason}
    assert message == expected
    assert reason.startswith("状态为“") and "case_transition_not_allowed" not in message


def test_admin_publish_publishes_a_case_with_a_public_summary(admin_client_of_anji: Client) -> None:
    case = open_case()
    TypicalCase.objects.create(case=case, title_zh_hans="垃圾乱堆", summary_zh_hans="村口垃圾长期堆放。")

    admin_action(admin_client_of_anji, "action_publish", case)

    assert TypicalCase.objects.get(case=case).published_at is not None
    assert case.events.count() == 2


def test_the_admin_shows_badges_and_a_read_only_timeline(admin_client_of_anji: Client) -> None:
    case = force_status(
        open_case(submitted_at=at(2025, 1, 24, 10)), CaseStatus.RECTIFYING, escalation_level=1
    )

    listing = admin_client_of_anji.get("/admin/inspections/case/").content.decode()
    detail = admin_client_of_anji.get(f"/admin/inspections/case/{case.pk}/change/").content.decode()

    assert "督办" in listing
    assert "background:#ba2121" in listing  # the overdue badge
    assert case.last_event_hash in detail
    assert 'name="events-0-note"' not in detail  # read-only, not a form field
    assert Rectification.objects.count() == 0


def test_the_admin_of_another_county_cannot_see_the_case(settings) -> None:  # type: ignore[no-untyped-def]
    case = open_case()
    client = Client()
    client.force_login(supervisor("330521"))

    assert client.get(f"/admin/inspections/case/{case.pk}/change/").status_code in (302, 404)
