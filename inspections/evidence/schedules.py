"""Beat entries of the evidence area (written by :func:`inspections.common.schedules.ensure`)."""

from inspections.common.schedules import PeriodicEntry

ENTRIES = [
    # Hourly, expiring before the next run so that a late beat does not pile runs up.
    PeriodicEntry(
        name="evidence: delete expired resumable uploads",
        task="inspections.uploads_expire",
        minute="43",
        hour="*",
        expires=3000,
    ),
]
