"""Evidence flags are stored as a code and facts, and put into words only when read."""

from __future__ import annotations

import pytest
from django.utils import translation

from inspections.evidence.flags import flag, flag_explanation, photo_flags_explained
from inspections.evidence.models import Photo
from tests import builders
from tests.builders import camera_jpeg, process_all, upload
from tests.builders import inspector as team_member
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def processed_in_english() -> Photo:
    """A photo without EXIF, received and processed while English is the active language."""
    member = team_member()
    inspection = builders.inspection(team=[member])
    with translation.override("en"):
        response = upload(client_for(member.user), inspection, camera_jpeg(exif=False))
        assert response.status_code == 201, response.content
        process_all()
    return Photo.objects.get()


def test_it_stores_each_flag_as_a_code_and_its_facts_never_as_a_sentence() -> None:
    photo = processed_in_english()

    assert photo.flags == [flag("no_exif"), flag("no_gps", invalid=False)]
    assert photo.flags == [
        {"code": "no_exif", "params": {}},
        {"code": "no_gps", "params": {"invalid": False}},
    ]


def test_a_flag_stored_under_one_language_is_explained_in_the_readers_language() -> None:
    photo = processed_in_english()

    with translation.override("zh-hans"):
        chinese = photo_flags_explained(photo)
    with translation.override("en"):
        english = photo_flags_explained(photo)

    assert [f["explanation"] for f in chinese] == [
        "文件完全没有 EXIF 元数据：无法核对拍摄时间、位置或设备。",
        "文件没有 GPS 位置。",
    ]
    assert [f["explanation"] for f in english] == [
        "The file has no EXIF metadata at all: no camera time, position or device to check.",
        "The file carries no GPS position.",
    ]
    assert [(f["code"], f["facts"]) for f in chinese] == [("no_exif", {}), ("no_gps", {"invalid": False})]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(900, "15 min ahead of the server's"), (-1800, "30 min behind the server's")],
)
def test_it_tells_which_way_the_phone_clock_was_off(seconds: int, words: str) -> None:
    with translation.override("en"):
        assert words in flag_explanation(flag("clock_skew", seconds=seconds))


def test_it_names_the_case_of_a_duplicate_after_photo_and_the_inspection_of_an_evidence_photo() -> None:
    of_case = flag("exact_duplicate", photo="p-1", inspection=None, case=7, village="余村")
    of_inspection = flag("near_duplicate", photo="p-2", inspection=3, village="余村", distance=4)

    with translation.override("en"):
        assert "of case 7 (余村)" in flag_explanation(of_case)
        assert "of inspection 3 (余村)" in flag_explanation(of_inspection)
        assert "differ in 4 of 64 bits" in flag_explanation(of_inspection)


def test_an_unknown_flag_is_shown_by_its_code() -> None:
    assert flag_explanation({"code": "something_new", "params": {}}) == "something_new"
