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
    # Every two minutes: photos acknowledged but not processed are sent to processing again.
    PeriodicEntry(
        name="evidence: send stuck photos to processing again",
        task="inspections.photos_sweep",
        minute="*/2",
        hour="*",
        expires=100,
    ),
    # Daily, at night: files no row refers to, older than the grace period, are removed.
    PeriodicEntry(
        name="evidence: remove media files no photo refers to",
        task="inspections.media_reconcile",
        minute="17",
        hour="3",
        expires=6 * 3600,
    ),
]
