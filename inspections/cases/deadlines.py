"""Rectification deadlines: how many working days a problem gets, counted on China's calendar.

The working days come from the editable :class:`DeadlineRule` of the
category and severity, else the category's default; they are counted by
:mod:`inspections.workdays.calendar`. A deadline counted in a year whose
holidays are not known yet carries a warning, and is recounted by
:func:`cases_recount_deadlines` once an administrator enters that year.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from inspections.accounts.models import User
from inspections.cases.models import RECTIFICATION_DUE, Case, DeadlineRule
from inspections.cases.services.escalation import deadline_moved
from inspections.checklist.models import ProblemCategory
from inspections.common.china_time import local_date
from inspections.workdays.calendar import WorkingCalendar, WorkingDays, add_working_days


def deadline_working_days(*, category: ProblemCategory, severity: str) -> int:
    """The working days given: the editable rule of the category and severity, else the category's."""
    rule = DeadlineRule.objects.filter(category=category, severity=severity).first()
    return rule.working_days if rule is not None else category.rectification_days


def deadline_count(
    *, category: ProblemCategory, severity: str, start: dt.date, calendar: WorkingCalendar | None = None
) -> tuple[int, WorkingDays]:
    """``(working days given, the day they run out)`` for a problem found on ``start``.

    Pass a loaded ``calendar`` when counting many deadlines at once.
    """
    days = deadline_working_days(category=category, severity=severity)
    return days, add_working_days(start, days, calendar=calendar)


def deadline_fields(case: Case, *, now: dt.datetime) -> dict[str, Any]:
    """The fields of a fresh deadline counted from today, with the escalation clock restarted after it.

    For the status changes that give the party a new chance (sent back,
    failed verification, reopened): set in the same save as the status.
    """
    today = local_date(now)
    days, counted = deadline_count(category=case.category, severity=case.severity, start=today)
    return {
        "deadline": counted.date,
        "deadline_working_days": days,
        "deadline_warning": counted.warning,
        "deadline_from": today,
        "escalation_due_on": counted.date + dt.timedelta(days=1),
    }


@transaction.atomic
def cases_recount_deadlines(*, year: int, actor: User | None, now: dt.datetime | None = None) -> int:
    """Recount the deadlines counted provisionally (or weekends-only) for ``year``; returns how many moved.

    Called when an administrator enters that year's notice. Each case keeps
    its working days and the day its deadline was counted from. A deadline
    that moves goes through :func:`~inspections.cases.services.escalation.deadline_moved`
    (one ``deadline`` event with the old and new day and why; a problem escalated
    under the old day and not overdue under the new one is de-escalated). A
    deadline that does not move only loses its warning.
    """
    now = now or timezone.now()
    calendar = WorkingCalendar.load()
    changed = 0
    for case in Case.objects.filter(status__in=RECTIFICATION_DUE, deadline_warning__contains=str(year)):
        counted = add_working_days(case.deadline_from, case.deadline_working_days, calendar=calendar)
        if counted.date == case.deadline:
            if counted.warning != case.deadline_warning:
                Case.objects.filter(pk=case.pk).update(deadline_warning=counted.warning)
            continue
        deadline_moved(
            case,
            to=counted.date,
            actor=actor,
            why="holiday notice entered",
            now=now,
            note=gettext("Recounted on the holiday notice of %(year)d entered by an administrator.")
            % {"year": year},
            evidence={
                "from": case.deadline.isoformat(),
                "to": counted.date.isoformat(),
                "calendar_year": year,
            },
            warning=counted.warning,
        )
        changed += 1
    return changed
