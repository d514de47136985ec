"""The 督办 ladder: 提醒 → 督办单 → 通报 → 约谈 → 问责, each step once, each a history event.

* **提醒** (:func:`cases_remind`): when a problem's deadline is
  ``QINGSHAN_LADDER_REMINDER_WORKING_DAYS`` working days away or fewer, its
  responsible unit (the responsible-party accounts of its village and
  township) is reminded.
* **督办单** (:func:`cases_supervise`): once the deadline is
  ``QINGSHAN_LADDER_SUPERVISION_AFTER_WORKING_DAYS`` working days past (0: the
  day after), a supervision notice with a reply deadline goes to the unit and
  its county's supervisors, the one-page PDF attached.
* **通报** (:func:`bulletins_compile`): each month, a bulletin per
  jurisdiction (province, prefecture, county) lists by county the problems
  overdue at the month's end by at least ``QINGSHAN_BULLETIN_OVERDUE_WORKING_DAYS``
  working days, and those found relapsed (返黑返臭) or falsely rectified
  (虚假整改) during it; the jurisdiction's supervisors are told.
* **约谈** and **问责** (:func:`summons_record`, :func:`referral_record`): records
  entered in the admin by the jurisdiction's supervisors.

A step is claimed under the case's row lock and kept by a row unique per
(case, kind, deadline) (:class:`~inspections.cases.models.LadderStep`), so two
workers or a rerun issue it once; its emails go through the mail ledger
(:mod:`inspections.common.mail`), each recorded in the step's transaction and
sent after commit, so an SMTP error loses nothing and sends nothing twice. A
deadline that moves goes through
:func:`~inspections.cases.services.escalation.deadline_moved`, which withdraws
the 督办单 of the old deadline when the new one is later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Role, User
from inspections.cases.emails import bulletin_email, ladder_email
from inspections.cases.errors import (
    LadderOutsideJurisdiction,
    ReferralAlreadyDecided,
    SummonsReportAlreadyReceived,
)
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import (
    NOT_HANDED_OVER,
    RECTIFICATION_DUE,
    Bulletin,
    Case,
    CaseEvent,
    CaseStatus,
    LadderStep,
    Referral,
    Summons,
)
from inspections.common.china_time import day_start, local_date
from inspections.common.dispatch import enqueue_on_commit_or_sweep
from inspections.common.errors import PermissionDenied
from inspections.common.mail import MailTransientError, mail_deliver, mail_record, mails_claimable
from inspections.common.models import MailSend
from inspections.workdays.calendar import WorkingCalendar, add_working_days, working_days_between
from villages.models import Division

logger = logging.getLogger(__name__)

# The mail ledger's kinds of the ladder's emails.
MAIL_REMINDER = "case_reminder"
MAIL_SUPERVISION = "case_supervision"
MAIL_BULLETIN = "case_bulletin"
MAIL_KINDS = (MAIL_REMINDER, MAIL_SUPERVISION, MAIL_BULLETIN)


# --- Who is told -----------------------------------------------------------------------------


def responsible_unit_accounts(case: Case) -> list[User]:
    """The responsible unit of a problem: the responsible-party accounts of its village and township."""
    code = case.village.code
    return list(
        User.objects.filter(
            is_active=True, groups__name=Role.RESPONSIBLE_PARTY, jurisdiction__code__in=[code, code[:9]]
        )
        .distinct()
        .order_by("pk")
    )


def county_supervisors(case: Case) -> list[User]:
    """The supervisors of the problem's county."""
    return list(
        User.objects.filter(
            is_active=True, groups__name=Role.SUPERVISOR, jurisdiction__code=case.village.code[:6]
        )
        .distinct()
        .order_by("pk")
    )


def jurisdiction_supervisors(division: Division) -> list[User]:
    """The supervisors whose jurisdiction is exactly ``division``."""
    return list(
        User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR, jurisdiction=division)
        .distinct()
        .order_by("pk")
    )


