"""The 问题整改单: one page per problem with its 交办, evidence (thumbnails, SHA-256, capture time),
timeline and time limit; for whoever sees the problem, showing only what they may see."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pypdf
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import Case, CaseEvent
from inspections.cases.services.handover import case_receive, case_submit_measures
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.problem_list import case_set_responsibility, case_stage_add
from inspections.cases.services.rectification_sheet import rectification_sheet_pdf
from inspections.cases.services.status import case_send_back
from inspections.common.china_time import display, local_date
from inspections.evidence import services as evidence_services
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding, Inspection
from tests.builders import (
    YUCUN,
    camera_jpeg,
    division,
    inspection,
    open_case,
    photo,
    responsible_party,
    submitted_inspection,
    supervisor,
    user,
)
from tests.cases.test_handover_permissions import ROLES, SEES, world
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ANJI, TOWNSHIP = "330523", "330523108"
URL = "/api/v1/cases/"
FINDING_PHOTO = "00000000-0000-4000-8000-000000000000"  # what submitted_inspection's finding names


def pages(content: bytes) -> list[pypdf.PageObject]:
    assert content.startswith(b"%PDF-")
    return list(pypdf.PdfReader(io.BytesIO(content)).pages)


def sheet_text(content: bytes) -> str:
    (page,) = pages(content)  # one page, always
    return page.extract_text()


def flat(text: str) -> str:
    """The text without the breaks and spaces the layout puts in (a hash wraps over lines)."""
    return "".join(text.split())


def english(reader: User, case: Case) -> Any:
    """The sheet over the API, asked for in English (the notes read the same whatever the catalogue)."""
    response = client_for(reader).get(f"{URL}{case.pk}/rectification-sheet/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    return response


def after_photo(case: Case, party: User, **exif: Any) -> Photo:
    """An after-photo uploaded for ``case`` by ``party`` as the phone does, then processed."""
    content = camera_jpeg(**exif)
    response = client_for(party).post(
        "/api/v1/photos/",
        {
            "file": SimpleUploadedFile("after.jpg", content, content_type="application/octet-stream"),
            "client_uuid": str(uuid.uuid4()),
            "case": case.pk,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    processed = evidence_services.photo_process(
        photo_id=Photo.objects.get(client_uuid=response.json()["client_uuid"]).pk
    )
    assert processed is not None and processed.thumbnail.name
    return processed


def rectify(case: Case, party: User, photos: list[Photo]) -> None:
    response = client_for(party).post(
        f"{URL}{case.pk}/rectifications/",
        {
            "client_uuid": str(uuid.uuid4()),
            "description": "已清运垃圾",
            "photo_uuids": [str(p.client_uuid) for p in photos],
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def problem_with_evidence(photos: int = 1, **exif: Any) -> tuple[Case, list[Photo]]:
    """A handed-over problem of 余村 whose finding has ``photos`` processed photos."""
    visit = submitted_inspection(status=Inspection.Status.IN_PROGRESS)
    named = [str(uuid.uuid4()) for _ in range(photos)]
    Finding.objects.filter(inspection=visit).update(photo_uuids=named)
    taken = [
        photo(inspection=visit, client_uuid=key, content=camera_jpeg(seed=n, **exif))
        for n, key in enumerate(named)
    ]
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    (case,) = cases_open_for_inspection(inspection=visit, hand_over=True)
    return case, taken


@pytest.fixture
def party() -> User:
    return responsible_party(TOWNSHIP)


@pytest.fixture
def county() -> User:
    return supervisor(ANJI)


def test_the_sheet_tells_the_problem_its_evidence_its_timeline_and_its_time_limit(
    party: User, county: User
) -> None:
    found_at = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    case, (evidence,) = problem_with_evidence(taken_at=found_at)
    case_set_responsibility(
        case=case,
        actor=county,
        division=division(TOWNSHIP),
        village=None,
        department=None,
        person_name="张三",
        person_post="副镇长",
        account=None,
    )
    case_receive(case=case, actor=party)
    case_submit_measures(case=case, actor=party, measures="清运垃圾，设置围挡")
    fixed_at = dt.datetime(2026, 11, 30, 23, 45, 10, tzinfo=dt.UTC)  # 07:45 on 1 December in China
    after = after_photo(case, party, seed=7, taken_at=fixed_at, offset="+00:00")
    rectify(case, party, [after])
    case.refresh_from_db()

    response = client_for(party).get(f"{URL}{case.pk}/rectification-sheet/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert response["Content-Disposition"] == f'attachment; filename="rectification-{case.pk}.pdf"'
    text = sheet_text(response.content)
    joined = flat(text)
    for expected in (
        f"#{case.pk}",
        "区划33",  # the province, the prefecture, the county, the township: the whole path
        "区划3305",
        "区划330523",
        "区划330523108",
        case.village.name,
        YUCUN,
        case.category.name,
        "垃圾堆放0",  # the finding
        f"{local_date(case.opened_at):%Y-%m-%d}",
        "张三",
        "副镇长",
        "责任单位",
        "整改时限",
        case.deadline.isoformat(),
        "证据照片",
        "已签收",  # the timeline's 签收
        "清运垃圾",  # the measures
    ):
        assert flat(expected) in joined, expected
    for shown in (evidence, after):
        assert shown.sha256 in joined and shown.sha256[:12] in text  # the prefix and the full hash
    assert display(found_at) in text and "2026-12-01 07:45" in text  # taken, in China time to the minute
    assert f"{case.deadline_working_days}" in text
    assert len(pages(response.content)[0].images) == 2  # both thumbnails


def test_the_admin_problem_page_links_the_sheet_in_its_object_tools_and_serves_it_in_scope(
    county: User,
) -> None:
    case = open_case()
    browser = Client()
    browser.force_login(county)

    page = browser.get(f"/admin/inspections/case/{case.pk}/change/")

    sheet = f"/admin/inspections/case/{case.pk}/rectification-sheet/"
    html = page.content.decode()
    assert page.status_code == 200 and sheet in html
    assert html.index(sheet) > html.index('class="object-tools"')
    downloaded = browser.get(sheet)
    assert (downloaded.status_code, downloaded["Content-Type"]) == (200, "application/pdf")
    assert f"#{case.pk}" in sheet_text(downloaded.content)

    elsewhere = Client()
    elsewhere.force_login(supervisor("330521"))
    assert elsewhere.get(sheet).status_code == 404
    assert elsewhere.get(f"/admin/inspections/case/{case.pk + 1000}/rectification-sheet/").status_code == 404
    staffless = Client()
    staffless.force_login(responsible_party(TOWNSHIP))
    assert staffless.get(sheet).status_code == 302  # to the admin login


@pytest.mark.parametrize("role", ROLES)
def test_the_sheet_is_for_everyone_who_sees_the_problem_over_the_api(role: str) -> None:
    case, caller = world(role)
    response = client_for(caller).get(f"{URL}{case.pk}/rectification-sheet/")
    assert response.status_code == (200 if role in SEES else 404)
    assert Client().get(f"{URL}{case.pk}/rectification-sheet/").status_code == 401


def test_a_problem_under_review_is_not_there_for_its_responsible_party(party: User, county: User) -> None:
    case = open_case(hand_over=False)
    assert client_for(party).get(f"{URL}{case.pk}/rectification-sheet/").status_code == 404
    assert client_for(county).get(f"{URL}{case.pk}/rectification-sheet/").status_code == 200


def test_a_long_story_still_fits_one_page_with_notes_of_what_was_left_out(party: User, county: User) -> None:
    case, _photos = problem_with_evidence(photos=6)
    Case.objects.filter(pk=case.pk).update(deadline=case.deadline + dt.timedelta(days=200))
    case.refresh_from_db()
    case.finding.description = "长" * 3000
    case.finding.save(update_fields=["description"])
    for n in range(25):
        case_stage_add(
            case=case,
            actor=county,
            description=f"第{n}阶段 " + "很长的说明" * 40,
            due_date=case.deadline - dt.timedelta(days=n),
        )
    case_receive(case=case, actor=party)
    case_submit_measures(case=case, actor=party, measures="措施" * 2000)
    events = CaseEvent.objects.filter(case=case).count()

    text = sheet_text(english(party, case).content)

    assert f"and {events - 10} more events" in text
    assert "and 2 more photos" in text
    assert "第0阶段" in text and "第24阶段" in text  # the first events, and the latest
    assert "第12阶段" not in text


def test_a_thumbnail_missing_from_the_storage_or_unreadable_is_a_labelled_box(party: User) -> None:
    case, (gone, broken) = problem_with_evidence(photos=2)
    default_storage.delete(gone.thumbnail.name)
    default_storage.delete(broken.thumbnail.name)
    default_storage.save(broken.thumbnail.name, ContentFile(b"not an image"))

    response = english(party, case)

    assert response.status_code == 200
    text = sheet_text(response.content)
    assert flat(text).count("Thumbnailunavailable") == 2
    assert gone.sha256 in flat(text) and broken.sha256 in flat(text)
    assert len(pages(response.content)[0].images) == 0


def test_a_photo_not_processed_yet_is_a_labelled_box_with_its_hash(party: User) -> None:
    visit = submitted_inspection(photos_per_finding=1, status=Inspection.Status.IN_PROGRESS)
    waiting = photo(inspection=visit, client_uuid=FINDING_PHOTO, process=False)
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    (case,) = cases_open_for_inspection(inspection=visit, hand_over=True)

    text = sheet_text(english(party, case).content)

    assert "Thumbnailnotrenderedyet" in flat(text) and waiting.sha256 in flat(text)


def test_the_number_of_queries_does_not_grow_with_the_problem(party: User, county: User) -> None:
    def queries(case: Case) -> int:
        viewer = User.objects.get(pk=county.pk)  # as a request loads it (nothing cached on it)
        with CaptureQueriesContext(connection) as captured:
            rectification_sheet_pdf(case=case, viewer=viewer, now=timezone.now())
        return len(captured)

    small, _none = problem_with_evidence(photos=1)
    large, _photos = problem_with_evidence(photos=5)
    case_receive(case=large, actor=party)
    for n in range(8):
        case_stage_add(case=large, actor=county, description=f"阶段{n}", due_date=large.deadline)
    after = [after_photo(large, party) for _ in range(3)]
    rectify(large, party, after[:2])
    case_send_back(case=large, actor=county, note="围挡未设置")
    rectify(large, party, after[2:])

    assert queries(large) == queries(small)


def test_a_visit_under_way_leaves_no_trace_on_the_sheet(party: User, county: User) -> None:
    """A photo of another visit, still under way, under a UUID the finding names: as if none."""
    visit = submitted_inspection(photos_per_finding=1)  # its photo never arrived
    (case,) = cases_open_for_inspection(inspection=visit, hand_over=True)
    now = timezone.now()

    def observe(hidden: bool) -> tuple[str, int]:
        with transaction.atomic():
            if hidden:
                pending = inspection(village=YUCUN, status=Inspection.Status.IN_PROGRESS)
                Photo.objects.create(
                    client_uuid=FINDING_PHOTO,
                    inspection=pending,
                    uploaded_by=user(),
                    channel=Photo.Channel.MULTIPART,
                    original="photos/originals/hidden.jpg",
                    content_type="image/jpeg",
                    size=1,
                    sha256="f" * 64,
                    status=Photo.Status.READY,
                )
            content = rectification_sheet_pdf(case=case, viewer=party, now=now)
            transaction.set_rollback(True)
        return sheet_text(content), len(pages(content)[0].images)

    without, with_hidden = observe(False), observe(True)

    assert with_hidden == without
    assert "f" * 16 not in without[0]
