"""Reads of complaints: by jurisdiction, and the overdue replies digests and dashboards count."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from inspections.complaints.models import Complaint


def complaints_within(prefix: str) -> QuerySet[Complaint]:
    """Complaints about villages under ``prefix`` (and, for the whole country, those without one)."""
    if not prefix:
        return Complaint.objects.all()
    return Complaint.objects.filter(village__code__startswith=prefix)


def complaints_overdue(*, prefix: str, today: dt.date) -> QuerySet[Complaint]:
    """Not replied to and past the reply's due date (China's date ``today``)."""
    return complaints_within(prefix).filter(replied_at__isnull=True, reply_due__lt=today)