def can_enter_for(user: User, division: Division) -> bool:
    """A supervisor whose jurisdiction covers ``division`` (or a superuser): enters 约谈 and 问责 there."""
    if user.is_superuser:
        return True
    prefix = user.scope_prefix()
    return user.has_role(Role.SUPERVISOR) and prefix is not None and division.code.startswith(prefix)


# --- 提醒 and 督办单 ---------------------------------------------------------------------------


def _without_step(kind: str) -> Any:
    return ~Exists(LadderStep.objects.filter(case=OuterRef("pk"), kind=kind, deadline=OuterRef("deadline")))


def reminders_due(*, now: dt.datetime, calendar: WorkingCalendar | None = None) -> list[tuple[int, dt.date]]:
    """``(case id, deadline)`` of the problems to remind on ``now``'s day in China, not yet reminded."""
    today = local_date(now)
    until = add_working_days(today, settings.QINGSHAN_LADDER_REMINDER_WORKING_DAYS, calendar=calendar).date
    return list(
        Case.objects.filter(status__in=RECTIFICATION_DUE, deadline__gte=today, deadline__lte=until)
        .filter(_without_step(LadderStep.Kind.REMINDER))
        .order_by("id")
        .values_list("id", "deadline")
    )


def supervisions_due(
    *, now: dt.datetime, calendar: WorkingCalendar | None = None
) -> list[tuple[int, dt.date]]:
    """``(case id, deadline)`` of the overdue problems owed a 督办单 on ``now``'s day in China."""
    today = local_date(now)
    calendar = calendar or WorkingCalendar.load()
    grace = settings.QINGSHAN_LADDER_SUPERVISION_AFTER_WORKING_DAYS
    rows = (
        Case.objects.filter(status__in=RECTIFICATION_DUE, deadline__lt=today)
        .filter(_without_step(LadderStep.Kind.SUPERVISION))
        .order_by("id")
        .values_list("id", "deadline")
    )
    return [
        (pk, deadline)
        for pk, deadline in rows
        if add_working_days(deadline, grace, calendar=calendar).date < today
    ]


