"""When results are due: one rule, in China's calendar, used by the services and the admin alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from inspections.fieldwork.models import Inspection
from inspections.publication.errors import PublicationEmpty
from inspections.publication.services import publication_create, publication_due
from tests.builders import at, submitted_inspection, user

pytestmark = pytest.mark.django_db


def closing_at(moment: dt.datetime) -> Inspection:
    visit = submitted_inspection(submitted_at=moment - dt.timedelta(hours=2))
    Inspection.objects.filter(pk=visit.pk).update(window_end=moment)
    visit.refresh_from_db()
    return visit


@pytest.fixture
def ten_working_days(settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_PUBLICATION_WORKING_DAYS = 10


@pytest.mark.usefixtures("ten_working_days")
def test_it_counts_from_the_day_in_china_the_last_window_closed() -> None:
    # Half past midnight on Friday 24 January 2025 in China is still Thursday in UTC.
    last = closing_at(at(2025, 1, 24, 0, 30))
    earlier = closing_at(at(2025, 1, 20, 18))

    due = publication_due(inspections=[earlier, last])

    assert due.windows_closed_on == dt.date(2025, 1, 24)
    # Ten working days over the Spring Festival: 26 January and 8 February are worked.
    assert due.due_on == dt.date(2025, 2, 13)


def test_it_refuses_results_without_inspections() -> None:
    with pytest.raises(PublicationEmpty) as refusal:
        publication_due(inspections=[])

    assert (refusal.value.code, refusal.value.status) == ("publication_empty", 400)


@pytest.mark.usefixtures("ten_working_days")
def test_a_publication_created_by_the_service_stores_that_due_date() -> None:
    visit = closing_at(at(2025, 1, 24, 0, 30))

    publication = publication_create(title_zh_hans="一月抽查结果", inspections=[visit])

    due = publication_due(inspections=[visit])
    assert (publication.windows_closed_on, publication.due_on, publication.due_warning) == (
        due.windows_closed_on,
        due.due_on,
        due.warning,
    )


@pytest.mark.usefixtures("ten_working_days")
def test_the_admin_saving_a_publication_takes_its_due_date_from_the_service() -> None:
    first = closing_at(at(2025, 1, 10, 12))
    later = closing_at(at(2025, 1, 24, 0, 30))
    publication = publication_create(title_zh_hans="一月抽查结果", inspections=[first])
    assert publication.due_on == dt.date(2025, 1, 24)
    client = Client()
    client.force_login(user(is_staff=True, is_superuser=True))

    saved = client.post(
        f"/admin/inspections/publication/{publication.pk}/change/",
        {
            "title_zh_hans": "一月抽查结果",
            "title_en": "",
            "inspections": [first.pk, later.pk],
            "organisers": [],
        },
    )

    assert saved.status_code == 302, saved.content.decode()[:2000]
    publication.refresh_from_db()
    assert publication.windows_closed_on == dt.date(2025, 1, 24)
    assert publication.due_on == dt.date(2025, 2, 13)
    assert publication.due_on == publication_due(inspections=[first, later]).due_on


@pytest.mark.usefixtures("ten_working_days")
def test_the_admin_adding_a_publication_takes_its_due_date_from_the_service() -> None:
    visit = closing_at(at(2025, 1, 24, 0, 30))
    client = Client()
    client.force_login(user(is_staff=True, is_superuser=True))

    added = client.post(
        "/admin/inspections/publication/add/",
        {"title_zh_hans": "一月抽查结果", "title_en": "", "inspections": [visit.pk], "organisers": []},
    )

    assert added.status_code == 302, added.content.decode()[:2000]
    publication = visit.publications.get()
    assert (publication.windows_closed_on, publication.due_on) == (dt.date(2025, 1, 24), dt.date(2025, 2, 13))


def test_unpublished_results_are_overdue_only_after_their_due_day() -> None:
    visit = closing_at(at(2025, 1, 10, 12))
    publication = publication_create(title_zh_hans="一月抽查结果", inspections=[visit])

    assert not publication.is_overdue(publication.due_on)
    assert publication.is_overdue(publication.due_on + dt.timedelta(days=1))
    publication.published_at = at(2025, 3, 1)
    assert not publication.is_overdue(publication.due_on + dt.timedelta(days=1))
