"""The 督办 ladder: 提醒 → 督办单 → 通报 → 约谈 → 问责, each step once, each a history event.

The emails go through the mail ledger to the local-memory backend here (a
refusing one where a send fails first); the real SMTP conversation over
simulated working days is in ``tests/integration/test_ladder_delivery.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client
from pypdf import PdfReader

from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import Bulletin, Case, CaseEvent, LadderStep, Referral, Summons
from inspections.cases.services import ladder
from inspections.cases.services.escalation import cases_escalate_overdue, deadline_moved
from inspections.cases.services.extensions import extension_decide, extension_request
from inspections.common.errors import PermissionDenied
from inspections.common.models import MailSend
from tests.builders import (
    ANJI,
    DEQING,
    YUCUN,
    at,
    division,
    events_of,
    force_status,
    open_case,
    responsible_party,
    supervisor,
)
from tests.common.test_mail_ledger import RefusingBackend, refusing_smtp  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

# Opened Friday 24 January 2025 with 10 working days: deadline Thursday 13 February.
OPENED = at(2025, 1, 24, 10)
DEADLINE = dt.date(2025, 2, 13)
TOWNSHIP = YUCUN[:9]


@pytest.fixture
def people() -> dict[str, Any]:
    return {
        "township": responsible_party(TOWNSHIP, email="tianhuangping@example.cn"),
        "village": responsible_party(TOWNSHIP, email="yucun@example.cn"),  # a second account of the unit
        "other_township": responsible_party("330523101", email="other@example.cn"),
        "county": supervisor(ANJI, email="anji@example.cn"),
        "prefecture": supervisor("3305", email="huzhou@example.cn"),
        "other_county": supervisor(DEQING, email="deqing@example.cn"),
    }


@pytest.fixture
def problem(people: dict[str, Any]) -> Case:
    case = open_case(submitted_at=OPENED, now=OPENED, category_days=10)
    assert case.deadline == DEADLINE
    return case


def climb(now: dt.datetime, capture: Any) -> dict[str, int]:
    with capture(execute=True):
        return ladder.cases_climb_ladder(now=now)


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- 提醒 and 督办单 ----------------------------------------------------------------------------


@pytest.mark.usefixtures("eager_celery")
def test_the_unit_is_reminded_once_three_working_days_before_the_deadline(
    problem: Case,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Friday 7 February: the deadline is four working days away; Monday 10 February: three.
    assert climb(at(2025, 2, 7, 9), django_capture_on_commit_callbacks)["reminded"] == 0
    assert climb(at(2025, 2, 10, 9), django_capture_on_commit_callbacks)["reminded"] == 1
    assert climb(at(2025, 2, 10, 10), django_capture_on_commit_callbacks)["reminded"] == 0
    assert climb(at(2025, 2, 12, 9), django_capture_on_commit_callbacks)["reminded"] == 0

    assert recipients() == ["tianhuangping@example.cn", "yucun@example.cn"]  # not the other township
    assert all(DEADLINE.isoformat() in message.subject for message in mail.outbox)
    assert f"/api/v1/cases/{problem.pk}/" in mail.outbox[0].body  # a party opens it in the API
    (step,) = LadderStep.objects.all()
    assert (step.kind, step.deadline) == (LadderStep.Kind.REMINDER, DEADLINE)
    assert events_of(problem) == ["opened", "reminded"]
    event = problem.events.get(kind=CaseEvent.Kind.REMINDED)
    assert event.evidence == {"step": step.pk, "deadline": "2025-02-13", "notified": 2}


@pytest.mark.usefixtures("eager_celery")
def test_an_overdue_problem_gets_one_supervision_notice_with_a_reply_deadline_and_its_pdf(
    problem: Case,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert climb(at(2025, 2, 13, 22), django_capture_on_commit_callbacks)["supervised"] == 0  # deadline day
    result = climb(at(2025, 2, 14, 9), django_capture_on_commit_callbacks)
    again = climb(at(2025, 2, 17, 9), django_capture_on_commit_callbacks)

    assert (result["supervised"], again["supervised"]) == (1, 0)
    step = LadderStep.objects.get(kind=LadderStep.Kind.SUPERVISION)
    assert step.reply_due == dt.date(2025, 2, 21)  # five working days after Friday 14 February
    notices = [m for m in mail.outbox if "督办单" in m.subject]
    assert sorted(m.to[0] for m in notices) == [
        "anji@example.cn",
        "tianhuangping@example.cn",
        "yucun@example.cn",
    ]
    county = next(m for m in notices if m.to == ["anji@example.cn"])
    assert f"/admin/inspections/case/{problem.pk}/change/" in county.body  # staff open it in the admin
    ((name, data, content_type),) = county.attachments
    assert (name, content_type) == (f"dubandan-{problem.pk}.pdf", "application/pdf")
    text = pdf_text(data)
    assert "督办单" in text and "2025-02-21" in text and "2025-02-13" in text and f"#{problem.pk}" in text
    assert problem.events.filter(kind=CaseEvent.Kind.SUPERVISED).count() == 1


def test_of_two_claims_of_one_step_only_the_first_issues_it(problem: Case) -> None:
    now = at(2025, 2, 14, 9)
    ((case_id, deadline),) = ladder.supervisions_due(now=now)

    with transaction.atomic():
        first = ladder.ladder_step_claim(
            case_id, kind=LadderStep.Kind.SUPERVISION, deadline=deadline, now=now
        )
    with transaction.atomic():
        second = ladder.ladder_step_claim(
            case_id, kind=LadderStep.Kind.SUPERVISION, deadline=deadline, now=now
        )

    assert first is not None and second is None
    assert MailSend.objects.filter(kind=ladder.MAIL_SUPERVISION).count() == 3
    assert ladder.supervisions_due(now=now) == []


def test_a_step_read_before_the_deadline_moved_is_not_issued(problem: Case) -> None:
    now = at(2025, 2, 14, 9)
    ((case_id, deadline),) = ladder.supervisions_due(now=now)
    Case.objects.filter(pk=case_id).update(deadline=dt.date(2025, 3, 3))

    with transaction.atomic():
        assert (
            ladder.ladder_step_claim(case_id, kind=LadderStep.Kind.SUPERVISION, deadline=deadline, now=now)
            is None
        )


def test_a_notice_refused_with_451_is_sent_once_by_the_next_attempt(
    problem: Case,
    refusing_smtp: type[RefusingBackend],  # noqa: F811 - the fixture
) -> None:
    ladder.cases_supervise(now=at(2025, 2, 14, 9))  # outside a transaction: the sends are owed, not sent
    keys = sorted(MailSend.objects.filter(kind=ladder.MAIL_SUPERVISION).values_list("key", flat=True))
    refusing_smtp.failures = 1

    with pytest.raises(ladder.MailTransientError):
        ladder.ladder_mails_deliver(keys=keys, now=at(2025, 2, 14, 9, 1))
    assert len(mail.outbox) == 2
    failed = MailSend.objects.get(status=MailSend.Status.FAILED)
    assert "451" in failed.reason

    assert ladder.cases_climb_ladder(now=at(2025, 2, 14, 10))["resent"] == 1  # the hourly sweep
    assert ladder.ladder_mails_deliver(keys=keys, now=at(2025, 2, 14, 11)) == 0
    assert len(mail.outbox) == 3
    assert sorted(m.to[0] for m in mail.outbox) == [
        "anji@example.cn",
        "tianhuangping@example.cn",
        "yucun@example.cn",
    ]
    sent = MailSend.objects.get(pk=failed.pk)
    assert (sent.status, sent.attempts) == ("sent", 2)
    message = next(m for m in mail.outbox if m.to == [sent.recipient.email])
    assert message.extra_headers["Message-ID"] == sent.message_id


def test_a_closed_or_rectified_problem_climbs_no_further(problem: Case) -> None:
    force_status(problem, "awaiting_verification")

    assert ladder.cases_climb_ladder(now=at(2025, 2, 14, 9)) == {"reminded": 0, "supervised": 0, "resent": 0}
    assert not LadderStep.objects.exists()


# --- A moved deadline ------------------------------------------------------------------------


@pytest.mark.usefixtures("eager_celery")
def test_an_extension_approved_after_the_notice_de_escalates_and_the_ladder_starts_again(
    problem: Case, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cases_escalate_overdue(now=at(2025, 2, 14, 9))
    climb(at(2025, 2, 14, 9), django_capture_on_commit_callbacks)
    problem.refresh_from_db()
    assert problem.escalation_level == 1
    notice = LadderStep.objects.get(kind=LadderStep.Kind.SUPERVISION)

    asked, _created = extension_request(
        case=problem,
        actor=people["township"],
        client_uuid=uuid.uuid4(),
        reason="待管网接入",
        proposed_deadline=dt.date(2025, 3, 14),
        now=at(2025, 2, 17, 9),
    )
    extension_decide(request=asked, actor=people["county"], approve=True, note="同意", now=at(2025, 2, 18, 9))

    problem.refresh_from_db()
    notice.refresh_from_db()
    assert (problem.deadline, problem.escalation_level) == (dt.date(2025, 3, 14), 0)
    assert problem.escalation_due_on == dt.date(2025, 3, 15)
    assert notice.withdrawn_at == at(2025, 2, 18, 9) and notice.withdrawn_reason == "deadline extended"
    event = problem.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.EXTENSION_DECIDED
    assert event.evidence["de_escalated"] == {"from": 1, "to": 0, "why": "deadline extended"}
    assert event.evidence["withdrawn_steps"] == [notice.pk]
    # Under the new deadline: nothing overdue, then a reminder, then (if still owed) a new notice.
    assert climb(at(2025, 2, 19, 9), django_capture_on_commit_callbacks) == {
        "reminded": 0,
        "supervised": 0,
        "resent": 0,
    }
    assert climb(at(2025, 3, 11, 9), django_capture_on_commit_callbacks)["reminded"] == 1
    assert climb(at(2025, 3, 17, 9), django_capture_on_commit_callbacks)["supervised"] == 1
    assert LadderStep.objects.filter(withdrawn_at__isnull=True, kind="supervision").get().deadline == dt.date(
        2025, 3, 14
    )


def test_a_notice_withdrawn_before_it_went_out_is_not_sent(problem: Case) -> None:
    ladder.cases_supervise(now=at(2025, 2, 14, 9))
    deadline_moved(
        problem, to=dt.date(2025, 3, 3), actor=None, why="time limit changed", now=at(2025, 2, 14, 9, 5)
    )

    assert ladder.cases_climb_ladder(now=at(2025, 2, 14, 10))["resent"] == 0
    assert mail.outbox == []
    assert set(MailSend.objects.values_list("status", flat=True)) == {"skipped"}


def test_a_deadline_moved_earlier_or_still_past_de_escalates_nothing(problem: Case) -> None:
    ladder.cases_supervise(now=at(2025, 2, 14, 9))
    force_status(problem, "rectifying", escalation_level=1)

    moved = deadline_moved(
        problem, to=dt.date(2025, 2, 12), actor=None, why="holiday calendar entered", now=at(2025, 2, 18, 9)
    )
    later_but_past = deadline_moved(
        moved, to=dt.date(2025, 2, 17), actor=None, why="time limit changed", now=at(2025, 2, 18, 9)
    )

    assert later_but_past.escalation_level == 1
    assert LadderStep.objects.get().withdrawn_at is None
    assert [e.evidence for e in problem.events.filter(kind=CaseEvent.Kind.DEADLINE).order_by("seq")] == [
        {},
        {},
    ]


def test_a_holiday_year_entered_recounts_and_de_escalates_through_the_same_function(settings: Any) -> None:
    from inspections.cases.deadlines import cases_recount_deadlines
    from inspections.workdays.models import HolidayDate, HolidayYear

    case = open_case(submitted_at=at(2026, 12, 31, 10), now=at(2026, 12, 31, 10), category_days=3)
    # 2027 is not announced yet: counted provisionally, with 元旦 off (1 January, a Friday).
    assert case.deadline == dt.date(2027, 1, 6)
    force_status(case, "open", escalation_level=1)
    ladder.cases_supervise(now=at(2027, 1, 7, 9))
    # The notice, as entered, also gives Monday the 4th off: the deadline moves a day later.
    year = HolidayYear.objects.create(year=2027)
    HolidayDate.objects.create(calendar_year=year, date=dt.date(2027, 1, 1), name="元旦")
    HolidayDate.objects.create(calendar_year=year, date=dt.date(2027, 1, 4), name="元旦")

    assert cases_recount_deadlines(year=2027, actor=None, now=at(2027, 1, 7, 10)) == 1

    case.refresh_from_db()
    assert (case.deadline, case.escalation_level) == (dt.date(2027, 1, 7), 0)
    event = case.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.DEADLINE
    assert event.evidence["de_escalated"] == {"from": 1, "to": 0, "why": "holiday notice entered"}
    assert LadderStep.objects.get().withdrawn_reason == "holiday notice entered"


# --- 通报 ----------------------------------------------------------------------------------------


def visit_found(case: Case, *, relapse: bool, now: dt.datetime) -> None:
    """A visit result as the follow-up service writes it: a relapse, or a false rectification."""
    with transaction.atomic():
        locked = case_lock(case)
        evidence = {"relapse": True} if relapse else {"relapse": False, "false_rectification": True}
        case_event_append(
            locked,
            kind=CaseEvent.Kind.STATUS,
            actor=None,
            from_status=locked.status,
            evidence=evidence,
            now=now,
        )
        locked.save(update_fields=HEAD_FIELDS)


@pytest.fixture
def february(people: dict[str, Any]) -> dict[str, Case]:
    overdue = open_case(submitted_at=OPENED, now=OPENED, category_days=10)  # Anji, due 13 February
    late_by_two = open_case(submitted_at=at(2025, 2, 10, 10), now=at(2025, 2, 10, 10), category_days=12)
    relapsed = open_case(village_code="330523101201", submitted_at=OPENED, now=OPENED, category_days=60)
    false = open_case(village_code="330521100201", submitted_at=OPENED, now=OPENED, category_days=60)
    visit_found(relapsed, relapse=True, now=at(2025, 2, 20, 10))
    visit_found(false, relapse=False, now=at(2025, 2, 21, 10))
    visit_found(false, relapse=False, now=at(2025, 3, 3, 10))  # next month's: not in February's
    supervisor("33", email="zhejiang@example.cn")
    return {"overdue": overdue, "late_by_two": late_by_two, "relapsed": relapsed, "false": false}


@pytest.mark.usefixtures("eager_celery")
def test_the_monthly_bulletin_lists_overdue_relapsed_and_false_rectification_by_county(
    february: dict[str, Case], django_capture_on_commit_callbacks: Any
) -> None:
    assert february["late_by_two"].deadline == dt.date(2025, 2, 26)  # two working days late on the 28th

    with django_capture_on_commit_callbacks(execute=True):
        made = ladder.bulletins_compile(now=at(2025, 3, 1, 2, 40))
    with django_capture_on_commit_callbacks(execute=True):
        again = ladder.bulletins_compile(now=at(2025, 3, 2, 2, 40))

    # Zhejiang, Huzhou, Anji and Deqing each have a supervisor.
    assert (made, again) == (4, 0)
    huzhou = Bulletin.objects.get(division__code="3305")
    assert huzhou.month == dt.date(2025, 2, 1) and huzhou.is_public is False
    assert huzhou.content["totals"] == {"overdue": 1, "relapsed": 1, "false_rectification": 1}
    deqing, anji = huzhou.content["counties"]  # by code
    assert (deqing["code"], anji["code"]) == (DEQING, ANJI)
    assert [row["case"] for row in anji["overdue"]] == [february["overdue"].pk]
    assert anji["overdue"][0]["working_days_overdue"] == 11
    assert [row["case"] for row in anji["relapsed"]] == [february["relapsed"].pk]
    assert [(row["case"], row["found_on"]) for row in deqing["false_rectification"]] == [
        (february["false"].pk, "2025-02-21")
    ]
    assert Bulletin.objects.get(division__code=DEQING).content["totals"] == {
        "overdue": 0,
        "relapsed": 0,
        "false_rectification": 1,
    }
    # Each problem named gets one event per bulletin naming it (Anji's, Huzhou's, Zhejiang's).
    assert february["overdue"].events.filter(kind=CaseEvent.Kind.BULLETINED).count() == 3
    assert not february["late_by_two"].events.filter(kind=CaseEvent.Kind.BULLETINED).exists()
    # Each jurisdiction's own supervisors are told, once.
    assert recipients() == [
        "anji@example.cn",
        "deqing@example.cn",
        "huzhou@example.cn",
        "zhejiang@example.cn",
    ]


def test_the_bulletin_pdf_reads_back_and_the_internal_copy_alone_has_the_numbers(
    february: dict[str, Case],
) -> None:
    ladder.bulletins_compile(now=at(2025, 3, 1, 2, 40))
    huzhou = Bulletin.objects.get(division__code="3305")
    from inspections.cases.ladder_documents import bulletin_pdf

    internal = pdf_text(bulletin_pdf(huzhou, public=False))
    public = pdf_text(bulletin_pdf(huzhou, public=True))

    for text in (internal, public):
        assert "2025-02" in text and f"({ANJI})" in text and f"({DEQING})" in text
        assert "返黑返臭" in text and "虚假整改" in text and "2025-02-13" in text
    assert "#" in internal and "#" not in public


def test_only_supervisors_of_the_jurisdiction_see_a_bulletin_in_the_admin(
    february: dict[str, Case], people: dict[str, Any]
) -> None:
    ladder.bulletins_compile(now=at(2025, 3, 1, 2, 40))
    huzhou = Bulletin.objects.get(division__code="3305")
    deqing = Bulletin.objects.get(division__code=DEQING)

    def admin(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    county, other_county = admin(people["county"]), admin(people["other_county"])
    listing = county.get("/admin/inspections/bulletin/").content.decode()
    page = admin(people["prefecture"]).get(f"/admin/inspections/bulletin/{huzhou.pk}/change/")
    pdf = admin(people["prefecture"]).get(f"/admin/inspections/bulletin/{huzhou.pk}/pdf/")

    assert page.status_code == 200 and "返黑返臭" in page.content.decode()
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f"/admin/inspections/bulletin/{huzhou.pk}/" not in listing  # Anji sees only its own
    assert other_county.get(f"/admin/inspections/bulletin/{huzhou.pk}/pdf/").status_code == 404
    assert other_county.get(f"/admin/inspections/bulletin/{deqing.pk}/change/").status_code == 200
    assert admin(people["township"]).get("/admin/inspections/bulletin/").status_code == 302  # not staff


def test_a_public_bulletin_shows_places_and_dates_but_no_numbers_or_persons(
    february: dict[str, Case], people: dict[str, Any]
) -> None:
    ladder.bulletins_compile(now=at(2025, 3, 1, 2, 40))
    huzhou = Bulletin.objects.get(division__code="3305")
    public = Client()
    assert public.get(f"/public/zh-hans/bulletins/{huzhou.pk}/").status_code == 404  # not public by default
    with pytest.raises(PermissionDenied):
        ladder.bulletin_set_public(bulletin=huzhou, actor=people["county"], public=True)  # the level below

    ladder.bulletin_set_public(bulletin=huzhou, actor=people["prefecture"], public=True)
    page = public.get(f"/public/zh-hans/bulletins/{huzhou.pk}/").content.decode()
    index = public.get("/public/en/bulletins/").content.decode()
    pdf = public.get(f"/public/zh-hans/bulletins/{huzhou.pk}.pdf")

    assert f"({ANJI})" in page and "虚假整改" in page and "2025-02-13" in page
    assert f"/public/en/bulletins/{huzhou.pk}/" in index
    assert pdf.status_code == 200 and f"({DEQING})" in pdf_text(pdf.content)
    for person in people.values():
        assert person.username not in page and person.email not in page
    assert "<th>#</th>" not in page
    assert public.get(f"/public/xx/bulletins/{huzhou.pk}/").status_code == 404


def test_a_setting_makes_new_bulletins_public(february: dict[str, Case], settings: Any) -> None:
    settings.QINGSHAN_BULLETIN_PUBLIC = True

    ladder.bulletins_compile(now=at(2025, 3, 1, 2, 40))

    assert set(Bulletin.objects.values_list("is_public", flat=True)) == {True}


def test_the_public_bulletin_is_the_same_with_or_without_a_pending_visit(february: dict[str, Case]) -> None:
    """A drawn visit to a listed village, not yet made, changes nothing the public bulletin shows."""
    from inspections.fieldwork.models import Inspection
    from tests.builders import inspection, inspector

    def compiled() -> str:
        with transaction.atomic():
            ladder.bulletins_compile(now=at(2025, 3, 1, 2, 40))
            bulletin = Bulletin.objects.get(division__code="3305")
            bulletin.is_public = True
            bulletin.save(update_fields=["is_public"])
            page = Client().get(f"/public/zh-hans/bulletins/{bulletin.pk}/").content.decode()
            transaction.set_rollback(True)
        return page.replace(f"/{bulletin.pk}", "/…")

    without = compiled()
    inspection(
        village=YUCUN,
        team=[inspector()],
        mode=Inspection.Mode.RANDOM,
        status=Inspection.Status.SCHEDULED,
        window_start=at(2025, 3, 3, 8),
        window_end=at(2025, 3, 5, 18),
    )
    force_status(february["relapsed"], "awaiting_verification")

    assert compiled() == without


# --- 约谈 and 问责 -------------------------------------------------------------------------------


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_county_supervisor_enters_a_summons_in_the_admin_and_records_its_report(
    problem: Case, people: dict[str, Any]
) -> None:
    county = admin_client(people["county"])
    township = division(TOWNSHIP)

    with time_machine.travel(at(2025, 3, 5, 9), tick=False):
        response = county.post(
            "/admin/inspections/summons/add/",
            {
                "division": division(ANJI).pk,
                "summoned_division": township.pk,
                "summoned_persons": "天荒坪镇镇长、分管副镇长",
                "held_at_0": "2025-03-05",
                "held_at_1": "09:30:00",
                "attendees": "县农业农村局、县生态环境局",
                "minutes": "限期两周内完成整改",
                "cases": str(problem.pk),
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    summons = Summons.objects.get()
    assert summons.report_due == dt.date(2025, 4, 4)  # 30 days on
    assert list(summons.cases.all()) == [problem]
    assert summons.created_by == people["county"]
    assert events_of(problem)[-1] == "summoned"

    with time_machine.travel(at(2025, 3, 20, 9), tick=False):
        followed = county.post(
            f"/admin/inspections/summons/{summons.pk}/change/",
            {"report_received_on": "2025-03-20", "report_note": "已完成清运并建立长效机制"},
        )
    assert followed.status_code == 302, followed.content.decode()[:3000]
    summons.refresh_from_db()
    assert (summons.report_received_on, summons.report_note) == (
        dt.date(2025, 3, 20),
        "已完成清运并建立长效机制",
    )
    event = problem.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.SUMMONS_REPORTED
    assert event.evidence["on_time"] is True
    with pytest.raises(ladder.SummonsReportAlreadyReceived):
        ladder.summons_report_record(
            summons=summons, actor=people["county"], received_on=dt.date(2025, 3, 21)
        )


def test_summonses_and_referrals_are_for_the_jurisdictions_supervisors_only(
    problem: Case, people: dict[str, Any]
) -> None:
    summons = ladder.summons_record(
        actor=people["county"],
        division=division(ANJI),
        summoned_division=division(TOWNSHIP),
        summoned_persons="镇长",
        held_at=at(2025, 3, 5, 9),
        cases=[problem],
    )
    other = admin_client(people["other_county"])

    assert (
        other.get(f"/admin/inspections/summons/{summons.pk}/change/").status_code == 302
    )  # not found: to the list
    assert f"/summons/{summons.pk}/" not in other.get("/admin/inspections/summons/").content.decode()
    assert (
        admin_client(people["prefecture"]).get(f"/admin/inspections/summons/{summons.pk}/change/").status_code
        == 200
    )
    assert admin_client(people["township"]).get("/admin/inspections/summons/").status_code == 302  # not staff
    refused = other.post(
        "/admin/inspections/summons/add/",
        {
            "division": division(ANJI).pk,
            "summoned_division": division(TOWNSHIP).pk,
            "summoned_persons": "镇长",
            "held_at_0": "2025-03-05",
            "held_at_1": "09:30:00",
        },
    )
    assert refused.status_code == 200 and Summons.objects.count() == 1  # the form refuses Anji's divisions
    with pytest.raises(PermissionDenied):
        ladder.referral_record(
            actor=people["other_county"],
            division=division(ANJI),
            subject_division=division(TOWNSHIP),
            referred_to="县纪委监委",
            referred_on=dt.date(2025, 4, 10),
            reason="约谈后仍未整改",
        )
    with pytest.raises(ladder.LadderOutsideJurisdiction):
        ladder.summons_record(
            actor=people["county"],
            division=division(ANJI),
            summoned_division=division(DEQING),
            summoned_persons="镇长",
            held_at=at(2025, 3, 5, 9),
        )


def test_a_referral_and_its_outcome_are_recorded_once_each_as_events(
    problem: Case, people: dict[str, Any]
) -> None:
    referral = ladder.referral_record(
        actor=people["county"],
        division=division(ANJI),
        subject_division=division(TOWNSHIP),
        referred_to="县纪委监委",
        referred_on=dt.date(2025, 4, 10),
        reason="约谈后逾期未报送整改情况",
        cases=[problem],
    )
    decided = ladder.referral_outcome_record(
        referral=referral,
        actor=people["county"],
        outcome=Referral.Outcome.ACCOUNTABLE,
        decided_on=dt.date(2025, 5, 6),
        note="分管副镇长诫勉谈话",
    )

    assert (decided.outcome, decided.outcome_on) == ("accountable", dt.date(2025, 5, 6))
    assert events_of(problem)[-2:] == ["referred", "referral_decided"]
    with pytest.raises(ladder.ReferralAlreadyDecided):
        ladder.referral_outcome_record(
            referral=referral, actor=people["county"], outcome="no_action", decided_on=dt.date(2025, 5, 7)
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_two_workers_at_once_issue_each_notice_once_and_send_each_email_once() -> None:
    import threading

    from django.db import connections

    responsible_party(TOWNSHIP, email="tianhuangping@example.cn")
    supervisor(ANJI, email="anji@example.cn")
    cases = [open_case(submitted_at=OPENED, now=OPENED, category_days=10) for _ in range(4)]
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(ladder.cases_climb_ladder())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    # The clock held for both (time-machine patches the process): the claims and the sends read one "now".
    with time_machine.travel(at(2025, 2, 14, 9), tick=False):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sum(result["supervised"] for result in results) == 4
    for case in cases:
        assert case.events.filter(kind=CaseEvent.Kind.SUPERVISED).count() == 1
    assert LadderStep.objects.count() == 4
    # The 督办单 (each with its PDF); the 交办 notices of the four problems are not the ladder's.
    notices = [m for m in mail.outbox if any(str(a[0]).startswith("dubandan-") for a in m.attachments)]
    assert sorted(m.to[0] for m in notices) == ["anji@example.cn"] * 4 + ["tianhuangping@example.cn"] * 4
