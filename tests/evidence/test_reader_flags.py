"""Flags and metadata say only what their reader may see.

Differential tests: the same reader reads the same photo in two worlds, one
with and one without a hidden, unsubmitted visit that sent a duplicate of the
picture first. Each world is built inside a savepoint that is rolled back, so
the second starts from the same rows. Whatever the reader gets must be the
same in both, while the stored flags (checked too) differ.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from inspections.cases.models import Case
from inspections.common.china_time import local_date
from inspections.digests.selectors import Pair, Period, evidence_flags_awaiting_review
from inspections.evidence import services as evidence
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import (
    ANJI,
    DEQING_VILLAGE,
    HUZHOU,
    YUCUN_WGS84,
    camera_jpeg,
    open_case,
    process_all,
    responsible_party,
    supervisor,
    upload,
)
from tests.builders import inspector as team_member
from tests.conftest import client_for
from tests.evidence.test_rectification import upload_to_case

pytestmark = pytest.mark.django_db

LON, LAT = YUCUN_WGS84
FAR = (LON + 0.03, LAT)  # about 2.9 km from Yucun
PICTURE = camera_jpeg(seed=41, gps=YUCUN_WGS84)
# The same scene sent again, or re-encoded (another file, nearly the same picture).
COPIES = {
    "exact_duplicate": PICTURE,
    "near_duplicate": camera_jpeg(seed=41, gps=YUCUN_WGS84, quality=60),
}
VOLATILE = ("received_at", "processed_at")


def hidden_visit(village: str | None = None, *, by: Any = None) -> Inspection:
    """A visit under way (unsubmitted) that has sent PICTURE, processed, organised by ``by``."""
    member = team_member()
    visit = builders.inspection(
        team=[member],
        status=Inspection.Status.IN_PROGRESS,
        village=builders.confirmed_village(village) if village else None,
    )
    if by is not None:
        visit.organisers.add(by)
    builders.photo(inspection=visit, content=PICTURE)
    return visit


def in_two_worlds(build: Callable[[bool], Any]) -> tuple[Any, Any]:
    """``build(hidden)`` run with and then without the hidden visit, each world rolled back after."""
    seen = []
    for hidden in (True, False):
        with transaction.atomic():
            seen.append(build(hidden))
            transaction.set_rollback(True)
    return seen[0], seen[1]


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in keys}


def send_after_photo(case: Case, party: Any, content: bytes, key: str) -> Photo:
    response = upload_to_case(client_for(party), case, content, client_uuid=key)
    assert response.status_code == 201, response.content
    process_all()
    return Photo.objects.get(client_uuid=key)


@pytest.mark.parametrize("code", sorted(COPIES))
def test_a_party_reads_its_after_photo_the_same_whether_or_not_a_hidden_visit_sent_it_first(
    code: str,
) -> None:
    case = open_case()
    party = responsible_party("330523108")
    key = str(uuid.uuid4())

    def build(hidden: bool) -> tuple[dict[str, Any], list[str]]:
        if hidden:
            hidden_visit()
        stored = send_after_photo(case, party, COPIES[code], key)
        response = client_for(party).get(f"/api/v1/photos/{key}/")
        assert response.status_code == 200, response.content
        return without(response.json(), *VOLATILE), stored.flag_codes

    (with_hidden, stored_with), (alone, stored_alone) = in_two_worlds(build)

    assert code in stored_with and code not in stored_alone  # the flag exists, for those who may see it
    assert with_hidden == alone


@pytest.mark.parametrize("code", sorted(COPIES))
def test_a_hidden_visits_earlier_match_gives_way_to_the_photo_the_party_would_be_told_of_without_it(
    code: str,
) -> None:
    case = open_case()
    party = responsible_party("330523108")
    member = team_member()
    seen_visit = builders.inspection(team=[member], status=Inspection.Status.IN_PROGRESS)
    key, seen_key = str(uuid.uuid4()), str(uuid.uuid4())

    def build(hidden: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if hidden:
            hidden_visit()  # its photo comes first: the nearest (or earliest) match
        builders.photo(inspection=seen_visit, content=PICTURE, client_uuid=seen_key)
        Inspection.objects.filter(pk=seen_visit.pk).update(
            status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
        )
        stored = send_after_photo(case, party, COPIES[code], key)
        response = client_for(party).get(f"/api/v1/photos/{key}/")
        return without(response.json(), *VOLATILE), stored.flags

    (with_hidden, stored_with), (alone, _stored) = in_two_worlds(build)

    named = [f["params"] for f in stored_with if f["code"] == code]
    assert named[0]["inspection"] != seen_visit.pk  # stored: the hidden visit's photo first
    assert [f["facts"]["inspection"] for f in alone["flags"] if f["code"] == code] == [seen_visit.pk]
    assert with_hidden == alone


@pytest.mark.parametrize("code", sorted(COPIES))
def test_the_visits_organiser_is_told_which_photo_it_matches(code: str) -> None:
    case = open_case()
    party = responsible_party("330523108")
    boss = supervisor(HUZHOU)  # organises the visit
    visit = hidden_visit(by=boss)
    key = str(uuid.uuid4())
    send_after_photo(case, party, COPIES[code], key)

    body = client_for(boss).get(f"/api/v1/photos/{key}/", HTTP_ACCEPT_LANGUAGE="en").json()

    flagged = [f for f in body["flags"] if f["code"] == code]
    first = Photo.objects.get(inspection=visit)
    assert flagged and flagged[0]["facts"]["inspection"] == visit.pk
    assert flagged[0]["facts"]["photo"] == str(first.client_uuid)
    assert f"of inspection {visit.pk} ({visit.village.name})" in flagged[0]["explanation"]


@pytest.mark.parametrize("code", sorted(COPIES))
def test_once_the_visit_is_submitted_a_party_outside_it_learns_only_of_a_photo_it_cannot_see(
    code: str,
) -> None:
    case = open_case()
    party = responsible_party("330523108")
    visit = hidden_visit(DEQING_VILLAGE)  # another county: never the party's to see
    key = str(uuid.uuid4())
    send_after_photo(case, party, COPIES[code], key)
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )

    response = client_for(party).get(f"/api/v1/photos/{key}/", HTTP_ACCEPT_LANGUAGE="en")

    flagged = [f for f in response.json()["flags"] if f["code"] == code]
    assert len(flagged) == 1
    assert "a photo you cannot see" in flagged[0]["explanation"]
    assert set(flagged[0]["facts"]) <= {"distance"}
    other = Photo.objects.get(inspection=visit)
    text = response.content.decode()
    assert str(other.client_uuid) not in text and visit.village.name not in text
    assert visit.village.code not in text


def test_once_a_visit_in_the_partys_own_township_is_submitted_the_party_is_told_which_photo() -> None:
    case = open_case()
    party = responsible_party("330523108")
    visit = hidden_visit()
    key = str(uuid.uuid4())
    send_after_photo(case, party, PICTURE, key)
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )

    body = client_for(party).get(f"/api/v1/photos/{key}/").json()

    flagged = [f for f in body["flags"] if f["code"] == "exact_duplicate"]
    assert flagged[0]["facts"]["inspection"] == visit.pk


def test_a_supervisor_reads_an_inspection_the_same_whether_or_not_a_hidden_visit_sent_its_photo_first() -> (
    None
):
    boss = supervisor(ANJI)  # covers Yucun, organises nothing
    member = team_member()
    visible = builders.inspection(team=[member], status=Inspection.Status.IN_PROGRESS)
    submitted_at = timezone.now()

    def build(hidden: bool) -> tuple[dict[str, Any], list[str]]:
        if hidden:
            hidden_visit()
        upload(client_for(member.user), visible, COPIES["near_duplicate"])
        process_all()
        Inspection.objects.filter(pk=visible.pk).update(
            status=Inspection.Status.SUBMITTED, submitted_at=submitted_at
        )
        response = client_for(boss).get(f"/api/v1/inspections/{visible.pk}/")
        assert response.status_code == 200, response.content
        body = response.json()
        body["photos"] = [without(p, "client_uuid", "files", *VOLATILE) for p in body["photos"]]
        return body, Photo.objects.get(inspection=visible).flag_codes

    (with_hidden, stored_with), (alone, stored_alone) = in_two_worlds(build)

    assert "near_duplicate" in stored_with and "near_duplicate" not in stored_alone
    assert with_hidden == alone


def test_the_review_admin_shows_and_marks_the_same_whether_or_not_a_hidden_visit_sent_the_photo_first(
    client: Any,
) -> None:
    boss = supervisor(ANJI)
    member = team_member()
    visible = builders.inspection(team=[member], status=Inspection.Status.IN_PROGRESS)
    client.force_login(boss)

    root = builders.user(username="root", is_superuser=True, is_staff=True)

    def build(hidden: bool) -> tuple[list[tuple[str, str]], list[str], list[str]]:
        if hidden:
            hidden_visit()
        upload(client_for(member.user), visible, PICTURE)
        process_all()
        Inspection.objects.filter(pk=visible.pk).update(
            status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
        )
        # Someone who sees everything reviews what they are shown: the flag, if it exists.
        evidence.photo_flags_mark_reviewed(photos=Photo.objects.filter(inspection=visible), actor=root)
        page = client.get(f"/admin/inspections/inspection/{visible.pk}/change/").content.decode()
        marked = client.post(
            "/admin/inspections/inspection/",
            {"action": "mark_flags_reviewed", "_selected_action": [visible.pk]},
            follow=True,
        )
        flags = re.findall(r"<li><strong>(.*?)</strong>: (.*?)</li>", page)
        flags += re.findall(r'<td class="field-(reviewed_\w+)">(.*?)</td>', page, re.S)
        message = [str(m) for m in marked.context["messages"]]
        return flags, message, Photo.objects.get(inspection=visible).flag_codes

    (flags_with, marked_with, stored_with), (flags_alone, marked_alone, _stored) = in_two_worlds(build)

    assert "exact_duplicate" in stored_with
    assert [cell for cell, _value in flags_with if cell.startswith("reviewed_")] == [
        "reviewed_at",
        "reviewed_by",
    ]
    assert flags_with == flags_alone
    assert marked_with == marked_alone and len(marked_with) == 1
    assert " 0 " in marked_with[0]  # nothing it is shown was flagged, so nothing marked


def test_the_digest_counts_the_same_whether_or_not_a_hidden_visit_sent_the_photo_first() -> None:
    case = open_case()
    party = responsible_party("330523108")
    week = Period.containing("weekly", local_date(timezone.now()))
    key = str(uuid.uuid4())

    def build(hidden: bool) -> tuple[Pair, list[str]]:
        if hidden:
            hidden_visit()
        stored = send_after_photo(case, party, COPIES["near_duplicate"], key)
        return evidence_flags_awaiting_review(prefix=ANJI, period=week), stored.flag_codes

    (with_hidden, stored_with), (alone, _stored) = in_two_worlds(build)

    assert stored_with == ["near_duplicate"]
    assert with_hidden == alone == Pair(0, 0)


def test_the_digest_counts_a_photo_with_its_own_flag_alike_whether_or_not_a_hidden_visit_sent_it_first() -> (
    None
):
    case = open_case()
    party = responsible_party("330523108")
    week = Period.containing("weekly", local_date(timezone.now()))
    key = str(uuid.uuid4())
    without_gps = camera_jpeg(seed=41)  # the same picture, no position: flagged no_gps whatever else

    def build(hidden: bool) -> tuple[Pair, list[str]]:
        if hidden:
            hidden_visit()
        stored = send_after_photo(case, party, without_gps, key)
        return evidence_flags_awaiting_review(prefix=ANJI, period=week), stored.flag_codes

    (with_hidden, stored_with), (alone, stored_alone) = in_two_worlds(build)

    assert stored_with == ["no_gps", "near_duplicate"] and stored_alone == ["no_gps"]
    assert with_hidden == alone == Pair(1, 0)


def test_the_digest_counts_a_photo_flagged_only_as_a_duplicate_once_the_other_visit_is_submitted() -> None:
    case = open_case()
    party = responsible_party("330523108")
    week = Period.containing("weekly", local_date(timezone.now()))
    visit = hidden_visit()
    send_after_photo(case, party, PICTURE, str(uuid.uuid4()))
    submitted_at = timezone.now()
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=submitted_at
    )

    # The visit's own photo came first and has no flag: only the after-photo counts.
    assert evidence_flags_awaiting_review(prefix=ANJI, period=week) == Pair(1, 0)


# --- Metadata goes only with the original --------------------------------------------------


def flagged_evidence() -> tuple[Inspection, Photo]:
    """A submitted visit whose photo is far away, taken long before the window, in Photoshop."""
    member = team_member()
    visit = builders.inspection(team=[member], status=Inspection.Status.IN_PROGRESS)
    content = camera_jpeg(
        seed=7,
        gps=FAR,
        taken_at=visit.window_start - dt.timedelta(days=30),
        software="Adobe Photoshop 25.0",
        make="Huawei",
    )
    shot = builders.photo(
        inspection=visit, content=content, device_time=timezone.now() - dt.timedelta(hours=2)
    )
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    return visit, shot


METADATA = {
    "client_taken_at": None,
    "client_longitude": None,
    "client_latitude": None,
    "device_time": None,
    "taken_at": None,
    "taken_at_local": "",
    "taken_at_offset": "",
    "gps_longitude": None,
    "gps_latitude": None,
    "gps_accuracy_m": None,
    "make": "",
    "model": "",
    "software": "",
    "distance_m": None,
}


def test_a_reader_who_may_not_see_the_original_gets_no_metadata_anywhere_in_the_photo() -> None:
    visit, shot = flagged_evidence()
    party = client_for(responsible_party("330523108"))  # sees the submitted visit, not originals

    detail = party.get(f"/api/v1/photos/{shot.client_uuid}/")
    inspection = party.get(f"/api/v1/inspections/{visit.pk}/")

    assert detail.status_code == inspection.status_code == 200
    body = detail.json()
    assert {name: body[name] for name in METADATA} == METADATA
    assert body["files"]["original"] is None
    assert party.get(f"/api/v1/photos/{shot.client_uuid}/original/").status_code == 404
    assert {f["code"] for f in body["flags"]} >= {
        "far_from_village",
        "outside_window",
        "clock_skew",
        "edited",
    }
    for flag in body["flags"]:
        assert not {"distance_m", "taken_at", "offset_known", "seconds", "software"} & set(flag["facts"])
    assert shot.taken_at is not None
    for text in (detail.content.decode(), inspection.content.decode()):
        assert "Photoshop" not in text and "Huawei" not in text
        assert shot.taken_at.date().isoformat() not in text
    assert inspection.json()["photos"][0] == body


def test_the_team_sees_the_metadata_and_its_facts_in_the_flags() -> None:
    visit, shot = flagged_evidence()
    member = visit.team.get()

    body = client_for(member.user).get(f"/api/v1/photos/{shot.client_uuid}/").json()

    assert body["make"] == "Huawei" and body["software"] == "Adobe Photoshop 25.0"
    assert body["gps_longitude"] == pytest.approx(FAR[0], abs=1e-4)
    assert body["files"]["original"] is not None
    facts = {f["code"]: f["facts"] for f in body["flags"]}
    assert facts["far_from_village"]["distance_m"] > 2000
    assert facts["edited"]["software"] == "Adobe Photoshop 25.0"
    assert "taken_at" in facts["outside_window"] and "seconds" in facts["clock_skew"]


def test_the_case_admin_marks_the_same_after_photos_whether_or_not_a_hidden_visit_sent_one_first(
    client: Any,
) -> None:
    case = open_case()
    party = responsible_party("330523108")
    boss = supervisor(ANJI)
    client.force_login(boss)
    key = str(uuid.uuid4())

    def build(hidden: bool) -> tuple[list[str], Any, list[str]]:
        if hidden:
            hidden_visit()
        stored = send_after_photo(case, party, COPIES["near_duplicate"], key)
        marked = client.post(
            "/admin/inspections/case/",
            {"action": "action_mark_flags_reviewed", "_selected_action": [case.pk]},
            follow=True,
        )
        assert marked.status_code == 200
        stored.refresh_from_db()
        return [str(m) for m in marked.context["messages"]], stored.flags_reviewed_at, stored.flag_codes

    (marked_with, reviewed_with, stored_with), (marked_alone, reviewed_alone, _stored) = in_two_worlds(build)

    assert stored_with == ["near_duplicate"]
    assert marked_with == marked_alone and len(marked_with) == 1
    assert reviewed_with is None and reviewed_alone is None
