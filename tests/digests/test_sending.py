"""Sending digests: recipients, the email itself, claims, fan-out, unsubscribe, schedules, operations."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import smtplib
import time
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.test import Client, override_settings
from django_celery_beat.models import PeriodicTask

from inspections.cases.models import Case
from inspections.common import dispatch
from inspections.common.schedules import ensure
from inspections.digests import services
from inspections.digests.models import DigestKind, DigestSend, DigestSubscription
from inspections.digests.recipients import (
    UNSUBSCRIBE_SALT,
    digest_recipients,
    digest_subscription_set,
    unsubscribe_token,
    unsubscribe_token_read,
    unsubscribe_url,
)
from inspections.digests.schedules import ENTRIES
from inspections.digests.selectors import Period, digest_build
from tests.builders import (
    ANJI,
    DEQING,
    DEQING_VILLAGE,
    HUZHOU,
    MONDAY,
    YUCUN,
    at,
    county_activity,
    recipient,
    responsible_party,
    user,
)

pytestmark = pytest.mark.django_db

WEEK = Period(kind=DigestKind.WEEKLY, start=MONDAY)
NOW = at(2025, 1, 13, 8)


def deliver(user_id: int, *, now: dt.datetime = NOW, **kwargs: Any) -> services.Outcome:
    return services.digest_deliver(
        recipient_id=user_id, kind=DigestKind.WEEKLY, period=WEEK, now=now, **kwargs
    )


# --- Who gets one ----------------------------------------------------------------------


def test_supervisors_and_holders_of_the_permission_receive_digests() -> None:
    anji = recipient(ANJI)
    granted = responsible_party(ANJI, email="rp@example.cn")
    granted.user_permissions.add(Permission.objects.get(codename="receive_digest"))
    responsible_party(ANJI, email="other@example.cn")  # no permission
    recipient(DEQING, email="")  # no address
    user(email="nobody@example.cn")  # no jurisdiction
    recipient(DEQING, username="gone", is_active=False)

    assert set(digest_recipients(kind=DigestKind.DAILY)) == {anji, granted}


def test_a_recipient_opts_out_of_one_kind_only() -> None:
    anji = recipient(ANJI)
    digest_subscription_set(user=anji, kind=DigestKind.DAILY, enabled=False)

    assert list(digest_recipients(kind=DigestKind.DAILY)) == []
    assert list(digest_recipients(kind=DigestKind.WEEKLY)) == [anji]


# --- The email ---------------------------------------------------------------------------


def test_it_sends_html_text_and_the_overdue_csv_in_the_recipients_language() -> None:
    county_activity(YUCUN)
    zh = recipient(ANJI, username="anji-zh")
    en = recipient(ANJI, username="anji-en", language="en")

    assert deliver(zh.pk).status == "sent"
    assert deliver(en.pk).status == "sent"

    chinese, english = mail.outbox
    assert chinese.subject == "青山每周调度报告 · 区划330523 · 2025-01-06 – 2025-01-12"
    assert english.subject == "Qingshan weekly digest · 区划330523 · 2025-01-06 – 2025-01-12"
    assert "逾期问题" in chinese.body and "生活垃圾乱堆乱放" in chinese.body
    assert "Overdue cases" in english.body and "Garbage piled up" in english.body
    assert isinstance(chinese, EmailMultiAlternatives)
    html = str(chinese.alternatives[0][0])
    assert "<img" not in html and "http://127.0.0.1:8000/admin/inspections/case/" in html
    assert chinese.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert chinese.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/digests/unsubscribe/")
    assert chinese.extra_headers["Content-Language"] == "zh-hans"
    [(name, content, mimetype)] = chinese.attachments
    assert (name, mimetype) == ("overdue-330523-20250106.csv", "text/csv")
    raw = content if isinstance(content, bytes) else content.encode()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["问题编号", "村代码", "村"]
    assert rows[1][1] == YUCUN and rows[1][9] == "3" and rows[1][10] == "1"

    sends = {s.recipient_id: s for s in DigestSend.objects.all()}
    assert (
        sends[zh.pk].status == "sent"
        and sends[zh.pk].message_id == f"<digest.weekly.20250106.{zh.pk}@localhost>"
    )
    assert sends[zh.pk].summary["overdue"] == [1, 0]


def test_an_empty_digest_is_skipped_unless_asked_for() -> None:
    county_activity(DEQING_VILLAGE)
    quiet = recipient(ANJI, username="quiet")
    keen = recipient(ANJI, username="keen")
    digest_subscription_set(user=keen, kind=DigestKind.WEEKLY, enabled=True, send_empty=True)

    assert deliver(quiet.pk) == services.Outcome(quiet.pk, "skipped", "empty")
    assert deliver(keen.pk).status == "sent"

    assert [m.to for m in mail.outbox] == [[keen.email]]
    assert mail.outbox[0].attachments == []


# --- Exactly once ---------------------------------------------------------------------------


def test_a_digest_is_sent_once_however_often_it_is_delivered() -> None:
    county_activity(YUCUN)
    anji = recipient(ANJI)

    outcomes = [deliver(anji.pk).status for _ in range(3)]

    assert outcomes == ["sent", "not_claimed", "not_claimed"]
    assert len(mail.outbox) == 1
    assert DigestSend.objects.get().attempts == 1


def test_a_live_claim_is_respected_and_a_stale_one_recovered() -> None:
    county_activity(YUCUN)
    anji = recipient(ANJI)
    # A worker claimed it and died before sending.
    claim = services.digest_claim(recipient_id=anji.pk, kind=DigestKind.WEEKLY, period=WEEK, now=NOW)
    assert claim is not None

    assert deliver(anji.pk, now=NOW + dt.timedelta(minutes=5)).status == "not_claimed"
    assert deliver(anji.pk, now=NOW + dt.timedelta(minutes=16)).status == "sent"

    assert len(mail.outbox) == 1
    assert DigestSend.objects.get().attempts == 2


class FlakyConnection:
    """An email backend whose first ``failures`` sends fail with ``error``."""

    def __init__(self, error: Exception, failures: int = 1) -> None:
        self.error, self.failures, self.sent = error, failures, 0

    def send_messages(self, messages: list[Any]) -> int:
        if self.failures:
            self.failures -= 1
            raise self.error
        mail.outbox.extend(messages)
        return len(messages)

    def close(self) -> None:
        pass


def test_a_transient_failure_is_recorded_and_retried() -> None:
    county_activity(YUCUN)
    anji = recipient(ANJI)
    flaky = FlakyConnection(smtplib.SMTPDataError(451, b"try again later"))

    with pytest.raises(services.DigestTransientError):
        deliver(anji.pk, connection=flaky)
    failed = DigestSend.objects.get()
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "451" in failed.reason

    assert deliver(anji.pk, connection=flaky).status == "sent"
    assert len(mail.outbox) == 1
    assert DigestSend.objects.get().attempts == 2


def test_a_permanent_refusal_is_failed_for_good() -> None:
    county_activity(YUCUN)
    anji = recipient(ANJI)
    refusing = FlakyConnection(smtplib.SMTPRecipientsRefused({anji.email: (550, b"no such user")}))

    assert deliver(anji.pk, connection=refusing).status == "failed"
    assert deliver(anji.pk, connection=refusing).status == "not_claimed"
    assert services.digests_fan_out(kind=DigestKind.WEEKLY, period=WEEK) == []


@override_settings(QINGSHAN_DIGEST_CHUNK_SIZE=2)
def test_the_fan_out_enqueues_only_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    county_activity(YUCUN)
    people = [recipient(ANJI, username=f"sup{n}") for n in range(5)]
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(dispatch, "task_send", lambda name, *args: sent.append((name, args)))

    with django_capture_on_commit_callbacks(execute=True):
        first = services.digests_fan_out(kind=DigestKind.WEEKLY, period=WEEK)
    assert [len(c) for c in first] == [2, 2, 1]
    assert sent == [("inspections.digests.send_chunk", ("weekly", "2025-01-06", chunk)) for chunk in first]
    assert DigestSend.objects.filter(status="pending").count() == 5

    # The first chunk went out, then the worker died; the rerun enqueues the rest.
    services.digests_deliver_chunk(kind=DigestKind.WEEKLY, period=WEEK, recipient_ids=first[0])
    again = services.digests_fan_out(kind=DigestKind.WEEKLY, period=WEEK)
    assert sorted(pk for chunk in again for pk in chunk) == sorted(p.pk for p in people[2:])


# --- Unsubscribe ---------------------------------------------------------------------------------


def test_the_one_click_link_unsubscribes_on_post_only() -> None:
    anji = recipient(ANJI)
    url = unsubscribe_url(user=anji, kind=DigestKind.DAILY).removeprefix("http://127.0.0.1:8000")
    client = Client(enforce_csrf_checks=True)

    page = client.get(url)
    assert page.status_code == 200 and "退订" in page.content.decode()
    assert not DigestSubscription.objects.exists()

    # What a mail client sends for RFC 8058 one-click: a POST without any CSRF token.
    done = client.post(
        url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200
    assert DigestSubscription.objects.get(user=anji, kind=DigestKind.DAILY).enabled is False
    assert list(digest_recipients(kind=DigestKind.DAILY)) == []
    assert list(digest_recipients(kind=DigestKind.WEEKLY)) == [anji]


def test_a_link_from_an_email_sent_before_still_unsubscribes() -> None:
    anji = recipient(ANJI)
    # Signed as every digest sent so far was: the salt is part of the links in people's mailboxes.
    token = signing.dumps({"u": anji.pk, "k": "weekly"}, salt="inspections.digests.unsubscribe")

    response = Client().post(f"/digests/unsubscribe/{token}/")

    assert response.status_code == 200
    assert DigestSubscription.objects.get(user=anji, kind=DigestKind.WEEKLY).enabled is False


def test_a_forged_unsubscribe_link_is_refused() -> None:
    anji = recipient(ANJI)
    token = unsubscribe_token(user=anji, kind=DigestKind.DAILY)

    response = Client().post(f"/digests/unsubscribe/{token[:-2]}xx/")

    assert response.status_code == 400
    assert not DigestSubscription.objects.exists()


def test_an_unsubscribe_link_expires(settings: Any) -> None:
    anji = recipient(ANJI)

    class SignedLongAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            days = settings.QINGSHAN_UNSUBSCRIBE_LINK_DAYS + 1
            return signing.b62_encode(int(time.time()) - days * 86400)

    old = SignedLongAgo(salt=UNSUBSCRIBE_SALT).sign_object({"u": anji.pk, "k": "daily"}, compress=True)

    response = Client().post(f"/digests/unsubscribe/{old}/")

    assert response.status_code == 400
    assert not DigestSubscription.objects.exists()


def test_replaying_a_link_after_a_resubscribe_does_nothing() -> None:
    anji = recipient(ANJI)
    token = unsubscribe_token(user=anji, kind=DigestKind.DAILY)
    assert Client().post(f"/digests/unsubscribe/{token}/").status_code == 200
    digest_subscription_set(user=anji, kind=DigestKind.DAILY, enabled=True)

    replay = Client().post(f"/digests/unsubscribe/{token}/")

    assert replay.status_code == 400
    assert Client().get(f"/digests/unsubscribe/{token}/").status_code == 400
    assert DigestSubscription.objects.get(user=anji, kind=DigestKind.DAILY).enabled is True
    fresh = unsubscribe_token(user=anji, kind=DigestKind.DAILY)
    assert Client().post(f"/digests/unsubscribe/{fresh}/").status_code == 200
    assert DigestSubscription.objects.get(user=anji, kind=DigestKind.DAILY).enabled is False


# --- Schedules and operations --------------------------------------------------------------------


def test_the_schedules_are_daily_and_monday_at_eight_in_china_with_an_expiry() -> None:
    daily = PeriodicTask.objects.get(name="digests: daily")
    weekly = PeriodicTask.objects.get(name="digests: weekly")

    for task, kind, day_of_week in ((daily, "daily", "*"), (weekly, "weekly", "1")):
        assert task.task == "inspections.digests.send_scheduled"
        assert json.loads(task.kwargs) == {"kind": kind}
        assert task.queue == "email"
        assert task.expire_seconds and task.expire_seconds > 0
        assert task.crontab is not None
        assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "8", day_of_week)
        assert str(task.crontab.timezone) == "Asia/Shanghai"


def test_a_supervisor_keeps_edits_to_the_schedule() -> None:
    PeriodicTask.objects.filter(name="digests: daily").update(enabled=False, expire_seconds=60)

    ensure(ENTRIES)

    task = PeriodicTask.objects.get(name="digests: daily")
    assert (task.enabled, task.expire_seconds) == (False, 60)


def test_send_digests_replays_a_period_and_only_what_is_missing() -> None:
    county_activity(YUCUN)
    anji = recipient(ANJI, username="anji")
    recipient(HUZHOU, username="huzhou")
    out = io.StringIO()

    call_command("send_digests", "--kind", "weekly", "--period", "2025-01-08", "--to", "anji", stdout=out)
    call_command("send_digests", "--kind", "weekly", "--period", "2025-01-06", stdout=out)

    assert sorted(m.to[0] for m in mail.outbox) == sorted([anji.email, "huzhou@example.cn"])
    assert "sent 1" in out.getvalue() and "not_claimed 1" in out.getvalue()


def test_send_digests_dry_run_sends_and_records_nothing() -> None:
    county_activity(YUCUN)
    recipient(ANJI, username="anji", language="en")
    out = io.StringIO()

    call_command(
        "send_digests", "--kind", "weekly", "--period", "2025-01-06", "--to", "anji", "--dry-run", stdout=out
    )

    assert mail.outbox == [] and not DigestSend.objects.exists()
    assert "Subject: Qingshan weekly digest" in out.getvalue()
    assert "would send" in out.getvalue()


# --- Admin -----------------------------------------------------------------------------------------


@pytest.fixture
def admin_pages(settings: Any) -> None:
    """Admin pages render without a collected static manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_the_admin_previews_a_digest_in_scope_only(client: Client, admin_pages: None) -> None:
    county_activity(YUCUN)
    huzhou = recipient(HUZHOU, username="huzhou")
    anji = recipient(ANJI, username="anji", language="en")
    deqing = recipient(DEQING, username="deqing")
    url = "/admin/inspections/digestsend/preview/"

    client.force_login(huzhou)
    page = client.get(url, {"recipient": str(anji.pk), "kind": "weekly", "period": "2025-01-08"})
    assert page.status_code == 200
    content = page.content.decode()
    assert "Qingshan weekly digest" in content and "List-Unsubscribe" in content
    assert "overdue-330523-20250106.csv" in content
    # No working one-click link of another account: the viewer could unsubscribe them with it.
    assert "/digests/unsubscribe/preview/" in content
    tokens = re.findall(r"/digests/unsubscribe/([^/\s\"'<>&]+)/", content)
    assert tokens and all(unsubscribe_token_read(token) is None for token in tokens)

    client.force_login(deqing)
    refused = client.get(url, {"recipient": str(anji.pk), "kind": "weekly", "period": "2025-01-08"})
    assert refused.status_code == 200
    assert "Qingshan weekly digest" not in refused.content.decode()  # the form refuses the recipient


