"""Beat entries of publication (written by :func:`inspections.common.schedules.ensure`)."""

from inspections.common.schedules import PeriodicEntry

ENTRIES = [
    # The name and task keep the "cases" prefix they shipped with: beat rows hold them.
    PeriodicEntry(
        name="cases: warn before results are due",
        task="inspections.cases.warn_publication_due",
        minute="30",
        hour="8",
        expires=3000,
    ),
]
