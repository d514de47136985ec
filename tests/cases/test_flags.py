"""After-photo flags: measured with villages.geo, stored as a code and its facts, explained when read."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation

from inspections.cases.flags import after_photo_flag_explanation, after_photo_flags
from inspections.cases.models import Rectification
from inspections.evidence.selectors import PhotoFacts
from inspections.fieldwork.models import Finding
from tests.builders import open_case, responsible_party
from tests.conftest import client_for
from villages.geo import wgs84_to_gcj02

YUCUN = (119.68, 30.52)  # WGS-84
PARIS = (2.35, 48.85)


def finding_at(longitude: float, latitude: float, datum: str) -> Finding:
    return Finding(longitude=longitude, latitude=latitude, datum=datum)


def photo_at(longitude: float, latitude: float, phash: str = "") -> PhotoFacts:
    return PhotoFacts(
        uuid=str(uuid.uuid4()), longitude=longitude, latitude=latitude, datum="wgs84", phash=phash
    )


def test_it_does_not_flag_a_photo_taken_where_a_gcj02_finding_was_made() -> None:
    finding = finding_at(*wgs84_to_gcj02(*YUCUN), datum="gcj02")

    assert after_photo_flags(finding=finding, before=[], after=[photo_at(*YUCUN)]) == []


def test_it_treats_the_datums_as_one_outside_china() -> None:
    """GCJ-02 leaves points outside China as they are: no shift of hundreds of metres there."""
    finding = finding_at(*PARIS, datum="gcj02")

    assert after_photo_flags(finding=finding, before=[], after=[photo_at(*PARIS)]) == []


def test_it_stores_a_far_photo_as_its_code_and_distance_only() -> None:
    finding = finding_at(*YUCUN, datum="wgs84")
    far = photo_at(YUCUN[0] + 0.01, YUCUN[1])  # about 960 m east

    (flag,) = after_photo_flags(finding=finding, before=[], after=[far])

    assert set(flag) == {"code", "params"} and set(flag["params"]) == {"photo", "distance_m"}
    assert (flag["code"], flag["params"]["photo"]) == ("far_from_finding", far.uuid)
    assert 900 < flag["params"]["distance_m"] < 1000


def test_it_stores_a_near_duplicate_as_its_code_and_both_photos() -> None:
    before = photo_at(*YUCUN, phash="f0f0f0f0f0f0f0f0")
    again = photo_at(*YUCUN, phash="f0f0f0f0f0f0f0f1")  # one bit apart

    flags = after_photo_flags(finding=finding_at(*YUCUN, datum="wgs84"), before=[before], after=[again])

    assert flags == [
        {"code": "near_duplicate_of_before", "params": {"photo": again.uuid, "before_photo": before.uuid}}
    ]


def test_it_explains_a_flag_in_the_readers_language() -> None:
    flag = {"code": "far_from_finding", "params": {"photo": str(uuid.uuid4()), "distance_m": 312}}

    with translation.override("en"):
        english = after_photo_flag_explanation(flag)
    with translation.override("zh-hans"):
        chinese = after_photo_flag_explanation(flag)

    assert english == "Taken 312 m from where the problem was found."
    assert chinese == "拍摄位置距问题发现处 312 米。"


@pytest.mark.django_db
def test_a_flag_stored_while_english_was_active_is_explained_in_chinese_to_a_chinese_reader() -> None:
    case = open_case()
    party = responsible_party("330523108")
    photo = str(uuid.uuid4())
    with translation.override("en"):
        # an older row: the sentence was translated when it was written, in the writer's language
        Rectification.objects.create(
            case=case,
            submitted_by=party,
            description="已清理",
            photo_uuids=[photo],
            flags=[
                {
                    "photo": photo,
                    "code": "far_from_finding",
                    "distance_m": 312,
                    "detail": "Taken 312 m from where the problem was found.",
                },
                {"code": "near_duplicate_of_before", "photo": photo, "before_photo": str(uuid.uuid4())},
            ],
        )

    chinese = client_for(party).get(f"/api/v1/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    english = client_for(party).get(f"/api/v1/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()

    (rectification,) = chinese["rectifications"]
    assert [f["detail"] for f in rectification["flags"]] == [
        "拍摄位置距问题发现处 312 米。",
        "与问题照片几乎相同。",
    ]
    assert rectification["flags"][0]["distance_m"] == 312 and rectification["flags"][0]["photo"] == photo
    assert [f["detail"] for f in english["rectifications"][0]["flags"]] == [
        "Taken 312 m from where the problem was found.",
        "Nearly the same picture as a photo of the problem.",
    ]


@pytest.mark.django_db
def test_the_api_shows_a_flag_in_the_shared_shape_as_it_always_has() -> None:
    case = open_case()
    party = responsible_party("330523108")
    photo = str(uuid.uuid4())
    Rectification.objects.create(
        case=case,
        submitted_by=party,
        description="已清理",
        photo_uuids=[photo],
        flags=[{"code": "far_from_finding", "params": {"photo": photo, "distance_m": 312}}],
    )

    body = client_for(party).get(f"/api/v1/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert body["rectifications"][0]["flags"] == [
        {
            "code": "far_from_finding",
            "photo": photo,
            "distance_m": 312,
            "detail": "拍摄位置距问题发现处 312 米。",
        }
    ]


@pytest.mark.django_db
def test_the_admin_explains_the_flags_in_the_readers_language() -> None:
    from django.test import Client

    from tests.builders import supervisor

    case = open_case()
    Rectification.objects.create(
        case=case,
        submitted_by=responsible_party("330523108"),
        description="已清理",
        flags=[{"code": "far_from_finding", "photo": str(uuid.uuid4()), "distance_m": 312}],
    )
    client = Client()
    client.force_login(supervisor("330523"))

    page = client.get(f"/admin/inspections/case/{case.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert page.status_code == 200
    assert "拍摄位置距问题发现处 312 米。" in page.content.decode()
    assert "far_from_finding" not in page.content.decode()
