"""Every read of an unsubmitted inspection, on every surface, adds a row to the embargo access log.

The API's inspection detail, a photo's metadata and its files, the review
admin's lists and pages of inspections and check-ins, and the admin's photo
files: one row per inspection shown, written in one query per request. Reads
of a submitted inspection are not logged.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.fieldwork.models import CheckIn, Inspection
from inspections.sampling.models import EmbargoAccessLog
from tests import builders
from tests.builders import inspector as team_member
from tests.builders import organiser
from tests.conftest import client_for
from tests.fieldwork.test_api import check_in_body

pytestmark = pytest.mark.django_db

LOG_TABLE = EmbargoAccessLog._meta.db_table


def visit_under_way() -> tuple[Inspection, Any, Any]:
    """An inspection in progress with a check-in and a processed photo; its team member and organiser."""
    member = team_member()
    visit = builders.inspection(team=[member], status=Inspection.Status.IN_PROGRESS)
    boss = organiser()
    visit.organisers.add(boss)
    response = client_for(member.user).post(f"/api/v1/inspections/{visit.pk}/check-in/", check_in_body())
    assert response.status_code == 201, response.content
    builders.photo(inspection=visit)
    return visit, member, boss


def logged(read: Any) -> tuple[Any, list[tuple[str, int]], int]:
    """The response of ``read()``, the log rows it added (action, inspection) and its inserts into the log."""
    before = set(EmbargoAccessLog.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        response = read()
    rows = list(
        EmbargoAccessLog.objects.exclude(pk__in=before).order_by("pk").values_list("action", "inspection_id")
    )
    inserts = sum(1 for q in queries if q["sql"].startswith(f'INSERT INTO "{LOG_TABLE}"'))
    return response, rows, inserts


def api_reads(visit: Inspection) -> list[tuple[str, str]]:
    photo = visit.photos.get()
    return [
        ("api:inspections:detail", f"/api/v1/inspections/{visit.pk}/"),
        ("api:photos:detail", f"/api/v1/photos/{photo.client_uuid}/"),
        ("api:photos:file", f"/api/v1/photos/{photo.client_uuid}/thumbnail/"),
        ("api:photos:file", f"/api/v1/photos/{photo.client_uuid}/original/"),
    ]


def admin_reads(visit: Inspection) -> list[tuple[str, str]]:
    photo = visit.photos.get()
    check_in = CheckIn.objects.get(inspection=visit)
    return [
        ("admin:inspection:list", "/admin/inspections/inspection/"),
        ("admin:inspection:view", f"/admin/inspections/inspection/{visit.pk}/change/"),
        ("admin:checkin:list", "/admin/inspections/checkin/"),
        ("admin:checkin:view", f"/admin/inspections/checkin/{check_in.pk}/change/"),
        ("admin:photo:file", f"/admin/inspections/inspection/photo/{photo.client_uuid}/thumbnail/"),
    ]


def test_each_api_read_of_an_unsubmitted_inspection_adds_one_row_in_one_query() -> None:
    visit, member, _boss = visit_under_way()
    client = client_for(member.user)

    for action, url in api_reads(visit):
        response, rows, inserts = logged(lambda url=url: client.get(url))
        assert response.status_code == 200, (url, response.content)
        assert (rows, inserts) == ([(action, visit.pk)], 1), url


def test_each_admin_read_of_an_unsubmitted_inspection_adds_one_row_in_one_query(client: Any) -> None:
    visit, _member, boss = visit_under_way()
    client.force_login(boss)

    for action, url in admin_reads(visit):
        response, rows, inserts = logged(lambda url=url: client.get(url))
        assert response.status_code == 200, (url, response.content)
        assert (rows, inserts) == ([(action, visit.pk)], 1), url


def test_a_list_logs_each_unsubmitted_inspection_it_shows_once(client: Any) -> None:
    visit, member, boss = visit_under_way()
    client_for(member.user).post(f"/api/v1/inspections/{visit.pk}/check-in/", check_in_body())
    done = builders.submitted_inspection()
    done.organisers.add(boss)
    client.force_login(boss)

    _response, inspections, _inserts = logged(lambda: client.get("/admin/inspections/inspection/"))
    _response, check_ins, _inserts = logged(lambda: client.get("/admin/inspections/checkin/"))

    assert inspections == [("admin:inspection:list", visit.pk)]
    assert check_ins == [("admin:checkin:list", visit.pk)]  # two check-ins, one inspection


def test_reads_of_a_submitted_inspection_are_not_logged(client: Any) -> None:
    visit, member, boss = visit_under_way()
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    api = client_for(member.user)
    client.force_login(boss)

    for _action, url in api_reads(visit):
        response, rows, inserts = logged(lambda url=url: api.get(url))
        assert response.status_code == 200 and (rows, inserts) == ([], 0), url
    for _action, url in admin_reads(visit):
        response, rows, inserts = logged(lambda url=url: client.get(url))
        assert response.status_code == 200 and (rows, inserts) == ([], 0), url


def test_a_refused_read_logs_nothing() -> None:
    visit, _member, _boss = visit_under_way()
    stranger = client_for(team_member().user)

    for _action, url in api_reads(visit):
        response, rows, _inserts = logged(lambda url=url: stranger.get(url))
        assert response.status_code == 404 and rows == [], url
