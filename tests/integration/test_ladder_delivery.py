"""The 督办 ladder end to end over simulated working days, through a real SMTP server (aiosmtpd).

A problem found on Friday 24 January 2025 with 10 working days is due on
Thursday 13 February. Day by day, with the clock held (time-machine) and the
hourly job run as beat would run it: 提醒 on Monday 10 February (three working
days before), the 督办单 on Friday 14 February (the first day overdue), the
bulletins (通报) of February on 1 March, the 约谈 entered in the admin on 5
March. The SMTP server answers 451 to the first attempt of one reminder, one
notice and one bulletin; every email still arrives exactly once, with the
Message-ID the ledger recorded, and the 督办单's PDF says what it must.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.test import Client
from pypdf import PdfReader

from config.celery import app
from inspections.cases.models import Bulletin, Case, CaseEvent, LadderStep, Summons
from inspections.cases.services import ladder
from inspections.common.models import MailSend
from tests.builders import ANJI, YUCUN, at, division, open_case, responsible_party, supervisor
from tests.integration.test_digest_delivery import SmtpHandler, smtp  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

TOWNSHIP = YUCUN[:9]


@pytest.fixture
def real_smtp(smtp: tuple[SmtpHandler, int], settings: Any) -> SmtpHandler:  # noqa: F811
    handler, port = smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return handler


@pytest.fixture
def worker_in_process() -> Any:
    """Tasks enqueued on commit run in-process, each retry in turn, as a worker runs them."""
    eager, propagates = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = eager, propagates


def hourly_runs(day: dt.date, capture: Any) -> None:
    """The day's beat runs of the ladder (every hour, 08:12 to 18:12 China time) and of the bulletins."""
    for hour in range(8, 19):
        with time_machine.travel(at(day.year, day.month, day.day, hour, 12), tick=False):
            with capture(execute=True):
                ladder.cases_climb_ladder()
            if hour == 8:
                with capture(execute=True):
                    ladder.bulletins_compile()


def test_the_ladder_climbs_over_working_days_and_each_email_arrives_once(
    real_smtp: SmtpHandler,
    worker_in_process: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    responsible_party(TOWNSHIP, email="tianhuangping@example.cn")
    county = supervisor(ANJI, email="anji@example.cn")
    supervisor("3305", email="huzhou@example.cn")
    case: Case = open_case(submitted_at=at(2025, 1, 24, 10), now=at(2025, 1, 24, 10), category_days=10)
    assert case.deadline == dt.date(2025, 2, 13)
    real_smtp.refuse_once.update({"tianhuangping@example.cn", "anji@example.cn", "huzhou@example.cn"})

    day = dt.date(2025, 2, 3)
    while day <= dt.date(2025, 3, 3):
        hourly_runs(day, django_capture_on_commit_callbacks)
        if day == dt.date(2025, 2, 7):
            assert real_smtp.received == [], "nothing before three working days ahead"
        if day == dt.date(2025, 2, 10):
            assert [r.rcpt for r in real_smtp.received] == [["tianhuangping@example.cn"]]  # after one 451
        if day == dt.date(2025, 2, 13):
            assert len(real_smtp.received) == 1, "the deadline day itself is not overdue"
        day += dt.timedelta(days=1)

    # 提醒 to the unit; 督办单 to the unit and the county; 通报 to Anji's and Huzhou's supervisors.
    by_subject: dict[str, list[str]] = {}
    for received in real_smtp.received:
        by_subject.setdefault(str(received.message["Subject"]), []).extend(received.rcpt)
    assert sorted(len(rcpts) for rcpts in by_subject.values()) == [1, 1, 1, 2]
    assert sorted(real_smtp.addresses()) == sorted(
        ["tianhuangping@example.cn"] * 2 + ["anji@example.cn"] * 2 + ["huzhou@example.cn"]
    )
    sends = MailSend.objects.filter(kind__in=ladder.MAIL_KINDS)
    assert sends.count() == 5 and set(sends.values_list("status", flat=True)) == {"sent"}
    assert sorted(sends.values_list("attempts", flat=True)) == [1, 1, 2, 2, 2]  # each 451 retried once
    ids = {str(r.message["Message-ID"]) for r in real_smtp.received}
    assert ids == set(sends.values_list("message_id", flat=True))

    (notice,) = [
        r.message
        for r in real_smtp.received
        if "anji@example.cn" in r.rcpt and "督办单" in str(r.message["Subject"])
    ]
    (attachment,) = list(notice.iter_attachments())
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(attachment.get_content())).pages)
    assert (
        "督办单" in text and "2025-02-13" in text and "2025-02-21" in text
    )  # the reply due five working days on
    step = LadderStep.objects.get(kind=LadderStep.Kind.SUPERVISION)
    assert step.issued_at == at(2025, 2, 14, 8, 12)
    # January's bulletins (compiled on 3 February) named nothing and told no one.
    assert set(Bulletin.objects.values_list("month", flat=True)) == {dt.date(2025, 1, 1), dt.date(2025, 2, 1)}
    bulletin = Bulletin.objects.get(division__code=ANJI, month=dt.date(2025, 2, 1))
    assert bulletin.compiled_at == at(2025, 3, 1, 8, 12)
    assert bulletin.content["totals"] == {"overdue": 1, "relapsed": 0, "false_rectification": 0}
    assert Bulletin.objects.filter(division__code="3305", month=dt.date(2025, 2, 1)).exists()

    # 约谈: the county's supervisor enters the summons in the admin.
    browser = Client()
    browser.force_login(county)
    with time_machine.travel(at(2025, 3, 5, 16), tick=False):
        response = browser.post(
            "/admin/inspections/summons/add/",
            {
                "division": division(ANJI).pk,
                "summoned_division": division(TOWNSHIP).pk,
                "summoned_persons": "天荒坪镇镇长",
                "held_at_0": "2025-03-05",
                "held_at_1": "15:00:00",
                "attendees": "县农业农村局",
                "minutes": "逾期未整改，限期两周",
                "cases": str(case.pk),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Summons.objects.get().report_due == dt.date(2025, 4, 4)

    kinds = list(case.events.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["opened", "reminded", "supervised", "bulletined", "bulletined", "summoned"]
    assert case.events.filter(kind=CaseEvent.Kind.BULLETINED).count() == 2  # Anji's and Huzhou's
    assert len(real_smtp.received) == 5, "nothing more was sent"
