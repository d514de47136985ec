"""Beat entries of the accounts area (written by :func:`inspections.common.schedules.ensure`)."""

from inspections.common.schedules import PeriodicEntry

ENTRIES = [
    PeriodicEntry(
        name="accounts: delete expired tokens and old login failures",
        task="inspections.accounts.purge_expired",
        minute="41",
        hour="3",
        expires=6 * 3600,
        description="Delete refresh tokens past their expiry and failed logins older than the lockout.",
    ),
]
