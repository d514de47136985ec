"""Celery tasks of the accounts area: thin and named; their queues are in ``CELERY_TASK_ROUTES``."""

from __future__ import annotations

from celery import shared_task

from inspections.accounts.services import accounts_purge_expired


@shared_task(name="inspections.accounts.purge_expired", time_limit=600, expires=6 * 3600)
def purge_expired() -> dict[str, int]:
    """Beat, daily: delete expired refresh tokens and login failures older than the lockout."""
    return accounts_purge_expired()
