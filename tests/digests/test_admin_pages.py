"""The digests' admin pages a supervisor uses: the preview as the reader sees it, their own subscriptions."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from inspections.common.china_time import local_date
from inspections.digests.models import DigestKind, DigestSubscription
from tests.builders import ANJI, DEQING, HUZHOU, YUCUN, county_activity, recipient

pytestmark = pytest.mark.django_db

PREVIEW = "/admin/inspections/digestsend/preview/"
SUBSCRIPTIONS = "/admin/inspections/digestsubscription/"


@pytest.fixture
def admin_pages(settings: Any) -> None:
    """Admin pages render without a collected static manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_the_preview_frame_holds_the_whole_email_and_names_headers_in_chinese(
    client: Client, admin_pages: None
) -> None:
    county_activity(YUCUN)
    huzhou = recipient(HUZHOU, username="huzhou")
    client.force_login(huzhou)
    page = client.get(PREVIEW, {"recipient": str(huzhou.pk), "kind": "weekly", "period": "2025-01-08"})
    content = page.content.decode()

    frame = re.search(r'<iframe[^>]*srcdoc="([^"]*)"', content)
    assert frame is not None
    # The attribute is one escaped document: unescaped, it is the email's whole HTML part.
    document = html.unescape(frame.group(1))
    assert document.lstrip().lower().startswith("<!doctype html") and document.rstrip().endswith("</html>")
    assert "<" not in frame.group(1)
    assert "收件人" in content and "主题" in content and "退订链接" in content


def test_a_supervisor_chooses_their_own_subscriptions_only(client: Client, admin_pages: None) -> None:
    anji = recipient(ANJI, username="anji")
    colleague = recipient(ANJI, username="colleague")
    theirs = DigestSubscription.objects.create(user=colleague, kind=DigestKind.DAILY, enabled=True)
    client.force_login(anji)

    added = client.post(f"{SUBSCRIPTIONS}add/", {"kind": DigestKind.DAILY, "send_empty": ""})
    assert added.status_code == 302
    mine = DigestSubscription.objects.get(user=anji, kind=DigestKind.DAILY)
    assert mine.enabled is False  # the unticked box: opted out of the daily digest

    again = client.post(f"{SUBSCRIPTIONS}add/", {"kind": DigestKind.DAILY, "enabled": "on"})
    assert again.status_code == 200 and "修改那一条" in again.content.decode()
    assert DigestSubscription.objects.filter(user=anji).count() == 1

    # The user is not theirs to choose: a posted user is ignored.
    other = client.post(f"{SUBSCRIPTIONS}add/", {"kind": DigestKind.WEEKLY, "user": str(colleague.pk)})
    assert other.status_code == 302
    assert DigestSubscription.objects.get(kind=DigestKind.WEEKLY).user == anji

    changed = client.post(f"{SUBSCRIPTIONS}{mine.pk}/change/", {"kind": DigestKind.DAILY, "enabled": "on"})
    assert changed.status_code == 302
    mine.refresh_from_db()
    assert mine.enabled is True

    page = client.get(f"{SUBSCRIPTIONS}{theirs.pk}/change/")
    assert page.status_code == 200 and 'name="enabled"' not in page.content.decode()  # view only
    refused = client.post(f"{SUBSCRIPTIONS}{theirs.pk}/change/", {"kind": DigestKind.DAILY})
    assert refused.status_code == 403
    theirs.refresh_from_db()
    assert theirs.enabled is True


def test_a_supervisor_outside_the_jurisdiction_does_not_see_the_row(
    client: Client, admin_pages: None
) -> None:
    anji = recipient(ANJI, username="anji")
    row = DigestSubscription.objects.create(user=anji, kind=DigestKind.DAILY)
    client.force_login(recipient(DEQING, username="deqing"))
    assert client.get(f"{SUBSCRIPTIONS}{row.pk}/change/").status_code in (302, 404)


def test_the_preview_form_offers_yesterday_in_the_form_a_date_input_reads(
    client: Client, admin_pages: None
) -> None:
    """A date input takes ISO dates only: in Chinese the admin's own format (2025/01/08) left it empty."""
    huzhou = recipient(HUZHOU, username="huzhou")
    client.force_login(huzhou)
    with override_settings(LANGUAGE_CODE="zh-hans"):
        content = client.get(PREVIEW, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    field = re.search(r'<input type="date" name="period" value="([^"]*)"', content)
    assert field is not None, content
    yesterday = local_date(timezone.now()) - dt.timedelta(days=1)
    assert field.group(1) == yesterday.isoformat()