def ladder_step_claim(
    case_id: int, *, kind: str, deadline: dt.date, now: dt.datetime, reply_due: dt.date | None = None
) -> LadderStep | None:
    """Issue the step ``kind`` of the case under ``deadline`` unless it was; ``None`` if not this caller.

    Under the case's row lock: of two workers the second finds the step the
    first made (and the unique row stops any third way in). Nothing is issued
    if the deadline moved or the rectification is no longer owed since it was read.
    """
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return None
    locked = case_lock(case)
    if locked.status not in RECTIFICATION_DUE or locked.deadline != deadline:
        return None
    if LadderStep.objects.filter(case=locked, kind=kind, deadline=deadline).exists():
        return None
    step = LadderStep.objects.create(
        case=locked, kind=kind, deadline=deadline, issued_at=now, reply_due=reply_due
    )
    recipients = responsible_unit_accounts(locked)
    if kind == LadderStep.Kind.SUPERVISION:
        recipients += [user for user in county_supervisors(locked) if user not in recipients]
    mail_kind = MAIL_SUPERVISION if kind == LadderStep.Kind.SUPERVISION else MAIL_REMINDER
    keys = []
    for recipient in recipients:
        key = f"ladder:{step.pk}:{recipient.pk}"
        mail_record(kind=mail_kind, key=key, recipient_id=recipient.pk, args={"step": step.pk})
        keys.append(key)
    evidence: dict[str, Any] = {
        "step": step.pk,
        "deadline": deadline.isoformat(),
        "notified": len(recipients),
    }
    if reply_due is not None:
        evidence["reply_due"] = reply_due.isoformat()
    case_event_append(
        locked,
        kind=CaseEvent.Kind.SUPERVISED if kind == LadderStep.Kind.SUPERVISION else CaseEvent.Kind.REMINDED,
        actor=None,
        from_status=locked.status,
        evidence=evidence,
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    if keys:
        enqueue_on_commit_or_sweep("inspections.cases.send_ladder_mail", keys)
    return step


def cases_remind(*, now: dt.datetime | None = None) -> int:
    """提醒: remind the responsible unit of every problem whose deadline is near; returns how many."""
    now = now or timezone.now()
    issued = 0
    for case_id, deadline in reminders_due(now=now):
        with transaction.atomic():
            if ladder_step_claim(case_id, kind=LadderStep.Kind.REMINDER, deadline=deadline, now=now):
                issued += 1
    return issued


def cases_supervise(*, now: dt.datetime | None = None) -> int:
    """督办: issue a 督办单 for every problem overdue long enough; returns how many.

    The reply is due ``QINGSHAN_LADDER_SUPERVISION_REPLY_WORKING_DAYS`` working days on.
    """
    now = now or timezone.now()
    calendar = WorkingCalendar.load()
    reply_due = add_working_days(
        local_date(now), settings.QINGSHAN_LADDER_SUPERVISION_REPLY_WORKING_DAYS, calendar=calendar
    ).date
    issued = 0
    for case_id, deadline in supervisions_due(now=now, calendar=calendar):
        with transaction.atomic():
            claimed = ladder_step_claim(
                case_id, kind=LadderStep.Kind.SUPERVISION, deadline=deadline, now=now, reply_due=reply_due
            )
            if claimed:
                issued += 1
    return issued


def cases_climb_ladder(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: 提醒, then 督办单, then any ladder email still owed (a failed send retried)."""
    now = now or timezone.now()
    reminded = cases_remind(now=now)
    supervised = cases_supervise(now=now)
    keys = [send.key for kind in MAIL_KINDS for send in mails_claimable(kind=kind, now=now)]
    try:
        resent = ladder_mails_deliver(keys=keys, now=now)
    except MailTransientError as exc:
        # Left claimable: the send task's retries or the next run take it.
        logger.warning("ladder emails: %s", exc)
        resent = 0
    return {"reminded": reminded, "supervised": supervised, "resent": resent}


# --- Sending -----------------------------------------------------------------------------------


def _build(send: MailSend) -> Any:
    if send.kind == MAIL_BULLETIN:
        bulletin = Bulletin.objects.select_related("division").get(pk=send.args["bulletin"])
        return bulletin_email(bulletin=bulletin, recipient=send.recipient)
    step = LadderStep.objects.select_related("case__village", "case__category").get(pk=send.args["step"])
    if step.withdrawn_at is not None:
        return None  # the deadline moved before it went out: nothing to send
    return ladder_email(step=step, recipient=send.recipient)


def ladder_mails_deliver(*, keys: Iterable[str], now: dt.datetime | None = None) -> int:
    """Send each of these ladder emails once (claimed through the ledger); returns how many went now.

    Raises :class:`MailTransientError` after trying them all if any failed for
    a reason that may pass: the calling task retries, and only what failed is
    claimable again.
    """
    now = now or timezone.now()
    sent = 0
    transient: list[str] = []
    for key in keys:
        try:
            status = mail_deliver(key=key, build=_build, now=now)
        except MailTransientError as exc:
            transient.append(str(exc))
            continue
        sent += status == MailSend.Status.SENT
    if transient:
        raise MailTransientError(f"{len(transient)} transient failure(s): {transient[0]}")
    return sent


# --- 通报 --------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def last_complete_month(now: dt.datetime) -> dt.date:
    """The month a bulletin compiled at ``now`` reports on: the one before ``now``'s in China."""
    return month_start(month_start(local_date(now)) - dt.timedelta(days=1))


def _row(
    case: Case, *, end: dt.date, calendar: WorkingCalendar, found_on: dt.date | None = None
) -> dict[str, Any]:
    """A problem as a bulletin lists it: where, what, when; never who."""
    row: dict[str, Any] = {
        "case": case.pk,
        "village_code": case.village.code,
        "village_name": case.village.name,
        "category_zh_hans": case.category.name_zh_hans,
        "category_en": case.category.name_en,
        "deadline": case.deadline.isoformat(),
        "working_days_overdue": working_days_between(
            case.deadline, end - dt.timedelta(days=1), calendar=calendar
        ),
    }
    if found_on is not None:
        row["found_on"] = found_on.isoformat()
    return row


def bulletin_content(*, prefix: str, month: dt.date) -> dict[str, Any]:
    """The snapshot of a bulletin of the jurisdiction ``prefix`` for ``month`` (first day), by county.

    * **overdue**: confirmed problems still owing a rectification at the end of
      the month (or closed only after it) and past their deadline by at least
      ``QINGSHAN_BULLETIN_OVERDUE_WORKING_DAYS`` working days on its last day;
    * **relapsed** (返黑返臭) and **false rectification** (虚假整改): problems a
      visit recorded so during the month (the events of the result), counted apart.
    """
    end = next_month(month)
    start_at, end_at = day_start(month), day_start(end)
    calendar = WorkingCalendar.load()
    minimum = settings.QINGSHAN_BULLETIN_OVERDUE_WORKING_DAYS
    scoped = Case.objects.exclude(status__in=NOT_HANDED_OVER).select_related("village", "category")
    if prefix:
        scoped = scoped.filter(village__code__startswith=prefix)
    owing = Q(status__in=RECTIFICATION_DUE) | Q(status=CaseStatus.CLOSED, closed_at__gte=end_at)
    overdue = [
        _row(case, end=end, calendar=calendar)
        for case in scoped.filter(owing, opened_at__lt=end_at, deadline__lt=end).order_by("deadline", "id")
    ]
    overdue = [row for row in overdue if row["working_days_overdue"] >= minimum]

    def found(flag: str) -> list[dict[str, Any]]:
        events = (
            CaseEvent.objects.filter(
                created_at__gte=start_at, created_at__lt=end_at, **{f"evidence__{flag}": True}
            )
            .filter(case__in=scoped.values("pk"))
            .order_by("created_at", "id")
            .values_list("case_id", "created_at")
        )
        first: dict[int, dt.date] = {}
        for case_id, created_at in events:
            first.setdefault(case_id, local_date(created_at))
        cases = {case.pk: case for case in scoped.filter(pk__in=first)}
        return [_row(cases[pk], end=end, calendar=calendar, found_on=day) for pk, day in first.items()]

    lists = {
        "overdue": overdue,
        "relapsed": found("relapse"),
        "false_rectification": found("false_rectification"),
    }
    county_codes = sorted({row["village_code"][:6] for rows in lists.values() for row in rows})
    names = dict(Division.objects.filter(code__in=county_codes).values_list("code", "name"))
    counties = []
    for code in county_codes:
        county: dict[str, Any] = {"code": code, "name": names.get(code, code)}
        for name, rows in lists.items():
            county[name] = [row for row in rows if row["village_code"].startswith(code)]
        counties.append(county)
    return {
        "month": f"{month:%Y-%m}",
        "overdue_min_working_days": minimum,
        "totals": {name: len(rows) for name, rows in lists.items()},
        "counties": counties,
    }


def bulletin_case_ids(bulletin: Bulletin) -> list[int]:
    """The problems a bulletin names (each once)."""
    ids: dict[int, None] = {}
    for county in bulletin.content.get("counties", []):
        for name in ("overdue", "relapsed", "false_rectification"):
            for row in county.get(name, []):
                ids.setdefault(int(row["case"]), None)
    return list(ids)


def bulletin_jurisdictions() -> QuerySet[Division]:
    """Who gets a bulletin: the provinces, prefectures and counties with an active supervisor."""
    return Division.objects.filter(
        level__in=[1, 2, 3],
        pk__in=User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR).values("jurisdiction"),
    ).order_by("code")


@transaction.atomic
def bulletin_compile(
    *, division: Division, month: dt.date, now: dt.datetime | None = None
) -> Bulletin | None:
    """通报: compile the bulletin of ``division`` for ``month`` unless it was; ``None`` if it was.

    Each problem it names gets a ``bulletined`` event; the jurisdiction's
    supervisors are emailed through the ledger when it names any.
    """
    now = now or timezone.now()
    month = month_start(month)
    # The division's row lock orders two compilers: the second finds the first's bulletin.
    Division.objects.select_for_update().filter(pk=division.pk).first()
    if Bulletin.objects.filter(division=division, month=month).exists():
        return None
    bulletin = Bulletin.objects.create(
        division=division,
        month=month,
        compiled_at=now,
        content=bulletin_content(prefix=division.code, month=month),
        is_public=settings.QINGSHAN_BULLETIN_PUBLIC,
    )
    for case in Case.objects.filter(pk__in=bulletin_case_ids(bulletin)).order_by("pk"):
        locked = case_lock(case)
        case_event_append(
            locked,
            kind=CaseEvent.Kind.BULLETINED,
            actor=None,
            from_status=locked.status,
            evidence={"bulletin": bulletin.pk, "division": division.code, "month": f"{month:%Y-%m}"},
            now=now,
        )
        locked.save(update_fields=HEAD_FIELDS)
    if any(bulletin.content["totals"].values()):
        keys = []
        for supervisor in jurisdiction_supervisors(division):
            key = f"bulletin:{bulletin.pk}:{supervisor.pk}"
            mail_record(
                kind=MAIL_BULLETIN, key=key, recipient_id=supervisor.pk, args={"bulletin": bulletin.pk}
            )
            keys.append(key)
        if keys:
            enqueue_on_commit_or_sweep("inspections.cases.send_ladder_mail", keys)
    return bulletin


def bulletins_compile(*, now: dt.datetime | None = None, month: dt.date | None = None) -> int:
    """The periodic job (daily; acts once a month): the bulletins of the last complete month still missing."""
    now = now or timezone.now()
    month = month or last_complete_month(now)
    made = 0
    for division in bulletin_jurisdictions():
        made += bulletin_compile(division=division, month=month, now=now) is not None
    return made


def bulletin_set_public(*, bulletin: Bulletin, actor: User, public: bool) -> Bulletin:
    """A supervisor of the jurisdiction shows the bulletin on the public pages, or withdraws it."""
    if not can_enter_for(actor, bulletin.division):
        raise PermissionDenied()
    Bulletin.objects.filter(pk=bulletin.pk).update(is_public=public)
    bulletin.refresh_from_db()
    return bulletin


# --- 约谈 and 问责 -------------------------------------------------------------------------------


def ladder_entry_check(actor: User, division: Division, subject: Division, cases: list[Case]) -> None:
    """Refuse a 约谈 or 问责 entered from outside ``division``, or naming a unit or problem outside it."""
    if not can_enter_for(actor, division):
        raise PermissionDenied(_("Only a supervisor of the jurisdiction may enter this."))
    if not subject.code.startswith(division.code) or any(
        not case.village.code.startswith(subject.code) for case in cases
    ):
        raise LadderOutsideJurisdiction()


def _append_to_cases(
    cases: Iterable[Case], *, kind: str, actor: User, note: str, evidence: dict[str, Any], now: dt.datetime
) -> None:
    for case in sorted(cases, key=lambda c: c.pk):
        locked = case_lock(case)
        case_event_append(
            locked, kind=kind, actor=actor, from_status=locked.status, note=note, evidence=evidence, now=now
        )
        locked.save(update_fields=HEAD_FIELDS)


@transaction.atomic
def summons_record(
    *,
    actor: User,
    division: Division,
    summoned_division: Division,
    summoned_persons: str,
    held_at: dt.datetime,
    attendees: str = "",
    minutes: str = "",
    cases: Iterable[Case] = (),
    now: dt.datetime | None = None,
) -> Summons:
    """约谈: a summons held by ``division``'s supervisors; each problem named gets a ``summoned`` event.

    The follow-up report is due ``QINGSHAN_SUMMONS_REPORT_DAYS`` days after it.
    Refuses ``permission_denied`` to anyone but a supervisor of ``division``
    and ``ladder_outside_jurisdiction`` for a unit or problem outside it.
    """
    now = now or timezone.now()
    named = list(Case.objects.filter(pk__in=[c.pk for c in cases]).select_related("village"))
    ladder_entry_check(actor, division, summoned_division, named)
    summons = Summons.objects.create(
        division=division,
        summoned_division=summoned_division,
        summoned_persons=summoned_persons,
        held_at=held_at,
        attendees=attendees,
        minutes=minutes,
        report_due=local_date(held_at) + dt.timedelta(days=settings.QINGSHAN_SUMMONS_REPORT_DAYS),
        created_by=actor,
        created_at=now,
    )
    summons.cases.set(named)
    _append_to_cases(
        named,
        kind=CaseEvent.Kind.SUMMONED,
        actor=actor,
        note="",
        evidence={
            "summons": summons.pk,
            "held_on": f"{local_date(held_at)}",
            "report_due": f"{summons.report_due}",
        },
        now=now,
    )
    return summons


@transaction.atomic
def summons_report_record(
    *, summons: Summons, actor: User, received_on: dt.date, note: str = "", now: dt.datetime | None = None
) -> Summons:
    """The 约谈 follow-up report arrived on ``received_on``; once (``summons_report_already_received``)."""
    now = now or timezone.now()
    locked = Summons.objects.select_for_update().select_related("division").get(pk=summons.pk)
    if not can_enter_for(actor, locked.division):
        raise PermissionDenied(_("Only a supervisor of the jurisdiction may enter this."))
    if locked.report_received_on is not None:
        raise SummonsReportAlreadyReceived()
    locked.report_received_on, locked.report_note = received_on, note
    locked.save(update_fields=["report_received_on", "report_note"])
    _append_to_cases(
        locked.cases.all(),
        kind=CaseEvent.Kind.SUMMONS_REPORTED,
        actor=actor,
        note=note,
        evidence={
            "summons": locked.pk,
            "received_on": received_on.isoformat(),
            "on_time": received_on <= locked.report_due,
        },
        now=now,
    )
    return locked


@transaction.atomic
def referral_record(
    *,
    actor: User,
    division: Division,
    subject_division: Division,
    referred_to: str,
    referred_on: dt.date,
    reason: str,
    summons: Summons | None = None,
    cases: Iterable[Case] = (),
    now: dt.datetime | None = None,
) -> Referral:
    """问责: record a referral (to whom, when, why); each problem named gets a ``referred`` event."""
    now = now or timezone.now()
    named = list(Case.objects.filter(pk__in=[c.pk for c in cases]).select_related("village"))
    ladder_entry_check(actor, division, subject_division, named)
    referral = Referral.objects.create(
        division=division,
        subject_division=subject_division,
        summons=summons,
        referred_to=referred_to,
        referred_on=referred_on,
        reason=reason,
        created_by=actor,
        created_at=now,
    )
    referral.cases.set(named)
    _append_to_cases(
        named,
        kind=CaseEvent.Kind.REFERRED,
        actor=actor,
        note=reason,
        evidence={
            "referral": referral.pk,
            "referred_to": referred_to,
            "referred_on": referred_on.isoformat(),
        },
        now=now,
    )
    return referral


@transaction.atomic
def referral_outcome_record(
    *,
    referral: Referral,
    actor: User,
    outcome: str,
    decided_on: dt.date,
    note: str = "",
    now: dt.datetime | None = None,
) -> Referral:
    """The outcome of a 问责 referral; once (``referral_already_decided``)."""
    now = now or timezone.now()
    locked = Referral.objects.select_for_update().select_related("division").get(pk=referral.pk)
    if not can_enter_for(actor, locked.division):
        raise PermissionDenied(_("Only a supervisor of the jurisdiction may enter this."))
    if locked.outcome != Referral.Outcome.PENDING:
        raise ReferralAlreadyDecided()
    locked.outcome, locked.outcome_on, locked.outcome_note = outcome, decided_on, note
    locked.save(update_fields=["outcome", "outcome_on", "outcome_note"])
    _append_to_cases(
        locked.cases.all(),
        kind=CaseEvent.Kind.REFERRAL_DECIDED,
        actor=actor,
        note=note,
        evidence={"referral": locked.pk, "outcome": outcome, "decided_on": decided_on.isoformat()},
        now=now,
    )
    return locked
