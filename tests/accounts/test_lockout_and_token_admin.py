"""The login lockout's and the tokens' admin pages (django-axes, simplejwt's blacklist) read in Chinese.

A national superuser opens them from the first page: each list, filtered, and
each row's page; their visible text is scanned for English, as the browser
walks scan the supervisors' pages.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.browser.walk import untranslated
from tests.builders import user

pytestmark = pytest.mark.django_db

AGENT = "测试浏览器/1.0"


def visible_text(html: str) -> str:
    """The text a browser shows of ``html``: no scripts, styles or tags (attributes are not shown)."""
    html = re.sub(r"(?is)<(script|style|template)\b.*?</\1>", " ", html)
    return unescape(re.sub(r"(?s)<[^>]+>", " ", html))


@pytest.fixture
def admin_client() -> Client:
    admin = user(is_staff=True, is_superuser=True, username="管理员", language="zh-hans")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin)
    now = timezone.now()
    AccessAttempt.objects.create(
        username="检查员", ip_address="10.0.0.7", user_agent=AGENT, http_accept="*/*",
        path_info="/admin/login/", get_data="", post_data="", failures_since_start=3,
    )  # fmt: skip
    AccessLog.objects.create(
        username="管理员", ip_address="10.0.0.7", user_agent=AGENT, http_accept="*/*",
        path_info="/admin/login/", logout_time=now,
    )  # fmt: skip
    AccessFailureLog.objects.create(
        username="检查员", ip_address="10.0.0.7", user_agent=AGENT, http_accept="*/*",
        path_info="/admin/login/", locked_out=True,
    )  # fmt: skip
    issued = OutstandingToken.objects.create(
        user=admin, jti="0f3a9c1e7b2d4e5f8a6b9c0d1e2f3a4b", token="e30.e30.c2ln",
        created_at=now, expires_at=now + dt.timedelta(days=1),
    )  # fmt: skip
    BlacklistedToken.objects.create(token=issued)
    return client


LISTS = [
    "axes/accessattempt",
    "axes/accesslog",
    "axes/accessfailurelog",
    "token_blacklist/outstandingtoken",
    "token_blacklist/blacklistedtoken",
]


def english_on(client: Client, path: str) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200, path
    return untranslated(visible_text(response.content.decode()))


def test_the_first_page_names_both_apps_and_their_pages_in_chinese(admin_client: Client) -> None:
    text = visible_text(admin_client.get("/admin/").content.decode())

    names = {"登录锁定", "登录失败计数", "登录失败记录", "登录记录", "令牌黑名单", "已签发令牌", "已作废令牌"}
    assert names <= set(re.findall(r"\w+", text))
    assert english_on(admin_client, "/admin/") == set()


@pytest.mark.parametrize("page", LISTS)
def test_each_list_and_its_first_rows_page_have_no_english(admin_client: Client, page: str) -> None:
    listed = admin_client.get(f"/admin/{page}/")
    found = re.search(rf'href="(/admin/{page}/\d+/change/)', listed.content.decode())
    assert found, page

    assert english_on(admin_client, f"/admin/{page}/") == set()
    assert english_on(admin_client, found.group(1)) == set()


def test_a_locked_out_filter_and_the_remaining_attempts_are_in_chinese(admin_client: Client) -> None:
    text = visible_text(admin_client.get("/admin/axes/accessattempt/?locked_out=no").content.decode())

    assert "已锁定" in text  # the filter's title
    assert "次尝试机会" in text  # the status column: attempts left before the lockout


def test_the_token_pages_are_read_only(admin_client: Client) -> None:
    blacklisted = BlacklistedToken.objects.get()

    assert admin_client.get("/admin/token_blacklist/blacklistedtoken/add/").status_code == 403
    page = f"/admin/token_blacklist/blacklistedtoken/{blacklisted.pk}/change/"
    assert admin_client.post(page, {"token": blacklisted.token_id}).status_code == 403
    assert admin_client.get("/admin/token_blacklist/outstandingtoken/add/").status_code == 403
