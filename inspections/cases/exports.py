"""The 问题台账: every problem of a list, as a spreadsheet with Chinese headers and China dates.

The rows are those of the problem list in the admin, with its filters and search, read by
the person asking (their jurisdiction, nothing of a visit still ahead: the list shows
problems of submitted inspections only). :data:`LEDGER_COLUMNS` is the one description of
a row; the XLSX is written row by row with XlsxWriter's constant-memory mode, so a
national ledger costs the same memory as a county's.

A short list is built in the request; a long one by a Celery task
(``inspections.cases.export_ledger``) that records its progress on the
:class:`~inspections.cases.models.LedgerExport` row, which the admin's progress page reads.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import xlsxwriter
from django.conf import settings
from django.contrib import admin
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from inspections.accounts.models import User
from inspections.cases.models import Case, LedgerExport, escalation_level_name
from inspections.common.china_time import SHANGHAI, local_date
from inspections.common.dispatch import enqueue_on_commit_or_sweep

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = "exports"  # the storage folder of the long exports' files


@dataclass(frozen=True)
class Column:
    header: Any  # a lazy translation: the header is written in the reader's language
    value: Callable[[Case, dt.date], Any]
    width: int = 12


def _china(moment: dt.datetime | None) -> dt.datetime | None:
    # Excel has no time zones: the cell holds the wall-clock time in China.
    return None if moment is None else moment.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _escalation(case: Case) -> str:
    return escalation_level_name(case.escalation_level) if case.escalation_level else ""


LEDGER_COLUMNS: tuple[Column, ...] = (
    Column(_("problem number"), lambda c, t: c.pk, 8),
    Column(_("county"), lambda c, t: c.village.township.parent.name if c.village.township.parent else "", 12),
    Column(_("township"), lambda c, t: c.village.township.name, 14),
    Column(_("village"), lambda c, t: c.village.name, 16),
    Column(_("village code"), lambda c, t: c.village.code, 14),
    Column(_("category"), lambda c, t: str(c.category), 24),
    Column(_("severity"), lambda c, t: c.get_severity_display(), 8),
    Column(_("status"), lambda c, t: c.get_status_display(), 12),
    Column(_("found at"), lambda c, t: _china(c.opened_at), 17),
    Column(_("handed over at (交办)"), lambda c, t: _china(c.handed_over_at), 17),
    Column(_("rectification deadline"), lambda c, t: c.deadline, 12),
    Column(_("days overdue"), lambda c, t: c.days_overdue(t), 8),
    Column(
        _("escalation level"),
        lambda c, t: escalation_level_name(c.escalation_level) if c.escalation_level else "",
        14,
    ),
    Column(_("relapse"), lambda c, t: _("yes") if c.is_relapse else "", 6),
    Column(_("false rectification (虚假整改)"), lambda c, t: _("yes") if c.is_false_rectification else "", 8),
    Column(_("times sent back or reopened"), lambda c, t: c.reopen_count or None, 8),
    Column(_("closed at"), lambda c, t: _china(c.closed_at), 17),
)


def ledger_queryset(*, user: User, params: str) -> QuerySet[Case]:
    """The problems of the admin's list for ``user`` with the list's query string ``params``.

    The list's own filters and search are applied (one definition of what a filter means),
    in its order, whether the export is built in the request or by a worker.
    """
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(params)
    request.user = user
    request.path = request.path_info = reverse("admin:inspections_case_changelist")
    model_admin = admin.site.get_model_admin(Case)
    changelist = model_admin.get_changelist_instance(request)
    queryset: QuerySet[Case] = changelist.get_queryset(request)
    return queryset.select_related("village__township__parent", "category").order_by("pk")


def ledger_rows(queryset: QuerySet[Case], *, today: dt.date) -> Iterator[list[Any]]:
    for case in queryset.iterator(chunk_size=2000):
        yield [column.value(case, today) for column in LEDGER_COLUMNS]


def ledger_write(
    queryset: QuerySet[Case],
    out: IO[bytes] | str,
    *,
    language: str,
    today: dt.date,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the ledger of ``queryset`` as XLSX to ``out``; returns the number of rows."""
    with override(language):
        workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
        # The day, not the second: the same list read twice the same day is the same file.
        workbook.set_properties(
            {"title": str(_("problem ledger")), "created": dt.datetime.combine(today, dt.time())}
        )
        sheet = workbook.add_worksheet(str(_("problem ledger")))
        bold = workbook.add_format({"bold": True, "bg_color": "#EEF4EE", "border": 1})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for index, column in enumerate(LEDGER_COLUMNS):
            sheet.set_column(index, index, column.width)
            sheet.write_string(0, index, str(column.header), bold)
        sheet.freeze_panes(1, 0)
        written = 0
        for written, row in enumerate(ledger_rows(queryset, today=today), start=1):
            for index, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(written, index, value, moment)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(written, index, dt.datetime.combine(value, dt.time()), day)
                elif isinstance(value, int):
                    sheet.write_number(written, index, value)
                else:
                    sheet.write_string(written, index, str(value))
            if progress is not None and written % 1000 == 0:
                progress(written)
        if written:
            sheet.autofilter(0, 0, written, len(LEDGER_COLUMNS) - 1)
        workbook.close()
    return written


