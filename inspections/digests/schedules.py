"""Beat entries of the digests (written by :func:`inspections.common.schedules.ensure`).

08:00 China time. The expiry drops a run that beat or the queue delivers hours
late: the next one covers it, and ``manage.py send_digests`` replays a missed period.
"""

from inspections.common.schedules import PeriodicEntry
from inspections.digests.models import DigestKind

ENTRIES = [
    PeriodicEntry(
        name=f"digests: {kind}",
        task="inspections.digests.send_scheduled",
        minute="0",
        hour="8",
        day_of_week=day_of_week,
        expires=expires,
        kwargs={"kind": str(kind)},
        description=f"Send the {kind} digest of the last complete period to every recipient.",
    )
    for kind, day_of_week, expires in ((DigestKind.DAILY, "*", 4 * 3600), (DigestKind.WEEKLY, "1", 12 * 3600))
]
