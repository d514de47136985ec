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
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import RECTIFICATION_DUE, Case, CaseEvent, DeadlineRule
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


def case_deadline_move(
    locked: Case, *, deadline: dt.date, warning: str, now: dt.datetime, why: str
) -> tuple[list[str], dict[str, Any]]:
    """Move the deadline of a locked case and its escalation clock; ``(fields to save, evidence)``.

    The rule of an approved extension: the escalation clock restarts after
    the new deadline; a problem escalated under the old deadline that is not
    overdue under the new, later one returns to level 0, and the evidence
    says why. Sets the fields only; the caller appends the history event
    (with the evidence) and saves.
    """
    old = locked.deadline
    evidence: dict[str, Any] = {"from": old.isoformat(), "to": deadline.isoformat()}
    fields = ["deadline", "deadline_warning", "escalation_due_on"]
    locked.deadline = deadline
    locked.deadline_warning = warning
    if locked.escalation_level == 0:
        locked.escalation_due_on = deadline + dt.timedelta(days=1)
    elif deadline > old and deadline >= local_date(now):
        evidence["de_escalated"] = {"from": locked.escalation_level, "to": 0, "why": why}
        locked.escalation_level = 0
        locked.escalation_due_on = deadline + dt.timedelta(days=1)
        fields.append("escalation_level")
    return fields, evidence


@transaction.atomic
def cases_recount_deadlines(*, year: int, actor: User | None, now: dt.datetime | None = None) -> int:
    """Recount the deadlines counted provisionally (or weekends-only) for ``year``; returns how many moved.

    Called when an administrator enters that year's notice. Each case keeps
    its working days and the day its deadline was counted from; a case whose
    deadline moves gets one ``deadline`` event with the old and new day and
    why (the year's notice), through :func:`case_deadline_move` (so a problem
    escalated under the old day is de-escalated when the new one is later).
    A deadline that does not move only loses its warning.
    """
    now = now or timezone.now()
    calendar = WorkingCalendar.load()
    changed = 0
    for case in Case.objects.filter(status__in=RECTIFICATION_DUE, deadline_warning__contains=str(year)):
        locked = case_lock(case)
        counted = add_working_days(locked.deadline_from, locked.deadline_working_days, calendar=calendar)
        if counted.date == locked.deadline:
            if counted.warning != locked.deadline_warning:
                Case.objects.filter(pk=locked.pk).update(deadline_warning=counted.warning)
            continue
        fields, evidence = case_deadline_move(
            locked, deadline=counted.date, warning=counted.warning, now=now, why="holiday notice entered"
        )
        evidence["calendar_year"] = year
        case_event_append(
            locked,
            kind=CaseEvent.Kind.DEADLINE,
            actor=actor,
            from_status=locked.status,
            note=gettext("Recounted on the holiday notice of %(year)d entered by an administrator.")
            % {"year": year},
            evidence=evidence,
            now=now,
        )
        locked.save(update_fields=[*fields, *HEAD_FIELDS])
        changed += 1
    return changed
