"""The phone's contract in the field: two phone times, dropping a lost photo, visits that name their cases."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.cases.models import Case, FollowUp, FollowUpDraw
from inspections.evidence.models import Photo
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from tests import builders
from tests.builders import YUCUN_WGS84, camera_jpeg, category, confirmed_village, process_all, upload
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from tests.fieldwork.test_api import check_in_body, finding_body

pytestmark = pytest.mark.django_db


# --- device_time: when the request was sent, not when the position was fixed --------------------


def test_a_replayed_check_in_whose_only_change_is_the_sending_time_is_the_same_check_in() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    url = f"/api/v1/inspections/{inspection.pk}/check-in/"
    fixed = timezone.now() - dt.timedelta(hours=3)
    body = check_in_body(fixed_at=fixed.isoformat(), device_time=timezone.now().isoformat())

    first = client.post(url, body)
    resent = client.post(url, {**body, "device_time": (timezone.now() + dt.timedelta(minutes=7)).isoformat()})
    other_fix = client.post(url, {**body, "fixed_at": (fixed + dt.timedelta(seconds=1)).isoformat()})

    assert (first.status_code, resent.status_code) == (201, 200)
    assert resent.json()["device_time"] == first.json()["device_time"]  # the first sending is kept
    assert_problem(other_fix, 409, "uuid_conflict")
    assert CheckIn.objects.count() == 1


def test_an_offline_check_in_fixed_hours_ago_but_sent_now_has_no_clock_skew() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    url = f"/api/v1/inspections/{inspection.pk}/check-in/"
    fixed = timezone.now() - dt.timedelta(hours=5)

    offline = client.post(
        url, check_in_body(fixed_at=fixed.isoformat(), device_time=timezone.now().isoformat())
    )
    wrong_clock = client.post(
        url,
        check_in_body(
            fixed_at=fixed.isoformat(), device_time=(timezone.now() - dt.timedelta(hours=5)).isoformat()
        ),
    )

    assert offline.status_code == 201
    assert dt.datetime.fromisoformat(offline.json()["fixed_at"]) == fixed
    assert abs(offline.json()["clock_skew_seconds"]) < 60
    assert [f["code"] for f in offline.json()["flags"]] == []
    assert [f["code"] for f in wrong_clock.json()["flags"]] == ["clock_skew"]


def test_a_replayed_photo_whose_sending_time_and_file_name_changed_is_the_same_photo() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    content = camera_jpeg()
    photo_uuid = str(uuid.uuid4())
    now = timezone.now()

    first = upload(client, inspection, content, client_uuid=photo_uuid, device_time=now.isoformat())
    resent = upload(
        client,
        inspection,
        content,
        client_uuid=photo_uuid,
        name="IMG_0001 (1).jpg",
        device_time=(now + dt.timedelta(hours=2)).isoformat(),
    )

    assert (first.status_code, resent.status_code) == (201, 200)
    assert resent.json()["client_uuid"] == photo_uuid


# --- dropping a photo that will never arrive --------------------------------------------------


def drop(client: Any, finding: str, photo: str) -> Any:
    return client.delete(f"/api/v1/findings/{finding}/photos/{photo}/")


def test_the_team_drops_a_lost_photo_and_submission_goes_on() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    lost, kept = str(uuid.uuid4()), str(uuid.uuid4())
    body = finding_body(inspection, photo_uuids=[lost, kept])
    client.post("/api/v1/findings/", body)
    upload(client, inspection, camera_jpeg(), client_uuid=kept)
    submit = f"/api/v1/inspections/{inspection.pk}/submit/"

    blocked = client.post(submit, {"summary": "一处"})
    dropped = drop(client, body["client_uuid"], lost)
    dropped_again = drop(client, body["client_uuid"], lost)
    replayed_finding = client.post("/api/v1/findings/", body)  # the phone's queue still holds the creation
    submitted = client.post(submit, {"summary": "一处"})
    dropped_after_submission = drop(client, body["client_uuid"], lost)
    new_drop_after_submission = drop(client, body["client_uuid"], kept)

    assert assert_problem(blocked, 409, "photos_pending")["pending_photos"] == [lost]
    assert dropped.status_code == 200
    assert dropped.json()["photo_uuids"] == [kept] and dropped.json()["dropped_photo_uuids"] == [lost]
    assert dropped_again.status_code == 200 and dropped_again.json() == dropped.json()
    assert replayed_finding.status_code == 200
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert dropped_after_submission.status_code == 200  # a replay answers after submission too
    assert_problem(new_drop_after_submission, 409, "inspection_submitted")
    finding = Finding.objects.get(client_uuid=body["client_uuid"])
    assert (finding.photo_uuids, finding.dropped_photo_uuids) == ([kept], [lost])
    assert Case.objects.get(finding=finding).status == "awaiting_review"  # a problem, before 交办


def test_only_a_missing_photo_of_an_open_inspection_of_ones_team_can_be_dropped() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    arrived, missing, never_named = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    body = finding_body(inspection, photo_uuids=[arrived, missing])
    client.post("/api/v1/findings/", body)
    upload(client, inspection, camera_jpeg(), client_uuid=arrived)
    stranger = client_for(team_member().user)

    arrived_refused = drop(client, body["client_uuid"], arrived)
    unnamed = drop(client, body["client_uuid"], never_named)
    by_stranger = drop(stranger, body["client_uuid"], missing)
    Inspection.objects.filter(pk=inspection.pk).update(status=Inspection.Status.CANCELLED)
    cancelled = drop(client, body["client_uuid"], missing)

    assert_problem(arrived_refused, 409, "photo_arrived")
    assert_problem(unnamed, 404, "not_found")
    assert_problem(by_stranger, 404, "not_found")
    assert_problem(cancelled, 404, "not_found")  # a cancelled inspection is no longer the team's to act on
    finding = Finding.objects.get(client_uuid=body["client_uuid"])
    assert (finding.photo_uuids, finding.dropped_photo_uuids) == ([arrived, missing], [])


# --- verification and look-back visits name their cases ----------------------------------------


def visit_for(case: Case, kind: str, drawn: Any, *, window_start: dt.datetime) -> FollowUp:
    """A pending visit of ``kind`` to the case's village, drawn for ``drawn``."""
    mode = Inspection.Mode.VERIFICATION if kind == FollowUp.Kind.VERIFICATION else Inspection.Mode.LOOK_BACK
    visit = Inspection.objects.create(
        mode=mode,
        village=case.village,
        window_start=window_start,
        window_end=window_start + dt.timedelta(days=1),
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
        created_at=window_start,
    )
    return FollowUp.objects.create(case=case, kind=kind, inspection=visit, inspector=drawn, draw=draw)


