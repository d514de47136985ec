"""Who may send a case's after-photos, and which files of a photo a caller may have."""

from __future__ import annotations

import pytest

from inspections.common.errors import NotFound
from inspections.evidence.models import Photo
from inspections.evidence.policies import may_see_file, photographable_inspection, rectifiable_case
from tests import builders
from tests.builders import (
    YUCUN,
    camera_jpeg,
    open_case,
    process_all,
    responsible_party,
    supervisor,
    upload,
    user,
)
from tests.builders import inspector as team_member
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_only_the_villages_responsible_party_and_a_superuser_may_send_after_photos() -> None:
    case = open_case()
    party = responsible_party(YUCUN[:9])

    assert rectifiable_case(party, case.pk) == case
    assert rectifiable_case(user(is_superuser=True), case.pk) == case
    for refused in (
        responsible_party("330521"),  # another county
        supervisor(YUCUN[:6]),  # sees the case, does not rectify it
        responsible_party(YUCUN[:9], is_active=False),
    ):
        with pytest.raises(NotFound):
            rectifiable_case(refused, case.pk)
    with pytest.raises(NotFound):
        rectifiable_case(party, case.pk + 1000)


def test_evidence_photos_go_to_the_team_of_an_open_window_only() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])

    assert photographable_inspection(member.user, inspection.pk) == inspection
    with pytest.raises(NotFound):
        photographable_inspection(team_member().user, inspection.pk)


def test_renditions_go_to_whoever_sees_the_photo_and_the_original_only_as_may_see_original_says() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    upload(client_for(member.user), inspection, camera_jpeg(exif=False))
    process_all()
    photo = Photo.objects.get()
    party = responsible_party(inspection.village.code[:9])

    assert all(may_see_file(member.user, photo, kind) for kind in Photo.FILE_KINDS)
    assert may_see_file(party, photo, "preview") and may_see_file(party, photo, "thumbnail")
    assert not may_see_file(party, photo, "original")
    assert not may_see_file(member.user, photo, "exif")
