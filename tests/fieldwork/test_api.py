"""Check-in, findings, submission, scope and query counts of the field API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.common.errors import DomainError
from inspections.fieldwork import services as fieldwork
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from inspections.fieldwork.selectors import inspection_pending_photos
from tests import builders
from tests.builders import (
    YUCUN_WGS84,
    camera_jpeg,
    category,
    confirmed_village,
    process_all,
    supervisor,
    upload,
    village,
)
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from villages.geo import gcj02_to_wgs84, haversine_m, wgs84_to_gcj02
from villages.models import Village

pytestmark = pytest.mark.django_db


def check_in_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "client_uuid": str(uuid.uuid4()),
        "longitude": YUCUN_WGS84[0],
        "latitude": YUCUN_WGS84[1],
        "accuracy_m": 8.0,
        "device_time": timezone.now().isoformat(),
    }
    body.update(overrides)
    return body


def finding_body(inspection: Inspection, **overrides: Any) -> dict[str, Any]:
    category("garbage-pile")
    body = {
        "client_uuid": str(uuid.uuid4()),
        "inspection": inspection.pk,
        "category": "garbage-pile",
        "severity": "serious",
        "description": "河边垃圾堆放",
        "longitude": YUCUN_WGS84[0],
        "latitude": YUCUN_WGS84[1],
        "photo_uuids": [],
    }
    body.update(overrides)
    return body


# --- datums --------------------------------------------------------------------------------------


def test_it_converts_gcj02_to_wgs84_and_back_within_a_millimetre() -> None:
    gcj = wgs84_to_gcj02(*YUCUN_WGS84)
    back = gcj02_to_wgs84(*gcj)

    assert 300 < haversine_m(*YUCUN_WGS84, *gcj) < 800  # the offset is real in Anji
    assert haversine_m(*YUCUN_WGS84, *back) < 0.001


def test_it_leaves_points_outside_china_alone() -> None:
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


# --- check-in ------------------------------------------------------------------------------------


def test_it_measures_the_check_in_distance_after_converting_the_village_datum() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member], village=confirmed_village(datum="gcj02"))
    east_300m = (YUCUN_WGS84[0] + 300 / (111_320 * 0.8607), YUCUN_WGS84[1])

    response = client_for(member.user).post(
        f"/api/v1/inspections/{inspection.pk}/check-in/",
        check_in_body(longitude=east_300m[0], latitude=east_300m[1]),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["location_status"] == "known"
    assert 295 < body["distance_m"] < 305  # not ~600 m: the GCJ-02 offset was removed first
    assert body["flags"] == []
    assert abs(body["clock_skew_seconds"]) < 60
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.IN_PROGRESS


def test_it_reports_an_unknown_village_location_instead_of_a_false_flag() -> None:
    member = team_member()
    derived = village(
        "330523108205",
        longitude=119.0,
        latitude=30.0,
        datum="gcj02",
        location_source=Village.LocationSource.DERIVED,
    )
    inspection = builders.inspection(team=[member], village=derived)

    body = (
        client_for(member.user).post(f"/api/v1/inspections/{inspection.pk}/check-in/", check_in_body()).json()
    )

    assert body["location_status"] == "unknown"
    assert body["distance_m"] is None
    assert body["flags"] == []


def test_it_flags_a_far_check_in_and_a_wrong_phone_clock() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    skewed = (timezone.now() + timedelta(hours=3)).isoformat()

    body = (
        client_for(member.user)
        .post(
            f"/api/v1/inspections/{inspection.pk}/check-in/",
            check_in_body(latitude=YUCUN_WGS84[1] + 0.05, device_time=skewed),
        )
        .json()
    )

    assert {flag["code"] for flag in body["flags"]} == {"far_from_village", "clock_skew"}
    assert all(flag["explanation"] for flag in body["flags"])


def test_a_replayed_check_in_returns_the_first_and_a_changed_one_conflicts() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    body = check_in_body()
    url = f"/api/v1/inspections/{inspection.pk}/check-in/"

    first = client.post(url, body)
    again = client.post(url, body)
    changed = client.post(url, {**body, "latitude": body["latitude"] + 0.001})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["received_at"] == first.json()["received_at"]
    assert_problem(changed, 409, "uuid_conflict")
    assert CheckIn.objects.count() == 1


def test_bad_check_in_input_gets_field_errors() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])

    response = client_for(member.user).post(
        f"/api/v1/inspections/{inspection.pk}/check-in/", check_in_body(latitude=91, device_time="yesterday")
    )

    body = assert_problem(response, 400, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"latitude", "device_time"}


def test_a_supervisor_confirms_a_village_location_from_a_good_check_in() -> None:
    member = team_member()
    unknown = village("330523108206")
    inspection = builders.inspection(team=[member], village=unknown)
    good, _ = fieldwork.check_in_record(
        inspection=inspection,
        user=member.user,
        client_uuid=uuid.uuid4(),
        longitude=119.6,
        latitude=30.5,
        accuracy_m=6,
        device_time=timezone.now(),
    )
    poor, _ = fieldwork.check_in_record(
        inspection=inspection,
        user=member.user,
        client_uuid=uuid.uuid4(),
        longitude=119.7,
        latitude=30.6,
        accuracy_m=400,
        device_time=timezone.now(),
    )

    with pytest.raises(DomainError) as refused:
        fieldwork.village_confirm_location(check_in=poor, by=supervisor("330523"))
    assert refused.value.code == "check_in_not_accurate"
    confirmed = fieldwork.village_confirm_location(check_in=good, by=supervisor("330523"))

    assert (confirmed.longitude, confirmed.latitude, confirmed.datum) == (119.6, 30.5, "wgs84")
    assert confirmed.location_source == Village.LocationSource.CONFIRMED
    assert confirmed.distance_m(longitude=119.6, latitude=30.5) == 0


# --- findings ------------------------------------------------------------------------------------


def test_it_records_a_finding_whose_photos_come_later() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    photo_uuid = str(uuid.uuid4())

    response = client_for(member.user).post(
        "/api/v1/findings/", finding_body(inspection, photo_uuids=[photo_uuid])
    )

    assert response.status_code == 201, response.content
    assert response.json()["photo_uuids"] == [photo_uuid]
    assert inspection_pending_photos(inspection=inspection) == [photo_uuid]


def test_a_replayed_finding_is_200_and_different_content_is_a_409() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    body = finding_body(inspection)

    first = client.post("/api/v1/findings/", body)
    again = client.post("/api/v1/findings/", body)
    changed = client.post("/api/v1/findings/", {**body, "description": "另一个问题"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert_problem(changed, 409, "uuid_conflict")
    assert Finding.objects.count() == 1


def test_a_finding_takes_the_category_default_severity_and_refuses_unknown_categories() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    body = finding_body(inspection)
    del body["severity"]

    created = client.post("/api/v1/findings/", body)
    unknown = client.post("/api/v1/findings/", finding_body(inspection, category="no-such"))

    assert created.json()["severity"] == "moderate"
    assert assert_problem(unknown, 400, "validation_error")["errors"][0]["field"] == "category"


# --- scope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["other_team", "before_window", "after_grace", "cancelled", "supervisor"],
)
def test_it_answers_404_outside_the_callers_own_team_and_window(case: str, settings: Any) -> None:
    member, other = team_member(), team_member()
    now = timezone.now()
    start = {
        "before_window": now + timedelta(hours=2),
        "after_grace": now - settings.QINGSHAN_FIELDWORK_GRACE - timedelta(hours=9),
    }.get(case, now - timedelta(hours=1))
    inspection = builders.inspection(
        team=[other if case == "other_team" else member],
        window_start=start,
        status=Inspection.Status.CANCELLED if case == "cancelled" else Inspection.Status.SCHEDULED,
    )
    caller = supervisor("33") if case == "supervisor" else member.user
    client = client_for(caller)

    responses = [
        client.post(f"/api/v1/inspections/{inspection.pk}/check-in/", check_in_body()),
        client.post("/api/v1/findings/", finding_body(inspection)),
        upload(client, inspection, camera_jpeg()),
        client.post(f"/api/v1/inspections/{inspection.pk}/submit/", {"summary": "x"}),
    ]

    for response in responses:
        assert_problem(response, 404, "not_found")
    assert client.get("/api/v1/assignments/").json()["count"] == 0


def test_the_grace_period_allows_late_uploads(settings: Any) -> None:
    member = team_member()
    inspection = builders.inspection(
        team=[member], window_start=timezone.now() - timedelta(hours=10), hours=8
    )

    response = client_for(member.user).post("/api/v1/findings/", finding_body(inspection))

    assert response.status_code == 201


# --- submission ----------------------------------------------------------------------------------


def test_it_refuses_submission_while_a_named_photo_is_missing_then_submits_once() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    photo_uuid = str(uuid.uuid4())
    client.post("/api/v1/findings/", finding_body(inspection, photo_uuids=[photo_uuid]))
    url = f"/api/v1/inspections/{inspection.pk}/submit/"

    refused = client.post(url, {"summary": "发现垃圾问题一处"})
    upload(client, inspection, camera_jpeg(), client_uuid=photo_uuid)
    submitted = client.post(url, {"summary": "发现垃圾问题一处"})
    again = client.post(url, {"summary": "发现垃圾问题一处"})
    different = client.post(url, {"summary": "另一个总结"})

    assert assert_problem(refused, 409, "photos_pending")["pending_photos"] == [photo_uuid]
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert again.status_code == 200 and again.json()["submitted_at"] == submitted.json()["submitted_at"]
    assert_problem(different, 409, "inspection_submitted")
    assert Finding.objects.filter(inspection=inspection).count() == 1  # findings stay as they were


def test_a_submitted_inspection_is_read_only_but_replays_still_answer() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    finding = finding_body(inspection)
    client.post("/api/v1/findings/", finding)
    client.post(f"/api/v1/inspections/{inspection.pk}/submit/", {"summary": "ok"})

    replay = client.post("/api/v1/findings/", finding)
    new_finding = client.post("/api/v1/findings/", finding_body(inspection))
    new_check_in = client.post(f"/api/v1/inspections/{inspection.pk}/check-in/", check_in_body())
    new_photo = upload(client, inspection, camera_jpeg())

    assert replay.status_code == 200
    for response in (new_finding, new_check_in, new_photo):
        assert_problem(response, 409, "inspection_submitted")


# --- reads and their query counts ----------------------------------------------------------------


def _populate(inspection: Inspection, member: Any, findings: int, photos: int) -> None:
    client = client_for(member.user)
    for index in range(photos):
        upload(client, inspection, camera_jpeg(seed=index, size=(64, 48)))
    for _ in range(findings):
        client.post("/api/v1/findings/", finding_body(inspection))
    process_all()


def test_the_assignments_list_shows_only_what_the_inspector_may_act_on() -> None:
    member = team_member()
    mine = builders.inspection(team=[member])
    builders.inspection(team=[team_member()], village=confirmed_village("330523108207"))

    body = client_for(member.user).get("/api/v1/assignments/").json()

    assert [row["id"] for row in body["results"]] == [mine.pk]
    assert body["results"][0]["village"]["location_known"] is True
    until = datetime.fromisoformat(body["results"][0]["actionable_until"])
    assert until == mine.window_end + settings.QINGSHAN_FIELDWORK_GRACE


def test_an_inspection_with_a_team_of_several_is_listed_once_and_not_for_an_inactive_member() -> None:
    member, colleague, inactive = team_member(), team_member(), team_member()
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    shared = builders.inspection(team=[colleague, member, inactive])

    body = client_for(member.user).get("/api/v1/assignments/").json()
    assert [row["id"] for row in body["results"]] == [shared.pk]
    assert body["count"] == 1
    assert len(body["results"][0]["team"]) == 3  # the whole team, not the caller's row of it

    assert client_for(inactive.user).get("/api/v1/assignments/").json()["results"] == []


@pytest.mark.parametrize("size", [1, 6])
def test_assignments_query_count_is_independent_of_findings_and_photos(size: int) -> None:
    member = team_member()
    for index in range(3):
        inspection = builders.inspection(team=[member], village=confirmed_village(f"33052310821{index}"))
        _populate(inspection, member, findings=size, photos=size)
    client = client_for(member.user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/assignments/")

    assert response.status_code == 200 and response.json()["count"] == 3
    # 1 user (JWT), 1 count (the caller's team membership is part of it, so no
    # question first whether they are an inspector), 1 page of inspections joined
    # with their villages and townships, 1 teams with their users, 1 insert into
    # the embargo access log (the page's reads), and 1 checklist.
    assert len(queries) == 6, [q["sql"] for q in queries]


@pytest.mark.parametrize("size", [1, 6])
def test_inspection_detail_query_count_is_independent_of_findings_and_photos(size: int) -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    _populate(inspection, member, findings=size, photos=size)
    client = client_for(member.user)
    client.post(f"/api/v1/inspections/{inspection.pk}/check-in/", {**check_in_body()})

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/inspections/{inspection.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert (len(body["findings"]), len(body["photos"]), len(body["check_ins"])) == (size, size, 1)
    # 1 user (JWT), 1 groups of the user (roles in the embargo rule's scope), 1 inspection with
    # its village, 1 insert into the embargo access log (an unsubmitted inspection read), then
    # 1 each for check-ins, findings (with categories) and photos, and 1 for whether the caller
    # is on the team (who sees the originals' metadata), and 1 for the finding photos of the
    # problems the caller (an inspector) is drawn to verify. No flag names another photo here, so
    # no query for the photos flags name.
    assert len(queries) == 9, [q["sql"] for q in queries]
