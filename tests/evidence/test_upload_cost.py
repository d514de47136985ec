"""What one photo upload costs the database, and what its answer shows without asking.

The upload is the phone's hot path (50 phones at once on a 2-core machine):
its queries are counted, so that a regression fails here rather than in the
benchmark (``tests/benchmarks/bench_upload.py``). The answer to a new photo is
built without reading who may see it (the sender may: they passed the
inspection's or the case's check) and must show exactly what a read of the same
photo by the same caller shows.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from inspections.evidence.api_output import PhotoOutput, photo_reader_context
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import camera_jpeg, process_all, responsible_party, upload
from tests.builders import inspector as team_member
from tests.conftest import client_for
from tests.evidence.test_rectification import cases_with_before_photos, upload_to_case

pytestmark = pytest.mark.django_db

# 1 user (JWT), 1 the inspection the caller may photograph (with its village), 1 the
# client UUID (a replay is compared before anything is stored), then the transaction:
# 1 the inspection locked for update, 1 insert, plus its BEGIN and COMMIT (here a
# savepoint and its release).
UPLOAD_QUERIES = 7


def test_a_photo_upload_asks_seven_queries_and_the_first_of_a_visit_one_more(
    django_assert_max_num_queries: Any,
) -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    assert inspection.status == Inspection.Status.SCHEDULED

    with django_assert_max_num_queries(UPLOAD_QUERIES + 1):  # the visit starts: one UPDATE
        first = upload(client, inspection, camera_jpeg(seed=1))
    assert first.status_code == 201, first.content
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.IN_PROGRESS

    with django_assert_max_num_queries(UPLOAD_QUERIES):
        second = upload(client, inspection, camera_jpeg(seed=2))
    assert second.status_code == 201, second.content
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.IN_PROGRESS


def test_an_after_photo_upload_asks_two_more_the_callers_role_and_jurisdiction(
    django_assert_max_num_queries: Any,
) -> None:
    builders.verifiers(1)
    (case,), _befores = cases_with_before_photos(1)
    party = client_for(responsible_party("330523108"))

    # The case in place of the inspection; can_rectify reads the caller's groups and jurisdiction.
    with django_assert_max_num_queries(UPLOAD_QUERIES + 2):
        response = upload_to_case(party, case, camera_jpeg(seed=21))
    assert response.status_code == 201, response.content


def read_back(user: Any, client_uuid: str) -> dict[str, Any]:
    photo = Photo.objects.get(client_uuid=client_uuid)
    return dict(PhotoOutput(photo, context=photo_reader_context(user, [photo])).data)


def test_the_answer_to_a_new_photo_is_what_its_sender_would_read() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    client_uuid = str(uuid.uuid4())

    created = upload(client, inspection, camera_jpeg(seed=3, gps=(119.6353, 30.537)), client_uuid=client_uuid)

    assert created.status_code == 201, created.content
    assert created.json()["files"]["original"] is not None  # the sender sees the original
    assert created.json() == read_back(member.user, client_uuid)


def test_the_answer_to_a_new_after_photo_is_what_its_sender_would_read() -> None:
    builders.verifiers(1)
    (case,), _befores = cases_with_before_photos(1)
    party_user = responsible_party("330523108")
    client_uuid = str(uuid.uuid4())

    created = upload_to_case(client_for(party_user), case, camera_jpeg(seed=22), client_uuid=client_uuid)

    assert created.status_code == 201, created.content
    assert created.json()["files"]["original"] is not None
    assert created.json() == read_back(party_user, client_uuid)


def test_a_replay_answers_with_the_flags_its_processing_found() -> None:
    """A replay's photo may be processed and flagged since: its answer is read, not assumed."""
    member = team_member()
    inspection = builders.inspection(team=[member])
    client = client_for(member.user)
    client_uuid = str(uuid.uuid4())
    content = camera_jpeg(seed=4)  # no GPS: flagged no_gps once processed

    assert upload(client, inspection, content, client_uuid=client_uuid).status_code == 201
    process_all()
    replay = upload(client, inspection, content, client_uuid=client_uuid)

    assert replay.status_code == 200, replay.content
    assert replay.json()["status"] == "ready"
    assert "no_gps" in {flag["code"] for flag in replay.json()["flags"]}
    assert replay.json() == read_back(member.user, client_uuid)