def cases_with_photos(count: int) -> list[Case]:
    """``count`` cases in one village, each from a finding at its own spot with one processed photo."""
    member = team_member()
    inspection = builders.inspection(team=[member], village=confirmed_village(builders.YUCUN))
    client = client_for(member.user)
    kinds = [category(f"kind-{n}") for n in range(count)]
    for n in range(count):
        photo = builders.photo(inspection=inspection, content=camera_jpeg(seed=n, gps=YUCUN_WGS84))
        body = finding_body(
            inspection,
            category=kinds[n].code,
            longitude=YUCUN_WGS84[0] + n / 1000,
            description=f"问题 {n}",
            photo_uuids=[str(photo.client_uuid)],
        )
        assert client.post("/api/v1/findings/", body).status_code == 201
    assert client.post(f"/api/v1/inspections/{inspection.pk}/submit/", {"summary": "ok"}).status_code == 200
    cases = list(
        Case.objects.filter(inspection=inspection).select_related("finding", "category").order_by("pk")
    )
    rectifier = client_for(builders.responsible_party(builders.ANJI))
    for n, case in enumerate(cases):
        after = rectifier.post(
            "/api/v1/photos/",
            {
                "file": SimpleUploadedFile("after.jpg", camera_jpeg(seed=100 + n, gps=YUCUN_WGS84)),
                "client_uuid": str(uuid.uuid4()),
                "case": case.pk,
            },
            format="multipart",
        )
        assert after.status_code == 201, after.content
    process_all()
    return cases


