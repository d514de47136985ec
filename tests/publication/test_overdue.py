"""Results past their due day are flagged to their organisers once (mail ledger) and in the admin."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client

from inspections.common.models import MailSend
from inspections.publication import services as publication_services
from inspections.publication.models import Publication
from inspections.workdays.models import HolidayYear
from tests.builders import at, submitted_inspection, supervisor, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def march() -> Publication:
    organiser = supervisor("3305", email="organiser@example.cn")
    visit = submitted_inspection(submitted_at=at(2025, 3, 3, 10))  # window closed Monday 3 March
    publication = publication_services.publication_create(
        title_zh_hans="三月抽查结果", inspections=[visit], organisers=[organiser]
    )
    assert publication.due_on == dt.date(2025, 3, 31)
    return publication


def test_results_past_their_due_day_are_flagged_to_their_organisers_once(march: Publication) -> None:
    on_the_day = publication_services.publications_flag_overdue(now=at(2025, 3, 31, 20))
    publication_services.publications_warn_due(now=at(2025, 3, 31, 20))  # the daily run sends what is owed
    mail.outbox.clear()  # the warning before the day

    flagged = publication_services.publications_flag_overdue(now=at(2025, 4, 1, 8, 30))
    publication_services.publication_warnings_send(now=at(2025, 4, 1, 8, 31))
    publication_services.publications_warn_due(now=at(2025, 4, 2, 8, 30))  # the next day: nothing new

    assert (on_the_day, flagged) == (0, 1)
    march.refresh_from_db()
    assert march.overdue_flagged_at == at(2025, 4, 1, 8, 30)
    assert [m.to for m in mail.outbox] == [["organiser@example.cn"]]
    assert "2025-03-31" in mail.outbox[0].subject
    assert MailSend.objects.filter(kind="publication_overdue", status="sent").count() == 1


def test_published_results_are_never_flagged(march: Publication) -> None:
    Publication.objects.filter(pk=march.pk).update(published_at=at(2025, 4, 2, 9))

    assert publication_services.publications_flag_overdue(now=at(2025, 4, 3, 9)) == 0
    assert not MailSend.objects.filter(kind="publication_overdue").exists()


def test_the_admin_filters_and_marks_overdue_results(march: Publication) -> None:
    on_time = publication_services.publication_create(
        title_zh_hans="四月抽查结果", inspections=[submitted_inspection(submitted_at=at(2025, 4, 1, 10))]
    )
    publication_services.publications_flag_overdue(now=at(2025, 4, 1, 8, 30))
    client = Client()
    client.force_login(user(is_staff=True, is_superuser=True))

    with time_machine.travel(at(2025, 4, 2, 9), tick=False):
        late = client.get("/admin/inspections/publication/?overdue=yes", HTTP_ACCEPT_LANGUAGE="en")
        fine = client.get("/admin/inspections/publication/?overdue=no", HTTP_ACCEPT_LANGUAGE="en")

    assert list(late.context["cl"].result_list) == [march]
    assert list(fine.context["cl"].result_list) == [on_time]
    assert "overdue" in late.content.decode()


def test_a_flag_raised_under_a_provisional_due_day_is_lowered_when_the_notice_moves_it_later() -> None:
    organiser = supervisor("3305", email="organiser@example.cn")
    visit = submitted_inspection(submitted_at=at(2027, 1, 29, 10))
    publication = publication_services.publication_create(
        title_zh_hans="一月抽查结果", inspections=[visit], organisers=[organiser]
    )
    assert publication.due_on == dt.date(2027, 3, 4) and publication.due_is_provisional
    assert publication_services.publications_flag_overdue(now=at(2027, 3, 5, 8, 30)) == 1
    # A made-up notice: the statutory days as counted, and Wednesday 3 March off besides.
    notice = HolidayYear.objects.create(year=2027)
    for day in ("01-01", "02-05", "02-08", "02-09", "02-10", "03-03"):
        notice.dates.create(date=dt.date.fromisoformat(f"2027-{day}"))

    moved = publication_services.publications_recount_due(year=2027, now=at(2027, 3, 5, 9))
    publication.refresh_from_db()
    lowered = publication.overdue_flagged_at
    again = publication_services.publications_flag_overdue(now=at(2027, 3, 8, 8, 30))

    assert moved == 1
    assert (publication.due_on, publication.due_warning, lowered) == (dt.date(2027, 3, 5), "", None)
    assert again == 1  # past the new day too: told again, under the new day's key
    keys = sorted(MailSend.objects.filter(kind="publication_overdue").values_list("key", flat=True))
    assert [key.split(":")[2] for key in keys] == ["2027-03-04", "2027-03-05"]
