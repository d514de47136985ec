"""交办 and the 问题清单: the responsible unit notified once (email and notices) with the 交办单,
签收 once, the 整改措施, the time limit changed with a reason, the stages of a long-term problem."""

from __future__ import annotations

import datetime as dt
import io
import smtplib
from typing import Any, ClassVar

import pypdf
import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client, override_settings
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.errors import (
    DeadlineChangeNotAllowed,
    DeadlineInvalid,
    DeadlineReasonRequired,
    ResponsibleAccountInvalid,
    ResponsibleUnitInvalid,
    StageAfterDeadline,
)
from inspections.cases.models import Case, CaseEvent, CaseNotification, CaseStage, CaseStatus, Department
from inspections.cases.services import handover
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.problem_list import (
    case_change_deadline,
    case_set_responsibility,
    case_stage_add,
)
from inspections.cases.services.review import case_confirm
from inspections.cases.tasks import send_handover_notifications
from inspections.common.china_time import local_date
from inspections.common.errors import PermissionDenied
from inspections.common.mail import MailTransientError, mail_message_id
from inspections.common.models import MailSend
from inspections.fieldwork.models import Inspection
from tests.builders import (
    division,
    events_of,
    force_status,
    inspector,
    open_case,
    photo,
    responsible_party,
    submitted_inspection,
    supervisor,
    user,
    village,
)
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

ANJI, TOWNSHIP, OTHER_TOWNSHIP = "330523", "330523108", "330523101"  # 余村's county and township
URL = "/api/v1/cases/"


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1  # one page
    return reader.pages[0].extract_text()


@pytest.fixture
def unit() -> dict[str, User]:
    """The accounts around 余村: its township's two parties, the county's, one elsewhere, a supervisor."""
    return {
        "township": responsible_party(TOWNSHIP, email="township@example.cn"),
        "township_no_mail": responsible_party(TOWNSHIP),
        "county": responsible_party(ANJI, email="county@example.cn"),
        "elsewhere": responsible_party(OTHER_TOWNSHIP, email="elsewhere@example.cn"),
        "supervisor": supervisor(ANJI, email="supervisor@example.cn"),
    }


# --- 交办 and its notices -----------------------------------------------------------------