def test_two_visits_to_one_village_each_carry_their_own_case() -> None:
    first, second = cases_with_photos(2)
    drawn = team_member()
    now = timezone.now()
    verification = visit_for(
        first, FollowUp.Kind.VERIFICATION, drawn, window_start=now - dt.timedelta(hours=1)
    )
    look_back = visit_for(second, FollowUp.Kind.LOOK_BACK, drawn, window_start=now - dt.timedelta(minutes=30))
    client = client_for(drawn.user)

    listed = {row["id"]: row for row in client.get("/api/v1/assignments/").json()["results"]}
    detail = client.get(f"/api/v1/assignments/{look_back.inspection_id}/").json()

    assert set(listed) == {verification.inspection_id, look_back.inspection_id}
    [told] = listed[verification.inspection_id]["cases"]
    assert (
        told["id"] == first.pk and told["kind"] == "verification" and told["category"] == first.category.code
    )
    assert (told["longitude"], told["latitude"], told["datum"]) == (
        first.finding.longitude,
        first.finding.latitude,
        first.finding.datum,
    )
    # The finding's photos (what was wrong) and the rectification's after-photo: the drawn
    # verifier sees their renditions from the window's opening. The finding's originals stay
    # with the first team, the organisers and the supervisors.
    after = Photo.objects.get(case=first)
    before = Photo.objects.get(client_uuid=first.finding.photo_uuids[0])
    assert told["photos"] == [
        {
            "client_uuid": str(before.client_uuid),
            "purpose": before.purpose,
            "thumbnail": f"/api/v1/photos/{before.client_uuid}/thumbnail/",
        },
        {
            "client_uuid": str(after.client_uuid),
            "purpose": "after",
            "thumbnail": f"/api/v1/photos/{after.client_uuid}/thumbnail/",
        },
    ]
    assert client.get(told["photos"][0]["thumbnail"]).status_code == 200
    assert client.get(told["photos"][1]["thumbnail"]).status_code == 200
    assert client.get(f"/api/v1/photos/{before.client_uuid}/original/").status_code == 404
    # The look-back visit's team is not a verification team: the second finding's photos stay hidden.
    assert client.get(f"/api/v1/photos/{second.finding.photo_uuids[0]}/thumbnail/").status_code == 404
    assert [c["id"] for c in detail["cases"]] == [second.pk] and detail["cases"][0]["kind"] == "look_back"
    assert detail["cases"][0]["photos"][0]["client_uuid"] == str(Photo.objects.get(case=second).client_uuid)


def test_an_ordinary_visit_carries_no_cases() -> None:
    member = team_member()
    builders.inspection(team=[member])

    [row] = client_for(member.user).get("/api/v1/assignments/").json()["results"]

    assert row["cases"] == []


@pytest.mark.parametrize("size", [1, 3])
def test_visit_cases_cost_the_same_queries_whatever_their_number(size: int) -> None:
    cases = cases_with_photos(size)
    drawn = team_member()
    start = timezone.now() - dt.timedelta(hours=1)
    for case in cases:
        visit_for(case, FollowUp.Kind.VERIFICATION, drawn, window_start=start)
    client = client_for(drawn.user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/assignments/")

    assert response.status_code == 200 and response.json()["count"] == size
    # The 7 of an ordinary list (see test_api), then 1 for the visits' cases the caller may see,
    # with their categories and findings, 1 for the finding photos of the problems the caller
    # verifies, and 1 for the photos of those cases the caller may see.
    assert len(queries) == 10, [q["sql"] for q in queries]
