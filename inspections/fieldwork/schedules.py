"""Beat entries of the fieldwork area (written by :func:`inspections.common.schedules.ensure`)."""

from inspections.common.schedules import PeriodicEntry

ENTRIES = [
    # Daily, at night: the stored coverage tallies counted again (villages made inactive since).
    PeriodicEntry(
        name="fieldwork: count the coverage tallies again",
        task="inspections.coverage_recount",
        minute="37",
        hour="2",
        expires=6 * 3600,
    ),
]