def test_the_delivery_log_is_scoped(client: Client, admin_pages: None) -> None:
    anji, deqing = recipient(ANJI, username="anji"), recipient(DEQING, username="deqing")
    for person in (anji, deqing):
        DigestSend.objects.create(
            recipient=person,
            kind="daily",
            period_start=MONDAY,
            status="skipped",
            reason="empty",
            completed_at=NOW,
        )

    client.force_login(anji)
    page = client.get("/admin/inspections/digestsend/")

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1


def test_the_digest_says_how_many_relapsed_and_apart_how_many_were_falsely_rectified() -> None:
    county_activity(YUCUN)
    one = Case.objects.filter(village__code=YUCUN, closed_at__isnull=True).order_by("pk").first()
    assert one is not None
    Case.objects.filter(pk=one.pk).update(is_false_rectification=True)
    zh = recipient(ANJI, username="anji-zh")
    en = recipient(ANJI, username="anji-en", language="en")
    expected = digest_build(prefix=ANJI, period=WEEK, now=NOW).false_rectified

    deliver(zh.pk)
    deliver(en.pk)

    chinese, english = mail.outbox
    assert expected.current == 1
    assert "虚假整改" in chinese.body and "返黑返臭" in chinese.body
    assert "Relapsed (返黑返臭), open: 0 (±0)" in english.body
    assert f"False rectification (虚假整改), open: 1 ({expected.delta})" in english.body
    html = str(english.alternatives[0][0])  # type: ignore[attr-defined]
    assert "False rectification (虚假整改), open" in html
    summary = DigestSend.objects.get(recipient=en).summary
    assert (summary["relapsed"], summary["false_rectified"]) == ([0, 0], [1, expected.previous])
