"""Opening cases: one per finding of a submitted inspection (问题清单 → 限期整改)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inspections.cases.deadlines import deadline_count
from inspections.cases.errors import InspectionNotSubmitted
from inspections.cases.events import HEAD_FIELDS, case_event_append
from inspections.cases.models import Case, CaseEvent, CaseStatus, ReviewPolicy
from inspections.cases.services.handover import case_handover_notify
from inspections.cases.services.problem_list import responsible_defaults
from inspections.common.china_time import local_date
from inspections.fieldwork.models import Finding, Inspection
from inspections.workdays.calendar import WorkingCalendar
from villages.models import Division


def organising_division(inspection: Inspection) -> Division | None:
    """The level that reviews, hands over and closes the inspection's problems.

    The scope of the sampling plan the visit was drawn from, else the county
    of the village.
    """
    scope_id = (
        Inspection.objects.filter(pk=inspection.pk)
        .values_list("assignment__draw__plan__scope", flat=True)
        .first()
    )
    if scope_id is not None:
        return Division.objects.get(pk=scope_id)
    return Division.objects.filter(code=inspection.village.code[:6]).first()


def auto_hand_over(village_code: str) -> bool:
    """Whether problems found in the village are handed over on submission without review.

    The :class:`ReviewPolicy` of the nearest division above the village that
    has one, else ``QINGSHAN_AUTO_HAND_OVER``.
    """
    prefixes = [village_code[:n] for n in (9, 6, 4, 2)]
    policies = {
        p.division.code: p.auto_hand_over
        for p in ReviewPolicy.objects.filter(division__code__in=prefixes).select_related("division")
    }
    for prefix in prefixes:
        if prefix in policies:
            return policies[prefix]
    return bool(settings.QINGSHAN_AUTO_HAND_OVER)


@transaction.atomic
def cases_open_for_inspection(
    *, inspection: Inspection, now: dt.datetime | None = None, hand_over: bool | None = None
) -> list[Case]:
    """Open one case per finding of a submitted inspection; returns the cases opened now.

    Each awaits review by the organising level
    (:mod:`inspections.cases.services.review`), unless ``hand_over`` (by
    default :func:`auto_hand_over`): then it is confirmed and handed over at
    once, its opening event saying so.

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
    if hand_over is None:
        hand_over = auto_hand_over(inspection.village.code)
    organiser = organising_division(inspection) if findings else None
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
            status=CaseStatus.OPEN if hand_over else CaseStatus.AWAITING_REVIEW,
            organising_division=organiser,
            handed_over_at=now if hand_over else None,
            opened_at=now,
            deadline=counted.date,
            deadline_working_days=days,
            deadline_warning=counted.warning,
            deadline_from=start,
            escalation_due_on=counted.date + dt.timedelta(days=1),
            **responsible_defaults(inspection.village),
        )
        case_event_append(
            case,
            kind=CaseEvent.Kind.OPENED,
            actor=None,
            from_status="",
            evidence={
                "finding": str(finding.client_uuid),
                "inspection": inspection.pk,
                "handed_over": "automatic" if hand_over else "awaiting_review",
            },
            now=now,
        )
        case.save(update_fields=HEAD_FIELDS)
        if hand_over:
            case_handover_notify(case=case, now=now)
        opened.append(case)
    return opened
