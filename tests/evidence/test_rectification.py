"""Rectification after-photos through the evidence pipeline: upload by the responsible
party, facts read by the cases area, flags refreshed when processing finishes."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inspections.cases.models import Case, CaseStatus, FollowUp, Rectification
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.rectification import rectification_submit
from inspections.common.schedules import ensure
from inspections.evidence import imaging
from inspections.evidence import services as evidence
from inspections.evidence.models import Photo
from inspections.evidence.schedules import ENTRIES
from inspections.evidence.selectors import photo_facts, rectifications_naming
from inspections.fieldwork.models import Finding, Inspection
from tests import builders
from tests.builders import (
    YUCUN_WGS84,
    camera_jpeg,
    process_all,
    responsible_party,
    supervisor,
    upload,
    verifiers,
)
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from tests.evidence.test_tus import TUS, metadata_header

pytestmark = pytest.mark.django_db

LON, LAT = YUCUN_WGS84
NEAR = (LON + 0.0002, LAT + 0.0001)  # about 20 m from the finding
FAR = (LON + 0.03, LAT)  # about 2.9 km away


def upload_to_case(client: Any, case: Case, content: bytes, **fields: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "file": SimpleUploadedFile("after.jpg", content, content_type="image/jpeg"),
        "client_uuid": str(fields.pop("client_uuid", uuid.uuid4())),
        "case": case.pk,
        **fields,
    }
    return client.post("/api/v1/photos/", data, format="multipart")


def cases_with_before_photos(count: int) -> tuple[list[Case], list[str]]:
    """A visit whose findings each have one processed before-photo (seeds 1, 2, …), then submitted."""
    member = team_member()
    visit = builders.inspection(team=[member])
    field_client = client_for(member.user)
    kind = builders.category(code="garbage-pile")
    befores = []
    for n in range(count):
        photo_uuid = str(uuid.uuid4())
        response = upload(field_client, visit, camera_jpeg(seed=n + 1, gps=NEAR), client_uuid=photo_uuid)
        assert response.status_code == 201, response.content
        befores.append(photo_uuid)
        Finding.objects.create(
            inspection=visit,
            category=kind,
            severity="moderate",
            description=f"垃圾堆放 {n}",
            longitude=LON,
            latitude=LAT,
            datum="wgs84",
            photo_uuids=[photo_uuid],
            created_by=member.user,
        )
    process_all()
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    visit.refresh_from_db()
    opened = cases_open_for_inspection(inspection=visit, hand_over=True)
    return sorted(opened, key=lambda c: c.finding.description), befores


def rectify(client: Any, case: Case, photo_uuids: list[str]) -> Any:
    body = {"client_uuid": str(uuid.uuid4()), "description": "已清理", "photo_uuids": photo_uuids}
    return client.post(f"/api/v1/cases/{case.pk}/rectifications/", body, format="json")


# --- photo_facts -------------------------------------------------------------------------


def test_photo_facts_reads_processed_photos_in_one_query(django_assert_num_queries: Any) -> None:
    member = team_member()
    visit = builders.inspection(team=[member])
    client = client_for(member.user)
    with_gps, without_gps, waiting = (str(uuid.uuid4()) for _ in range(3))
    upload(client, visit, camera_jpeg(seed=1, gps=NEAR), client_uuid=with_gps)
    upload(client, visit, camera_jpeg(seed=2, gps=None), client_uuid=without_gps)
    process_all()
    upload(client, visit, camera_jpeg(seed=3, gps=NEAR), client_uuid=waiting)  # not processed yet

    with django_assert_num_queries(1):
        facts = photo_facts([without_gps, waiting, "not-a-uuid", with_gps, str(uuid.uuid4())])

    assert [f.uuid for f in facts] == [without_gps, with_gps]
    no_gps, gps = facts
    assert (no_gps.longitude, no_gps.latitude, no_gps.datum) == (None, None, "")
    assert gps.datum == "wgs84"
    assert gps.longitude == pytest.approx(NEAR[0], abs=1e-5)
    assert gps.latitude == pytest.approx(NEAR[1], abs=1e-5)
    stored = Photo.objects.get(client_uuid=with_gps).phash
    assert stored is not None
    assert gps.phash == f"{imaging.phash_from_db(stored):016x}" and len(gps.phash) == 16
    assert photo_facts([]) == []


# --- flags refreshed when processing finishes ------------------------------------------


def test_after_photo_flags_appear_when_the_photos_are_processed() -> None:
    verifiers(3)
    (far_case, copy_case, good_case), befores = cases_with_before_photos(3)
    party = client_for(responsible_party("330523108"))
    after = {
        "far": camera_jpeg(seed=11, gps=FAR),
        # the before-photo of the second finding, re-encoded: the same picture sent again
        "copy": camera_jpeg(seed=2, gps=NEAR, quality=70),
        "good": camera_jpeg(seed=13, gps=NEAR),
    }
    uuids = {}
    for name, case in (("far", far_case), ("copy", copy_case), ("good", good_case)):
        uuids[name] = str(uuid.uuid4())
        response = upload_to_case(party, case, after[name], client_uuid=uuids[name])
        assert response.status_code == 201, response.content
        assert response.json()["case"] == case.pk and response.json()["purpose"] == "after"
        # The rectification names its photos before they are processed: no facts, no flags yet.
        response = rectify(party, case, [uuids[name]])
        assert response.status_code == 201, response.content
    assert all(r.flags == [] for r in Rectification.objects.all())

    process_all()

    far = Rectification.objects.get(case=far_case)
    copy = Rectification.objects.get(case=copy_case)
    good = Rectification.objects.get(case=good_case)
    assert [f["code"] for f in far.flags] == ["far_from_finding"]
    assert (
        far.flags[0]["params"]["photo"] == uuids["far"] and 2500 < far.flags[0]["params"]["distance_m"] < 3300
    )
    assert [f["code"] for f in copy.flags] == ["near_duplicate_of_before"]
    assert copy.flags[0]["params"]["before_photo"] == befores[1]
    assert good.flags == []
    # Processing is idempotent and so is the refresh.
    for photo in Photo.objects.filter(case__isnull=False):
        evidence.photo_process(photo_id=photo.pk)
        assert evidence.rectifications_refresh_for(photo) == 1
    assert Rectification.objects.get(case=far_case).flags == far.flags


def test_rectifications_naming_a_photo_are_found_in_one_query(django_assert_num_queries: Any) -> None:
    verifiers(3)
    (first, second), befores = cases_with_before_photos(2)
    party_user = responsible_party("330523108")
    after = str(uuid.uuid4())
    rectification_submit(
        case=first, actor=party_user, client_uuid=uuid.uuid4(), description="x", photo_uuids=[after]
    )
    rectification_submit(
        case=second, actor=party_user, client_uuid=uuid.uuid4(), description="y", photo_uuids=[]
    )

    with django_assert_num_queries(1):
        by_after = list(rectifications_naming(after))
    by_before = list(rectifications_naming(befores[1]))

    assert [r.case_id for r in by_after] == [first.pk]
    assert [r.case_id for r in by_before] == [second.pk]  # a late before-photo changes the comparison too
    assert list(rectifications_naming(uuid.uuid4())) == []


def test_the_lookup_is_served_by_gin_indexes_on_postgresql() -> None:
    """Both sides of the union can use their index (seq scans off: tiny tables would not need it)."""
    from django.db import connection

    names = {}
    with connection.cursor() as cursor:
        for table in (Finding._meta.db_table, Rectification._meta.db_table):
            constraints = connection.introspection.get_constraints(cursor, table)
            names[table] = {name: info.get("type") for name, info in constraints.items() if info["index"]}
    gin = {f"{table}_photo_uuids_gin" for table in names}
    found = {name for table in names for name, kind in names[table].items() if name in gin}

    if connection.vendor != "postgresql":
        assert found == set()  # SQLite has no GIN indexes; its lookup scans
        return
    assert found == gin and {names[t][f"{t}_photo_uuids_gin"] for t in names} == {"gin"}
    query = rectifications_naming(uuid.uuid4())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert all(name in plan for name in gin), plan


# --- uploading after-photos ----------------------------------------------------------------


def test_only_the_responsible_party_of_the_village_uploads_to_a_case_and_scope_errors_are_404() -> None:
    (case,), _befores = cases_with_before_photos(1)
    content = camera_jpeg(seed=21, gps=NEAR)

    elsewhere = upload_to_case(client_for(responsible_party("330502")), case, content)
    a_supervisor = upload_to_case(client_for(supervisor("3305")), case, content)
    an_inspector = upload_to_case(client_for(team_member().user), case, content)
    no_such = upload_to_case(client_for(responsible_party("330523108")), Case(pk=999999), content)

    for response in (elsewhere, a_supervisor, an_inspector, no_such):
        assert_problem(response, 404, "not_found")
    assert not Photo.objects.filter(case=case).exists()


def test_a_case_upload_is_an_after_photo_idempotent_like_any_other() -> None:
    (case,), _befores = cases_with_before_photos(1)
    party = client_for(responsible_party("330523108"))
    content = camera_jpeg(seed=22, gps=NEAR)
    key = str(uuid.uuid4())

    first = upload_to_case(party, case, content, client_uuid=key)
    replay = upload_to_case(party, case, content, client_uuid=key)
    changed = upload_to_case(party, case, camera_jpeg(seed=23, gps=NEAR), client_uuid=key)
    wrong_purpose = upload_to_case(party, case, content, purpose="evidence")
    both = party.post(
        "/api/v1/photos/",
        {
            "file": __import__("io").BytesIO(content),
            "client_uuid": str(uuid.uuid4()),
            "case": case.pk,
            "inspection": case.inspection_id,
        },
        format="multipart",
    )

    assert first.status_code == 201 and replay.status_code == 200
    assert replay.json()["client_uuid"] == key
    assert_problem(changed, 409, "uuid_conflict")
    assert wrong_purpose.status_code == 400
    assert both.status_code == 400
    photo = Photo.objects.get(client_uuid=key)
    assert (photo.case_id, photo.inspection_id, photo.purpose) == (case.pk, None, "after")
    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    with photo.original.open("rb") as stored:
        assert stored.read() == content


def test_a_closed_case_takes_no_more_photos() -> None:
    (case,), _befores = cases_with_before_photos(1)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=timezone.now())

    response = upload_to_case(client_for(responsible_party("330523108")), case, camera_jpeg(seed=24))

    assert_problem(response, 409, "case_closed")


def test_after_photos_arrive_over_tus_too() -> None:
    (case,), _befores = cases_with_before_photos(1)
    client: Any = client_for(responsible_party("330523108"))
    foreign_client: Any = client_for(responsible_party("330502"))
    content = camera_jpeg(seed=25, gps=NEAR)
    key = str(uuid.uuid4())
    header = metadata_header(client_uuid=key, case=str(case.pk), filename="after.jpg")

    created = client.post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(len(content)), HTTP_UPLOAD_METADATA=header, **TUS
    )
    assert created.status_code == 201, created.content
    done = client.generic(
        "PATCH",
        created["Location"],
        content,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    foreign = foreign_client.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(len(content)),
        HTTP_UPLOAD_METADATA=metadata_header(client_uuid=str(uuid.uuid4()), case=str(case.pk)),
        **TUS,
    )

    assert done.status_code == 204, done.content
    photo = Photo.objects.get(client_uuid=key)
    assert (photo.case_id, photo.purpose, photo.channel) == (case.pk, "after", "tus")
    assert_problem(foreign, 404, "not_found")


def test_the_original_goes_to_the_party_the_supervisors_and_the_verifying_inspector() -> None:
    verifiers(1)
    (case,), _befores = cases_with_before_photos(1)
    party_user = responsible_party("330523108")
    key = str(uuid.uuid4())
    assert (
        upload_to_case(client_for(party_user), case, camera_jpeg(seed=26), client_uuid=key).status_code == 201
    )
    rectify(client_for(party_user), case, [key])
    follow_up = FollowUp.objects.get(case=case, kind=FollowUp.Kind.VERIFICATION)
    verifier = follow_up.inspector.user
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        window_start=timezone.now() - timedelta(hours=1), window_end=timezone.now() + timedelta(hours=8)
    )
    url = f"/api/v1/photos/{key}/original/"

    def fetch(user: Any) -> int:
        return int(client_for(user).get(url).status_code)

    assert fetch(party_user) == 200
    assert fetch(supervisor("3305")) == 200
    assert fetch(verifier) == 200
    assert fetch(supervisor("3302")) == 404  # another jurisdiction: not even the photo's existence
    assert fetch(responsible_party("330502")) == 404
    assert fetch(team_member().user) == 404


def test_a_photo_belongs_to_exactly_one_of_an_inspection_and_a_case() -> None:
    (case,), _befores = cases_with_before_photos(1)
    photo = Photo.objects.filter(inspection__isnull=False).first()
    assert photo is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        Photo.objects.filter(pk=photo.pk).update(case=case)
    with pytest.raises(IntegrityError), transaction.atomic():
        Photo.objects.filter(pk=photo.pk).update(inspection=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Photo.objects.filter(pk=photo.pk).update(inspection=None, case=case)  # purpose is evidence
    Photo.objects.filter(pk=photo.pk).update(inspection=None, case=case, purpose="after")


# --- the tus clean-up on the beat schedule ----------------------------------------------


def test_the_tus_clean_up_is_on_the_beat_schedule_after_migrate() -> None:
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(name="evidence: delete expired resumable uploads")
    assert entry.task == "inspections.uploads_expire"
    assert entry.enabled and entry.crontab is not None and entry.expire_seconds
    PeriodicTask.objects.filter(pk=entry.pk).update(enabled=False)

    ensure(ENTRIES)  # a later migrate keeps the administrator's edit

    assert not PeriodicTask.objects.get(pk=entry.pk).enabled
    assert PeriodicTask.objects.filter(task="inspections.uploads_expire").count() == 1