def test_confirming_hands_the_problem_to_its_township_and_emails_each_account_once_with_the_sheet(
    unit: dict[str, User], django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    case = open_case(hand_over=False)
    assert case.responsible_division == division(TOWNSHIP)  # the default unit: the village's township
    assert CaseNotification.objects.count() == 0  # nothing is handed over under review

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = case_confirm(case=case, actor=unit["supervisor"])

    notified = set(CaseNotification.objects.filter(case=case).values_list("recipient__username", "kind"))
    expected = {unit[k].username for k in ("township", "township_no_mail", "county")}
    assert notified == {(name, "handed_over") for name in expected}
    assert sorted(m.to[0] for m in mail.outbox) == ["county@example.cn", "township@example.cn"]
    message = next(m for m in mail.outbox if m.to == ["township@example.cn"])
    assert f"#{case.pk}" in message.subject and f"/api/v1/cases/{case.pk}/" in message.body
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == (f"handover-{case.pk}.pdf", "application/pdf")
    assert "交办单" in pdf_text(content) and confirmed.deadline.isoformat() in pdf_text(content)
    assert MailSend.objects.filter(kind="case_handed_over", status="sent").count() == 2

    # a replay of the notice (a retried task, a second call) sends nothing again
    handover.case_handover_notify(case=confirmed, now=timezone.now())
    assert handover.case_handover_emails(ids=CaseNotification.objects.values_list("pk", flat=True)) == 0
    assert len(mail.outbox) == 2
    assert CaseNotification.objects.filter(case=case).count() == 3


def test_a_new_responsible_person_after_the_handover_is_told_once_and_nobody_again(
    unit: dict[str, User], django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    """Changing the 责任人 after 交办 notified nobody: the person now named is told as at the 交办."""
    case = open_case(hand_over=False)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = case_confirm(case=case, actor=unit["supervisor"])
    assert len(mail.outbox) == 2
    newcomer = responsible_party(TOWNSHIP, username="newcomer", email="newcomer@example.cn")
    change: dict[str, Any] = {
        "case": confirmed,
        "actor": unit["supervisor"],
        "division": division(TOWNSHIP),
        "village": None,
        "department": None,
        "person_name": "李四",
        "person_post": "副镇长",
        "account": newcomer,
    }

    with django_capture_on_commit_callbacks(execute=True):
        case_set_responsibility(**change)

    told = CaseNotification.objects.filter(case=case, recipient=newcomer, kind="handed_over")
    assert told.count() == 1 and told.get().emailed_at is not None
    assert [m.to for m in mail.outbox[2:]] == [["newcomer@example.cn"]]  # the others not again
    assert "交办单" in pdf_text(mail.outbox[2].attachments[0][1])

    with django_capture_on_commit_callbacks(execute=True):
        case_set_responsibility(**{**change, "case": Case.objects.get(pk=case.pk)})  # unchanged
    assert len(mail.outbox) == 3
    assert CaseNotification.objects.filter(case=case).count() == 4


def test_responsibility_set_under_review_tells_nobody_before_the_handover(unit: dict[str, User]) -> None:
    case = open_case(hand_over=False)
    newcomer = responsible_party(TOWNSHIP, username="newcomer", email="newcomer@example.cn")
    case_set_responsibility(
        case=case,
        actor=unit["supervisor"],
        division=division(TOWNSHIP),
        village=None,
        department=None,
        person_name="李四",
        person_post="副镇长",
        account=newcomer,
    )
    assert not CaseNotification.objects.filter(case=case).exists()


def test_the_automatic_hand_over_notifies_the_unit_in_the_submission(unit: dict[str, User]) -> None:
    case = open_case(hand_over=True)
    assert case.status == CaseStatus.OPEN
    assert set(CaseNotification.objects.filter(case=case).values_list("recipient", flat=True)) == {
        unit["township"].pk,
        unit["township_no_mail"].pk,
        unit["county"].pk,
    }


@override_settings(QINGSHAN_RESPONSIBLE_UNIT_DEFAULT="village")
def test_the_unit_may_default_to_the_village_whose_covering_accounts_are_notified(
    unit: dict[str, User],
) -> None:
    case = open_case(hand_over=False)
    assert (case.responsible_division, case.responsible_village) == (None, case.village)
    assert handover.handover_recipients(case) == [unit["township"], unit["township_no_mail"], unit["county"]]


class RefusingBackend(EmailBackend):
    """The local-memory backend, whose next ``failures`` sends fail with SMTP 451."""

    failures: ClassVar[int] = 0

    def send_messages(self, messages: Any) -> int:
        if RefusingBackend.failures:
            RefusingBackend.failures -= 1
            raise smtplib.SMTPDataError(451, b"try again later")
        return super().send_messages(messages)


@override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend")
def test_a_hand_over_email_refused_with_451_is_sent_once_by_the_task_retry(unit: dict[str, User]) -> None:
    from config.celery import app

    open_case(hand_over=True)
    notice = CaseNotification.objects.get(recipient=unit["township"])
    RefusingBackend.failures = 1
    with pytest.raises(MailTransientError):
        handover.case_handover_emails(ids=[notice.pk])
    assert MailSend.objects.get(key=f"case_handover:{notice.pk}").status == "failed"

    RefusingBackend.failures = 1
    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # each retry runs in turn, as a worker would run them
    try:
        result = send_handover_notifications.apply(args=[[notice.pk]])
    finally:
        app.conf.task_eager_propagates = propagates

    assert result.successful(), result.traceback
    sent = MailSend.objects.get(key=f"case_handover:{notice.pk}")
    assert (sent.status, sent.attempts) == ("sent", 3)
    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == mail_message_id(sent.key)
    notice.refresh_from_db()
    assert notice.emailed_at is not None
    assert send_handover_notifications.apply(args=[[notice.pk]]).result == 0
    assert len(mail.outbox) == 1


def test_the_notices_list_is_the_callers_own_and_read_only(unit: dict[str, User]) -> None:
    case = open_case(hand_over=True)
    party = client_for(unit["township"])

    listed = party.get("/api/v1/notifications/")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert (row["kind"], row["case"]["id"], row["case"]["village"]["code"]) == (
        "handed_over",
        case.pk,
        case.village.code,
    )
    assert client_for(unit["elsewhere"]).get("/api/v1/notifications/").json()["count"] == 0
    assert client_for(unit["supervisor"]).get("/api/v1/notifications/").json()["count"] == 0
    assert party.post("/api/v1/notifications/", {}, format="json").status_code == 405
    assert party.get("/api/v1/notifications/?kind=escalated").json()["count"] == 0


# --- The 交办单 ------------------------------------------------------------------------------


def test_the_sheet_shows_the_problem_its_evidence_with_sha256_the_deadline_and_the_link(
    unit: dict[str, User],
) -> None:
    visit = submitted_inspection(photos_per_finding=1, status=Inspection.Status.IN_PROGRESS)
    evidence = photo(inspection=visit, client_uuid="00000000-0000-4000-8000-000000000000")
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    (case,) = cases_open_for_inspection(inspection=visit, hand_over=True)
    case_set_responsibility(
        case=case,
        actor=unit["supervisor"],
        division=division(TOWNSHIP),
        village=None,
        department=Department.objects.get(name="生态环境"),
        person_name="张三",
        person_post="副镇长",
        account=None,
    )

    later = case.deadline + dt.timedelta(days=14)
    case_change_deadline(case=case, actor=unit["supervisor"], deadline=later, reason="雨季")

    response = client_for(unit["township"]).get(f"{URL}{case.pk}/handover-sheet/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert evidence.sha256 in text.replace("\n", "")
    assert later.isoformat() in text and f"({case.deadline_working_days} " not in text  # the moved time limit
    assert f"/api/v1/cases/{case.pk}/" in text and f"/admin/inspections/case/{case.pk}/" in text
    assert "张三" in text and "副镇长" in text and "生态环境" in text and case.village.name in text
    assert len(pypdf.PdfReader(io.BytesIO(response.content)).pages[0].images) == 1
    detail = client_for(unit["township"]).get(f"{URL}{case.pk}/").json()
    assert detail["handover_sheet"] == f"{URL}{case.pk}/handover-sheet/"
    assert detail["responsible_unit"] == {
        "kind": "division",
        "code": TOWNSHIP,
        "name": division(TOWNSHIP).name,
    }
    assert detail["responsible_department"] == "生态环境"
    assert detail["responsible_person"] == {"name": "张三", "post": "副镇长", "account": None}


def test_the_sheet_is_for_those_who_see_the_problem_once_it_is_handed_over(unit: dict[str, User]) -> None:
    team = [inspector()]
    case = open_case(hand_over=False, team=team)
    sheet = f"{URL}{case.pk}/handover-sheet/"
    assert_problem(client_for(unit["supervisor"]).get(sheet), 409, "case_not_handed_over")
    assert client_for(unit["township"]).get(sheet).status_code == 404  # not visible under review

    case_confirm(case=case, actor=unit["supervisor"])

    for reader in (unit["township"], unit["county"], unit["supervisor"], team[0].user):
        assert client_for(reader).get(sheet).status_code == 200, reader
    for outsider in (unit["elsewhere"], supervisor("330521"), inspector().user, user()):
        assert client_for(outsider).get(sheet).status_code == 404, outsider
    assert Client().get(sheet).status_code == 401


def test_the_admin_problem_page_shows_the_problem_list_fields_and_the_sheet_link_in_chinese(
    unit: dict[str, User],
) -> None:
    case = open_case(hand_over=True)
    browser = Client()
    browser.force_login(unit["supervisor"])

    page = browser.get(f"/admin/inspections/case/{case.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert page.status_code == 200
    html = page.content.decode()
    sheet = f"/admin/inspections/case/{case.pk}/handover-sheet/"
    assert sheet in html
    for label in ("交办单", "整改时限", "整改措施", "签收"):
        assert label in html, label
    downloaded = browser.get(sheet)
    assert downloaded.status_code == 200 and downloaded["Content-Type"] == "application/pdf"
    assert "交办单" in pdf_text(downloaded.content)

    elsewhere = Client()
    elsewhere.force_login(supervisor("330521"))
    assert elsewhere.get(sheet).status_code == 404


# --- 签收 and 整改措施 ------------------------------------------------------------------------


def test_the_responsible_party_acknowledges_receipt_once_and_a_replay_changes_nothing(
    unit: dict[str, User],
) -> None:
    case = open_case(hand_over=True)
    party = client_for(unit["township"])

    first = party.post(f"{URL}{case.pk}/receipt/", {"note": "已收到"}, format="json")
    again = party.post(f"{URL}{case.pk}/receipt/", {}, format="json")
    colleague = client_for(unit["township_no_mail"]).post(f"{URL}{case.pk}/receipt/", {}, format="json")

    assert (first.status_code, again.status_code, colleague.status_code) == (201, 200, 200)
    assert first.json()["received_at"] == again.json()["received_at"] is not None
    case.refresh_from_db()
    assert (case.received_by, case.status) == (unit["township"], CaseStatus.OPEN)
    assert events_of(case).count("received") == 1
    event = case.events.get(kind=CaseEvent.Kind.RECEIVED)
    assert (event.actor, event.note) == (unit["township"], "已收到")


def test_receipt_is_the_responsible_partys_and_only_after_hand_over(unit: dict[str, User]) -> None:
    team = [inspector()]
    case = open_case(hand_over=False, team=team)
    receipt = f"{URL}{case.pk}/receipt/"
    superuser = user(is_superuser=True, is_staff=True)
    assert_problem(client_for(superuser).post(receipt, {}, format="json"), 409, "case_not_handed_over")
    assert client_for(unit["township"]).post(receipt, {}, format="json").status_code == 404

    case_confirm(case=case, actor=unit["supervisor"])

    for refused in (unit["supervisor"], supervisor(TOWNSHIP), team[0].user):
        assert_problem(client_for(refused).post(receipt, {}, format="json"), 403, "permission_denied")
    for outsider in (unit["elsewhere"], supervisor("330521"), inspector().user):
        assert client_for(outsider).post(receipt, {}, format="json").status_code == 404
    case.refresh_from_db()
    assert case.received_at is None and "received" not in events_of(case)


def test_measures_follow_the_receipt_and_each_new_text_is_one_event(unit: dict[str, User]) -> None:
    case = open_case(hand_over=True)
    party = client_for(unit["township"])
    measures = f"{URL}{case.pk}/measures/"

    assert_problem(party.post(measures, {"measures": "清运垃圾"}, format="json"), 409, "case_not_received")
    party.post(f"{URL}{case.pk}/receipt/", {}, format="json")
    submitted = party.post(measures, {"measures": "清运垃圾，设置围挡"}, format="json")
    same = party.post(measures, {"measures": "清运垃圾，设置围挡"}, format="json")
    revised = party.post(measures, {"measures": "清运垃圾，设置围挡，每周巡查"}, format="json")

    assert (submitted.status_code, same.status_code, revised.status_code) == (200, 200, 200)
    assert revised.json()["measures"] == "清运垃圾，设置围挡，每周巡查"
    case.refresh_from_db()
    assert [e.evidence["revision"] for e in case.events.filter(kind=CaseEvent.Kind.MEASURES)] == [False, True]
    assert_problem(party.post(measures, {}, format="json"), 400, "validation_error")
    assert_problem(
        client_for(unit["supervisor"]).post(measures, {"measures": "x"}, format="json"),
        403,
        "permission_denied",
    )

    force_status(case, CaseStatus.AWAITING_VERIFICATION)
    assert_problem(party.post(measures, {"measures": "另一方案"}, format="json"), 409, "measures_not_allowed")


def test_the_admin_shows_the_measures_submitted_over_the_api(unit: dict[str, User]) -> None:
    case = open_case(hand_over=True)
    party = client_for(unit["township"])
    party.post(f"{URL}{case.pk}/receipt/", {}, format="json")
    party.post(f"{URL}{case.pk}/measures/", {"measures": "清运垃圾并设置围挡"}, format="json")
    browser = Client()
    browser.force_login(unit["supervisor"])
    assert "清运垃圾并设置围挡" in browser.get(f"/admin/inspections/case/{case.pk}/change/").content.decode()


# --- 整改时限 changed with a reason, and stages ----------------------------------------------


def test_the_assigning_level_moves_the_time_limit_with_a_reason_and_an_escalation_follows(
    unit: dict[str, User],
) -> None:
    case = open_case(hand_over=True)
    force_status(case, CaseStatus.OPEN, escalation_level=1)
    later = case.deadline + dt.timedelta(days=30)
    with pytest.raises(DeadlineReasonRequired):
        case_change_deadline(case=case, actor=unit["supervisor"], deadline=later, reason=" ")
    with pytest.raises(PermissionDenied):
        case_change_deadline(case=case, actor=supervisor(TOWNSHIP), deadline=later, reason="雨季")
    with pytest.raises(DeadlineInvalid):
        case_change_deadline(case=case, actor=unit["supervisor"], deadline=case.deadline, reason="雨季")

    moved = case_change_deadline(case=case, actor=unit["supervisor"], deadline=later, reason="雨季施工困难")

    assert (moved.deadline, moved.escalation_level, moved.escalation_due_on) == (
        later,
        0,
        later + dt.timedelta(days=1),
    )
    event = moved.events.get(kind=CaseEvent.Kind.DEADLINE_CHANGED)
    assert (event.actor, event.note) == (unit["supervisor"], "雨季施工困难")
    assert event.evidence["deadline"] == {"from": case.deadline.isoformat(), "to": later.isoformat()}
    assert event.evidence["de_escalated"]["to"] == 0
    closed = force_status(moved, CaseStatus.CLOSED)
    with pytest.raises(DeadlineChangeNotAllowed):
        case_change_deadline(
            case=closed, actor=unit["supervisor"], deadline=later + dt.timedelta(days=1), reason="x"
        )


def test_the_admin_form_changes_the_time_limit_and_adds_a_stage_each_as_an_event(
    unit: dict[str, User],
) -> None:
    case = open_case(hand_over=True)
    browser = Client()
    browser.force_login(unit["supervisor"])
    page = f"/admin/inspections/case/{case.pk}/change/"
    later = case.deadline + dt.timedelta(days=60)
    form = {
        "responsible_division": division(TOWNSHIP).pk,
        "responsible_village": "",
        "responsible_department": Department.objects.get(name="水利").pk,
        "responsible_person_name": "李四",
        "responsible_person_post": "村支书",
        "responsible_person": unit["township"].pk,
        "new_deadline": later.isoformat(),
        "deadline_reason": "等待污水管网建成",
        "stage_description": "完成管网接入设计",
        "stage_due_date": (case.deadline + dt.timedelta(days=10)).isoformat(),
        # the inlines' management forms (typical case, rectifications, stages, timeline)
        **{
            f"{prefix}-{name}": value
            for prefix in ("typical", "rectifications", "stages", "events")
            for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
        },
    }
    refused = browser.post(page, {**form, "deadline_reason": ""})
    assert refused.status_code == 200 and "调整整改时限须填写书面理由" in refused.content.decode()

    saved = browser.post(page, form)

    assert saved.status_code == 302
    case.refresh_from_db()
    assert case.deadline == later
    assert (case.responsible_person_name, case.responsible_person, case.responsible_department) == (
        "李四",
        unit["township"],
        Department.objects.get(name="水利"),
    )
    assert events_of(case)[-3:] == ["responsibility", "deadline_changed", "stage_added"]
    (stage,) = case.stages.all()
    assert (stage.seq, stage.description) == (1, "完成管网接入设计")
    outsider = Client()
    outsider.force_login(supervisor(TOWNSHIP))  # the township below the county: follows, may not change
    refused = outsider.post(page, {**form, "new_deadline": (later + dt.timedelta(days=1)).isoformat()})
    assert refused.status_code == 200 and "谁交办" not in refused.content.decode()[:0]
    case.refresh_from_db()
    assert case.deadline == later


def test_stages_fall_due_by_the_time_limit_and_each_is_overdue_on_its_own(unit: dict[str, User]) -> None:
    case = open_case(hand_over=True)
    today = local_date(timezone.now())
    with pytest.raises(StageAfterDeadline):
        case_stage_add(
            case=case,
            actor=unit["supervisor"],
            description="建成管网",
            due_date=case.deadline + dt.timedelta(1),
        )
    with pytest.raises(PermissionDenied):
        case_stage_add(case=case, actor=unit["township"], description="设计", due_date=today)
    first = case_stage_add(case=case, actor=unit["supervisor"], description="完成设计", due_date=today)
    second = case_stage_add(
        case=case, actor=unit["supervisor"], description="建成管网", due_date=case.deadline
    )
    with pytest.raises(DeadlineInvalid):  # the time limit cannot move before a stage
        case_change_deadline(
            case=case, actor=unit["supervisor"], deadline=case.deadline - dt.timedelta(days=1), reason="提前"
        )

    tomorrow = today + dt.timedelta(days=1)
    assert first.is_overdue(tomorrow, case_status=CaseStatus.OPEN)
    assert not second.is_overdue(tomorrow, case_status=CaseStatus.OPEN)
    assert not first.is_overdue(tomorrow, case_status=CaseStatus.AWAITING_VERIFICATION)
    assert not Case.objects.filter(pk=case.pk).overdue(tomorrow).exists()  # the problem keeps its deadline

    CaseStage.objects.filter(pk=first.pk).update(due_date=today - dt.timedelta(days=1))  # a day has passed
    party = client_for(unit["township"])
    stages = party.get(f"{URL}{case.pk}/").json()["stages"]
    assert [(s["seq"], s["overdue"]) for s in stages] == [(1, True), (2, False)]

    done = party.post(f"{URL}{case.pk}/stages/1/complete/", {"note": "设计已批复"}, format="json")
    replay = party.post(f"{URL}{case.pk}/stages/1/complete/", {}, format="json")

    assert (done.status_code, replay.status_code) == (200, 200)
    assert [(s["seq"], s["overdue"]) for s in replay.json()["stages"]] == [(1, False), (2, False)]
    case.refresh_from_db()
    assert events_of(case).count("stage_completed") == 1
    assert case.events.get(kind=CaseEvent.Kind.STAGE_COMPLETED).evidence["late"] is True
    assert party.post(f"{URL}{case.pk}/stages/9/complete/", {}, format="json").status_code == 404
    assert_problem(
        client_for(unit["supervisor"]).post(f"{URL}{case.pk}/stages/2/complete/", {}, format="json"),
        403,
        "permission_denied",
    )
    force_status(case, CaseStatus.CLOSED)
    assert_problem(
        party.post(f"{URL}{case.pk}/stages/2/complete/", {}, format="json"), 409, "stage_not_allowed"
    )


# --- 责任单位 and 责任人 -----------------------------------------------------------------------


def test_the_departments_are_seeded_and_the_unit_must_be_over_the_village(unit: dict[str, User]) -> None:
    assert list(Department.objects.values_list("name", flat=True)) == [
        "农业农村",
        "生态环境",
        "住建",
        "水利",
        "卫健",
    ]
    case = open_case(hand_over=True)
    common: dict[str, Any] = {
        "case": case,
        "actor": unit["supervisor"],
        "department": None,
        "person_name": "",
        "person_post": "",
        "account": None,
    }
    with pytest.raises(ResponsibleUnitInvalid):
        case_set_responsibility(**common, division=division(OTHER_TOWNSHIP), village=None)
    with pytest.raises(ResponsibleUnitInvalid):
        case_set_responsibility(**common, division=division(TOWNSHIP), village=case.village)
    with pytest.raises(ResponsibleUnitInvalid):
        case_set_responsibility(**common, division=None, village=village("330523108201"))
    with pytest.raises(ResponsibleAccountInvalid):
        case_set_responsibility(
            **{**common, "account": unit["elsewhere"]}, division=None, village=case.village
        )
    with pytest.raises(ResponsibleAccountInvalid):
        case_set_responsibility(
            **{**common, "account": unit["supervisor"]}, division=None, village=case.village
        )
    with pytest.raises(PermissionDenied):
        case_set_responsibility(
            **{**common, "actor": supervisor(TOWNSHIP)}, division=None, village=case.village
        )

    changed = case_set_responsibility(**common, division=None, village=case.village)
    unchanged = case_set_responsibility(**common, division=None, village=case.village)

    assert (changed.responsible_division, changed.responsible_village) == (None, case.village)
    assert events_of(unchanged).count("responsibility") == 1
    assert (
        client_for(unit["township"]).get(f"{URL}{case.pk}/").json()["responsible_unit"]["kind"] == "village"
    )


def test_the_sheet_answers_a_client_that_asks_for_pdf_and_refuses_it_as_a_problem_document(
    unit: dict[str, User],
) -> None:
    case = open_case(hand_over=True)
    party = client_for(unit["township"])

    sheet = party.get(f"{URL}{case.pk}/handover-sheet/", HTTP_ACCEPT="application/pdf")
    missing = party.get(f"{URL}{case.pk + 1000}/handover-sheet/", HTTP_ACCEPT="application/pdf")

    assert (sheet.status_code, sheet["Content-Type"]) == (200, "application/pdf")
    assert sheet.content.startswith(b"%PDF-")
    assert_problem(missing, 404, "not_found")
