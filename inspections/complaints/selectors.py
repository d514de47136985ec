"""Reads of complaints: by jurisdiction, and the overdue replies digests and dashboards count."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from inspections.complaints.models import Complaint


def complaints_within(prefix: str) -> QuerySet[Complaint]:
    """Complaints about villages under ``prefix``, and those not yet placed in a village that
    an account of the jurisdiction recorded (the whole country: all)."""
    if not prefix:
        return Complaint.objects.all()
    return Complaint.objects.filter(
        Q(village__code__startswith=prefix)
        | Q(village__isnull=True, recorded_by__jurisdiction__code__startswith=prefix)
    )


def complaints_overdue(*, prefix: str, today: dt.date) -> QuerySet[Complaint]:
    """Not replied to and past the reply's due date (China's date ``today``)."""
    return complaints_within(prefix).filter(replied_at__isnull=True, reply_due__lt=today)


OPEN_VISIT = ("scheduled", "in_progress")


def complaint_check_shown(complaint: Complaint) -> int | None:
    """The id of the complaint's 核查 visit once every one of its inspections is closed, else None.

    Before, a complaint with a visit coming reads exactly like one without, to
    everyone (the embargo): its orderer follows the visit under targeted visits.
    Uses ``check_visit__inspections`` when prefetched.
    """
    if complaint.check_visit_id is None or complaint.check_visit is None:
        return None
    if any(i.status in OPEN_VISIT for i in complaint.check_visit.inspections.all()):
        return None
    return complaint.check_visit_id
