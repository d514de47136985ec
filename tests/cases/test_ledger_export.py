"""The 问题台账 export: the list as filtered, as XLSX, in Chinese and China time; long ones by a worker."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from inspections.cases.exports import LEDGER_COLUMNS, ledger_export_nudge, ledger_exports_purge
from inspections.cases.models import CaseStatus, LedgerExport
from tests.builders import ANJI, ANJI_OTHER, DEQING, DEQING_VILLAGE, YUCUN, at, case, region, supervisor

pytestmark = pytest.mark.django_db

LIST = "/admin/inspections/case/"
EXPORT = "/admin/inspections/case/export/"
NOW = at(2026, 12, 1, 2)  # 10:00 in China


@pytest.fixture
def admin_pages(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def world() -> dict[str, Any]:
    region()
    return {
        # Found at 22:30 UTC on 11-20: 06:30 on 11-21 in China; ten days overdue on 12-01.
        "overdue": case(
            YUCUN, opened_at=dt.datetime(2026, 11, 20, 22, 30, tzinfo=dt.UTC), deadline=dt.date(2026, 11, 21)
        ),
        "in_time": case(ANJI_OTHER, opened_at=at(2026, 11, 25, 3), deadline=dt.date(2026, 12, 20)),
        "closed": case(
            YUCUN, opened_at=at(2026, 10, 1, 3), deadline=dt.date(2026, 10, 20), status=CaseStatus.CLOSED
        ),
        "elsewhere": case(DEQING_VILLAGE, opened_at=at(2026, 11, 25, 3), deadline=dt.date(2026, 11, 26)),
    }


def sheet(content: bytes) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return list(workbook.active.iter_rows(values_only=True))


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@time_machine.travel(NOW, tick=False)
def test_the_list_as_filtered_in_chinese_headers_and_china_time(
    client: Client, admin_pages: None, world: dict[str, Any]
) -> None:
    client.force_login(supervisor(ANJI))
    page = client.get(LIST, {"status__exact": "open"}).content.decode()
    assert f'href="{EXPORT}?status__exact=open"' in page  # the button keeps the list's filters

    response = client.get(EXPORT, {"status__exact": "open"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="problem-ledger-20261201.xlsx"' in response["Content-Disposition"]
    rows = sheet(body(response))
    header = rows[0]
    assert header[0] == "问题编号" and "整改期限" in header and "逾期天数" in header
    assert len(header) == len(LEDGER_COLUMNS)
    numbers = {row[0] for row in rows[1:]}
    # Open ones of Anji only: not the closed one (filter), not Deqing's (jurisdiction).
    assert numbers == {world["overdue"].pk, world["in_time"].pk}
    overdue = next(row for row in rows[1:] if row[0] == world["overdue"].pk)
    found_at = overdue[header.index("发现时间")]
    assert found_at == dt.datetime(2026, 11, 21, 6, 30)  # noqa: DTZ001 (a sheet holds wall-clock times)
    assert overdue[header.index("逾期天数")] == 10
    assert overdue[header.index("村")] == world["overdue"].village.name
    in_time = next(row for row in rows[1:] if row[0] == world["in_time"].pk)
    assert in_time[header.index("逾期天数")] is None


@time_machine.travel(NOW, tick=False)
def test_the_days_overdue_column_of_the_list(
    client: Client, admin_pages: None, world: dict[str, Any]
) -> None:
    client.force_login(supervisor(ANJI))
    changelist = client.get(LIST).context["cl"]
    shown = {row.pk: changelist.model_admin.days_overdue_column(row) for row in changelist.result_list}
    assert shown[world["overdue"].pk] == 10 and shown[world["in_time"].pk] == "—"


@time_machine.travel(NOW, tick=False)
def test_a_long_list_is_built_by_a_worker_and_fetched_by_its_requester_only(
    client: Client,
    admin_pages: None,
    world: dict[str, Any],
    settings: Any,
    eager_celery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.QINGSHAN_LEDGER_EXPORT_INLINE_ROWS = 1
    requester = supervisor(ANJI)
    client.force_login(requester)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.get(EXPORT)
    export = LedgerExport.objects.get()
    assert started.status_code == 302 and started["Location"].endswith(f"/export/{export.uuid}/")

    export.refresh_from_db()
    assert export.status == LedgerExport.Status.DONE and export.written == 3  # Anji's three
    page = client.get(started["Location"]).content.decode()
    assert "已就绪" in page and f"/export/{export.uuid}/file/" in page
    downloaded = client.get(f"/admin/inspections/case/export/{export.uuid}/file/")
    assert downloaded.status_code == 200
    assert {row[0] for row in sheet(body(downloaded))[1:]} == {
        world["overdue"].pk,
        world["in_time"].pk,
        world["closed"].pk,
    }

    colleague = Client()
    colleague.force_login(supervisor(ANJI, username="colleague"))
    assert colleague.get(started["Location"]).status_code == 404
    assert colleague.get(f"/admin/inspections/case/export/{export.uuid}/file/").status_code == 404
    outsider = Client()
    outsider.force_login(supervisor(DEQING))
    assert outsider.get(f"/admin/inspections/case/export/{export.uuid}/file/").status_code == 404


def test_an_export_the_broker_lost_is_sent_again_when_its_page_is_read(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from inspections.common import dispatch

    sent: list[tuple[str, dict[str, Any]]] = []

    def publish(name: str, *args: Any, **kwargs: Any) -> bool:
        sent.append((name, kwargs))
        return True

    monkeypatch.setattr(dispatch, "task_send_bounded", publish)  # never waits on the broker
    requester = supervisor(ANJI)
    asked = timezone.now()
    export = LedgerExport.objects.create(requested_by=requester, created_at=asked, touched_at=asked)

    with django_capture_on_commit_callbacks(execute=True):
        assert ledger_export_nudge(export, now=asked + dt.timedelta(seconds=30)) is False
        assert ledger_export_nudge(export, now=asked + dt.timedelta(minutes=5)) is True
        # The same stale reading again (a second tab): sent once.
        assert ledger_export_nudge(export, now=asked + dt.timedelta(minutes=5)) is False
    assert sent == [("inspections.cases.export_ledger", {"export_id": export.pk})]


def test_old_exports_and_stray_files_are_purged(world: dict[str, Any]) -> None:
    requester = supervisor(ANJI)
    now = timezone.now()
    old_name = default_storage.save("exports/old.xlsx", ContentFile(b"x"))
    new_name = default_storage.save("exports/new.xlsx", ContentFile(b"x"))
    old = LedgerExport.objects.create(
        requested_by=requester, created_at=now - dt.timedelta(days=8), touched_at=now, file_name=old_name
    )
    kept = LedgerExport.objects.create(
        requested_by=requester, created_at=now, touched_at=now, file_name=new_name
    )

    assert ledger_exports_purge(now=now) == 1
    assert not LedgerExport.objects.filter(pk=old.pk).exists() and not default_storage.exists(old_name)
    assert LedgerExport.objects.filter(pk=kept.pk).exists() and default_storage.exists(new_name)
    stray = default_storage.save("exports/stray.xlsx", ContentFile(b"x"))
    assert ledger_exports_purge(now=now + dt.timedelta(days=8)) == 1  # kept is old by then
    assert not default_storage.exists(stray) and not default_storage.exists(new_name)


@time_machine.travel(NOW, tick=False)
def test_escalation_levels_are_named_in_the_list_its_filter_and_the_ledger(
    client: Client, admin_pages: None, world: dict[str, Any]
) -> None:
    type(world["overdue"]).objects.filter(pk=world["overdue"].pk).update(escalation_level=1)
    client.force_login(supervisor(ANJI))
    page = client.get(LIST).content.decode()
    assert "市级督办" in page and "省级督办" in page and "未督办" in page  # badge and filter choices
    raised = client.get(LIST, {"escalation": "1"}).context["cl"]
    assert [c.pk for c in raised.result_list] == [world["overdue"].pk]
    rows = sheet(body(client.get(EXPORT)))
    column = rows[0].index("督办级别")
    assert {row[0]: row[column] for row in rows[1:]}[world["overdue"].pk] == "市级督办"
