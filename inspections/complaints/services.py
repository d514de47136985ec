"""Complaints: the 核查 visit a complaint becomes, its result and the reply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from inspections.accounts.models import Inspector, User
from inspections.complaints.errors import (
    ComplaintAlreadyChecked,
    ComplaintAlreadyReplied,
    ComplaintNoVillage,
    ComplaintTicketExists,
    ReplyEmpty,
)
from inspections.complaints.models import Complaint
from inspections.fieldwork.models import Inspection
from inspections.sampling.targeted import targeted_visit_order
from villages.models import Village


def complaint_record(
    *,
    user: User,
    source: str,
    ticket_number: str,
    received_at: datetime,
    content: str,
    reply_due: dt.date,
    village: Village | None = None,
    location: str = "",
    reporter_name: str = "",
    reporter_contact: str = "",
) -> Complaint:
    """Record a complaint as the intake role takes it (one per source and ticket number)."""
    ticket_number = ticket_number.strip()
    if Complaint.objects.filter(source=source, ticket_number=ticket_number).exists():
        raise ComplaintTicketExists
    try:
        with transaction.atomic():
            return Complaint.objects.create(
                source=source,
                ticket_number=ticket_number,
                received_at=received_at,
                content=content.strip(),
                village=village,
                location=location.strip(),
                reporter_name=reporter_name.strip(),
                reporter_contact=reporter_contact.strip(),
                reply_due=reply_due,
                recorded_by=user,
            )
    except IntegrityError as error:  # the same ticket recorded by a concurrent request
        raise ComplaintTicketExists from error


@transaction.atomic
def complaint_order_check(
    *,
    complaint: Complaint,
    user: User,
    window_start: datetime,
    window_end: datetime,
    team_size: int = 2,
    named_team: Sequence[Inspector] | None = None,
    named_reason: str = "",
    now: datetime | None = None,
) -> Complaint:
    """The complaint's 举报核查: a targeted visit of its village, embargoed like any other."""
    complaint = (
        Complaint.objects.select_for_update(of=("self",)).select_related("village").get(pk=complaint.pk)
    )
    if complaint.check_visit_id is not None:
        raise ComplaintAlreadyChecked
    if complaint.village is None:
        raise ComplaintNoVillage
    complaint.check_visit = targeted_visit_order(
        user=user,
        mode=Inspection.Mode.REPORT,
        village_codes=[complaint.village.code],
        window_start=window_start,
        window_end=window_end,
        team_size=team_size,
        # The basis names the ticket, never the reporter.
        basis=f"{complaint.source} {complaint.ticket_number}",
        named_team=named_team,
        named_reason=named_reason,
        now=now,
    )
    complaint.save(update_fields=["check_visit"])
    return complaint


@transaction.atomic
def complaint_reply(
    *, complaint: Complaint, result: str, reply: str, now: datetime | None = None
) -> Complaint:
    """Record the check's result and the reply to the complainant, once."""
    now = now or timezone.now()
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.replied_at is not None:
        raise ComplaintAlreadyReplied
    complaint.result = result.strip()
    complaint.reply = reply.strip()
    if not complaint.reply:
        raise ReplyEmpty
    complaint.replied_at = now
    complaint.save(update_fields=["result", "reply", "replied_at"])
    return complaint
