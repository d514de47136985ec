"""2027 before and after its notice (放假安排) is entered: what was counted provisionally is recounted.

The notice used here is a made-up one of the usual shape: 元旦 1 January; 春节 from 除夕
5 February to 12 February, with Saturday 20 February worked. It gives one more day off
than the law's provisional count (5 to 10 February), so what ran across it moves a day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from inspections.cases.models import Case, CaseEvent
from inspections.fieldwork.models import Inspection
from inspections.publication.models import Publication
from inspections.publication.services import publication_create
from inspections.workdays.calendar import add_working_days
from inspections.workdays.models import HolidayYear
from tests.builders import at, open_case, submitted_inspection, user

pytestmark = pytest.mark.django_db

D = dt.date

NOTICE_2027 = [
    ("2027-01-01", False, "元旦"),
    *((f"2027-02-{day:02d}", False, "春节") for day in range(5, 13)),
    ("2027-02-20", True, "春节调休"),
]


def enter_notice(client: Client, rows: list[tuple[str, bool, str]] = NOTICE_2027) -> Any:
    data: dict[str, str] = {
        "year": "2027",
        "note": "国务院办公厅关于2027年部分节假日安排的通知",
        "dates-TOTAL_FORMS": str(len(rows)),
        "dates-INITIAL_FORMS": "0",
        "dates-MIN_NUM_FORMS": "0",
        "dates-MAX_NUM_FORMS": "1000",
    }
    for n, (day, working, name) in enumerate(rows):
        data[f"dates-{n}-date"] = day
        data[f"dates-{n}-name"] = name
        if working:
            data[f"dates-{n}-is_working_day"] = "on"
    return client.post("/admin/inspections/holidayyear/add/", data)


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(user(is_superuser=True, is_staff=True))
    return client


def test_before_the_notice_2027_counts_the_statutory_holidays_and_after_it_the_notice(
    admin_client: Client,
) -> None:
    before_short = add_working_days(D(2026, 12, 8), 20)
    before_long = add_working_days(D(2026, 12, 1), 60)

    response = enter_notice(admin_client)

    assert response.status_code == 302, response.content.decode()[:2000]
    after_short = add_working_days(D(2026, 12, 8), 20)
    after_long = add_working_days(D(2026, 12, 1), 60)
    assert (before_short.date, before_short.provisional) == (D(2027, 1, 6), True)
    assert (after_short.date, after_short.warning) == (D(2027, 1, 6), "")
    assert (before_long.date, before_long.provisional) == (D(2027, 3, 2), True)
    # … 4 February, then 15–19 February, the worked Saturday 20th, 22–26 February, 1–3 March
    assert (after_long.date, after_long.warning) == (D(2027, 3, 3), "")


def test_entering_the_notice_recounts_open_problems_through_the_deadline_move_with_an_event(
    admin_client: Client,
) -> None:
    long = open_case(submitted_at=at(2026, 12, 1, 10), now=at(2026, 12, 1, 10), category_days=60)
    short = open_case(submitted_at=at(2026, 12, 8, 10), now=at(2026, 12, 8, 10), category_days=20)
    assert (long.deadline, short.deadline) == (D(2027, 3, 2), D(2027, 1, 6))
    assert "2027" in long.deadline_warning and "暂定" in long.deadline_warning
    events_before = short.events.count()

    enter_notice(admin_client)

    long.refresh_from_db()
    short.refresh_from_db()
    assert (long.deadline, long.deadline_warning) == (D(2027, 3, 3), "")
    assert long.escalation_due_on == D(2027, 3, 4)
    event = long.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.DEADLINE
    assert event.evidence == {"from": "2027-03-02", "to": "2027-03-03", "calendar_year": 2027}
    assert "2027" in event.note
    # The short one lands on the same day: its warning goes, and no event is written.
    assert (short.deadline, short.deadline_warning) == (D(2027, 1, 6), "")
    assert short.events.count() == events_before


def test_a_problem_escalated_under_its_provisional_deadline_is_de_escalated_when_the_notice_moves_it_later(
    admin_client: Client,
) -> None:
    problem = open_case(submitted_at=at(2026, 12, 1, 10), now=at(2026, 12, 1, 10), category_days=60)
    # As if escalated under the provisional day (the notice arrives while the problem is overdue).
    Case.objects.filter(pk=problem.pk).update(escalation_level=1, escalation_due_on=D(2027, 3, 10))

    enter_notice(admin_client)

    problem.refresh_from_db()
    assert (problem.deadline, problem.escalation_level) == (D(2027, 3, 3), 0)
    assert problem.escalation_due_on == D(2027, 3, 4)
    event = problem.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.DEADLINE
    assert event.evidence["de_escalated"] == {"from": 1, "to": 0, "why": "holiday notice entered"}


def test_entering_the_notice_recounts_the_due_day_of_unpublished_results(admin_client: Client) -> None:
    def closing(moment: dt.datetime) -> Inspection:
        visit = submitted_inspection(submitted_at=moment - dt.timedelta(hours=2))
        Inspection.objects.filter(pk=visit.pk).update(window_end=moment)
        visit.refresh_from_db()
        return visit

    late = publication_create(title_zh_hans="一月抽查结果", inspections=[closing(at(2027, 1, 29, 18))])
    published = publication_create(title_zh_hans="已公开", inspections=[closing(at(2027, 1, 29, 18))])
    Publication.objects.filter(pk=published.pk).update(published_at=timezone.now())
    assert late.due_on == D(2027, 3, 4) and late.due_is_provisional

    response = enter_notice(admin_client)

    late.refresh_from_db()
    published.refresh_from_db()
    # 1–4 February, 15–19, the 20th, 22–26, 1–5 March
    assert (late.due_on, late.due_warning) == (D(2027, 3, 5), "")
    assert not late.due_is_provisional
    assert published.due_on == D(2027, 3, 4)  # published results keep the day they were due
    page = admin_client.get(response["Location"])
    with translation.override(page["Content-Language"]):
        said = gettext(
            "The %(year)d notice is in force: %(count)d deadlines and %(due)d publication due days recounted."
        ) % {"year": 2027, "count": 0, "due": 1}
    assert said in page.content.decode()


def test_the_holiday_admin_says_which_coming_year_is_provisional(admin_client: Client) -> None:
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):
        page = admin_client.get("/admin/inspections/holidayyear/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "2027" in text and "暂定" in text
    assert "02-05" in text  # 除夕 of 2027, counted off until the notice


def test_an_entered_year_shows_the_statutory_days_it_replaces(admin_client: Client) -> None:
    assert admin_client.get("/admin/inspections/holidayyear/add/").status_code == 200
    enter_notice(admin_client, rows=[("2027-01-01", False, "元旦")])
    year = HolidayYear.objects.get(year=2027)

    page = admin_client.get(f"/admin/inspections/holidayyear/{year.pk}/change/").content.decode()

    assert "2027-02-05" in page and "2027-10-03" in page  # 除夕; the last day of 国庆
