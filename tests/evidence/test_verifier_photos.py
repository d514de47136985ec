"""A verification visit's team sees the photos of the finding it verifies, from the window's opening."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import FollowUp
from inspections.evidence.models import Photo
from tests import builders
from tests.conftest import client_for
from tests.fieldwork.test_phone_contract import cases_with_photos, team_member, visit_for

pytestmark = pytest.mark.django_db


def answers(user: User, photo: Photo) -> dict[str, int]:
    client = client_for(user)
    base = f"/api/v1/photos/{photo.client_uuid}/"
    return {
        "metadata": client.get(base).status_code,
        "thumbnail": client.get(f"{base}thumbnail/").status_code,
        "preview": client.get(f"{base}preview/").status_code,
        "original": client.get(f"{base}original/").status_code,
    }


def test_every_role_sees_the_finding_photos_as_the_rule_says() -> None:
    (problem,) = cases_with_photos(1)
    finding_photo = Photo.objects.get(client_uuid=problem.finding.photo_uuids[0])
    now = timezone.now()
    verifying = team_member()
    visit_for(problem, FollowUp.Kind.VERIFICATION, verifying, window_start=now - dt.timedelta(minutes=5))
    looking_back = team_member()
    visit_for(problem, FollowUp.Kind.LOOK_BACK, looking_back, window_start=now - dt.timedelta(minutes=5))
    first_team = problem.inspection.team.get()

    renditions_only = {"metadata": 200, "thumbnail": 200, "preview": 200, "original": 404}
    nothing = {"metadata": 404, "thumbnail": 404, "preview": 404, "original": 404}
    everything = {"metadata": 200, "thumbnail": 200, "preview": 200, "original": 200}
    expected = {
        "verifier, window open": (verifying.user, renditions_only),
        "look-back team": (looking_back.user, nothing),
        "another inspector": (team_member().user, nothing),
        "the finding's team": (first_team.user, everything),
        "supervisor of the county": (builders.supervisor(builders.ANJI), everything),
        "supervisor of another county": (builders.supervisor(builders.DEQING), nothing),
    }
    for role, (account, wanted) in expected.items():
        assert answers(account, finding_photo) == wanted, role


def test_the_verifier_sees_only_the_photos_of_the_finding_it_verifies() -> None:
    verified, other = cases_with_photos(2)
    verifier = team_member()
    visit_for(
        verified, FollowUp.Kind.VERIFICATION, verifier, window_start=timezone.now() - dt.timedelta(hours=1)
    )

    mine = Photo.objects.get(client_uuid=verified.finding.photo_uuids[0])
    theirs = Photo.objects.get(client_uuid=other.finding.photo_uuids[0])

    assert answers(verifier.user, mine)["thumbnail"] == 200
    assert answers(verifier.user, theirs) == {
        "metadata": 404,
        "thumbnail": 404,
        "preview": 404,
        "original": 404,
    }


def test_before_the_verification_window_opens_the_finding_photos_are_hidden_from_the_verifier() -> None:
    (problem,) = cases_with_photos(1)
    finding_photo = Photo.objects.get(client_uuid=problem.finding.photo_uuids[0])
    verifier = team_member()
    opens = timezone.now() + dt.timedelta(days=1)
    visit_for(problem, FollowUp.Kind.VERIFICATION, verifier, window_start=opens)

    assert set(answers(verifier.user, finding_photo).values()) == {404}
    with time_machine.travel(opens + dt.timedelta(minutes=1), tick=False):
        assert answers(verifier.user, finding_photo) == {
            "metadata": 200,
            "thumbnail": 200,
            "preview": 200,
            "original": 404,
        }
