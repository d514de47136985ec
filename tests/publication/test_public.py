"""一公开: public pages and API show published results and typical cases only, redacted."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image

from inspections.common.errors import DomainError
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from inspections.publication import services as publication_services
from inspections.publication.models import Publication, TypicalCase
from tests import builders
from tests.builders import InspectorFactory, open_case, responsible_party, submitted_inspection, supervisor

pytestmark = pytest.mark.django_db

PHOTO = Path(__file__).parent.parent / "fixtures" / "photos" / "exif_gps.jpg"  # Pillow's test image, with GPS
PHOTO_UUID = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def named_people():  # type: ignore[no-untyped-def]
    """A team and a responsible party with names that must never be public."""
    team = InspectorFactory(user__first_name="张", user__last_name="伟明", user__username="zhang-weiming")
    party = responsible_party("330523108", first_name="李", last_name="秀英", username="li-xiuying")
    return team, party


def typical(case, published: bool, actor) -> TypicalCase:  # type: ignore[no-untyped-def]
    # An after-photo of the case: a typical case shows only its case's photos.
    Photo.objects.get_or_create(
        client_uuid=PHOTO_UUID,
        defaults={
            "case": case,
            "purpose": Photo.Purpose.AFTER,
            "uploaded_by": actor,
            "channel": Photo.Channel.MULTIPART,
            "original": "originals/after.jpg",
            "content_type": "image/jpeg",
            "size": 1,
            "sha256": "0" * 64,
        },
    )
    TypicalCase.objects.create(
        case=case,
        title_zh_hans="村口垃圾长期堆放",
        title_en="Garbage piled at the village entrance",
        summary_zh_hans="检查发现村口垃圾长期堆放，已责令限期整改。",
        summary_en="Garbage had piled up for months; rectification ordered.",
        photo_uuids=[PHOTO_UUID],
    )
    if published:
        publication_services.typical_case_publish(case=case, actor=actor)
    return TypicalCase.objects.get(case=case)


def results(inspections, published: bool, actor) -> Publication:  # type: ignore[no-untyped-def]
    publication = publication_services.publication_create(
        title_zh_hans="2025年第一批抽查结果", title_en="2025 first batch", inspections=inspections
    )
    if published:
        publication_services.publication_publish(publication=publication, actor=actor)
    return publication


def everything_public(client: Client) -> str:
    """Every public page and API answer, concatenated."""
    parts = []
    for lang in ("zh-hans", "en"):
        parts.append(client.get(f"/public/{lang}/").content.decode())
        for kind in ("results", "typical-cases"):
            listing = client.get(f"/api/v1/public/{kind}/?lang={lang}")
            assert listing.status_code == 200
            parts.append(listing.content.decode())
            for row in listing.json()["results"]:
                parts.append(client.get(f"/api/v1/public/{kind}/{row['id']}/?lang={lang}").content.decode())
                page = "results" if kind == "results" else "cases"
                parts.append(client.get(f"/public/{lang}/{page}/{row['id']}/").content.decode())
    return "\n".join(parts)


def test_nothing_unpublished_appears(named_people) -> None:  # type: ignore[no-untyped-def]
    team, _party = named_people
    boss = supervisor("3305")
    case = open_case(team=[team])
    typical(case, published=False, actor=boss)
    results([case.inspection], published=False, actor=boss)

    client = Client()
    text = everything_public(client)

    assert "村口垃圾长期堆放" not in text
    assert "2025年第一批抽查结果" not in text
    assert client.get("/api/v1/public/typical-cases/").json()["count"] == 0
    assert client.get("/api/v1/public/results/").json()["count"] == 0


def test_published_items_appear_without_personal_names_or_field_notes(named_people) -> None:  # type: ignore[no-untyped-def]
    team, party = named_people
    boss = supervisor("3305", first_name="王", last_name="督查", username="wang-ducha")
    case = open_case(team=[team])
    typical(case, published=True, actor=boss)
    results([case.inspection], published=True, actor=boss)

    text = everything_public(Client())

    assert "村口垃圾长期堆放" in text
    assert "2025年第一批抽查结果" in text
    assert "Garbage piled at the village entrance" in text
    assert case.village.code in text
    # names, usernames, the credential number, the inspector's field notes
    secrets = ["伟明", "zhang-weiming", "秀英", "li-xiuying", "wang-ducha", "王督查", team.credential_number]
    secrets += [party.username, "垃圾堆放 0"]
    for secret in secrets:
        assert secret not in text, secret


def test_results_with_an_unsubmitted_inspection_cannot_be_published() -> None:
    boss = supervisor("3305")
    upcoming = submitted_inspection(status=Inspection.Status.SCHEDULED)
    publication = results([upcoming], published=False, actor=boss)

    with pytest.raises(DomainError) as refusal:
        publication_services.publication_publish(publication=publication, actor=boss)

    assert refusal.value.code == "publication_has_unsubmitted"


def test_an_embargoed_inspection_never_appears_even_in_published_results() -> None:
    boss = supervisor("3305")
    done = submitted_inspection(village_code="330523108204")
    publication = results([done], published=True, actor=boss)
    upcoming = submitted_inspection(village_code="330523108205", status=Inspection.Status.SCHEDULED)
    publication.inspections.add(upcoming)  # as if added behind the service's back

    text = everything_public(Client())

    assert "330523108204" in text
    assert "330523108205" not in text


def test_the_pages_speak_chinese_and_english() -> None:
    client = Client()

    chinese = client.get("/public/zh-hans/")
    english = client.get("/public/en/")

    assert chinese["Content-Language"] == "zh-hans"
    assert "已公开的检查结果" in chinese.content.decode()
    assert "Published inspection results" in english.content.decode()
    assert client.get("/public/fr/").status_code == 404
    assert client.get("/public/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/public/en/"


@pytest.mark.usefixtures("eager_celery")
def test_served_images_carry_no_exif_or_gps(  # type: ignore[no-untyped-def]
    monkeypatch, django_capture_on_commit_callbacks, settings, tmp_path
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    original = PHOTO.read_bytes()
    with Image.open(io.BytesIO(original)) as source:
        assert source.getexif().get_ifd(0x8825)  # the fixture does carry GPS
    monkeypatch.setattr(publication_services, "photo_original_bytes", lambda uuid: original)
    boss = supervisor("3305")
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):
        typical(case, published=True, actor=boss)

    client = Client()
    detail = client.get(f"/api/v1/public/typical-cases/{case.typical.pk}/").json()
    (photo,) = detail["photos"]
    served = b"".join(client.get(photo["url"]).streaming_content)  # type: ignore[attr-defined]
    page = client.get(f"/public/zh-hans/cases/{case.typical.pk}/").content.decode()

    assert photo["url"] in page
    with Image.open(io.BytesIO(served)) as public:
        assert public.format == "JPEG"
        assert not public.getexif()
        assert "exif" not in public.info
    assert b"Exif" not in served
    assert b"GPS" not in served


def test_organisers_are_warned_once_before_results_are_due() -> None:
    from django.core import mail

    from tests.builders import at

    organiser = supervisor("3305", email="organiser@example.cn")
    visit = submitted_inspection(submitted_at=at(2025, 3, 3, 10))  # window closed Monday 3 March
    publication = publication_services.publication_create(
        title_zh_hans="三月抽查结果", inspections=[visit], organisers=[organiser]
    )
    assert publication.due_on == dt.date(2025, 3, 31)  # 20 working days later

    early = publication_services.publications_warn_due(now=at(2025, 3, 20, 9))
    due_soon = publication_services.publications_warn_due(now=at(2025, 3, 24, 9))
    again = publication_services.publications_warn_due(now=at(2025, 3, 25, 9))

    assert (early, due_soon, again) == (0, 1, 0)
    assert [m.to for m in mail.outbox] == [["organiser@example.cn"]]


@pytest.mark.usefixtures("eager_celery")
def test_a_published_typical_case_serves_its_uploaded_photo_without_exif_or_gps(  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks, settings, tmp_path
) -> None:
    """End to end: a phone uploads a photo with GPS; once published, the public copy has none."""
    import uuid

    from django.utils import timezone

    from inspections.cases.services import opening as case_services
    from inspections.fieldwork.models import Finding
    from tests.builders import camera_jpeg, inspection, process_all, upload
    from tests.builders import inspector as team_member
    from tests.conftest import client_for

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    member = team_member()
    visit = inspection(team=[member])
    original = camera_jpeg(seed=5, gps=(119.6353, 30.5370))
    photo_uuid = str(uuid.uuid4())
    assert upload(client_for(member.user), visit, original, client_uuid=photo_uuid).status_code == 201
    process_all()
    assert publication_services.photo_original_bytes(photo_uuid) == original
    assert publication_services.photo_original_bytes(str(uuid.uuid4())) is None
    assert publication_services.photo_original_bytes("not-a-uuid") is None
    Finding.objects.create(
        inspection=visit,
        category=builders.category(code="published-photo"),
        severity="moderate",
        description="村口垃圾",
        photo_uuids=[photo_uuid],
        created_by=member.user,
    )
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    visit.refresh_from_db()
    (case,) = case_services.cases_open_for_inspection(inspection=visit, hand_over=True)
    TypicalCase.objects.create(
        case=case, title_zh_hans="村口垃圾", summary_zh_hans="已整改。", photo_uuids=[photo_uuid]
    )
    with django_capture_on_commit_callbacks(execute=True):
        publication_services.typical_case_publish(case=case, actor=supervisor("3305"))

    client = Client()
    (photo,) = client.get(f"/api/v1/public/typical-cases/{case.typical.pk}/").json()["photos"]
    served = b"".join(client.get(photo["url"]).streaming_content)  # type: ignore[attr-defined]

    with Image.open(io.BytesIO(original)) as source:
        assert source.getexif().get_ifd(0x8825)  # the upload did carry GPS
    with Image.open(io.BytesIO(served)) as public:
        assert public.format == "JPEG"
        assert not public.getexif()
        assert "exif" not in public.info
    assert b"Exif" not in served and b"GPS" not in served


def test_a_supervisor_saving_results_keeps_the_inspections_outside_their_county() -> None:
    """The form lists only what the supervisor may see; the other county's visits stay in the results."""
    from inspections.accounts.roles import sync_role_groups

    sync_role_groups()
    anji = submitted_inspection(village_code="330523108204")
    deqing = submitted_inspection(village_code="330521101201")
    organiser = supervisor("330500")
    county = supervisor("330523")
    publication = publication_services.publication_create(
        title_zh_hans="两县抽查结果", inspections=[anji, deqing], organisers=[organiser, county]
    )
    client = Client()
    client.force_login(county)
    url = f"/admin/inspections/publication/{publication.pk}/change/"

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 more inspection, outside what you may see, stays in these results." in html
    assert set(page.context["adminform"].form.fields["inspections"].queryset) == {anji}
    saved = client.post(
        url,
        {
            "title_zh_hans": "两县抽查结果（修订）",
            "title_en": "",
            "inspections": [anji.pk],
            "organisers": [county.pk],  # the prefecture's organiser is not the county's to offer
        },
    )

    assert saved.status_code == 302, saved.content.decode()[:2000]
    publication.refresh_from_db()
    assert publication.title_zh_hans == "两县抽查结果（修订）"
    assert set(publication.inspections.all()) == {anji, deqing}
    assert set(publication.organisers.all()) == {organiser, county}


def test_a_supervisor_can_still_take_their_own_county_out_of_the_results() -> None:
    from inspections.accounts.roles import sync_role_groups

    sync_role_groups()
    anji = submitted_inspection(village_code="330523108204")
    anji_too = submitted_inspection(village_code="330523108204")
    deqing = submitted_inspection(village_code="330521101201")
    county = supervisor("330523")
    publication = publication_services.publication_create(
        title_zh_hans="两县抽查结果", inspections=[anji, anji_too, deqing], organisers=[county]
    )
    client = Client()
    client.force_login(county)

    saved = client.post(
        f"/admin/inspections/publication/{publication.pk}/change/",
        {
            "title_zh_hans": "两县抽查结果",
            "title_en": "",
            "inspections": [anji.pk],
            "organisers": [county.pk],
        },
    )

    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert set(publication.inspections.all()) == {anji, deqing}
