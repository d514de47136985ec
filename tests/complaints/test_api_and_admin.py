"""Complaints and targeted visits over the API, the admin's 核查 button, overdue replies in digests.

Every role is tried: the complaint intake role (held alone, and with the supervisor role),
supervisors of the county, of the prefecture and of another county, a responsible party,
an inspector, an account without a role, and the anonymous public.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Role
from inspections.common.china_time import local_date
from inspections.complaints.models import Complaint
from inspections.complaints.services import complaint_order_check
from inspections.digests.emails import digest_render
from inspections.digests.models import DigestKind
from inspections.digests.selectors import Period, digest_build
from inspections.fieldwork.models import Inspection
from inspections.sampling.models import TargetedVisit
from tests.builders import (
    ANJI,
    DEQING,
    HUZHOU,
    inspector,
    region,
    responsible_party,
    roster,
    supervisor,
    user,
    village,
)
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

CONTACT = "13800138000"
NAME = "张某某"
TICKET = "12369-20250107-0042"
VILLAGE = f"{ANJI}101200"


def with_intake(account: Any) -> Any:
    account.groups.add(Group.objects.get(name=Role.COMPLAINT_INTAKE))
    return account


def accounts() -> dict[str, Any]:
    intake_only = with_intake(user(username="intake-only", jurisdiction=village(VILLAGE).township.parent))
    return {
        "intake (with supervisor)": with_intake(supervisor(HUZHOU, username="intake")),
        "intake only": intake_only,
        "county supervisor": supervisor(ANJI, username="anji"),
        "prefecture supervisor": supervisor(HUZHOU, username="huzhou"),
        "other county's supervisor": supervisor(DEQING, username="deqing"),
        "responsible party": responsible_party(f"{ANJI}101", username="party"),
        "inspector": inspector().user,
        "no role": user(username="nobody"),
    }


def recorded(by: Any, **fields: Any) -> Complaint:
    values: dict[str, Any] = {
        "source": Complaint.Source.HOTLINE_12369,
        "ticket_number": TICKET,
        "received_at": timezone.now() - dt.timedelta(days=1),
        "content": "村口池塘发黑发臭",
        "village": village(VILLAGE),
        "reporter_name": NAME,
        "reporter_contact": CONTACT,
        "reply_due": local_date(timezone.now()) + dt.timedelta(days=10),
        "recorded_by": by,
        **fields,
    }
    return Complaint.objects.create(**values)


def body(**fields: Any) -> dict[str, Any]:
    return {
        "source": "12345",
        "ticket_number": "12345-0001",
        "received_at": (timezone.now() - dt.timedelta(hours=3)).isoformat(),
        "content": "垃圾堆放",
        "village": VILLAGE,
        "reporter_name": NAME,
        "reporter_contact": CONTACT,
        "reply_due": str(local_date(timezone.now()) + dt.timedelta(days=15)),
        **fields,
    }


# --- Recording and reading ---------------------------------------------------------------------


def test_only_the_intake_role_records_a_complaint_and_reads_back_the_reporter() -> None:
    region()
    people = accounts()
    may_record = {"intake (with supervisor)", "intake only"}

    for role, account in people.items():
        response = client_for(account).post(
            "/api/v1/complaints/", body(ticket_number=f"12345-{role}"), format="json"
        )
        if role in may_record:
            assert response.status_code == 201, (role, response.content)
            assert response.json()["reporter_contact"] == CONTACT
        else:
            assert_problem(response, 403, "permission_denied")
    assert Complaint.objects.count() == 2
    assert_problem(
        Client().post("/api/v1/complaints/", body(), content_type="application/json"),
        401,
        "not_authenticated",
    )


def test_a_ticket_recorded_twice_and_a_village_outside_the_jurisdiction_are_refused_with_their_codes() -> (
    None
):
    region()
    intake = with_intake(supervisor(ANJI, username="intake"))
    client = client_for(intake)

    assert client.post("/api/v1/complaints/", body(), format="json").status_code == 201
    assert_problem(client.post("/api/v1/complaints/", body(), format="json"), 409, "complaint_ticket_exists")
    outside = assert_problem(
        client.post("/api/v1/complaints/", body(ticket_number="x", village=f"{DEQING}101200"), format="json"),
        400,
        "validation_error",
    )
    assert outside["errors"][0]["field"] == "village"
    assert_problem(
        client.post("/api/v1/complaints/", body(source="fax"), format="json"), 400, "validation_error"
    )
    assert Complaint.objects.count() == 1


def test_each_role_reads_the_jurisdictions_complaints_and_only_the_intake_role_the_reporter() -> None:
    region()
    people = accounts()
    complaint = recorded(people["intake (with supervisor)"])
    expected = {
        "intake (with supervisor)": (1, CONTACT),
        "intake only": (1, CONTACT),
        "county supervisor": (1, None),
        "prefecture supervisor": (1, None),
        "other county's supervisor": (0, None),
    }
    for role, account in people.items():
        client = client_for(account)
        listing = client.get("/api/v1/complaints/")
        detail = client.get(f"/api/v1/complaints/{complaint.pk}/")
        if role not in expected:
            assert_problem(listing, 403, "permission_denied")
            assert_problem(detail, 403, "permission_denied")
            continue
        count, contact = expected[role]
        assert listing.status_code == 200 and listing.json()["count"] == count, role
        if count:
            assert detail.status_code == 200
            assert detail.json()["reporter_contact"] == contact and (
                detail.json()["reporter_name"] is None
            ) == (contact is None), role
            assert CONTACT not in listing.content.decode() or contact == CONTACT, role
        else:
            assert_problem(detail, 404, "not_found")


def test_the_overdue_filter_and_flag_follow_china_s_today() -> None:
    region()
    intake = with_intake(supervisor(HUZHOU, username="intake"))
    late = recorded(intake, reply_due=local_date(timezone.now()) - dt.timedelta(days=1))
    recorded(intake, ticket_number="12369-2")
    client = client_for(intake)

    overdue = client.get("/api/v1/complaints/?reply_overdue=true").json()
    assert [row["id"] for row in overdue["results"]] == [late.pk] and overdue["results"][0]["reply_overdue"]
    assert client.get("/api/v1/complaints/?reply_overdue=false").json()["count"] == 1


@pytest.mark.parametrize("size", [1, 4])
def test_the_complaint_list_costs_the_same_queries_whatever_its_length(
    size: int, django_assert_num_queries: Any
) -> None:
    region()
    roster(per_county=2)
    intake = with_intake(supervisor(HUZHOU, username="intake"))
    for n in range(size):
        complaint = recorded(intake, ticket_number=f"t-{n}", village=village(f"{ANJI}10120{n}"))
        start = timezone.now() + dt.timedelta(days=2)
        complaint_order_check(
            complaint=complaint, user=intake, window_start=start, window_end=start + dt.timedelta(days=1)
        )
    client = client_for(intake)
    # user (JWT), groups (the role), the caller's jurisdiction (its prefix), count, the page of
    # complaints (village and visit joined), and the visits' inspections (one prefetch)
    with django_assert_num_queries(6):
        assert client.get("/api/v1/complaints/").json()["count"] == size


# --- The 核查 visit ---------------------------------------------------------------------------


def window() -> dict[str, str]:
    start = timezone.now() + dt.timedelta(days=2)
    return {"window_start": start.isoformat(), "window_end": (start + dt.timedelta(days=1)).isoformat()}


def test_a_supervisor_orders_the_check_and_the_complaint_reads_the_same_until_it_is_closed() -> None:
    region()
    roster(per_county=2)
    people = accounts()
    complaint = recorded(people["intake (with supervisor)"])
    before = {
        role: client_for(a).get(f"/api/v1/complaints/{complaint.pk}/").content for role, a in people.items()
    }
    refused = {
        "intake only": (403, "permission_denied"),
        "other county's supervisor": (404, "not_found"),
        "responsible party": (403, "permission_denied"),
        "inspector": (403, "permission_denied"),
        "no role": (403, "permission_denied"),
    }
    for role, (status, code) in refused.items():
        assert_problem(
            client_for(people[role]).post(
                f"/api/v1/complaints/{complaint.pk}/check/", window(), format="json"
            ),
            status,
            code,
        )
    orderer = people["county supervisor"]
    response = client_for(orderer).post(f"/api/v1/complaints/{complaint.pk}/check/", window(), format="json")

    assert response.status_code == 201, response.content
    order = TargetedVisit.objects.get(pk=response.json()["targeted_visit"])
    (visit,) = order.inspections.all()
    assert visit.mode == Inspection.Mode.REPORT and visit.village.code == VILLAGE
    after = {
        role: client_for(a).get(f"/api/v1/complaints/{complaint.pk}/").content for role, a in people.items()
    }
    assert after == before  # the visit is embargoed: nothing of it shows, to anyone
    assert_problem(
        client_for(orderer).post(f"/api/v1/complaints/{complaint.pk}/check/", window(), format="json"),
        409,
        "complaint_already_checked",
    )
    visit.close(to_status=Inspection.Status.SUBMITTED, now=timezone.now())
    shown = client_for(people["county supervisor"]).get(f"/api/v1/complaints/{complaint.pk}/").json()
    assert shown["check_visit"] == order.pk


def test_a_named_team_needs_a_reason_and_an_unplaced_complaint_has_no_check() -> None:
    region()
    team = roster(per_county=2)
    intake = with_intake(supervisor(HUZHOU, username="intake"))
    client = client_for(intake)
    complaint = recorded(intake)
    unplaced = recorded(intake, ticket_number="nowhere", village=None, location="某村口")
    named = [i.credential_number for i in team if not i.home_division.code.startswith(ANJI)][:2]

    assert_problem(
        client.post(f"/api/v1/complaints/{complaint.pk}/check/", {**window(), "team": named}, format="json"),
        400,
        "reason_required",
    )
    assert_problem(
        client.post(
            f"/api/v1/complaints/{complaint.pk}/check/", {**window(), "team": ["ZJ-nobody"]}, format="json"
        ),
        400,
        "validation_error",
    )
    assert_problem(
        client.post(f"/api/v1/complaints/{unplaced.pk}/check/", window(), format="json"),
        422,
        "complaint_no_village",
    )
    ok = client.post(
        f"/api/v1/complaints/{complaint.pk}/check/",
        {**window(), "team": named, "named_reason": "熟悉该村情况的执法人员"},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert TargetedVisit.objects.get().team_choice == TargetedVisit.Choice.NAMED


# --- Targeted visits over the API ----------------------------------------------------------------


def test_a_supervisor_orders_a_targeted_visit_that_only_they_read_back() -> None:
    region()
    roster(per_county=2)
    people = accounts()
    orderer = people["county supervisor"]
    order_body = {
        "mode": "unannounced",
        "villages": [VILLAGE, f"{ANJI}101201"],
        **window(),
        "basis": "2025年第3号交办",
    }
    for role in ("responsible party", "inspector", "no role", "intake only"):
        assert_problem(
            client_for(people[role]).post("/api/v1/targeted-visits/", order_body, format="json"),
            403,
            "permission_denied",
        )
    assert_problem(
        client_for(people["other county's supervisor"]).post(
            "/api/v1/targeted-visits/", order_body, format="json"
        ),
        422,
        "unknown_villages",
    )
    created = client_for(orderer).post("/api/v1/targeted-visits/", order_body, format="json")
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["mode"] == "unannounced" and len(order["inspections"]) == 2
    assert all(len(i["team"]) == 2 for i in order["inspections"])

    mine = client_for(orderer)
    assert mine.get("/api/v1/targeted-visits/").json()["count"] == 1
    assert mine.get(f"/api/v1/targeted-visits/{order['id']}/").json()["id"] == order["id"]
    for role in ("prefecture supervisor", "other county's supervisor", "intake (with supervisor)"):
        other = client_for(people[role])
        assert other.get("/api/v1/targeted-visits/").json()["count"] == 0, role
        assert_problem(other.get(f"/api/v1/targeted-visits/{order['id']}/"), 404, "not_found")
    for role in ("responsible party", "inspector", "no role"):
        assert_problem(client_for(people[role]).get("/api/v1/targeted-visits/"), 403, "permission_denied")


def test_a_targeted_visit_order_is_refused_with_the_services_codes() -> None:
    region()
    roster(per_county=2)
    client = client_for(supervisor(HUZHOU))
    past = timezone.now() - dt.timedelta(hours=1)
    base = {"mode": "special", "villages": [VILLAGE], **window()}

    assert_problem(
        client.post("/api/v1/targeted-visits/", {**base, "mode": "random"}, format="json"),
        400,
        "validation_error",
    )
    assert_problem(
        client.post("/api/v1/targeted-visits/", {**base, "villages": ["12"]}, format="json"),
        400,
        "validation_error",
    )
    assert_problem(
        client.post("/api/v1/targeted-visits/", {**base, "window_start": past.isoformat()}, format="json"),
        422,
        "window_in_past",
    )
    assert_problem(
        client.post("/api/v1/targeted-visits/", {**base, "team_size": 1}, format="json"),
        422,
        "team_too_small",
    )
    assert_problem(
        client.post("/api/v1/targeted-visits/", {**base, "team_size": 9}, format="json"), 422, "unstaffable"
    )
    assert TargetedVisit.objects.count() == 0


# --- The admin ----------------------------------------------------------------------------------


def admin_page(account: Any, url: str, **post: Any) -> Any:
    client = Client()
    client.force_login(account)
    return client.post(url, post) if post else client.get(url)


def test_the_admin_check_button_orders_the_visit_for_supervisors_only() -> None:
    region()
    roster(per_county=2)
    people = accounts()
    complaint = recorded(people["intake (with supervisor)"])
    change = f"/admin/inspections/complaint/{complaint.pk}/change/"
    check = f"/admin/inspections/complaint/{complaint.pk}/check/"
    pages = {
        "intake (with supervisor)": (True, 200),
        "county supervisor": (True, 200),
        "prefecture supervisor": (True, 200),
        "intake only": (False, 404),
        "other county's supervisor": (False, 404),
    }
    for role, (button, status) in pages.items():
        account = people[role]
        account.is_staff = True
        account.save(update_fields=["is_staff"])
        html = admin_page(account, change).content.decode()
        assert (check in html) == button, role
        assert admin_page(account, check).status_code == status, role
    for role in ("responsible party", "inspector", "no role"):
        assert admin_page(people[role], check).status_code == 302, role  # the login page

    start = timezone.localtime(timezone.now() + dt.timedelta(days=2))
    answer = admin_page(
        people["county supervisor"],
        check,
        window_start=start.strftime("%Y-%m-%d %H:%M:%S"),
        window_end=(start + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
        team_size=2,
    )
    assert answer.status_code == 302
    complaint.refresh_from_db()
    assert complaint.check_visit is not None and complaint.check_visit.mode == Inspection.Mode.REPORT
    assert NAME not in complaint.check_visit.basis and TICKET in complaint.check_visit.basis
    again = admin_page(
        people["county supervisor"],
        check,
        window_start=start.strftime("%Y-%m-%d %H:%M:%S"),
        window_end=(start + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
        team_size=2,
    )
    assert again.status_code == 200 and "核查" in again.content.decode()
    assert TargetedVisit.objects.count() == 1


def test_the_admin_list_has_a_reply_overdue_column_and_filter() -> None:
    region()
    intake = with_intake(supervisor(HUZHOU, username="intake"))
    late = recorded(
        intake, reply_due=local_date(timezone.now()) - dt.timedelta(days=2), ticket_number="late-1"
    )
    recorded(intake, ticket_number="on-time-1")

    html = admin_page(intake, "/admin/inspections/complaint/").content.decode()
    assert "icon-yes.svg" in html and "icon-no.svg" in html
    overdue = admin_page(intake, "/admin/inspections/complaint/?reply=overdue").content.decode()
    assert "late-1" in overdue and "on-time-1" not in overdue
    assert late.ticket_number in overdue


# --- Digests ------------------------------------------------------------------------------------


def test_digests_count_overdue_replies_of_their_jurisdiction_at_both_period_ends() -> None:
    region()
    intake = with_intake(supervisor(HUZHOU, username="intake"))
    today = local_date(timezone.now())
    recorded(intake, ticket_number="late", reply_due=today - dt.timedelta(days=3))
    recorded(intake, ticket_number="new-late", reply_due=today - dt.timedelta(days=1))  # late since today
    answered = recorded(intake, ticket_number="answered", reply_due=today - dt.timedelta(days=3))
    Complaint.objects.filter(pk=answered.pk).update(
        reply="已答复", replied_at=timezone.now() - dt.timedelta(days=5)
    )
    recorded(
        intake,
        ticket_number="deqing",
        village=village(f"{DEQING}101200"),
        reply_due=today - dt.timedelta(days=3),
    )
    period = Period.containing(DigestKind.DAILY, today - dt.timedelta(days=1))

    digest = digest_build(prefix=ANJI, period=period)

    assert (digest.overdue_replies.current, digest.overdue_replies.previous) == (2, 1)
    assert not digest.is_empty
    rendered = digest_render(recipient=intake, digest=digest, division_name="安吉县")
    for part in ("text", "html"):
        assert "12345 / 12369" in rendered[part], part
        assert NAME not in rendered[part] and CONTACT not in rendered[part]
    assert digest_build(prefix=DEQING, period=period).overdue_replies.current == 1