def ledger_file_name(today: dt.date) -> str:
    return f"problem-ledger-{today:%Y%m%d}.xlsx"


def ledger_export_start(*, user: User, params: str) -> LedgerExport:
    """Record a long export and queue its building (after the row commits)."""
    now = timezone.now()
    with transaction.atomic():
        export = LedgerExport.objects.create(requested_by=user, params=params, created_at=now, touched_at=now)
        # Never waits on the broker: a build never sent is sent again by ledger_export_nudge.
        enqueue_on_commit_or_sweep("inspections.cases.export_ledger", export_id=export.pk)
    return export


def ledger_export_nudge(export: LedgerExport, *, now: dt.datetime) -> bool:
    """Send the build again if it has made no progress for a while (the broker lost it, a worker died).

    Called by the progress page, which its requester is watching: an export never waits
    for good. A second build of the same export only repeats work (see the build).
    """
    quiet = dt.timedelta(seconds=settings.QINGSHAN_LEDGER_EXPORT_RESEND_SECONDS)
    if export.status == LedgerExport.Status.DONE or now - export.touched_at < quiet:
        return False
    if LedgerExport.objects.filter(pk=export.pk, touched_at=export.touched_at).update(touched_at=now):
        enqueue_on_commit_or_sweep("inspections.cases.export_ledger", export_id=export.pk)
        return True
    return False


def ledger_export_build(*, export_id: int) -> LedgerExport | None:
    """Build a recorded export (the task's body). Idempotent: a finished export is left as it is.

    Builds need no claim: two of one export (a redelivery beside a resend) each write a
    file of their own, the first to finish is recorded, and the other removes its file.
    """
    export = LedgerExport.objects.select_related("requested_by").filter(pk=export_id).first()
    if export is None or export.status == LedgerExport.Status.DONE:
        return export
    today = local_date(timezone.now())
    queryset = ledger_queryset(user=export.requested_by, params=export.params)
    total = queryset.count()
    LedgerExport.objects.filter(pk=export.pk).exclude(status=LedgerExport.Status.DONE).update(
        status=LedgerExport.Status.RUNNING, total=total, touched_at=timezone.now()
    )

    def progress(written: int) -> None:
        LedgerExport.objects.filter(pk=export.pk).exclude(status=LedgerExport.Status.DONE).update(
            written=written, touched_at=timezone.now()
        )

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        rows = ledger_write(
            queryset, handle.name, language=export.requested_by.language, today=today, progress=progress
        )
        handle.seek(0)
        stored = default_storage.save(f"{EXPORTS}/{export.uuid}-{uuid.uuid4().hex[:8]}.xlsx", File(handle))
    recorded = (
        LedgerExport.objects.filter(pk=export.pk)
        .exclude(status=LedgerExport.Status.DONE)
        .update(
            status=LedgerExport.Status.DONE,
            written=rows,
            total=rows,
            file_name=stored,
            download_name=ledger_file_name(today),
            finished_at=timezone.now(),
            touched_at=timezone.now(),
        )
    )
    if not recorded:
        default_storage.delete(stored)
    export.refresh_from_db()
    return export


def ledger_exports_purge(*, now: dt.datetime) -> int:
    """Remove exports older than the retention, with their files, and any file no export names."""
    cutoff = now - dt.timedelta(days=settings.QINGSHAN_LEDGER_EXPORT_KEEP_DAYS)
    removed = 0
    for export in LedgerExport.objects.filter(created_at__lt=cutoff).only("pk", "file_name"):
        if export.file_name:
            default_storage.delete(export.file_name)
        export.delete()
        removed += 1
    try:
        _folders, files = default_storage.listdir(EXPORTS)
    except FileNotFoundError:
        files = []
    named = set(LedgerExport.objects.exclude(file_name="").values_list("file_name", flat=True))
    for file in files:
        name = f"{EXPORTS}/{file}"
        if name not in named and default_storage.get_modified_time(name) < cutoff:
            default_storage.delete(name)
    return removed


def ledger_inline_limit() -> int:
    """The longest list built in the request (``QINGSHAN_LEDGER_EXPORT_INLINE_ROWS``)."""
    return int(settings.QINGSHAN_LEDGER_EXPORT_INLINE_ROWS)
