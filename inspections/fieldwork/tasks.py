"""Celery tasks of the fieldwork area: thin adapters that call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from inspections.common.china_time import local_date
from inspections.fieldwork.coverage import coverage_recount


@shared_task(name="inspections.coverage_recount", time_limit=3600)
def coverage_recount_recent() -> dict[str, Any]:
    """Count this year's and last year's coverage tallies again from the inspections (daily)."""
    year = local_date(timezone.now()).year
    result = coverage_recount(years=[year - 1, year])
    return {"years": result.years, "tallies": result.tallies, "visited": result.visited}
