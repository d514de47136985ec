"""Opening cases: one per finding of a submitted inspection (问题清单 → 限期整改)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from inspections.cases.deadlines import deadline_count
from inspections.cases.errors import InspectionNotSubmitted
from inspections.cases.events import HEAD_FIELDS, case_event_append
from inspections.cases.models import Case, CaseEvent, CaseStatus
from inspections.common.china_time import local_date
from inspections.fieldwork.models import Finding, Inspection
from inspections.workdays.calendar import WorkingCalendar


@transaction.atomic
def cases_open_for_inspection(*, inspection: Inspection, now: dt.datetime | None = None) -> list[Case]:
    """Open one case per finding of a submitted inspection; returns the cases opened now.

    Called by the submit service in its own transaction, so a submitted
    inspection is never seen without its cases. Idempotent: a second call
    opens only the cases of findings that have none yet (there are none), so
    a replayed submit is safe. Each deadline is counted from the day of
    submission in China. Refuses ``inspection_not_submitted`` otherwise.
    """
    now = now or timezone.now()
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if inspection.status != Inspection.Status.SUBMITTED:
        raise InspectionNotSubmitted()
    findings = list(
        Finding.objects.filter(inspection=inspection, case__isnull=True)
        .select_related("category")
        .order_by("created_at", "id")
    )
    calendar = WorkingCalendar.load()
    opened: list[Case] = []
    start = local_date(inspection.submitted_at or now)
    for finding in findings:
        days, counted = deadline_count(
            category=finding.category, severity=finding.severity, start=start, calendar=calendar
        )
        case = Case.objects.create(
            finding=finding,
            inspection=inspection,
            village_id=inspection.village_id,
            category=finding.category,
            severity=finding.severity,
            status=CaseStatus.OPEN,
            opened_at=now,
            deadline=counted.date,
            deadline_working_days=days,
            deadline_warning=counted.warning,
            deadline_from=start,
            escalation_due_on=counted.date + dt.timedelta(days=1),
        )
        case_event_append(
            case,
            kind=CaseEvent.Kind.OPENED,
            actor=None,
            from_status="",
            evidence={"finding": str(finding.client_uuid), "inspection": inspection.pk},
            now=now,
        )
        case.save(update_fields=HEAD_FIELDS)
        opened.append(case)
    return opened
